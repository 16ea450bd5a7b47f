/* The H.264 encoder interface, and the choice of back end.
 *
 * One small table of functions per back end (VPL hardware in h264_vpl.c, x264 software in
 * h264_x264.c); h264_encoder_create() tries them in order (auto) or takes the one asked
 * for, and says which and why. Callers never see which one runs.
 *
 * Output is what the Open H.264 RFB encoding and noVNC need: Annex B, constrained
 * baseline, one slice per picture, no B-frames, one frame in, one frame out (no lookahead,
 * no buffering), SPS and PPS in front of every IDR.
 *
 * An encoder instance is not thread-safe: one thread at a time (the owner of the stream it
 * feeds) calls encode().
 */
#ifndef VGPU_H264_ENCODER_H
#define VGPU_H264_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum h264_backend {
	H264_BACKEND_AUTO,
	H264_BACKEND_VPL,
	H264_BACKEND_X264,
};

struct h264_encoder_config {
	uint32_t width, height;  /* pixels; the back end pads odd sizes to even as it needs */
	unsigned fps;            /* nominal frame rate, for rate control */
	unsigned quality;        /* 0 (smallest) .. 9 (best), the client's JPEG quality level */
	unsigned threads;        /* x264: threads; 0 or 1 = one (one slice per picture), N > 1 =
				  * N sliced threads, hence N slices (noVNC cannot decode those) */
};

/* One frame to encode. A back end that takes pixels (H264_TAKES_PIXELS) reads them; one
 * that takes a dma-buf (H264_TAKES_DMABUF) imports dmabuf_fd and needs no pixels. Both
 * may be given. */
struct h264_frame {
	const uint8_t *pixels;   /* XRGB8888 / XBGR8888 (see pixels_fourcc), or NULL */
	size_t stride;
	uint32_t fourcc;         /* DRM fourcc of the dma-buf, and of pixels unless pixels_fourcc */
	uint32_t pixels_fourcc;  /* DRM fourcc of pixels when it differs from fourcc (the shadow
				  * framebuffer is always XRGB8888; the plane may be XBGR8888);
				  * 0 = the same as fourcc */
	int dmabuf_fd;           /* -1 if none; borrowed, not closed */
	uint32_t dmabuf_id;      /* key for caching the imported surface */
	uint64_t modifier;       /* DRM format modifier of the dma-buf */
	uint32_t dmabuf_stride;
	uint32_t dmabuf_size;
};

/* Encoded output: one access unit, Annex B. The buffer belongs to the encoder and stays
 * valid until its next encode() or destroy(). */
struct h264_packet {
	const uint8_t *data;
	size_t len;
	bool idr;
};

struct h264_encoder;

/* What a back end encodes from (h264_encoder_impl.caps). */
#define H264_TAKES_PIXELS 1u /* h264_frame.pixels: it reads (or uploads) memory */
#define H264_TAKES_DMABUF 2u /* h264_frame.dmabuf_fd: it imports the plane, zero copy */

struct h264_encoder_impl {
	const char *name; /* its --encoder word (h264_backend_parse) */
	unsigned caps;    /* H264_TAKES_*: the frames it can encode */
	/* 0, -ENODEV (not available here: no device, no runtime), or another -errno; why
	 * says what was missing, for the log. */
	int (*create)(const struct h264_encoder_config *cfg, struct h264_encoder **out, char *why,
		      size_t why_len);
	void (*destroy)(struct h264_encoder *enc);
	/* Encode one frame; force_idr makes it an IDR with SPS/PPS. 0 or -errno. */
	int (*encode)(struct h264_encoder *enc, const struct h264_frame *frame, bool force_idr,
		      struct h264_packet *out);
};

/* Every implementation embeds this first. */
struct h264_encoder {
	const struct h264_encoder_impl *impl;
	struct h264_encoder_config cfg;
};

extern const struct h264_encoder_impl h264_vpl_impl;
extern const struct h264_encoder_impl h264_x264_impl;

/* Create an encoder: for AUTO, VPL when a hardware implementation and a VA display are
 * there, else x264. The log says which back end runs and why the others did not. */
int h264_encoder_create(enum h264_backend backend, const struct h264_encoder_config *cfg,
			struct h264_encoder **out, char *why, size_t why_len);

static inline int h264_encoder_encode(struct h264_encoder *enc, const struct h264_frame *frame,
				      bool force_idr, struct h264_packet *out)
{
	return enc->impl->encode(enc, frame, force_idr, out);
}

static inline void h264_encoder_destroy(struct h264_encoder *enc)
{
	if (enc)
		enc->impl->destroy(enc);
}

/* "auto" | "vpl" | "x264" → backend; -EINVAL otherwise. */
int h264_backend_parse(const char *text, enum h264_backend *out);
const char *h264_backend_name(enum h264_backend backend);

#endif
