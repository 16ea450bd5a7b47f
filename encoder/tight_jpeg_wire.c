/* Tight rectangle bytes. See tight_jpeg_wire.h. */
#include "tight_jpeg_wire.h"

#include "bytes.h"

size_t tight_wire_compact_len(uint8_t out[3], uint32_t len)
{
	out[0] = (uint8_t)(len & 0x7f);
	if (len <= 0x7f)
		return 1;
	out[0] |= 0x80;
	out[1] = (uint8_t)((len >> 7) & 0x7f);
	if (len <= 0x3fff)
		return 2;
	out[1] |= 0x80;
	out[2] = (uint8_t)(len >> 14);
	return 3;
}

size_t tight_wire_fbu_header(uint8_t out[TIGHT_WIRE_FBU_HEADER], uint16_t n_rects)
{
	out[0] = 0; /* rfbFramebufferUpdate */
	out[1] = 0;
	put_be16(out + 2, n_rects);
	return TIGHT_WIRE_FBU_HEADER;
}

size_t tight_wire_rect_header(uint8_t out[TIGHT_WIRE_RECT_HEADER], uint16_t x, uint16_t y,
			      uint16_t w, uint16_t h, int32_t encoding)
{
	put_be16(out, x);
	put_be16(out + 2, y);
	put_be16(out + 4, w);
	put_be16(out + 6, h);
	put_be32(out + 8, (uint32_t)encoding);
	return TIGHT_WIRE_RECT_HEADER;
}

size_t tight_wire_fill(uint8_t out[TIGHT_WIRE_FILL_SIZE], uint16_t x, uint16_t y, uint16_t w,
		       uint16_t h, uint32_t rgb)
{
	size_t n = tight_wire_rect_header(out, x, y, w, h, TIGHT_WIRE_ENCODING);
	out[n++] = TIGHT_WIRE_CTL_FILL;
	out[n++] = (uint8_t)(rgb >> 16);
	out[n++] = (uint8_t)(rgb >> 8);
	out[n++] = (uint8_t)rgb;
	return n;
}

size_t tight_wire_jpeg_prefix(uint8_t out[TIGHT_WIRE_PREFIX_MAX], uint16_t x, uint16_t y,
			      uint16_t w, uint16_t h, uint32_t jpeg_len)
{
	size_t n = tight_wire_rect_header(out, x, y, w, h, TIGHT_WIRE_ENCODING);
	out[n++] = TIGHT_WIRE_CTL_JPEG;
	return n + tight_wire_compact_len(out + n, jpeg_len);
}

size_t tight_wire_last_rect(uint8_t out[TIGHT_WIRE_RECT_HEADER])
{
	return tight_wire_rect_header(out, 0, 0, 0, 0, TIGHT_WIRE_ENCODING_LAST_RECT);
}
