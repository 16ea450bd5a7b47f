/* Preloaded into the server (LD_PRELOAD) by the encoder-fails case, to make x264 fail the
 * way a real encoder can:
 *  - VGPU_TEST_X264_OPEN_FAILS=1: x264_encoder_open() returns NULL (no encoder at all);
 *  - VGPU_TEST_X264_FAIL_AFTER=N: x264_encoder_encode() works for the first N calls in
 *    the process and fails (-1) from then on (out of memory, a driver error).
 * The real functions do the work otherwise. Any thread of the server. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* x264.h needs stdint.h first. */
#include <x264.h>

#define STR_(x) #x
#define STR(x) STR_(x)

typedef int (*encode_fn)(x264_t *h, x264_nal_t **nal, int *n_nal, x264_picture_t *in,
			 x264_picture_t *out);
typedef x264_t *(*open_fn)(x264_param_t *param);

int x264_encoder_encode(x264_t *h, x264_nal_t **nal, int *n_nal, x264_picture_t *in,
			x264_picture_t *out)
{
	static atomic_long calls;
	const char *s = getenv("VGPU_TEST_X264_FAIL_AFTER");
	long after = s ? atol(s) : -1;
	if (after >= 0 && atomic_fetch_add(&calls, 1) >= after)
		return -1;
	encode_fn real = (encode_fn)dlsym(RTLD_NEXT, "x264_encoder_encode");
	return real ? real(h, nal, n_nal, in, out) : -1;
}

/* x264_encoder_open is a macro for x264_encoder_open_<build>. */
x264_t *x264_encoder_open(x264_param_t *param)
{
	const char *s = getenv("VGPU_TEST_X264_OPEN_FAILS");
	if (s && strcmp(s, "1") == 0)
		return NULL;
	open_fn real = (open_fn)dlsym(RTLD_NEXT, "x264_encoder_open_" STR(X264_BUILD));
	return real ? real(param) : NULL;
}
