/* The x264 back end: XRGB/XBGR → full-range I420 (libyuv) → one access unit per call.
 *
 * Owned by the shared stream that feeds it (open_h264_stream.c): one thread at a time,
 * under that stream's lock, CPU only. See h264_x264.h for the parameters and why.
 */
#include "h264_x264.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyuv.h>

#include "log.h"
#include "plane.h"

#define NAL_TYPE_SEI 6

struct x264_encoder {
	struct h264_encoder base; /* first: h264_encoder_destroy() gets this pointer */
	x264_t *x;
	x264_param_t param;
	unsigned coded_w, coded_h;
	uint8_t *yuv; /* I420 at the coded size: Y, then U, then V */
	uint8_t *out; /* the last access unit, without x264's SEI */
	size_t out_cap;
	int64_t pts;
};

float h264_x264_crf(unsigned quality)
{
	static const float crf[] = {38, 36, 34, 32, 30, 28, 26, 24, 21, 18};
	return crf[quality > 9 ? 9 : quality];
}

void h264_x264_coded_size(unsigned width, unsigned height, unsigned *coded_w, unsigned *coded_h)
{
	*coded_w = width + (width & 1);
	*coded_h = height + (height & 1);
}

static void x264_log(void *priv, int level, const char *fmt, va_list ap)
{
	(void)priv;
	char buf[256];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level <= X264_LOG_ERROR)
		log_error("x264: %s", buf);
	else if (level == X264_LOG_WARNING)
		log_warn("x264: %s", buf);
	else
		log_debug("x264: %s", buf);
}

int h264_x264_params(const struct h264_encoder_config *cfg, x264_param_t *p, char *why,
		     size_t why_len)
{
	/* x264 takes int sizes and needs 4:2:0 macroblocks; 16384 is far beyond any level. */
	if (cfg->width == 0 || cfg->height == 0 || cfg->width > 16384 || cfg->height > 16384) {
		snprintf(why, why_len, "x264: cannot encode %ux%u", cfg->width, cfg->height);
		return -EINVAL;
	}
	/* ultrafast measured 2.6-4.3 ms a 1080p desktop frame here, superfast 4.9 ms with
	 * ~12% smaller frames (shared/notes/vpl-zero-copy.md §5): the 60 frames/s target on
	 * two cores decides. zerolatency: no lookahead, no B-frames, no frame threads. */
	if (x264_param_default_preset(p, "ultrafast", "zerolatency") < 0) {
		snprintf(why, why_len, "x264: no ultrafast/zerolatency preset");
		return -EINVAL;
	}
	unsigned cw, ch;
	h264_x264_coded_size(cfg->width, cfg->height, &cw, &ch);
	p->i_width = (int)cw;
	p->i_height = (int)ch;
	p->i_csp = X264_CSP_I420;
	p->i_fps_num = cfg->fps ? cfg->fps : 30;
	p->i_fps_den = 1;
	p->b_vfr_input = 0;

	/* One frame in, one access unit out: sliced threads only (frame threads would delay
	 * output by threads-1 frames), and each thread codes a slice of its own. With one
	 * thread that is one slice per picture, the only form noVNC decodes. */
	p->i_threads = cfg->threads > 1 ? (int)cfg->threads : 1;
	p->b_sliced_threads = 1;
	p->i_slice_count = p->i_threads > 1 ? p->i_threads : 0;
	p->i_slice_max_size = 0;
	p->i_slice_max_mbs = 0;
	p->i_lookahead_threads = 1;
	p->i_sync_lookahead = 0;
	p->rc.i_lookahead = 0;
	p->rc.b_mb_tree = 0;
	p->i_bframe = 0;

	/* IDRs only when the stream forces one (new context, periodic, bounded replay). */
	p->i_keyint_max = X264_KEYINT_MAX_INFINITE;
	p->i_scenecut_threshold = 0;
	p->b_intra_refresh = 0;

	/* What the Open H.264 encoding and noVNC's parser want. */
	p->b_repeat_headers = 1;
	p->b_annexb = 1;
	p->b_aud = 0;

	/* libyuv's J420 is full range with BT.601 coefficients; say exactly that, with the
	 * sRGB primaries (= BT.709) and transfer of the desktop it came from, so that the
	 * client's YUV→RGB undoes it. */
	p->vui.b_fullrange = 1;
	p->vui.i_colorprim = 1;  /* BT.709 */
	p->vui.i_transfer = 13;  /* IEC 61966-2-1 (sRGB) */
	p->vui.i_colmatrix = 6;  /* SMPTE 170M (BT.601) */

	p->rc.i_rc_method = X264_RC_CRF;
	p->rc.f_rf_constant = h264_x264_crf(cfg->quality);
	p->rc.i_vbv_max_bitrate = 0;
	p->rc.i_vbv_buffer_size = 0;

	p->i_log_level = X264_LOG_WARNING;
	p->pf_log = x264_log;
	p->p_log_private = NULL;

	/* Baseline: no CABAC, no 8x8 transform, no B-frames, no weighted prediction; x264
	 * also sets constraint_set1 for it, which makes it constrained baseline. */
	if (x264_param_apply_profile(p, "baseline") < 0) {
		snprintf(why, why_len, "x264: the baseline profile does not apply");
		return -EINVAL;
	}
	return 0;
}

static void x264_destroy(struct h264_encoder *base)
{
	struct x264_encoder *e = (struct x264_encoder *)base;
	if (e->x)
		x264_encoder_close(e->x);
	free(e->yuv);
	free(e->out);
	free(e);
}

static int x264_create(const struct h264_encoder_config *cfg, struct h264_encoder **out,
		       char *why, size_t why_len)
{
	*out = NULL;
	struct x264_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->base.impl = &h264_x264_impl;
	e->base.cfg = *cfg;
	int r = h264_x264_params(cfg, &e->param, why, why_len);
	if (r < 0) {
		free(e);
		return r;
	}
	e->coded_w = (unsigned)e->param.i_width;
	e->coded_h = (unsigned)e->param.i_height;
	size_t luma = (size_t)e->coded_w * e->coded_h;
	e->yuv = malloc(luma + luma / 2);
	e->x = e->yuv ? x264_encoder_open(&e->param) : NULL;
	if (!e->x) {
		int err = e->yuv ? -EINVAL : -ENOMEM;
		snprintf(why, why_len, "x264: cannot open a %ux%u encoder", e->coded_w, e->coded_h);
		x264_destroy(&e->base);
		return err;
	}
	*out = &e->base;
	return 0;
}

/* RGB → full-range I420 at the coded size; an odd last column or row is repeated. */
static int convert(struct x264_encoder *e, const struct h264_frame *f)
{
	unsigned w = e->base.cfg.width, h = e->base.cfg.height;
	uint32_t fourcc = f->pixels_fourcc ? f->pixels_fourcc : f->fourcc;
	if (!f->pixels || f->stride < (size_t)w * 4 || f->stride > INT32_MAX)
		return -EINVAL;
	int cw = (int)e->coded_w, ch = (int)e->coded_h;
	uint8_t *y = e->yuv, *u = y + (size_t)cw * ch, *v = u + (size_t)(cw / 2) * (ch / 2);
	int r;
	switch (fourcc) {
	case PLANE_FORMAT_XRGB8888:
	case PLANE_FORMAT_ARGB8888:
		/* DRM XRGB8888 is bytes B,G,R,X: libyuv's "ARGB". */
		r = ARGBToJ420(f->pixels, (int)f->stride, y, cw, u, cw / 2, v, cw / 2, (int)w,
			       (int)h);
		break;
	case PLANE_FORMAT_XBGR8888:
		r = ABGRToJ420(f->pixels, (int)f->stride, y, cw, u, cw / 2, v, cw / 2, (int)w,
			       (int)h);
		break;
	default:
		return -ENOTSUP;
	}
	if (r != 0)
		return -EINVAL;
	/* libyuv already rounds chroma up for odd sizes; only luma needs the extra column
	 * and row. */
	if ((unsigned)cw != w)
		for (unsigned row = 0; row < h; row++)
			y[(size_t)row * cw + w] = y[(size_t)row * cw + w - 1];
	if ((unsigned)ch != h)
		memcpy(y + (size_t)h * cw, y + (size_t)(h - 1) * cw, (size_t)cw);
	return 0;
}

static int x264_encode(struct h264_encoder *base, const struct h264_frame *frame, bool force_idr,
		       struct h264_packet *out)
{
	struct x264_encoder *e = (struct x264_encoder *)base;
	int r = convert(e, frame);
	if (r < 0)
		return r;
	x264_picture_t pic, pic_out;
	x264_picture_init(&pic);
	pic.img.i_csp = X264_CSP_I420;
	pic.img.i_plane = 3;
	size_t luma = (size_t)e->coded_w * e->coded_h;
	pic.img.plane[0] = e->yuv;
	pic.img.plane[1] = e->yuv + luma;
	pic.img.plane[2] = e->yuv + luma + luma / 4;
	pic.img.i_stride[0] = (int)e->coded_w;
	pic.img.i_stride[1] = pic.img.i_stride[2] = (int)e->coded_w / 2;
	pic.i_type = force_idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	pic.i_pts = e->pts++;

	x264_nal_t *nals;
	int n_nals;
	int size = x264_encoder_encode(e->x, &nals, &n_nals, &pic, &pic_out);
	if (size < 0)
		return -EIO;
	if (size == 0)
		return -EAGAIN; /* would mean a delayed frame: the parameters forbid it */
	if ((size_t)size > e->out_cap) {
		uint8_t *p = realloc(e->out, (size_t)size);
		if (!p)
			return -ENOMEM;
		e->out = p;
		e->out_cap = (size_t)size;
	}
	/* x264's only SEI is its version string on the first frame: of no use to a decoder. */
	size_t len = 0;
	for (int i = 0; i < n_nals; i++) {
		if (nals[i].i_type == NAL_TYPE_SEI)
			continue;
		memcpy(e->out + len, nals[i].p_payload, (size_t)nals[i].i_payload);
		len += (size_t)nals[i].i_payload;
	}
	bool idr = pic_out.b_keyframe && pic_out.i_type == X264_TYPE_IDR;
	if (force_idr && !idr)
		return -EIO;
	out->data = e->out;
	out->len = len;
	out->idr = idr;
	return 0;
}

const struct h264_encoder_impl h264_x264_impl = {
	.name = "x264",
	.create = x264_create,
	.destroy = x264_destroy,
	.encode = x264_encode,
	.caps = H264_TAKES_PIXELS,
};
