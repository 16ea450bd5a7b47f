/* TurboJPEG straight from the framebuffer. See tight_jpeg_encode.h. */
#include "tight_jpeg_encode.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <xxhash.h>

/* Which TurboJPEG. libvncserver 0.9.14 exports a TurboJPEG of its own ("TurboJPEG/OSS",
 * over libjpeg62) under the same names: tjInitCompress, tjCompress2, tjBufSize,
 * tjDestroy... A program that links libvncserver before libturbojpeg gets that copy for
 * every tj* call, and with --as-needed does not even load libturbojpeg (the server
 * binary does exactly that). Both produce the same JPEG; the real one is a few per cent
 * faster, and calls on one handle must never go to two implementations. So take the
 * functions from libturbojpeg itself, and the linked names only if it cannot be
 * opened. */
static struct {
	tjhandle (*init)(void);
	int (*compress)(tjhandle, const unsigned char *, int, int, int, int, unsigned char **,
			unsigned long *, int, int, int);
	unsigned long (*bufsize)(int, int, int);
	int (*destroy)(tjhandle);
	const char *from;
} tj;
static pthread_once_t tj_once = PTHREAD_ONCE_INIT;

static void tj_bind(void)
{
	void *lib = dlopen("libturbojpeg.so.0", RTLD_NOW | RTLD_LOCAL);

	tj.init = tjInitCompress;
	tj.compress = tjCompress2;
	tj.bufsize = tjBufSize;
	tj.destroy = tjDestroy;
	tj.from = "the linked tj* names (maybe libvncserver's copy)";
	if (!lib)
		return;
	void *init = dlsym(lib, "tjInitCompress"), *compress = dlsym(lib, "tjCompress2");
	void *bufsize = dlsym(lib, "tjBufSize"), *destroy = dlsym(lib, "tjDestroy");
	if (!init || !compress || !bufsize || !destroy)
		return; /* all from one library, or none (the library stays open) */
	/* POSIX: a dlsym result converts to a function pointer (memcpy keeps ISO C quiet). */
	memcpy(&tj.init, &init, sizeof(init));
	memcpy(&tj.compress, &compress, sizeof(compress));
	memcpy(&tj.bufsize, &bufsize, sizeof(bufsize));
	memcpy(&tj.destroy, &destroy, sizeof(destroy));
	tj.from = "libturbojpeg.so.0";
}

const char *tight_jpeg_encoder_library(void)
{
	pthread_once(&tj_once, tj_bind);
	return tj.from;
}

int tight_jpeg_encode(struct tight_jpeg_encoder *e, const uint8_t *px, size_t pitch, uint32_t w,
		      uint32_t h, const struct tight_jpeg_params *p, const uint8_t **out,
		      size_t *len)
{
	pthread_once(&tj_once, tj_bind);
	unsigned long cap = tj.bufsize((int)w, (int)h, p->subsamp), size;

	if (cap == (unsigned long)-1)
		return -EINVAL;
	if (!e->tj && !(e->tj = tj.init()))
		return -ENOMEM;
	if (e->cap < cap) {
		uint8_t *buf = realloc(e->buf, cap);
		if (!buf)
			return -ENOMEM;
		e->buf = buf;
		e->cap = cap;
	}
	size = e->cap;
	if (tj.compress(e->tj, px, (int)w, (int)pitch, (int)h, TJPF_BGRX, &e->buf, &size,
			p->subsamp, p->quality, TJFLAG_NOREALLOC) < 0)
		return -EIO;
	*out = e->buf;
	*len = size;
	return 0;
}

void tight_jpeg_encoder_destroy(struct tight_jpeg_encoder *e)
{
	if (e->tj)
		tj.destroy(e->tj); /* made by tj.init, so tj is bound */
	free(e->buf);
	e->tj = NULL;
	e->buf = NULL;
	e->cap = 0;
}

uint64_t tight_jpeg_rect_hash(const uint8_t *px, size_t pitch, uint32_t w, uint32_t h)
{
	uint64_t acc = 0;

	for (uint32_t y = 0; y < h; y++) {
		acc ^= XXH3_64bits(px + (size_t)y * pitch, (size_t)w * 4);
		acc *= 0x9E3779B97F4A7C15ull;
		acc ^= acc >> 29;
	}
	return acc;
}
