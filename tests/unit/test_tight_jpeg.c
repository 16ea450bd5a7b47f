/* The Tight-JPEG path's pure parts: wire bytes, JPEG parameters, rectangle planning, solid
 * tiles, lossless refresh decisions. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "byte_sink.h"
#include "unit_util.h"
#include "rfb_wire.h"
#include "tight_jpeg_encoder.h"
#include "tight_jpeg_lossless.h"
#include "tight_jpeg_plan.h"

#define J TIGHT_PLAN_JPEG
#define F TIGHT_PLAN_FILL
#define L TIGHT_PLAN_LOSSLESS
#define P TIGHT_PLAN_PALETTE
#define N TIGHT_PLAN_NONE

/* ---- wire --------------------------------------------------------------------------- */

static void check_compact(uint32_t len, const uint8_t *want, size_t want_n)
{
	uint8_t out[3] = {0xee, 0xee, 0xee};

	assert_int_equal(rfb_wire_tight_compact_len(out, len) - out, want_n);
	assert_memory_equal(out, want, want_n);
}

static void test_compact_length_one_two_three_bytes(void **state)
{
	(void)state;
	check_compact(0, (const uint8_t[]){0x00}, 1);
	check_compact(1, (const uint8_t[]){0x01}, 1);
	check_compact(127, (const uint8_t[]){0x7f}, 1);
	check_compact(128, (const uint8_t[]){0x80, 0x01}, 2);
	check_compact(10000, (const uint8_t[]){0x90, 0x4e}, 2);
	check_compact(16383, (const uint8_t[]){0xff, 0x7f}, 2);
	check_compact(16384, (const uint8_t[]){0x80, 0x80, 0x01}, 3);
	check_compact(300000, (const uint8_t[]){0xe0, 0xa7, 0x12}, 3);
	check_compact(4000000, (const uint8_t[]){0x80, 0x92, 0xf4}, 3);
	check_compact(RFB_WIRE_TIGHT_MAX_COMPACT, (const uint8_t[]){0xff, 0xff, 0xff}, 3);
}

static void test_update_header_rect_header_last_rect(void **state)
{
	(void)state;
	uint8_t out[RFB_WIRE_RECT_HEADER];
	assert_int_equal(rfb_wire_fbu_header(out, 3) - out, 4);
	assert_memory_equal(out, ((const uint8_t[]){0, 0, 0, 3}), 4);
	assert_int_equal(rfb_wire_fbu_header(out, 0xffff) - out, 4);
	assert_memory_equal(out, ((const uint8_t[]){0, 0, 0xff, 0xff}), 4);
	const uint8_t tight[] = {0x12, 0x34, 0xfe, 0xdc, 0x08, 0x00, 0x01, 0x40,
				 0x00, 0x00, 0x00, 0x07};
	assert_int_equal(rfb_wire_rect_header(out, 0x1234, 0xfedc, 2048, 320,
					      RFB_WIRE_ENCODING_TIGHT) - out, 12);
	assert_memory_equal(out, tight, 12);
	const uint8_t last[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x20};
	assert_int_equal(rfb_wire_rect_header(out, 0, 0, 0, 0, RFB_WIRE_ENCODING_LAST_RECT) - out,
			 12);
	assert_memory_equal(out, last, 12);
}

/* ---- JPEG parameters ------------------------------------------------------------------ */

static void test_quality_level_table(void **state)
{
	(void)state;
	static const int q[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
	static const int s[10] = {TJSAMP_420, TJSAMP_420, TJSAMP_420, TJSAMP_422, TJSAMP_422,
				  TJSAMP_422, TJSAMP_444, TJSAMP_444, TJSAMP_444, TJSAMP_444};
	struct tight_jpeg_params p;

	for (int level = 0; level < 10; level++) {
		assert_true(tight_jpeg_preset(level, &p));
		assert_int_equal(p.quality, q[level]);
		assert_int_equal(p.subsamp, s[level]);
	}
	assert_false(tight_jpeg_preset(-1, &p));
	assert_false(tight_jpeg_preset(10, &p));
}

static void check_params(int tq, int fq, int ss, int want_q, int want_s)
{
	struct tight_jpeg_params p = {-7, -7};

	assert_true(tight_jpeg_params_from_levels(tq, fq, ss, &p));
	assert_int_equal(p.quality, want_q);
	assert_int_equal(p.subsamp, want_s);
}

static void test_fine_quality_and_subsampling(void **state)
{
	(void)state;
	struct tight_jpeg_params p;

	/* What libvncserver stores for quality level 9: Q100, subsampling level 0. */
	check_params(9, 100, 0, 100, TJSAMP_444);
	/* TurboVNC's presets through the fine quality / subsampling pseudo-encodings. */
	check_params(-1, 95, TIGHT_JPEG_SUBSAMP_1X, 95, TJSAMP_444);
	check_params(-1, 80, TIGHT_JPEG_SUBSAMP_2X, 80, TJSAMP_422);
	check_params(-1, 30, TIGHT_JPEG_SUBSAMP_4X, 30, TJSAMP_420);
	check_params(-1, 50, TIGHT_JPEG_SUBSAMP_GRAY, 50, TJSAMP_GRAY);
	/* Fine quality overrides the level's quality, not its subsampling unless sent. */
	check_params(2, 95, -1, 95, TJSAMP_420);
	/* Only a level (turbo values missing or out of range): the table. */
	check_params(5, -1, -1, 77, TJSAMP_422);
	check_params(5, 0, 7, 77, TJSAMP_422);
	check_params(5, 101, 255, 77, TJSAMP_422);
	/* A subsampling level out of range with no table to fall back on: 4:4:4. */
	check_params(-1, 60, 4, 60, TJSAMP_444);
	check_params(-1, 60, -5, 60, TJSAMP_444);
	/* No JPEG asked for, or nonsense. */
	assert_false(tight_jpeg_params_from_levels(-1, -1, 0, &p));
	assert_false(tight_jpeg_params_from_levels(-1, 0, 0, &p));
	assert_false(tight_jpeg_params_from_levels(-1, 101, 0, &p));
	assert_false(tight_jpeg_params_from_levels(10, -1, 0, &p));
	assert_false(tight_jpeg_params_from_levels(-100000, -100000, -100000, &p));
}

/* ---- planning --------------------------------------------------------------------------- */

struct plan {
	struct tight_plan_grid g;
	uint8_t *kind;
	uint32_t *rgb;
	uint16_t *colours;
	struct tight_plan_rect *rects;
	int32_t *scratch;
	size_t n;
};

static void plan_init(struct plan *p, uint32_t w, uint32_t h)
{
	tight_plan_grid_init(&p->g, w, h, 64);
	size_t tiles = (size_t)p->g.cols * p->g.rows;
	p->kind = calloc(tiles, 1);
	p->rgb = calloc(tiles, sizeof(*p->rgb));
	p->colours = calloc(tiles, sizeof(*p->colours));
	assert_non_null(p->colours);
	p->rects = calloc(tiles, sizeof(*p->rects));
	p->scratch = calloc(2 * (size_t)p->g.cols, sizeof(*p->scratch));
	assert_non_null(p->kind);
	assert_non_null(p->rgb);
	assert_non_null(p->rects);
	assert_non_null(p->scratch);
	p->n = 0;
}

static void plan_free(struct plan *p)
{
	free(p->kind);
	free(p->rgb);
	free(p->colours);
	free(p->rects);
	free(p->scratch);
}

static void plan_run(struct plan *p)
{
	p->n = tight_plan_rects(&p->g, p->kind, p->rgb, p->colours, p->rects, p->scratch);
}

static void plan_fill(struct plan *p, uint8_t kind)
{
	memset(p->kind, kind, (size_t)p->g.cols * p->g.rows);
}

static void expect_rect(const struct plan *p, size_t i, uint32_t x, uint32_t y, uint32_t w,
			uint32_t h, uint8_t kind)
{
	assert_true(i < p->n);
	const struct tight_plan_rect *r = &p->rects[i];
	if (r->x != x || r->y != y || r->w != w || r->h != h || r->kind != kind)
		fail_msg("rect %zu: %u,%u %ux%u kind %u; want %u,%u %ux%u kind %u", i, r->x, r->y,
			 r->w, r->h, r->kind, x, y, w, h, kind);
}

/* A screen of one kind: how many rectangles the plan makes of it, and the first ones
 * (x, y, w, h; w 0: not checked). */
struct uniform_case {
	uint32_t w, h;
	uint8_t kind;
	size_t n;
	uint32_t rects[4][4];
};

static void check_uniform(const struct uniform_case *c)
{
	struct plan p;

	plan_init(&p, c->w, c->h);
	plan_fill(&p, c->kind);
	plan_run(&p);
	assert_int_equal(p.n, c->n);
	for (size_t i = 0; i < 4 && i < c->n; i++)
		if (c->rects[i][2])
			expect_rect(&p, i, c->rects[i][0], c->rects[i][1], c->rects[i][2],
				    c->rects[i][3], c->kind);
	plan_free(&p);
}

static void test_plan_whole_screen_is_one_rect(void **state)
{
	(void)state;
	struct plan p;
	plan_init(&p, 256, 192);
	assert_int_equal(p.g.cols, 4);
	assert_int_equal(p.g.rows, 3);
	plan_free(&p);
	check_uniform(&(struct uniform_case){256, 192, J, 1, {{0, 0, 256, 192}}});
	check_uniform(&(struct uniform_case){256, 192, N, 0, {{0}}});
}

/* A 4x3-tile screen of given kinds (and fill colours): the rectangles the plan makes of it,
 * in order, with the colour of each fill. */
struct pattern_case {
	uint8_t kind[12];
	uint32_t rgb[12];
	size_t n;
	struct {
		uint32_t x, y, w, h;
		uint8_t kind;
		uint32_t rgb;
	} rects[5];
};

static const struct pattern_case patterns[] = {
	/* Two JPEG columns with a gap, and a fill run below:
	 *   J J . J
	 *   J J . J
	 *   . F F .   */
	{{J, J, N, J, J, J, N, J, N, F, F, N},
	 {[9] = 0x102030, [10] = 0x102030},
	 3,
	 {{0, 0, 128, 128, J, 0}, {192, 0, 64, 128, J, 0}, {64, 128, 128, 64, F, 0x102030}}},
	/* Fills of different colours do not merge; kinds do not merge. */
	{{F, F, F, N, J, L, J, N, N, N, N, N},
	 {0xff0000, 0xff0000, 0x0000ff},
	 5,
	 {{0, 0, 128, 64, F, 0xff0000},
	  {128, 0, 64, 64, F, 0x0000ff},
	  {0, 64, 64, 64, J, 0},
	  {64, 64, 64, 64, L, 0},
	  {128, 64, 64, 64, J, 0}}},
	/* Runs grow downwards only with exactly the same columns:
	 *   J J J .
	 *   J J . .
	 *   J J . .   */
	{{J, J, J, N, J, J, N, N, J, J, N, N}, {0}, 2, {{0, 0, 192, 64, J, 0}, {0, 64, 128, 128, J, 0}}},
	/* Same fill colour vertically merges; another colour below starts anew. */
	{{F, N, N, N, F, N, N, N, F, N, N, N},
	 {[0] = 7, [4] = 7, [8] = 8},
	 2,
	 {{0, 0, 64, 128, F, 7}, {0, 128, 64, 64, F, 8}}},
};

static void test_plan_known_patterns(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(patterns) / sizeof(patterns[0]); c++) {
		const struct pattern_case *pc = &patterns[c];
		struct plan p;
		plan_init(&p, 256, 192);
		memcpy(p.kind, pc->kind, sizeof(pc->kind));
		memcpy(p.rgb, pc->rgb, sizeof(pc->rgb));
		plan_run(&p);
		assert_int_equal(p.n, pc->n);
		for (size_t i = 0; i < pc->n; i++) {
			expect_rect(&p, i, pc->rects[i].x, pc->rects[i].y, pc->rects[i].w,
				    pc->rects[i].h, pc->rects[i].kind);
			if (pc->rects[i].kind == F)
				assert_int_equal(p.rects[i].rgb, pc->rects[i].rgb);
		}
		plan_free(&p);
	}
}

static void test_plan_clips_edge_tiles(void **state)
{
	(void)state;
	struct plan p;
	check_uniform(&(struct uniform_case){100, 70, J, 1, {{0, 0, 100, 70}}});
	plan_init(&p, 100, 70);
	assert_int_equal(p.g.cols, 2);
	assert_int_equal(p.g.rows, 2);
	plan_fill(&p, J);
	p.kind[0] = N;
	plan_run(&p);
	assert_int_equal(p.n, 2);
	expect_rect(&p, 0, 64, 0, 36, 64, J);
	expect_rect(&p, 1, 0, 64, 100, 6, J);
	plan_free(&p);
}

static void test_plan_respects_limits(void **state)
{
	(void)state;
	static const struct uniform_case cases[] = {
		/* JPEG: 2048 wide at most. */
		{4096, 64, J, 2, {{0, 0, 2048, 64}, {2048, 0, 2048, 64}}},
		/* JPEG: the worst case must fit 22 bits: 2048 x 320 (3.9 MB), not 2048 x 384. */
		{2048, 1024, J, 4,
		 {{0, 0, 2048, 320}, {0, 320, 2048, 320}, {0, 640, 2048, 320}, {0, 960, 2048, 64}}},
		/* Full HD: four bands of up to five tile rows. */
		{1920, 1080, J, 4, {[3] = {0, 960, 1920, 120}}},
		/* Lossless: 65536 pixels at most. */
		{2048, 128, L, 4,
		 {{0, 0, 1024, 64}, {1024, 0, 1024, 64}, {0, 64, 1024, 64}, {1024, 64, 1024, 64}}},
		/* Fills: no limit. */
		{2048, 128, F, 1, {{0}}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_uniform(&cases[i]);
	assert_true(tjBufSize(2048, 320, TJSAMP_444) <= RFB_WIRE_TIGHT_MAX_COMPACT);
	assert_false(tight_plan_fits(J, 2048, 384));
}

/* Random kinds on an odd-sized screen: every flagged tile is covered by exactly one
 * rectangle of its kind (and colour), no rectangle covers an unflagged tile, and every
 * rectangle fits its limits. */
static void test_plan_covers_each_tile_once(void **state)
{
	(void)state;
	struct plan p;
	uint32_t seed = 99;

	for (int round = 0; round < 50; round++) {
		plan_init(&p, 1000 + (uint32_t)round * 37, 700 + (uint32_t)round * 11);
		size_t tiles = (size_t)p.g.cols * p.g.rows;
		uint8_t *covered = calloc(tiles, 1);
		assert_non_null(covered);
		for (size_t i = 0; i < tiles; i++) {
			seed = seed * 1103515245u + 12345u;
			p.kind[i] = (uint8_t)((seed >> 16) % 5);
			p.rgb[i] = (seed >> 20) % 2; /* two colours: some fills merge */
			p.colours[i] = (uint16_t)(2 + (seed >> 8) % 95);
		}
		plan_run(&p);
		for (size_t r = 0; r < p.n; r++) {
			const struct tight_plan_rect *q = &p.rects[r];
			assert_true(tight_plan_fits(q->kind, q->w, q->h));
			assert_true(q->x % 64 == 0 && q->y % 64 == 0);
			for (uint32_t ty = q->y / 64; ty < (q->y + q->h + 63) / 64; ty++) {
				for (uint32_t tx = q->x / 64; tx < (q->x + q->w + 63) / 64; tx++) {
					size_t i = (size_t)ty * p.g.cols + tx;
					assert_int_equal(p.kind[i], q->kind);
					if (q->kind == F)
						assert_int_equal(p.rgb[i], q->rgb);
					assert_int_equal(covered[i], 0);
					covered[i] = 1;
				}
			}
		}
		for (size_t r = 0; r < p.n; r++) {
			/* Palette rectangles: their tiles' colours fit one palette. */
			if (p.rects[r].kind != P)
				continue;
			uint32_t sum = 0;
			const struct tight_plan_rect *q = &p.rects[r];
			for (uint32_t ty = q->y / 64; ty * 64 < q->y + q->h; ty++)
				for (uint32_t tx = q->x / 64; tx * 64 < q->x + q->w; tx++)
					sum += p.colours[(size_t)ty * p.g.cols + tx];
			assert_true(sum <= TIGHT_PLAN_MAX_PALETTE);
			assert_int_equal(sum, p.rects[r].colours);
		}
		for (size_t i = 0; i < tiles; i++)
			assert_int_equal(covered[i], p.kind[i] != N);
		free(covered);
		plan_free(&p);
	}
}

static void test_solid_tiles(void **state)
{
	(void)state;
	enum { W = 64, H = 64, STRIDE = 64 * 4 + 12 };
	uint8_t *px = malloc(STRIDE * H);
	uint32_t rgb = 0;
	assert_non_null(px);
	/* B, G, R and an X byte that varies: the X byte does not count. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *p = px + y * STRIDE + x * 4;
			p[0] = 0x56, p[1] = 0x34, p[2] = 0x12, p[3] = (uint8_t)(x * 7 + y);
		}
	assert_true(tight_plan_tile_solid(px, STRIDE, W, H, &rgb));
	assert_int_equal(rgb, 0x123456);
	/* One channel of the last pixel differs. */
	px[(H - 1) * STRIDE + (W - 1) * 4 + 1] ^= 1;
	assert_false(tight_plan_tile_solid(px, STRIDE, W, H, &rgb));
	/* The part that is still solid, and a single pixel. */
	assert_true(tight_plan_tile_solid(px, STRIDE, W, H - 1, &rgb));
	assert_true(tight_plan_tile_solid(px + (H - 1) * STRIDE + (W - 1) * 4, STRIDE, 1, 1, &rgb));
	assert_int_equal(rgb, 0x123556);
	free(px);
}

/* Palette tiles merge only while their colour counts fit one palette of 256. */
static void test_plan_palette_colour_budget(void **state)
{
	(void)state;
	struct plan p;
	plan_init(&p, 256, 128);
	plan_fill(&p, P);
	const uint16_t n[8] = {100, 100, 100, 10, 100, 100, 100, 10};
	memcpy(p.colours, n, sizeof(n));
	plan_run(&p);
	/* Row 0: 100+100 | 100+10; row 1 cannot grow the first (400 > 256), grows the second
	 * (110 + 110 = 220). */
	assert_int_equal(p.n, 3);
	expect_rect(&p, 0, 0, 0, 128, 64, P);
	expect_rect(&p, 1, 128, 0, 128, 128, P);
	expect_rect(&p, 2, 0, 64, 128, 64, P);
	assert_int_equal(p.rects[0].colours, 200);
	assert_int_equal(p.rects[1].colours, 220);
	/* Without counts (NULL), palette rectangles merge like lossless ones. */
	p.n = tight_plan_rects(&p.g, p.kind, p.rgb, NULL, p.rects, p.scratch);
	assert_int_equal(p.n, 1);
	plan_free(&p);
}

static void test_tile_colours(void **state)
{
	(void)state;
	enum { W = 64, H = 64, STRIDE = 64 * 4 + 8 };
	uint8_t *px = calloc(STRIDE, H);
	uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS];
	assert_non_null(px);
	/* Text-like: background, and a glyph in two colours; X bytes vary. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *q = px + y * STRIDE + x * 4;
			uint32_t v = (x % 9 == 3)		 ? 0x102030
				     : (y % 7 == 1 && x > 40) ? 0xfefefe
							      : 0x202020;
			q[0] = (uint8_t)v, q[1] = (uint8_t)(v >> 8), q[2] = (uint8_t)(v >> 16);
			q[3] = (uint8_t)(x + y);
		}
	assert_int_equal(tight_plan_tile_colours(px, STRIDE, W, H, 24, slots), 3);
	assert_int_equal(tight_plan_tile_colours(px, STRIDE, W, H, 3, slots), 3);
	assert_int_equal(tight_plan_tile_colours(px, STRIDE, W, H, 2, slots), 3); /* "more" */
	/* Photographic: every pixel another colour; stops at max + 1. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *q = px + y * STRIDE + x * 4;
			q[0] = (uint8_t)x, q[1] = (uint8_t)y, q[2] = (uint8_t)(x ^ y);
		}
	assert_int_equal(tight_plan_tile_colours(px, STRIDE, W, H, 96, slots), 97);
	assert_int_equal(tight_plan_tile_colours(px, STRIDE, 4, 4, 96, slots), 16);
	free(px);
}

/* ---- lossless refresh --------------------------------------------------------------- */

static void test_refresh_due(void **state)
{
	(void)state;
	const uint64_t NL = TIGHT_REFRESH_NOT_LOSSY;
	assert_false(tight_refresh_due(NL, 5000, 1000, 0));
	assert_false(tight_refresh_due(1000, 5000, 0, 0)); /* refresh off */
	assert_false(tight_refresh_due(1000, 1999, 1000, 0));
	assert_true(tight_refresh_due(1000, 2000, 1000, 0));
	assert_true(tight_refresh_due(1000, 900000, 1000, 0));
	assert_false(tight_refresh_due(1000, 1899, 1000, 100));
	assert_true(tight_refresh_due(1000, 1900, 1000, 100));
	/* A lossy time after now (read on another thread a moment later): not due. */
	assert_false(tight_refresh_due(2001, 2000, 1000, 5000));
}

static void test_refresh_scan_and_next(void **state)
{
	(void)state;
	const uint64_t NL = TIGHT_REFRESH_NOT_LOSSY;
	uint64_t since[5] = {NL, 1000, 1500, 2500, 999};
	uint8_t due[5];
	uint64_t next = 0;

	assert_int_equal(tight_refresh_scan(since, 5, 2000, 1000, 0, due, &next), 2);
	assert_memory_equal(due, ((const uint8_t[]){0, 1, 0, 0, 1}), 5);
	assert_int_equal(next, 2500);
	/* With slack, the tile due at 2500 goes along; the next is then 3500. */
	assert_int_equal(tight_refresh_scan(since, 5, 2000, 1000, 600, due, &next), 3);
	assert_memory_equal(due, ((const uint8_t[]){0, 1, 1, 0, 1}), 5);
	assert_int_equal(next, 3500);
	/* Nothing lossy, or refresh off: nothing due, no deadline. */
	uint64_t exact[3] = {NL, NL, NL};
	assert_int_equal(tight_refresh_scan(exact, 3, 2000, 1000, 0, NULL, &next), 0);
	assert_int_equal(next, TIGHT_REFRESH_NEVER);
	assert_int_equal(tight_refresh_scan(since, 5, 2000, 0, 0, due, &next), 0);
	assert_int_equal(next, TIGHT_REFRESH_NEVER);
}

static void test_refresh_record(void **state)
{
	(void)state;
	const uint64_t NL = TIGHT_REFRESH_NOT_LOSSY;
	uint64_t since[4] = {100, 100, 100, NL};
	const uint8_t sent[4] = {TIGHT_REFRESH_UNSENT, TIGHT_REFRESH_LOSSY, TIGHT_REFRESH_EXACT,
				 TIGHT_REFRESH_LOSSY};

	tight_refresh_record(since, sent, 4, 5000);
	assert_int_equal(since[0], 100);
	assert_int_equal(since[1], 5000);
	assert_int_equal(since[2], NL);
	assert_int_equal(since[3], 5000);
	/* Something else drew: all lossy by now at the latest, older times kept. */
	uint64_t s2[3] = {NL, 100, 9000};
	tight_refresh_mark_all_lossy(s2, 3, 6000);
	assert_int_equal(s2[0], 6000);
	assert_int_equal(s2[1], 100);
	assert_int_equal(s2[2], 6000);
}

/* The life of four tiles, as the output thread and the timer see it. */
static void test_refresh_story(void **state)
{
	(void)state;
	enum { T = 4 };
	const uint32_t delay = 1000, slack = TIGHT_REFRESH_SLACK_MS;
	uint64_t since[T], next;
	uint8_t sent[T], due[T];

	for (int i = 0; i < T; i++)
		since[i] = TIGHT_REFRESH_NOT_LOSSY;
	/* t=0: a full update; tile 3 is one colour (a fill: exact). */
	memset(sent, TIGHT_REFRESH_LOSSY, T);
	sent[3] = TIGHT_REFRESH_EXACT;
	tight_refresh_record(since, sent, T, 0);
	assert_int_equal(tight_refresh_scan(since, T, 0, delay, slack, NULL, &next), 0);
	assert_int_equal(next, 1000);
	/* t=500: tile 1 changes and goes out as JPEG again. */
	memset(sent, TIGHT_REFRESH_UNSENT, T);
	sent[1] = TIGHT_REFRESH_LOSSY;
	tight_refresh_record(since, sent, T, 500);
	/* t=950 (within slack of 1000): the timer wakes for tiles 0 and 2, not 1 or 3. */
	assert_int_equal(tight_refresh_scan(since, T, 950, delay, slack, due, &next), 2);
	assert_memory_equal(due, ((const uint8_t[]){1, 0, 1, 0}), T);
	assert_int_equal(next, 1500);
	/* t=960: the update carries them; due tiles go lossless. */
	for (int i = 0; i < T; i++)
		sent[i] = due[i] ? (tight_refresh_due(since[i], 960, delay, slack)
					    ? TIGHT_REFRESH_EXACT
					    : TIGHT_REFRESH_LOSSY)
				 : TIGHT_REFRESH_UNSENT;
	assert_int_equal(sent[0], TIGHT_REFRESH_EXACT);
	tight_refresh_record(since, sent, T, 960);
	/* Only tile 1 is left; at t=1500 it is due, then nothing is ever due again. */
	assert_int_equal(tight_refresh_scan(since, T, 1200, delay, slack, due, &next), 0);
	assert_int_equal(next, 1500);
	assert_int_equal(tight_refresh_scan(since, T, 1500, delay, slack, due, &next), 1);
	memset(sent, TIGHT_REFRESH_UNSENT, T);
	sent[1] = TIGHT_REFRESH_EXACT;
	tight_refresh_record(since, sent, T, 1500);
	assert_int_equal(tight_refresh_scan(since, T, 100000, delay, slack, due, &next), 0);
	assert_int_equal(next, TIGHT_REFRESH_NEVER);
}

/* ---- the per-tile decision, and the encoder ---------------------------------------- */

/* Five tiles in a row: solid, 3 colours, photographic, photographic and lossy for long,
 * solid but not in the update. */
static uint8_t *five_tiles(size_t *pitch)
{
	*pitch = 5 * 64 * 4;
	uint8_t *fb = malloc(*pitch * 64);
	assert_non_null(fb);
	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 5 * 64; x++) {
			uint8_t *q = fb + y * *pitch + x * 4;
			uint32_t t = x / 64, v;
			if (t == 0 || t == 4)
				v = 0x336699;
			else if (t == 1)
				v = x % 3 == 0 ? 0x000000 : y % 2 ? 0xffffff : 0xff0000;
			else
				v = (x * 7919u + y * 104729u) * 2654435761u >> 8;
			q[0] = (uint8_t)v, q[1] = (uint8_t)(v >> 8), q[2] = (uint8_t)(v >> 16);
			q[3] = 0;
		}
	return fb;
}

static void test_classify_tiles(void **state)
{
	(void)state;
	struct tight_plan_grid g;
	size_t pitch;
	uint8_t *fb = five_tiles(&pitch);
	uint8_t kind[5], sent[5];
	uint32_t rgb[5] = {0}, slots[TIGHT_PLAN_COLOUR_SLOTS];
	uint16_t colours[5] = {0};
	const uint64_t NL = TIGHT_REFRESH_NOT_LOSSY;
	uint64_t since[5] = {NL, NL, 9500, 1000, NL};
	struct tight_classify_opts o = {
		.now_ms = 10000, .delay_ms = 1000, .slack_ms = 0, .palette_max = 8};

	tight_plan_grid_init(&g, 5 * 64, 64, 64);
	memset(kind, J, 4);
	kind[4] = N;
	tight_classify_tiles(&g, fb, pitch, since, &o, kind, rgb, colours, sent, slots);
	assert_memory_equal(kind, ((const uint8_t[]){F, P, J, L, N}), 5);
	assert_memory_equal(sent, ((const uint8_t[]){TIGHT_REFRESH_EXACT, TIGHT_REFRESH_EXACT,
						     TIGHT_REFRESH_LOSSY, TIGHT_REFRESH_EXACT,
						     TIGHT_REFRESH_UNSENT}),
			    5);
	assert_int_equal(rgb[0], 0x336699);
	assert_int_equal(colours[1], 3);

	/* Grayscale: no palette, no refresh (delay 0 from the caller), fills in luma. */
	memset(kind, J, 4);
	o.palette_max = 0;
	o.delay_ms = 0;
	o.grayscale = true;
	tight_classify_tiles(&g, fb, pitch, since, &o, kind, rgb, colours, sent, slots);
	assert_memory_equal(kind, ((const uint8_t[]){F, J, J, J, N}), 5);
	/* 0x33,0x66,0x99: (19595*51 + 38470*102 + 7471*153 + 32768) >> 16 = 93 = 0x5d. */
	assert_int_equal(rgb[0], 0x5d5d5d);
	assert_int_equal(tight_classify_gray(0xffffff), 0xffffff);
	assert_int_equal(tight_classify_gray(0x000000), 0x000000);
	free(fb);
}

/* The encoder compresses from the frame with its pitch: the JPEG decodes to the block. */
static void test_encode_from_pitch(void **state)
{
	(void)state;
	size_t pitch;
	uint8_t *fb = five_tiles(&pitch);
	struct tight_jpeg_compressor e = {0};
	const struct tight_jpeg_params p = {.quality = 100, .subsamp = TJSAMP_444};
	const uint8_t *jpeg;
	size_t len;
	uint8_t out[64 * 64 * 4];
	int w, h, sub;

	/* Tile 0 (solid) and 1 (stripes), as one 128 x 64 block out of a 320-wide frame. */
	assert_int_equal(tight_jpeg_compress(&e, fb, pitch, 128, 64, &p, &jpeg, &len), 0);
	tjhandle d = tjInitDecompress();
	assert_non_null(d);
	/* Only functions that libvncserver's look-alike TurboJPEG also has: this program
	 * links both, and one handle must not meet two implementations. */
	if (tjDecompressHeader2(d, (unsigned char *)jpeg, len, &w, &h, &sub) != 0)
		fail_msg("header of a %zu-byte JPEG: %s", len, tjGetErrorStr());
	assert_int_equal(w, 128);
	assert_int_equal(h, 64);
	assert_int_equal(sub, TJSAMP_444);
	/* The solid tile decodes to its colour, within JPEG's rounding. */
	assert_int_equal(tight_jpeg_compress(&e, fb, pitch, 64, 64, &p, &jpeg, &len), 0);
	assert_int_equal(tjDecompress2(d, jpeg, len, out, 64, 64 * 4, 64, TJPF_BGRX, 0), 0);
	for (int i = 0; i < 64 * 64; i++) {
		assert_true(abs(out[i * 4 + 2] - 0x33) <= 1);
		assert_true(abs(out[i * 4 + 1] - 0x66) <= 1);
		assert_true(abs(out[i * 4 + 0] - 0x99) <= 1);
	}
	/* The hash sees pixels only through the block: the same content elsewhere hashes the
	 * same (tiles 0 and 4), other content does not. */
	assert_true(tight_jpeg_rect_hash(fb, pitch, 64, 64) ==
		    tight_jpeg_rect_hash(fb + 4 * 64 * 4, pitch, 64, 64));
	assert_true(tight_jpeg_rect_hash(fb, pitch, 64, 64) !=
		    tight_jpeg_rect_hash(fb + 64 * 4, pitch, 64, 64));
	tjDestroy(d);
	tight_jpeg_compressor_destroy(&e);
	free(fb);
}

/* ---- whole updates through the encoder --------------------------------------------- */

/* A sink into memory; fail_after: how many writes succeed (-1: all). */
struct buf_sink {
	uint8_t *data;
	size_t len, cap;
	int fail_after;
};

static int buf_write(void *opaque, const void *p, size_t n)
{
	struct buf_sink *b = opaque;

	if (b->fail_after == 0)
		return -1;
	if (b->fail_after > 0)
		b->fail_after--;
	unit_buf_append(&b->data, &b->len, &b->cap, p, n);
	return 0;
}

static const struct tight_jpeg_settings q100 = {
	.jpeg = {.quality = 100, .subsamp = TJSAMP_444}, .compress_level = 1, .refresh_ms = 1000};
static const uint32_t all_five[] = {0, 0, 5 * 64, 64};

/* An encoder, the five tiles and a sink. */
struct fixture {
	size_t pitch;
	uint8_t *fb;
	struct tight_jpeg_encoder *e;
	struct buf_sink b;
	struct tight_jpeg_update_stats st;
};

static void fixture_init(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->fb = five_tiles(&x->pitch);
	x->b.fail_after = -1;
	assert_int_equal(tight_jpeg_encoder_create(&x->e), 0);
}

static void fixture_free(struct fixture *x)
{
	tight_jpeg_encoder_destroy(x->e);
	free(x->b.data);
	free(x->fb);
}

static int update(struct fixture *x, const uint32_t *region, size_t n, uint64_t now)
{
	const struct tight_jpeg_frame f = {.pixels = x->fb, .stride = x->pitch,
					   .width = 5 * 64, .height = 64};
	const struct byte_sink sink = {.write = buf_write, .opaque = &x->b};

	x->b.len = 0;
	return tight_jpeg_encoder_update(x->e, &f, region, n, &q100, now, &sink, &x->st);
}

/* The update's counts: messages, then fill, palette, JPEG and lossless rectangles. */
static void expect_counts(const struct tight_jpeg_update_stats *st, const unsigned want[5])
{
	const unsigned got[5] = {st->messages, st->fill_rects, st->palette_rects, st->jpeg_rects,
				 st->lossless_rects};
	assert_memory_equal(got, want, sizeof(got));
}

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* The rectangle at *at: checks its header, returns its control byte, moves past it. */
static uint8_t expect_tight_rect(const struct buf_sink *b, size_t *at, uint32_t x, uint32_t y,
				 uint32_t w, uint32_t h)
{
	const uint8_t *p = b->data + *at;

	assert_true(*at + 13 <= b->len);
	assert_int_equal(be16(p), x);
	assert_int_equal(be16(p + 2), y);
	assert_int_equal(be16(p + 4), w);
	assert_int_equal(be16(p + 6), h);
	assert_memory_equal(p + 8, ((const uint8_t[]){0, 0, 0, 7}), 4);
	*at += 13;
	return p[12];
}

static size_t compact_len(const struct buf_sink *b, size_t *at)
{
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		uint8_t c = b->data[(*at)++];
		len |= (size_t)(i < 2 ? c & 0x7f : c) << (7 * i);
		if (i == 2 || !(c & 0x80))
			break;
	}
	return len;
}

/* Tight basic data after the control byte (stream 3): skip filter, palette, data. */
static void skip_basic(const struct buf_sink *b, size_t *at, uint8_t ctl, size_t raw)
{
	if (ctl & 0x40) {
		assert_int_equal(b->data[(*at)++], 0x01); /* the palette filter */
		*at += 3 * ((size_t)b->data[*at] + 1) + 1;
	}
	if (raw >= 12)
		*at += compact_len(b, at);
	else
		*at += raw;
}

/* One update of the five tiles: fill, palette, JPEG (two tiles merged), fill, with the
 * exact count in the header and the bytes the statistics say. */
static void test_update_bytes(void **state)
{
	(void)state;
	struct fixture x;
	struct buf_sink *b = &x.b;
	size_t at = 4;

	fixture_init(&x);
	assert_int_equal(update(&x, all_five, 1, 10000), 0);
	assert_memory_equal(b->data, ((const uint8_t[]){0, 0, 0, 4}), 4);
	assert_int_equal(expect_tight_rect(b, &at, 0, 0, 64, 64), 0x80);
	assert_memory_equal(b->data + at, ((const uint8_t[]){0x33, 0x66, 0x99}), 3);
	at += 3;
	/* Palette on stream 3, reset on its first use, three colours; 64 bytes a row. */
	size_t pal = at;
	uint8_t ctl = expect_tight_rect(b, &at, 64, 0, 64, 64);
	assert_int_equal(ctl, 0x30 | 0x40 | 0x08);
	skip_basic(b, &at, ctl, 64 * 64);
	assert_int_equal(b->data[pal + 14], 2);
	assert_int_equal(at - pal, x.st.palette_bytes);
	assert_int_equal(expect_tight_rect(b, &at, 128, 0, 128, 64), 0x90);
	size_t jlen = compact_len(b, &at);
	assert_int_equal(jlen, x.st.jpeg_bytes);
	tjhandle d = tjInitDecompress();
	int w, h, sub;
	assert_non_null(d);
	assert_int_equal(tjDecompressHeader2(d, b->data + at, jlen, &w, &h, &sub), 0);
	assert_true(w == 128 && h == 64 && sub == TJSAMP_444);
	tjDestroy(d);
	at += jlen;
	assert_int_equal(expect_tight_rect(b, &at, 256, 0, 64, 64), 0x80);
	assert_memory_equal(b->data + at, ((const uint8_t[]){0x33, 0x66, 0x99}), 3);
	assert_int_equal(at + 3, b->len);
	expect_counts(&x.st, (const unsigned[]){1, 2, 1, 1, 0});
	assert_int_equal(x.st.n_retry, 0);
	assert_int_equal(x.st.next_refresh_ms, 11000); /* the JPEG's tiles, after 1 s */
	fixture_free(&x);
}

static void collect(void *opaque, const uint32_t r[4])
{
	uint32_t *out = opaque;

	assert_int_equal(out[0], 0); /* one rectangle expected */
	memcpy(out + 1, r, 4 * sizeof(*r));
	out[0] = 1;
}

/* The JPEG tiles fall due after the delay: the timer is told which, as one rectangle, and
 * the next update sends them losslessly (copy filter, same stream: no reset). */
static void test_update_refresh_and_timer(void **state)
{
	(void)state;
	struct fixture x;
	const uint32_t jpeg_tiles[] = {128, 0, 128, 64};
	uint32_t got[5] = {0};
	size_t at = 4;

	fixture_init(&x);
	assert_int_equal(update(&x, all_five, 1, 10000), 0);
	assert_int_equal(tight_jpeg_encoder_due(x.e, 10500, collect, got), 11000);
	assert_int_equal(got[0], 0);
	assert_int_equal(tight_jpeg_encoder_due(x.e, 11000, collect, got), TIGHT_REFRESH_NEVER);
	assert_memory_equal(got, ((const uint32_t[]){1, 128, 0, 128, 64}), sizeof(got));

	/* The timer's region comes back as the update. */
	assert_int_equal(update(&x, jpeg_tiles, 1, 11000), 0);
	assert_memory_equal(x.b.data, ((const uint8_t[]){0, 0, 0, 1}), 4);
	uint8_t ctl = expect_tight_rect(&x.b, &at, 128, 0, 128, 64);
	assert_int_equal(ctl, 0x30);
	skip_basic(&x.b, &at, ctl, 128 * 64 * 3);
	assert_int_equal(at, x.b.len);
	expect_counts(&x.st, (const unsigned[]){1, 0, 0, 0, 1});
	assert_int_equal(x.st.lossless_bytes, at - 4);
	assert_int_equal(x.st.next_refresh_ms, TIGHT_REFRESH_NEVER);

	/* Something else drew on the screen: everything gets a refresh, even the fills. */
	tight_jpeg_encoder_forget(x.e, 12000);
	memset(got, 0, sizeof(got));
	assert_int_equal(tight_jpeg_encoder_due(x.e, 13000, collect, got), TIGHT_REFRESH_NEVER);
	assert_memory_equal(got, ((const uint32_t[]){1, 0, 0, 5 * 64, 64}), sizeof(got));
	fixture_free(&x);
}

/* A region off the frame is still answered (no rectangles); a sink that fails stops the
 * update with -EIO; a frame the encoder cannot take is refused before any byte. */
static void test_update_answers_and_stops(void **state)
{
	(void)state;
	struct fixture x;
	const uint32_t off[] = {5 * 64, 0, 100, 100, 0, 64, 10, 10};

	fixture_init(&x);
	assert_int_equal(update(&x, off, 2, 1000), 0);
	assert_int_equal(x.b.len, 4);
	assert_memory_equal(x.b.data, ((const uint8_t[]){0, 0, 0, 0}), 4);
	assert_int_equal(x.st.messages, 1);
	assert_int_equal(update(&x, NULL, 0, 1000), 0);
	assert_int_equal(x.b.len, 4);

	x.b.fail_after = 0;
	assert_int_equal(update(&x, all_five, 1, 1000), -EIO);
	x.b.fail_after = -1;
	const struct tight_jpeg_frame narrow = {.pixels = x.fb, .stride = 4, .width = 5 * 64,
						.height = 64};
	const struct byte_sink sink = {.write = buf_write, .opaque = &x.b};
	x.b.len = 0;
	assert_int_equal(tight_jpeg_encoder_update(x.e, &narrow, all_five, 1, &q100, 1000, &sink,
						   &x.st),
			 -EINVAL);
	assert_int_equal(x.b.len, 0);
	fixture_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_length_one_two_three_bytes),
		cmocka_unit_test(test_update_header_rect_header_last_rect),
		cmocka_unit_test(test_quality_level_table),
		cmocka_unit_test(test_fine_quality_and_subsampling),
		cmocka_unit_test(test_plan_whole_screen_is_one_rect),
		cmocka_unit_test(test_plan_known_patterns),
		cmocka_unit_test(test_plan_clips_edge_tiles),
		cmocka_unit_test(test_plan_respects_limits),
		cmocka_unit_test(test_plan_covers_each_tile_once),
		cmocka_unit_test(test_plan_palette_colour_budget),
		cmocka_unit_test(test_solid_tiles),
		cmocka_unit_test(test_tile_colours),
		cmocka_unit_test(test_refresh_due),
		cmocka_unit_test(test_refresh_scan_and_next),
		cmocka_unit_test(test_refresh_record),
		cmocka_unit_test(test_refresh_story),
		cmocka_unit_test(test_classify_tiles),
		cmocka_unit_test(test_encode_from_pitch),
		cmocka_unit_test(test_update_bytes),
		cmocka_unit_test(test_update_refresh_and_timer),
		cmocka_unit_test(test_update_answers_and_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
