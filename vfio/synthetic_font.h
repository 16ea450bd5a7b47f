/* The synthetic vGPU's text font: 8x8 bitmap glyphs for printable ASCII.
 *
 * Data only; pure; any thread. Row 0 is the top row; in each row byte, bit 0 is the
 * leftmost pixel.
 */
#ifndef VGPU_SYNTHETIC_FONT_H
#define VGPU_SYNTHETIC_FONT_H

#include <stdint.h>

#define SYNTHETIC_FONT_W 8
#define SYNTHETIC_FONT_H 8

/* The 8 row bytes of a glyph. Characters outside 0x20..0x7e show as '?'. */
const uint8_t *synthetic_font_glyph(unsigned char ch);

#endif
