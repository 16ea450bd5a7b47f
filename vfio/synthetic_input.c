/* Client input on the synthetic screen: typed text, paint, and the cursor images.
 * See synthetic_input.h.
 */
#include "synthetic_input.h"

#include <stdlib.h>
#include <string.h>

#include "synthetic_defs.h"

/* X keysyms the Notes window understands besides printable ASCII. */
#define KEYSYM_BACKSPACE 0xff08u
#define KEYSYM_RETURN 0xff0du
#define KEYSYM_KP_ENTER 0xff8du

static bool text_append(struct synth_input *in, char ch)
{
	if (!in->text) {
		in->text = malloc(SYNTH_TEXT_MAX);
		if (!in->text)
			return false;
	}
	if (in->len == SYNTH_TEXT_MAX) {
		/* Drop the oldest quarter: long gone off the top of the window. */
		memmove(in->text, in->text + SYNTH_TEXT_MAX / 4, SYNTH_TEXT_MAX - SYNTH_TEXT_MAX / 4);
		in->len -= SYNTH_TEXT_MAX / 4;
	}
	in->text[in->len++] = ch;
	return true;
}

bool synth_input_key(struct synth_input *in, uint32_t keysym)
{
	if (keysym >= 0x20u && keysym <= 0x7eu)
		return text_append(in, (char)keysym);
	if (keysym == KEYSYM_RETURN || keysym == KEYSYM_KP_ENTER)
		return text_append(in, '\n');
	if (keysym == KEYSYM_BACKSPACE && in->len > 0) {
		in->len--;
		return true;
	}
	return false;
}

struct synth_rect synth_input_paint(struct synth_input *in, int x, int y, int max_w, int max_h)
{
	int size = (int)SYNTHETIC_STAMP_SIZE;

	if (!in->paint) {
		in->paint = calloc((size_t)max_w, (size_t)max_h);
		if (!in->paint)
			return synth_rect_make(0, 0, 0, 0);
		in->paint_w = max_w;
		in->paint_h = max_h;
		in->paint_box = synth_rect_make(0, 0, 0, 0);
	}
	struct synth_rect r = synth_rect_intersect(
		synth_rect_make(x - size / 2, y - size / 2, size, size),
		synth_rect_make(0, 0, in->paint_w, in->paint_h));
	for (int py = r.y; py < r.y + r.h; py++)
		memset(in->paint + (size_t)py * (size_t)in->paint_w + (size_t)r.x, 1, (size_t)r.w);
	in->paint_box = synth_rect_bbox(in->paint_box, r);
	return r;
}

void synth_input_free(struct synth_input *in)
{
	free(in->text);
	free(in->paint);
	*in = (struct synth_input){ 0 };
}

/* ---- cursor ---- */

/* 'X' outline, '.' fill, ' ' transparent; the hotspot is the art's (0,0) for the arrow
 * and (5,0) for the hand, placed so that the plane reports SYNTHETIC_*_HOT_*. */
static const char *const arrow_art[] = {
	"X",
	"XX",
	"X.X",
	"X..X",
	"X...X",
	"X....X",
	"X.....X",
	"X......X",
	"X.......X",
	"X........X",
	"X.........X",
	"X..........X",
	"X......XXXXX",
	"X...X..X",
	"X..XX..X",
	"X.X  X..X",
	"XX   X..X",
	"X     X..X",
	"      X..X",
	"       XX",
};

static const char *const hand_art[] = {
	"     XX",
	"    X..X",
	"    X..X",
	"    X..X",
	"    X..XXX",
	"    X..X..XXX",
	"    X..X..X..XX",
	" XX X..X..X..X.X",
	"X..XX........X.X",
	"X...X..........X",
	" X.............X",
	"  X............X",
	"  X...........X",
	"   X..........X",
	"   X.........X",
	"    X........X",
	"    X........X",
	"    XXXXXXXXXX",
};

static void cursor_art(uint32_t *px, size_t pitch, const char *const *art, size_t rows, int ox,
		       int oy)
{
	for (size_t r = 0; r < rows; r++) {
		for (size_t i = 0; art[r][i]; i++) {
			size_t x = (size_t)ox + i, y = (size_t)oy + r;
			if (x >= SYNTHETIC_CURSOR_SIZE || y >= SYNTHETIC_CURSOR_SIZE)
				continue;
			if (art[r][i] == 'X')
				px[y * pitch + x] = 0xff000000u;
			else if (art[r][i] == '.')
				px[y * pitch + x] = 0xffffffffu;
		}
	}
}

void synth_cursor_draw(enum synth_cursor_shape shape, uint32_t *px, size_t pitch)
{
	for (size_t y = 0; y < SYNTHETIC_CURSOR_SIZE; y++)
		memset(px + y * pitch, 0, SYNTHETIC_CURSOR_SIZE * sizeof(*px));
	if (shape == SYNTH_CURSOR_HAND)
		cursor_art(px, pitch, hand_art, sizeof(hand_art) / sizeof(hand_art[0]),
			   SYNTHETIC_HAND_HOT_X - 5, SYNTHETIC_HAND_HOT_Y);
	else
		cursor_art(px, pitch, arrow_art, sizeof(arrow_art) / sizeof(arrow_art[0]),
			   SYNTHETIC_CURSOR_HOT_X, SYNTHETIC_CURSOR_HOT_Y);
}
