/* Scenes of the synthetic vGPU: layout, pictures, and what a tick changes.
 *
 * Owns what the synthetic screen looks like. Everything here is a pure function of
 * (scene, geometry, tick, input): synth_frame_init() computes the parts that depend on
 * the tick (clock text, text grids, positions), synth_frame_render() draws any rect of
 * the picture in layers (wallpaper, panel and windows; the scene's moving element; the
 * Notes window; paint), and synth_frame_diff() names the rects where two ticks differ.
 * Integer arithmetic only, so pictures are identical on every machine. Text grids are in
 * synthetic_text.c, the input model and the cursor images in synthetic_input.c.
 */
#include "synthetic_scenes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic_defs.h"
#include "synthetic_font.h"

#define TYPING_CHARS_PER_TICK 2u
#define SCROLL_PIXELS_PER_TICK 2u /* times the text scale */

#define RGB_PANEL 0x1f2329u
#define RGB_PANEL_TEXT 0xe6e6e6u
#define RGB_BORDER 0x0e1116u
#define RGB_TITLE_TEXT 0xffffffu
#define RGB_TERM_TITLE 0x3a3f47u
#define RGB_TERM_BODY 0x1b1d21u
#define RGB_TERM_TEXT 0x9fe39au
#define RGB_PHOTO_TITLE 0x4b6584u
#define RGB_NOTES_TITLE 0x8c6d1fu
#define RGB_NOTES_BODY SYNTH_NOTES_BG_RGB
#define RGB_NOTES_TEXT SYNTH_NOTES_FG_RGB
#define RGB_EDITOR_TITLE 0x2d6cdfu
#define RGB_EDITOR_BODY SYNTH_EDITOR_BG_RGB
#define RGB_EDITOR_TEXT SYNTH_EDITOR_FG_RGB
#define RGB_SCROLL_TITLE 0x2f7d5bu
#define RGB_SCROLL_BODY 0x0f1a2bu
#define RGB_SCROLL_TEXT 0xcfd8e6u
#define RGB_DRAG_TITLE 0xb5472fu
#define RGB_DRAG_DARK 0x5a3f80u
#define RGB_DRAG_LIGHT 0x7d5fa6u
#define RGB_FLIP_BOX 0xffc02cu
#define RGB_FLIP_EDGE 0x3a2a05u
#define RGB_MODE_TITLE 0x555b66u
#define RGB_MODE_BODY 0x262626u
#define RGB_MODE_TEXT 0xffe070u
#define RGB_NONE 0xffffffffu /* "do not fill" */

/* round(127 * sin(2 pi i / 256)) */
static const int8_t sin_table[256] = {
	0, 3, 6, 9, 12, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46,
	49, 51, 54, 57, 60, 63, 65, 68, 71, 73, 76, 78, 81, 83, 85, 88,
	90, 92, 94, 96, 98, 100, 102, 104, 106, 107, 109, 111, 112, 113, 115, 116,
	117, 118, 120, 121, 122, 122, 123, 124, 125, 125, 126, 126, 126, 127, 127, 127,
	127, 127, 127, 127, 126, 126, 126, 125, 125, 124, 123, 122, 122, 121, 120, 118,
	117, 116, 115, 113, 112, 111, 109, 107, 106, 104, 102, 100, 98, 96, 94, 92,
	90, 88, 85, 83, 81, 78, 76, 73, 71, 68, 65, 63, 60, 57, 54, 51,
	49, 46, 43, 40, 37, 34, 31, 28, 25, 22, 19, 16, 12, 9, 6, 3,
	0, -3, -6, -9, -12, -16, -19, -22, -25, -28, -31, -34, -37, -40, -43, -46,
	-49, -51, -54, -57, -60, -63, -65, -68, -71, -73, -76, -78, -81, -83, -85, -88,
	-90, -92, -94, -96, -98, -100, -102, -104, -106, -107, -109, -111, -112, -113, -115, -116,
	-117, -118, -120, -121, -122, -122, -123, -124, -125, -125, -126, -126, -126, -127, -127, -127,
	-127, -127, -127, -127, -126, -126, -126, -125, -125, -124, -123, -122, -122, -121, -120, -118,
	-117, -116, -115, -113, -112, -111, -109, -107, -106, -104, -102, -100, -98, -96, -94, -92,
	-90, -88, -85, -83, -81, -78, -76, -73, -71, -68, -65, -63, -60, -57, -54, -51,
	-49, -46, -43, -40, -37, -34, -31, -28, -25, -22, -19, -16, -12, -9, -6, -3,
};

static const char *const term_lines[] = {
	"$ uname -srm",
	"Linux 6.1.0-vgpu x86_64",
	"$ ls /sys/bus/mdev/devices",
	"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
	"$ vgpu-vnc --source synthetic",
	"listening on 0.0.0.0:5900",
	"client 10.0.0.7: H.264, 1280x720",
	"$ _",
};

static const char *const log_messages[] = {
	"vfio: plane XR24 1280x720 id 1",
	"capture: 12 tiles changed",
	"encoder: tight q=6, 3.1 KB",
	"client 10.0.0.7: update request",
	"h264: IDR, 41 KB",
	"capture: idle, backing off",
};

/* Typed by the typing scene, over and over. It ends with an empty line so that each
 * repetition starts a paragraph, and so that the layout repeats with it. */
static const char typing_text[] =
	"The synthetic vGPU types this text so that encoders see what a person at a "
	"keyboard produces: a few new glyphs per frame, a caret that walks along the line, "
	"and now and then a whole window of text that scrolls up by one line. Real "
	"desktops are mostly still; the parts that move are small, and they move often. "
	"A good VNC server sends those few tiles and nothing else, whatever the size of "
	"the screen.\n\n";

static int imin(int a, int b)
{
	return a < b ? a : b;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* A triangle wave: 0 .. range .. 0 as pos grows, period 2*range. */
static int triangle(uint64_t pos, int range)
{
	if (range <= 0)
		return 0;
	uint64_t q = pos % (2u * (uint64_t)range);
	return (int)(q <= (uint64_t)range ? q : 2u * (uint64_t)range - q);
}

/* ---- layout ---- */

/* A rect in thousandths of the screen, so that the picture scales to any size. */
static struct synth_rect permille(int w, int h, int x, int y, int rw, int rh)
{
	return synth_rect_make((int)((long long)w * x / 1000), (int)((long long)h * y / 1000),
			       (int)((long long)w * rw / 1000), (int)((long long)h * rh / 1000));
}

static void layout_init(struct synth_layout *L, int w, int h)
{
	L->w = w;
	L->h = h;
	L->scale = imax(1, imin(w / 960, h / 540));
	L->cw = SYNTHETIC_FONT_W * L->scale;
	L->ch = SYNTHETIC_FONT_H * L->scale;
	L->panel = synth_rect_make(0, 0, w, L->ch + 4 * L->scale);
	L->label = synth_rect_make(w - 8 * L->cw - 2 * L->scale, 2 * L->scale, 8 * L->cw, L->ch);
	L->term = permille(w, h, 30, 80, 420, 400);
	L->photo = permille(w, h, 490, 80, 470, 440);
	L->notes = permille(w, h, 600, 600, 370, 350);
	L->editor = permille(w, h, 120, 180, 460, 600);
	L->scroll = permille(w, h, 100, 160, 460, 620);
	/* Left of the Notes window (which starts at 600/1000): nothing overlaps the video. */
	L->video = permille(w, h, 50, 100, 520, 620);
	L->mode_box = permille(w, h, 300, 380, 400, 200);
}

struct window {
	struct synth_rect frame, title, body;
};

static struct window window_at(const struct synth_layout *L, struct synth_rect frame)
{
	struct window win = { .frame = frame };
	struct synth_rect in = synth_rect_inset(frame, L->scale);
	int th = imin(L->ch + 4 * L->scale, in.h);

	win.title = synth_rect_make(in.x, in.y, in.w, th);
	win.body = synth_rect_make(in.x, in.y + th, in.w, in.h - th);
	return win;
}

/* The drag scene's window at a tick: bouncing across the screen below the panel. */
static struct synth_rect drag_rect(const struct synth_layout *L, uint64_t tick)
{
	int dw = (int)((long long)L->w * 300 / 1000), dh = (int)((long long)L->h * 320 / 1000);
	int top = L->panel.h;
	uint64_t vx = (uint64_t)imax(1, L->w / 240), vy = (uint64_t)imax(1, L->h / 200);

	return synth_rect_make(triangle(tick * vx, L->w - dw),
			       top + triangle(tick * vy, L->h - top - dh), dw, dh);
}

/* The flip scene's box at a tick: sliding to and fro below the terminal. */
static struct synth_rect flip_rect(const struct synth_layout *L, uint64_t tick)
{
	int bs = imax(4, imin(L->w, L->h) / 10);
	int x0 = L->w * 30 / 1000, x1 = L->w * 570 / 1000 - bs;
	uint64_t v = (uint64_t)imax(1, L->w / 160);

	return synth_rect_make(x0 + triangle(tick * v, x1 - x0), L->h * 800 / 1000 - bs / 2, bs, bs);
}

/* ---- text ---- */

/* The typing scene after tick*TYPING_CHARS_PER_TICK characters of typing_text repeated.
 * Lines come from the layout of the whole paragraph, so a word never jumps to the next
 * line while it is typed, and since the paragraph repeats, so does its layout: only
 * line numbers modulo the paragraph's line count matter. */
static void grid_fill_typing(struct synth_grid *g, uint64_t tick)
{
	enum { PLEN = sizeof(typing_text) - 1 };
	uint16_t starts[PLEN + 1], lens[PLEN + 1]; /* a text has at most one line more than chars */
	size_t start, n, m = 0;
	struct synth_wrap w;

	if (!g->cells)
		return;
	synth_wrap_init(&w, typing_text, PLEN, g->cols);
	while (synth_wrap_next(&w, &start, &n)) {
		starts[m] = (uint16_t)start;
		lens[m++] = (uint16_t)n;
	}
	m--; /* the empty line after the final '\n' is the next repetition's first */

	uint64_t typed = tick * TYPING_CHARS_PER_TICK;
	size_t off = (size_t)(typed % PLEN), cur = 0;
	while (cur + 1 < m && starts[cur + 1] <= off)
		cur++;
	uint64_t last = typed / PLEN * m + cur; /* the caret's line, counted from the start */
	uint64_t top = last + 1 > (uint64_t)g->rows ? last + 1 - (uint64_t)g->rows : 0;

	for (uint64_t line = top; line <= last; line++) {
		size_t i = (size_t)(line % m);
		size_t shown = line == last ? imin(lens[i], (int)(off - starts[i])) : lens[i];
		synth_grid_put(g, line - top, typing_text + starts[i], shown);
	}
	synth_grid_caret(g, last - top, off - starts[cur]);
}

/* ---- pictures ---- */

static void window_draw(const struct synth_layout *L, const struct synth_canvas *c,
			struct synth_rect clip, const struct window *win, const char *title,
			uint32_t title_rgb, uint32_t body_rgb)
{
	static const uint32_t buttons[3] = { 0xe0524cu, 0xe6b93au, 0x55b85cu };
	int pad = 2 * L->scale;

	if (synth_rect_empty(synth_rect_intersect(clip, win->frame)))
		return;
	synth_frame_rect(c, clip, win->frame, L->scale, RGB_BORDER);
	struct synth_rect tclip = synth_rect_intersect(clip, win->title);
	synth_fill(c, tclip, win->title, title_rgb);
	synth_text(c, tclip, win->title.x + pad, win->title.y + pad, L->scale, title, SIZE_MAX,
		   RGB_TITLE_TEXT, title_rgb);
	for (int i = 0; i < 3; i++) {
		int x = win->title.x + win->title.w - (i + 1) * (L->ch + pad);
		synth_fill(c, tclip, synth_rect_make(x, win->title.y + pad, L->ch, L->ch), buttons[i]);
	}
	if (body_rgb != RGB_NONE)
		synth_fill(c, clip, win->body, body_rgb);
}

/* Text lines inside a body, clipped to it. */
static void body_lines(const struct synth_layout *L, const struct synth_canvas *c,
		       struct synth_rect clip, struct synth_rect body, const char *const *lines,
		       size_t n, uint32_t fg, uint32_t bg)
{
	struct synth_rect bclip = synth_rect_intersect(clip, body);
	int pad = 2 * L->scale;

	if (synth_rect_empty(bclip))
		return;
	for (size_t i = 0; i < n; i++) {
		int y = body.y + pad + (int)i * (L->ch + L->scale);
		synth_text(c, bclip, body.x + pad, y, L->scale, lines[i], SIZE_MAX, fg, bg);
	}
}

/* The wallpaper: a diagonal gradient, 16.16 fixed point stepping along each row. */
static void draw_wallpaper(const struct synth_layout *L, const struct synth_canvas *c,
			   struct synth_rect clip)
{
	static const int32_t base[3] = { 0x1b, 0x2a, 0x4a }, dx[3] = { 0x30, 0x38, 0x20 },
			     dy[3] = { 0x10, 0x30, 0x40 };
	struct synth_rect r = synth_canvas_clip(c, clip, synth_rect_make(0, 0, L->w, L->h));
	int32_t step[3];

	for (int k = 0; k < 3; k++)
		step[k] = (int32_t)(((int64_t)dx[k] << 16) / L->w);
	for (int y = r.y; y < r.y + r.h; y++) {
		int32_t v[3];
		for (int k = 0; k < 3; k++)
			v[k] = (base[k] << 16) + (int32_t)(((int64_t)dy[k] << 16) * y / L->h) +
			       step[k] * r.x;
		uint32_t *row = synth_canvas_row(c, y);
		for (int x = r.x; x < r.x + r.w; x++) {
			row[x] = synth_pack(c, synth_rgb((unsigned)(v[0] >> 16), (unsigned)(v[1] >> 16),
							 (unsigned)(v[2] >> 16)));
			for (int k = 0; k < 3; k++)
				v[k] += step[k];
		}
	}
}

static void draw_panel(const struct synth_frame *f, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	const struct synth_layout *L = &f->L;

	if (synth_rect_empty(synth_rect_intersect(clip, L->panel)))
		return;
	synth_fill(c, clip, L->panel, RGB_PANEL);
	synth_text(c, clip, 2 * L->scale, 2 * L->scale, L->scale, "vgpu-vnc  synthetic vGPU",
		   SIZE_MAX, RGB_PANEL_TEXT, RGB_PANEL);
	synth_text(c, clip, L->label.x, L->label.y, L->scale, f->label, SIZE_MAX, RGB_PANEL_TEXT,
		   RGB_PANEL);
}

static void draw_terminal(const struct synth_layout *L, const struct synth_canvas *c,
			  struct synth_rect clip)
{
	struct window win = window_at(L, L->term);

	window_draw(L, c, clip, &win, "Terminal", RGB_TERM_TITLE, RGB_TERM_BODY);
	body_lines(L, c, clip, win.body, term_lines, sizeof(term_lines) / sizeof(term_lines[0]),
		   RGB_TERM_TEXT, RGB_TERM_BODY);
}

/* A landscape at sunset: sky gradient, a sun, a line of hills. Smooth, photo-like
 * content for the JPEG and H.264 paths. */
static uint32_t photo_pixel(struct synth_rect b, int x, int y, int hill, long long sun_r2)
{
	long long dx = x - (b.x + b.w * 7 / 10), dy = y - (b.y + b.h * 2 / 5);

	if (y >= hill) {
		int depth = (int)((long long)(y - hill) * 90 / imax(1, b.h));
		return synth_rgb(40 + depth / 3, 130 - depth, 60 - depth / 2);
	}
	if (dx * dx + dy * dy <= sun_r2)
		return 0xffdc78u;
	int v = (int)((long long)(y - b.y) * 255 / imax(1, b.h));
	return synth_rgb(40 + v * 4 / 5, 50 + v * 2 / 5, 120 - v / 8);
}

static void draw_photo(const struct synth_layout *L, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	struct window win = window_at(L, L->photo);
	struct synth_rect b = win.body;

	window_draw(L, c, clip, &win, "Photo - hills.png", RGB_PHOTO_TITLE, RGB_NONE);
	struct synth_rect r = synth_canvas_clip(c, clip, b);
	if (synth_rect_empty(r))
		return;
	long long sun_r = imin(b.w, b.h) / 7;
	int32_t ustep = (int32_t)((512 << 16) / b.w);
	for (int y = r.y; y < r.y + r.h; y++) {
		uint32_t *row = synth_canvas_row(c, y);
		for (int x = r.x; x < r.x + r.w; x++) {
			int u = (int)(((int64_t)(x - b.x) * ustep) >> 16);
			int hill = b.y + b.h * 3 / 5 + sin_table[u & 255] * b.h / 1270;
			row[x] = synth_pack(c, photo_pixel(b, x, y, hill, sun_r * sun_r));
		}
	}
}

static void draw_notes(const struct synth_frame *f, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	struct window win = window_at(&f->L, f->L.notes);

	if (synth_rect_empty(synth_rect_intersect(clip, win.frame)))
		return;
	window_draw(&f->L, c, clip, &win, "Notes - type here", RGB_NOTES_TITLE, RGB_NOTES_BODY);
	synth_grid_draw(&f->notes, c, clip, RGB_NOTES_TEXT, RGB_NOTES_BODY);
}

static void draw_paint(const struct synth_input *in, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	if (!in->paint)
		return;
	struct synth_rect r = synth_canvas_clip(c, clip, in->paint_box);
	r = synth_rect_intersect(r, synth_rect_make(0, 0, in->paint_w, in->paint_h));
	uint32_t v = synth_pack(c, SYNTHETIC_STAMP_RGB);
	for (int y = r.y; y < r.y + r.h; y++) {
		const uint8_t *mask = in->paint + (size_t)y * (size_t)in->paint_w;
		uint32_t *row = synth_canvas_row(c, y);
		for (int x = r.x; x < r.x + r.w; x++)
			if (mask[x])
				row[x] = v;
	}
}

static void draw_editor(const struct synth_frame *f, const struct synth_canvas *c,
			struct synth_rect clip)
{
	struct window win = window_at(&f->L, f->L.editor);

	window_draw(&f->L, c, clip, &win, "Editor - story.txt", RGB_EDITOR_TITLE, RGB_EDITOR_BODY);
	synth_grid_draw(&f->editor, c, clip, RGB_EDITOR_TEXT, RGB_EDITOR_BODY);
}

/* One line of the log at y: a coloured bar and a numbered message, clipped to the log. */
static void draw_log_line(const struct synth_layout *L, const struct synth_canvas *c,
			  struct synth_rect clip, struct synth_rect area, int y, uint64_t k)
{
	unsigned hue = (unsigned)(k * 37u);
	uint32_t bar = synth_rgb((unsigned)(128 + sin_table[hue & 255]),
				 (unsigned)(128 + sin_table[(hue + 85) & 255]),
				 (unsigned)(128 + sin_table[(hue + 170) & 255]));
	int s = L->scale;
	char text[64];

	clip = synth_rect_intersect(clip, area);
	synth_fill(c, clip, synth_rect_make(area.x, y, area.w, L->ch + 2 * s), RGB_SCROLL_BODY);
	synth_fill(c, clip, synth_rect_make(area.x + 2 * s, y + s, L->cw, L->ch), bar);
	snprintf(text, sizeof(text), "%06llu  %s", (unsigned long long)(k % 1000000u),
		 log_messages[k % (sizeof(log_messages) / sizeof(log_messages[0]))]);
	synth_text(c, clip, area.x + L->cw + 4 * s, y + s, s, text, SIZE_MAX, RGB_SCROLL_TEXT,
		   RGB_SCROLL_BODY);
}

/* The log's content is an endless list of lines; scroll_off pixels of it have gone by. */
static void draw_scroll(const struct synth_frame *f, const struct synth_canvas *c,
			struct synth_rect clip)
{
	const struct synth_layout *L = &f->L;
	struct window win = window_at(L, L->scroll);
	struct synth_rect r = synth_canvas_clip(c, clip, win.body);
	uint64_t line_h = (uint64_t)(L->ch + 2 * L->scale);

	window_draw(L, c, clip, &win, "Log - tail -f", RGB_SCROLL_TITLE, RGB_NONE);
	if (synth_rect_empty(r))
		return;
	uint64_t first = ((uint64_t)(r.y - win.body.y) + f->scroll_off) / line_h;
	uint64_t last = ((uint64_t)(r.y + r.h - 1 - win.body.y) + f->scroll_off) / line_h;
	for (uint64_t k = first; k <= last; k++) {
		int y = win.body.y + (int)((int64_t)(k * line_h) - (int64_t)f->scroll_off);
		draw_log_line(L, c, r, win.body, y, k);
	}
}

static void draw_drag(const struct synth_frame *f, const struct synth_canvas *c,
		      struct synth_rect clip)
{
	const struct synth_layout *L = &f->L;
	struct window win = window_at(L, f->element);
	struct synth_rect b = win.body, r = synth_canvas_clip(c, clip, b);
	int sq = 2 * L->cw;

	window_draw(L, c, clip, &win, "Window drag", RGB_DRAG_TITLE, RGB_NONE);
	if (synth_rect_empty(r))
		return;
	/* A checkerboard fixed to the window, so the whole window visibly moves. */
	for (int y = b.y + (r.y - b.y) / sq * sq; y < r.y + r.h; y += sq)
		for (int x = b.x + (r.x - b.x) / sq * sq; x < r.x + r.w; x += sq)
			synth_fill(c, r, synth_rect_make(x, y, sq, sq),
				   (((x - b.x) / sq + (y - b.y) / sq) & 1) ? RGB_DRAG_LIGHT : RGB_DRAG_DARK);
	synth_text(c, r, b.x + sq, b.y + sq, L->scale, "drag me", SIZE_MAX, RGB_TITLE_TEXT,
		   RGB_DRAG_DARK);
}

static unsigned triangle8(unsigned v)
{
	v &= 255u;
	return v < 128u ? 2u * v : 511u - 2u * v;
}

/* Plasma. Blue is a triangle wave of (position + 9 * tick): it differs between any two
 * consecutive ticks (2v = 511 - 2(v+9) has no integer solution), so every pixel of the
 * region changes every tick, which is what a video benchmark needs. Per-column terms and
 * per-tick colour tables keep the inner loop to a few lookups and adds. */
static void draw_video(const struct synth_frame *f, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	struct synth_rect v = f->element, r = synth_canvas_clip(c, clip, v);
	unsigned t = (unsigned)(f->tick & 255u);
	uint16_t col_u[SYNTHETIC_MAX_DIM];
	int8_t col_s[SYNTHETIC_MAX_DIM];
	uint32_t red_green[763], blue[256]; /* by p + 381; by blue's phase */

	if (synth_rect_empty(r))
		return;
	uint32_t px_r = synth_pack(c, 0x010000u) & 0xffffffu, px_g = 0x000100u,
		 px_b = synth_pack(c, 0x000001u) & 0xffffffu;
	for (int p = -381; p <= 381; p++) {
		unsigned red = (unsigned)(128 + p / 3);
		unsigned green = (unsigned)(128 + sin_table[((unsigned)(p + 384) / 2u + 4u * t) & 255u]);
		red_green[p + 381] = 0xff000000u | red * px_r | green * px_g;
	}
	for (unsigned i = 0; i < 256; i++)
		blue[i] = triangle8(i + 9u * t) * px_b;
	int32_t kx = (int32_t)((512 << 16) / v.w), ky = (int32_t)((512 << 16) / v.h);
	for (int x = r.x; x < r.x + r.w; x++) {
		col_u[x - r.x] = (uint16_t)(((int64_t)(x - v.x) * kx) >> 16);
		col_s[x - r.x] = sin_table[(col_u[x - r.x] + 3u * t) & 255u];
	}
	for (int y = r.y; y < r.y + r.h; y++) {
		unsigned uy = (unsigned)(((int64_t)(y - v.y) * ky) >> 16);
		int sy = sin_table[(uy + 2u * t) & 255u];
		uint32_t *row = synth_canvas_row(c, y) + r.x;
		for (int i = 0; i < r.w; i++) {
			unsigned uxy = (col_u[i] + uy) / 2u;
			int p = col_s[i] + sy + sin_table[(uxy + 5u * t) & 255u];
			row[i] = red_green[p + 381] | blue[uxy & 255u];
		}
	}
}

static void draw_flip(const struct synth_frame *f, const struct synth_canvas *c,
		      struct synth_rect clip)
{
	const struct synth_layout *L = &f->L;
	struct synth_rect b = f->element;
	char text[8];

	if (synth_rect_empty(synth_rect_intersect(clip, b)))
		return;
	synth_frame_rect(c, clip, b, L->scale, RGB_FLIP_EDGE);
	synth_fill(c, clip, synth_rect_inset(b, L->scale), RGB_FLIP_BOX);
	int n = snprintf(text, sizeof(text), "%u", (unsigned)(f->tick % 1000u));
	if (n * L->cw <= b.w - 2 * L->scale && L->ch <= b.h - 2 * L->scale) {
		struct synth_rect in = synth_rect_intersect(clip, synth_rect_inset(b, L->scale));
		synth_text(c, in, b.x + (b.w - n * L->cw) / 2, b.y + (b.h - L->ch) / 2, L->scale, text,
			   SIZE_MAX, RGB_FLIP_EDGE, RGB_FLIP_BOX);
	}
}

static void draw_mode(const struct synth_frame *f, const struct synth_canvas *c,
		      struct synth_rect clip)
{
	const struct synth_layout *L = &f->L;
	struct window win = window_at(L, L->mode_box);
	char text[24];

	window_draw(L, c, clip, &win, "Display mode", RGB_MODE_TITLE, RGB_MODE_BODY);
	int n = snprintf(text, sizeof(text), "%dx%d", L->w, L->h);
	int scale = n * 2 * L->cw <= win.body.w ? 2 * L->scale : L->scale;
	int tw = n * SYNTHETIC_FONT_W * scale, th = SYNTHETIC_FONT_H * scale;
	synth_text(c, synth_rect_intersect(clip, win.body), win.body.x + (win.body.w - tw) / 2,
		   win.body.y + (win.body.h - th) / 2, scale, text, SIZE_MAX, RGB_MODE_TEXT,
		   RGB_MODE_BODY);
}

/* ---- scenes: each one a row of what it draws, where, and what a tick changes ---- */

static void draw_clock(const struct synth_frame *f, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	/* Drawn by the panel too; here for the clips inside the clock, which skip the panel. */
	synth_text(c, clip, f->L.label.x, f->L.label.y, f->L.scale, f->label, SIZE_MAX,
		   RGB_PANEL_TEXT, RGB_PANEL);
}

static struct synth_rect clock_rect(const struct synth_frame *f)
{
	return f->L.label;
}

static struct synth_rect editor_rect(const struct synth_frame *f)
{
	return f->L.editor;
}

static struct synth_rect scroll_rect(const struct synth_frame *f)
{
	return f->L.scroll;
}

static struct synth_rect drag_element(const struct synth_frame *f)
{
	return drag_rect(&f->L, f->tick);
}

static struct synth_rect video_rect(const struct synth_frame *f)
{
	return f->L.video;
}

static struct synth_rect flip_element(const struct synth_frame *f)
{
	return flip_rect(&f->L, f->tick);
}

static void diff_clock(const struct synth_frame *a, const struct synth_frame *b,
		       struct synth_damage *d)
{
	if (strcmp(a->label, b->label) != 0)
		synth_damage_add(d, a->L.label);
}

static void diff_editor(const struct synth_frame *a, const struct synth_frame *b,
			struct synth_damage *d)
{
	synth_grid_diff(&a->editor, &b->editor, d);
}

static void diff_scroll(const struct synth_frame *a, const struct synth_frame *b,
			struct synth_damage *d)
{
	if (a->scroll_off != b->scroll_off)
		synth_damage_add(d, window_at(&a->L, a->L.scroll).body);
}

/* The element moved; its content does not depend on the tick. */
static void diff_moved(const struct synth_frame *a, const struct synth_frame *b,
		       struct synth_damage *d)
{
	if (!synth_rect_equal(a->element, b->element))
		synth_damage_add_moved(d, a->element, b->element);
}

/* The element's content depends on the tick (the video, the flip box's number). */
static void diff_ticked(const struct synth_frame *a, const struct synth_frame *b,
			struct synth_damage *d)
{
	if (a->tick != b->tick)
		synth_damage_add_moved(d, a->element, b->element);
}

/* element: the opaque rect the scene draws over the desktop (NULL: none). diff: adds the
 * rects where two ticks differ (NULL: the picture does not depend on the tick). */
struct scene_class {
	const char *name;
	void (*draw)(const struct synth_frame *f, const struct synth_canvas *c,
		     struct synth_rect clip);
	struct synth_rect (*element)(const struct synth_frame *f);
	void (*diff)(const struct synth_frame *a, const struct synth_frame *b,
		     struct synth_damage *d);
};

static const struct scene_class scene_classes[SYNTH_SCENE_COUNT] = {
	[SYNTH_SCENE_STATIC] = { "static", NULL, NULL, NULL },
	[SYNTH_SCENE_DESKTOP] = { "desktop", draw_clock, clock_rect, diff_clock },
	[SYNTH_SCENE_TYPING] = { "typing", draw_editor, editor_rect, diff_editor },
	[SYNTH_SCENE_SCROLL] = { "scroll", draw_scroll, scroll_rect, diff_scroll },
	[SYNTH_SCENE_DRAG] = { "drag", draw_drag, drag_element, diff_moved },
	[SYNTH_SCENE_VIDEO] = { "video", draw_video, video_rect, diff_ticked },
	[SYNTH_SCENE_FLIP] = { "flip", draw_flip, flip_element, diff_ticked },
	[SYNTH_SCENE_MODES] = { "modes", draw_mode, NULL, NULL },
	/* The video's picture; synthetic_hostile.c lies about the planes that show it. */
	[SYNTH_SCENE_HOSTILE] = { "hostile", draw_video, video_rect, diff_ticked },
};

const char *synth_scene_name(enum synth_scene_kind kind)
{
	return (unsigned)kind < SYNTH_SCENE_COUNT ? scene_classes[kind].name : "?";
}

bool synth_scene_from_name(const char *name, size_t len, enum synth_scene_kind *out)
{
	for (int k = 0; k < SYNTH_SCENE_COUNT; k++) {
		const char *n = scene_classes[k].name;
		if (strlen(n) == len && memcmp(n, name, len) == 0) {
			*out = (enum synth_scene_kind)k;
			return true;
		}
	}
	return false;
}

bool synth_scene_animated(enum synth_scene_kind kind)
{
	return scene_classes[kind].diff != NULL;
}

bool synth_scene_ticks(const struct synth_scene *scene)
{
	return scene->stamp || synth_scene_animated(scene->kind);
}

/* ---- the tick stamp ---- */

static struct synth_rect stamp_rect(const struct synth_layout *L)
{
	struct synthetic_rect r = synthetic_tick_stamp_rect(L->w, L->h);
	return synth_rect_make(r.x, r.y, r.w, r.h);
}

/* On top of everything: lossy codecs keep blocks this large black or white, so a client
 * can read which tick it is looking at. */
static void draw_stamp(const struct synth_frame *f, const struct synth_canvas *c,
		       struct synth_rect clip)
{
	struct synth_rect r = stamp_rect(&f->L);
	const int b = SYNTHETIC_TICK_STAMP_BLOCK;

	if (synth_rect_empty(synth_rect_intersect(clip, r)))
		return;
	for (unsigned i = 0; i < SYNTHETIC_TICK_STAMP_BITS; i++) {
		bool one = (f->tick >> i) & 1u;
		struct synth_rect blk = synth_rect_make(r.x + (int)(i % SYNTHETIC_TICK_STAMP_COLS) * b,
							r.y + (int)(i / SYNTHETIC_TICK_STAMP_COLS) * b,
							b, b);
		synth_fill(c, clip, blk, one ? 0xffffffu : 0x000000u);
	}
}

/* ---- frames ---- */

static void frame_label(struct synth_frame *f)
{
	if (f->scene->kind == SYNTH_SCENE_DESKTOP) {
		uint64_t secs = (12u * 3600u + f->tick / f->scene->rate) % 86400u;
		snprintf(f->label, sizeof(f->label), "%02u:%02u:%02u", (unsigned)(secs / 3600u),
			 (unsigned)(secs / 60u % 60u), (unsigned)(secs % 60u));
	} else {
		snprintf(f->label, sizeof(f->label), "%8s", synth_scene_name(f->scene->kind));
	}
}

int synth_frame_init(struct synth_frame *f, const struct synth_scene *scene, int w, int h,
		     uint64_t tick)
{
	const struct scene_class *k = &scene_classes[scene->kind];

	memset(f, 0, sizeof(*f));
	f->scene = scene;
	f->tick = tick;
	layout_init(&f->L, w, h);
	frame_label(f);
	f->element = k->element ? k->element(f) : synth_rect_make(0, 0, 0, 0);
	f->scroll_off = tick * SCROLL_PIXELS_PER_TICK * (uint64_t)f->L.scale;
	if (synth_grid_init(&f->notes, f->L.scale, window_at(&f->L, f->L.notes).body))
		goto fail;
	synth_grid_fill_notes(&f->notes, scene->input.text, scene->input.len);
	if (scene->kind == SYNTH_SCENE_TYPING) {
		if (synth_grid_init(&f->editor, f->L.scale, window_at(&f->L, f->L.editor).body))
			goto fail;
		grid_fill_typing(&f->editor, tick);
	}
	return 0;
fail:
	synth_frame_fini(f);
	return -ENOMEM;
}

void synth_frame_fini(struct synth_frame *f)
{
	free(f->notes.cells);
	free(f->editor.cells);
	f->notes.cells = f->editor.cells = NULL;
}

void synth_frame_render(const struct synth_frame *f, const struct synth_canvas *c,
			struct synth_rect clip)
{
	const struct scene_class *k = &scene_classes[f->scene->kind];

	clip = synth_canvas_clip(c, clip, synth_rect_make(0, 0, f->L.w, f->L.h));
	if (synth_rect_empty(clip))
		return;
	/* The element is opaque: a clip inside it (a video region, a clock, a typed cell)
	 * needs none of the layers below. */
	if (!synth_rect_contains(f->element, clip)) {
		draw_wallpaper(&f->L, c, clip);
		draw_panel(f, c, clip);
		draw_terminal(&f->L, c, clip);
		draw_photo(&f->L, c, clip);
	}
	if (k->draw)
		k->draw(f, c, clip);
	draw_notes(f, c, clip);
	draw_paint(&f->scene->input, c, clip);
	if (f->scene->stamp)
		draw_stamp(f, c, clip);
}

void synth_frame_diff(const struct synth_frame *a, const struct synth_frame *b,
		      struct synth_damage *d)
{
	const struct scene_class *k = &scene_classes[a->scene->kind];

	synth_grid_diff(&a->notes, &b->notes, d);
	if (k->diff)
		k->diff(a, b, d);
	if (a->scene->stamp && a->tick != b->tick)
		synth_damage_add(d, stamp_rect(&b->L));
}
