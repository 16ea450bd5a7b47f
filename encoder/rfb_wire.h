/* RFB message framing that our encoders write themselves (Open H.264, Tight-JPEG): the
 * FramebufferUpdate header, the rectangle header, and Tight's compact length.
 *
 * Owns nothing: inline writers in network byte order into the caller's buffer, in the
 * chain style of bytes.h (each returns the byte after what it wrote). Any thread.
 */
#ifndef VGPU_RFB_WIRE_H
#define VGPU_RFB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define RFB_WIRE_FBU_HEADER 4u   /* type 0, padding, number of rectangles */
#define RFB_WIRE_RECT_HEADER 12u /* x, y, w, h, encoding */
#define RFB_WIRE_ENCODING_TIGHT 7
#define RFB_WIRE_ENCODING_LAST_RECT (-224)
/* The largest length a Tight compact length holds: 2^22 - 1 = 4 MiB - 1. */
#define RFB_WIRE_TIGHT_MAX_COMPACT 0x3fffffu

/* FramebufferUpdate message header with n_rects rectangles (0xffff with LastRect: "up to
 * the LastRect marker"). */
static inline uint8_t *rfb_wire_fbu_header(uint8_t *p, uint16_t n_rects)
{
	*p++ = 0; /* rfbFramebufferUpdate */
	*p++ = 0; /* padding */
	return put_be16(p, n_rects);
}

/* Rectangle header with any encoding number (negative ones are pseudo-encodings). */
static inline uint8_t *rfb_wire_rect_header(uint8_t *p, uint16_t x, uint16_t y, uint16_t w,
					    uint16_t h, int32_t encoding)
{
	p = put_be16(p, x);
	p = put_be16(p, y);
	p = put_be16(p, w);
	p = put_be16(p, h);
	return put_be32(p, (uint32_t)encoding);
}

/* Tight's compact length of len (<= RFB_WIRE_TIGHT_MAX_COMPACT): 1 to 3 bytes, 7 bits in
 * each of the first two (high bit = more follows) and 8 in the third. */
static inline uint8_t *rfb_wire_tight_compact_len(uint8_t *p, uint32_t len)
{
	*p = (uint8_t)(len & 0x7f);
	if (len <= 0x7f)
		return p + 1;
	*p++ |= 0x80;
	*p = (uint8_t)((len >> 7) & 0x7f);
	if (len <= 0x3fff)
		return p + 1;
	*p++ |= 0x80;
	*p++ = (uint8_t)(len >> 14);
	return p;
}

#endif
