/* Client input on the synthetic screen, and the cursor shapes that show it.
 *
 * Keys type into the Notes window's text (printable ASCII, BackSpace, Return), pointer
 * drags with button 1 paint; synth_input keeps both, and the scenes draw them on top
 * (synthetic_scenes.h). The cursor plane's two images (the arrow, the hand while button 1
 * is down) are drawn here too. Called under the source's lock: no I/O.
 */
#ifndef VGPU_SYNTHETIC_INPUT_H
#define VGPU_SYNTHETIC_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthetic_draw.h"

/* Typed text is kept to this many bytes; older text is dropped from the front. */
#define SYNTH_TEXT_MAX 4096

/* What input has done to the picture. Coordinates are in the largest geometry the
 * source shows; each buffer shows the part that fits. */
struct synth_input {
	char *text;                  /* typed text, len bytes (no NUL needed) */
	size_t len;
	uint8_t *paint;              /* paint_w * paint_h bytes, nonzero = painted; NULL = none */
	int paint_w, paint_h;
	struct synth_rect paint_box; /* bounding box of everything painted */
};

/* Input. key: true if the text changed. paint: the rect painted (empty if none, also when
 * out of memory); max_w/max_h is the largest geometry, which sizes the paint layer. */
bool synth_input_key(struct synth_input *in, uint32_t keysym);
struct synth_rect synth_input_paint(struct synth_input *in, int x, int y, int max_w, int max_h);
void synth_input_free(struct synth_input *in);

enum synth_cursor_shape {
	SYNTH_CURSOR_ARROW,
	SYNTH_CURSOR_HAND,
};

/* A SYNTHETIC_CURSOR_SIZE square cursor image in ARGB8888 (0xAARRGGBB), rows of
 * pitch pixels; transparent where the shape is not. */
void synth_cursor_draw(enum synth_cursor_shape shape, uint32_t *px, size_t pitch);

#endif
