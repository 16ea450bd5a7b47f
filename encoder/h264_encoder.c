/* The choice of H.264 back end, and the names of the choices. See h264_encoder.h.
 *
 * Called by whoever creates encoders (open_h264.c at start-up to decide, then each shared
 * stream): no state of its own, any thread.
 */
#include "h264_encoder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int try_create(const struct h264_encoder_impl *impl, const struct h264_encoder_config *cfg,
		      struct h264_encoder **out, char *why, size_t why_len)
{
	why[0] = '\0';
	int r = impl->create(cfg, out, why, why_len);
	if (r < 0 && !why[0])
		snprintf(why, why_len, "%s", strerror(-r));
	return r;
}

int h264_encoder_create(enum h264_backend backend, const struct h264_encoder_config *cfg,
			struct h264_encoder **out, char *why, size_t why_len)
{
	char vpl_why[256] = "";
	*out = NULL;
	if (why_len)
		why[0] = '\0';

	if (backend == H264_BACKEND_VPL || backend == H264_BACKEND_AUTO) {
		int r = try_create(&h264_vpl_impl, cfg, out, vpl_why, sizeof(vpl_why));
		if (r == 0) {
			snprintf(why, why_len, "using VPL (hardware)");
			return 0;
		}
		if (backend == H264_BACKEND_VPL) {
			snprintf(why, why_len, "VPL unavailable (%s)", vpl_why);
			return r;
		}
	}
	char x_why[256];
	int r = try_create(&h264_x264_impl, cfg, out, x_why, sizeof(x_why));
	if (backend == H264_BACKEND_AUTO) {
		if (r == 0)
			snprintf(why, why_len, "VPL unavailable (%s); using x264 (software)", vpl_why);
		else
			snprintf(why, why_len, "VPL unavailable (%s); x264 failed (%s)", vpl_why, x_why);
	} else {
		if (r == 0)
			snprintf(why, why_len, "using x264 (software)");
		else
			snprintf(why, why_len, "x264 failed (%s)", x_why);
	}
	return r;
}

static const char *const backend_names[] = {
	[H264_BACKEND_AUTO] = "auto",
	[H264_BACKEND_VPL] = "vpl",
	[H264_BACKEND_X264] = "x264",
};

int h264_backend_parse(const char *text, enum h264_backend *out)
{
	for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(text, backend_names[i])) {
			*out = (enum h264_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *h264_backend_name(enum h264_backend backend)
{
	if ((unsigned)backend < sizeof(backend_names) / sizeof(backend_names[0]))
		return backend_names[backend];
	return "?";
}
