/* The bytes of the Tight encoding that the Tight-JPEG path writes (RFB encoding 7).
 *
 * Owns nothing: pure functions that lay out a FramebufferUpdate header, rectangle
 * headers, the JPEG and fill sub-encodings, the compact length and the LastRect marker,
 * all in network byte order, into the caller's buffer. Any thread.
 *
 * A Tight rectangle is the 12-byte RFB rectangle header (x, y, w, h, encoding 7), one
 * compression-control byte, and the sub-encoding's data:
 *   fill  0x80, then the colour as TPIXEL: for a 32 bpp, depth 24 client format with
 *         8-bit channels (the only one this path serves) that is three bytes R, G, B,
 *         whatever the client's shifts and byte order;
 *   jpeg  0x90, the JPEG's length as a compact length, the JPEG (decoded by the client
 *         into its own pixel format).
 * A compact length takes 1 to 3 bytes, 7 bits in each of the first two (high bit = more
 * follows) and 8 in the third: at most 2^22 - 1 = 4 MiB - 1.
 */
#ifndef VGPU_TIGHT_JPEG_WIRE_H
#define VGPU_TIGHT_JPEG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define TIGHT_WIRE_ENCODING 7
#define TIGHT_WIRE_ENCODING_LAST_RECT (-224)
#define TIGHT_WIRE_RECT_HEADER 12u
#define TIGHT_WIRE_FBU_HEADER 4u
#define TIGHT_WIRE_MAX_COMPACT 0x3fffffu
#define TIGHT_WIRE_CTL_FILL 0x80u
#define TIGHT_WIRE_CTL_JPEG 0x90u
/* Longest prefix written before a rectangle's payload: header, control, 3-byte length. */
#define TIGHT_WIRE_PREFIX_MAX (TIGHT_WIRE_RECT_HEADER + 1u + 3u)
#define TIGHT_WIRE_FILL_SIZE (TIGHT_WIRE_RECT_HEADER + 1u + 3u)

/* Compact length of len (<= TIGHT_WIRE_MAX_COMPACT) into out; returns 1, 2 or 3. */
size_t tight_wire_compact_len(uint8_t out[3], uint32_t len);

/* FramebufferUpdate message header: type 0, padding, number of rectangles. */
size_t tight_wire_fbu_header(uint8_t out[TIGHT_WIRE_FBU_HEADER], uint16_t n_rects);

/* Rectangle header with any encoding number (negative ones are pseudo-encodings). */
size_t tight_wire_rect_header(uint8_t out[TIGHT_WIRE_RECT_HEADER], uint16_t x, uint16_t y,
			      uint16_t w, uint16_t h, int32_t encoding);

/* A whole fill rectangle of colour rgb (0xRRGGBB). Returns TIGHT_WIRE_FILL_SIZE. */
size_t tight_wire_fill(uint8_t out[TIGHT_WIRE_FILL_SIZE], uint16_t x, uint16_t y, uint16_t w,
		       uint16_t h, uint32_t rgb);

/* Everything of a JPEG rectangle before the JPEG itself (jpeg_len <= TIGHT_WIRE_MAX_COMPACT).
 * Returns 14, 15 or 16. */
size_t tight_wire_jpeg_prefix(uint8_t out[TIGHT_WIRE_PREFIX_MAX], uint16_t x, uint16_t y,
			      uint16_t w, uint16_t h, uint32_t jpeg_len);

/* The LastRect marker: a rectangle header 0,0,0,0 with encoding -224. */
size_t tight_wire_last_rect(uint8_t out[TIGHT_WIRE_RECT_HEADER]);

#endif
