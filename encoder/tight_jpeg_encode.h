/* One client's JPEG compressor for the Tight-JPEG path, and the pixel hash of a rectangle.
 *
 * tight_jpeg_encode compresses a rectangle of XRGB8888 pixels (TJPF_BGRX) straight from
 * where they are, with their pitch: no copy. Its output buffer holds the worst case of
 * the largest rectangle seen (tjBufSize), so libjpeg-turbo never reallocates it. The
 * functions come from libturbojpeg itself (see the .c: libvncserver exports look-alikes).
 *
 * State per client (a TurboJPEG handle is not for two threads at once); used on that
 * client's output thread only. No I/O.
 */
#ifndef VGPU_TIGHT_JPEG_ENCODE_H
#define VGPU_TIGHT_JPEG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "tight_jpeg_params.h"

struct tight_jpeg_encoder {
	void *tj; /* tjhandle, made on first use */
	uint8_t *buf;
	unsigned long cap;
};

/* Compress the w x h block; on 0, *out / *len is the JPEG, valid until the next call.
 * -ENOMEM, -EINVAL (size) or -EIO (libjpeg-turbo). */
int tight_jpeg_encode(struct tight_jpeg_encoder *e, const uint8_t *px, size_t pitch, uint32_t w,
		      uint32_t h, const struct tight_jpeg_params *p, const uint8_t **out,
		      size_t *len);

void tight_jpeg_encoder_destroy(struct tight_jpeg_encoder *e);

/* Where the TurboJPEG functions come from, for the log. */
const char *tight_jpeg_encoder_library(void);

/* A 64-bit hash of the block's pixels (X bytes included), row by row: rows of a frame are
 * not contiguous. */
uint64_t tight_jpeg_rect_hash(const uint8_t *px, size_t pitch, uint32_t w, uint32_t h);

#endif
