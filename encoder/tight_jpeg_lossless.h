/* Lossless Tight rectangles for the Tight-JPEG path's refresh ("Tight basic").
 *
 * A region sent as JPEG that then stays unchanged is sent once more exactly. This module
 * encodes one rectangle of XRGB8888 pixels as a Tight basic rectangle: with the palette
 * filter when it has at most 256 colours (1 bit a pixel for two colours, else one byte),
 * the copy filter (R, G, B bytes) otherwise, zlib-compressed on zlib stream 3.
 *
 * Why stream 3, and our own stream: a Tight client keeps four zlib streams whose state
 * must follow the server's exactly. libvncserver's Tight encoder uses streams 0..2 of the
 * same client (for the updates it sends itself when the client's settings take it off our
 * path), so ours must be a stream it never touches. The first rectangle of a new stream
 * carries the "reset stream 3" bit so that the client starts afresh too.
 *
 * The client's pixel format must be the one the Tight-JPEG path serves (32 bpp, depth 24,
 * 8-bit channels): pixels then travel as 3-byte TPIXELs R, G, B.
 *
 * State per client; called on that client's output thread only. No I/O.
 */
#ifndef VGPU_TIGHT_JPEG_LOSSLESS_H
#define VGPU_TIGHT_JPEG_LOSSLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define TIGHT_LOSSLESS_STREAM 3
#define TIGHT_LOSSLESS_MAX_PALETTE 256u

struct tight_lossless {
	z_stream z;
	bool active;  /* z is initialised and the client's stream 3 follows it */
	int level;    /* z's zlib level */
	uint8_t *raw; /* the filtered pixels before zlib */
	size_t raw_cap;
	uint8_t *zbuf; /* zlib output */
	size_t zbuf_cap;
	uint8_t *out; /* the rectangle after its header */
	size_t out_cap;
	uint32_t slot_rgb[2 * TIGHT_LOSSLESS_MAX_PALETTE]; /* palette hash */
	int16_t slot_idx[2 * TIGHT_LOSSLESS_MAX_PALETTE];
	uint32_t palette[TIGHT_LOSSLESS_MAX_PALETTE];
};

void tight_lossless_init(struct tight_lossless *s);
void tight_lossless_destroy(struct tight_lossless *s);

/* Encode the w x h block (rows stride bytes apart; w <= 2048, w * h <= 65536) at zlib
 * level 1..9. On 0, *data / *len is everything that follows the 12-byte rectangle header
 * (control byte, filter, palette, compact length, data), valid until the next call.
 * -ENOMEM or -EIO (zlib) otherwise; after an error the stream is reset and the next
 * rectangle tells the client to reset too. */
int tight_lossless_encode(struct tight_lossless *s, const uint8_t *px, size_t stride, uint32_t w,
			  uint32_t h, int level, const uint8_t **data, size_t *len);

/* Forget the stream (the next rectangle resets the client's stream 3). */
void tight_lossless_reset(struct tight_lossless *s);

#endif
