/* Tests of the synthetic vGPU (vfio/synthetic.c and its scenes): the spec, the id
 * contract of a real mdev, buffers seen through the returned fds, incremental drawing
 * that equals a full render, input, formats, and sizes at both extremes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "synthetic.h"
#include "synthetic_font.h"
#include "synthetic_scenes.h"

#define KEY_BACKSPACE 0xff08u
#define KEY_RETURN 0xff0du
#define KEY_SHIFT_L 0xffe1u

/* ---- helpers ---- */

struct mapped {
	struct plane_info info;
	uint8_t *p;
	size_t len;
};

static struct plane_source *make(const char *spec)
{
	struct plane_source *src = NULL;
	char err[256] = "";
	int rc = synthetic_source_create(spec, &src, err, sizeof(err));

	if (rc != 0)
		fail_msg("synthetic_source_create(\"%s\") = %d: %s", spec ? spec : "(null)", rc, err);
	assert_non_null(src);
	return src;
}

static struct plane_info query(struct plane_source *src, enum plane_type type)
{
	struct plane_info info;

	assert_int_equal(plane_source_query(src, type, &info), 0);
	assert_int_equal(info.drm_plane_type, type);
	return info;
}

/* Maps the current plane of that type through a fresh fd, as the server does. */
static void map_plane(struct plane_source *src, enum plane_type type, int prot, struct mapped *m)
{
	m->info = query(src, type);
	assert_int_not_equal(m->info.dmabuf_id, 0);
	int fd = plane_source_get_dmabuf(src, m->info.dmabuf_id);
	assert_true(fd >= 0);
	m->len = m->info.size;
	m->p = mmap(NULL, m->len, prot, MAP_SHARED, fd, 0);
	assert_true(m->p != MAP_FAILED);
	close(fd);
}

static void map_primary(struct plane_source *src, struct mapped *m)
{
	map_plane(src, PLANE_PRIMARY, PROT_READ, m);
}

static void unmap(struct mapped *m)
{
	munmap(m->p, m->len);
}

/* A source of that spec at that tick, its primary plane mapped into m: how most tests
 * start looking at the pixels. */
static struct plane_source *make_mapped(const char *spec, uint64_t tick, struct mapped *m)
{
	struct plane_source *src = make(spec);

	synthetic_source_set_tick(src, tick);
	map_primary(src, m);
	return src;
}

/* The mapping goes before the source whose buffer it shows. */
static void destroy_mapped(struct plane_source *src, struct mapped *m)
{
	unmap(m);
	plane_source_destroy(src);
}

static uint8_t *pixel_at(const struct mapped *m, uint32_t x, uint32_t y)
{
	assert_true(x < m->info.width && y < m->info.height);
	return m->p + (size_t)y * m->info.stride + (size_t)x * 4u;
}

/* The canonical 0xRRGGBB of a pixel, whatever the format. */
static uint32_t pixel_rgb(const struct mapped *m, uint32_t x, uint32_t y)
{
	const uint8_t *p = pixel_at(m, x, y);

	if (m->info.fourcc == PLANE_FORMAT_XBGR8888)
		return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint8_t *snapshot(const struct mapped *m)
{
	uint8_t *copy = malloc(m->len);
	assert_non_null(copy);
	memcpy(copy, m->p, m->len);
	return copy;
}

/* Fails naming the first pixel that differs, which makes a broken scene easy to find. */
static void assert_same_pixels(const struct mapped *a, const uint8_t *pa, const struct mapped *b,
			       const uint8_t *pb)
{
	assert_int_equal(a->info.width, b->info.width);
	assert_int_equal(a->info.height, b->info.height);
	assert_int_equal(a->info.stride, b->info.stride);
	assert_int_equal(a->info.fourcc, b->info.fourcc);
	for (uint32_t y = 0; y < a->info.height; y++) {
		const uint8_t *ra = pa + (size_t)y * a->info.stride, *rb = pb + (size_t)y * b->info.stride;
		if (memcmp(ra, rb, (size_t)a->info.width * 4u) == 0)
			continue;
		for (uint32_t x = 0; x < a->info.width; x++)
			if (memcmp(ra + 4 * x, rb + 4 * x, 4) != 0)
				fail_msg("pixel (%u,%u) differs: %02x%02x%02x vs %02x%02x%02x", x, y,
					 ra[4 * x + 2], ra[4 * x + 1], ra[4 * x], rb[4 * x + 2],
					 rb[4 * x + 1], rb[4 * x]);
	}
}

/* Both sources show the same id, geometry and pixels on their primary plane. */
static void assert_same_primary(struct plane_source *a, struct plane_source *b)
{
	struct mapped ma, mb;

	map_primary(a, &ma);
	map_primary(b, &mb);
	assert_int_equal(ma.info.dmabuf_id, mb.info.dmabuf_id);
	assert_same_pixels(&ma, ma.p, &mb, mb.p);
	unmap(&ma);
	unmap(&mb);
}

static bool pixels_equal(const struct mapped *m, const uint8_t *a, const uint8_t *b, uint32_t x,
			 uint32_t y)
{
	size_t off = (size_t)y * m->info.stride + (size_t)x * 4u;
	return memcmp(a + off, b + off, 4) == 0;
}

static bool in_rect(struct synthetic_rect r, uint32_t x, uint32_t y)
{
	return (int64_t)x >= r.x && (int64_t)x < (int64_t)r.x + r.w && (int64_t)y >= r.y &&
	       (int64_t)y < (int64_t)r.y + r.h;
}

/* The scene's moving part: the clock, the video, the log, the window (empty for static). */
static struct synthetic_rect scene_rect(struct plane_source *src)
{
	struct synthetic_rect r;

	assert_int_equal(synthetic_source_scene_rect(src, &r), 0);
	return r;
}

/* Where the Notes window's text is, in cells. */
static struct synthetic_textbox notes_box(struct plane_source *src)
{
	struct synthetic_textbox tb;

	assert_int_equal(synthetic_source_textbox(src, &tb), 0);
	return tb;
}

static void type_text(struct plane_source *src, const char *text)
{
	for (const char *p = text; *p; p++) {
		uint32_t k = *p == '\n' ? KEY_RETURN : *p == '\b' ? KEY_BACKSPACE : (unsigned char)*p;
		src->ops->key(src, k, true);
		src->ops->key(src, k, false);
	}
}

/* ---- spec ---- */

static void test_spec_defaults(void **state)
{
	(void)state;
	struct plane_source *src = make("");
	struct plane_info p = query(src, PLANE_PRIMARY);

	assert_int_equal(p.width, 1280);
	assert_int_equal(p.height, 720);
	assert_int_equal(p.fourcc, PLANE_FORMAT_XRGB8888);
	assert_int_equal(p.modifier, PLANE_MODIFIER_LINEAR);
	assert_int_equal(p.stride, 1280 * 4);
	assert_true(p.size >= p.stride * p.height);
	assert_int_equal(p.size % (uint32_t)sysconf(_SC_PAGESIZE), 0);
	assert_int_equal(p.x, 0);
	assert_int_equal(p.y, 0);
	assert_int_equal(p.dmabuf_id, 1);
	assert_false(p.is_region);
	/* The default scene is desktop: its clock is the animated rect. */
	struct synthetic_rect r = scene_rect(src);
	assert_true(r.w > 0 && r.h > 0);
	plane_source_destroy(src);

	src = make(NULL);
	assert_int_equal(query(src, PLANE_PRIMARY).width, 1280);
	plane_source_destroy(src);
}

static void test_spec_good(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		uint32_t w, h, fourcc;
		bool cursor;
	} cases[] = {
		{ "640x480", 640, 480, PLANE_FORMAT_XRGB8888, true },
		{ "16x16:static", 16, 16, PLANE_FORMAT_XRGB8888, true },
		{ "8192x16:video", 8192, 16, PLANE_FORMAT_XRGB8888, true },
		{ "17x8192:scroll", 17, 8192, PLANE_FORMAT_XRGB8888, true },
		{ "800x600:flip:format=XB24,frames=10,rate=60,cursor=off", 800, 600,
		  PLANE_FORMAT_XBGR8888, false },
		{ ":typing", 1280, 720, PLANE_FORMAT_XRGB8888, true },
		{ "1024x768::rate=5", 1024, 768, PLANE_FORMAT_XRGB8888, true },
		{ "1024x768:desktop:", 1024, 768, PLANE_FORMAT_XRGB8888, true },
		{ "0320x0240:drag:cursor=on,format=XR24", 320, 240, PLANE_FORMAT_XRGB8888, true },
		{ "1000x700:modes:frames=0", 1000, 700, PLANE_FORMAT_XRGB8888, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plane_source *src = make(cases[i].spec);
		struct plane_info p = query(src, PLANE_PRIMARY);
		assert_int_equal(p.width, cases[i].w);
		assert_int_equal(p.height, cases[i].h);
		assert_int_equal(p.fourcc, cases[i].fourcc);
		assert_int_equal(p.stride % 64, 0);
		assert_true(p.stride >= p.width * 4 && p.stride < p.width * 4 + 64);
		assert_true(p.size >= p.stride * p.height);
		struct plane_info c = query(src, PLANE_CURSOR);
		assert_int_equal(c.dmabuf_id != 0, cases[i].cursor);
		plane_source_destroy(src);
	}
}

static void test_spec_bad(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "abc", "bad size 'abc' (expected WIDTHxHEIGHT" },
		{ "1280", "bad size '1280'" },
		{ "1280x720 ", "bad size '1280x720 '" },
		{ "-1x720", "bad size '-1x720'" },
		{ "1280x72x0", "bad size '1280x72x0'" },
		{ "1280x", "height missing" },
		{ "x720", "width missing" },
		{ "15x720", "width '15' out of range (16..8192)" },
		{ "8193x720", "width '8193' out of range (16..8192)" },
		{ "1280x15", "height '15' out of range (16..8192)" },
		{ "1280x99999999999999999999999", "height '99999999999999999999999' out of range" },
		{ "1280x720:foo", "unknown scene 'foo' (valid: static, desktop, typing, scroll, drag, "
				  "video, flip, modes)" },
		{ "1280x720:Desktop", "unknown scene 'Desktop'" },
		{ "1280x720:desktop:bar=1", "unknown option 'bar' (valid: format=XR24|XB24, frames=N, "
					    "rate=N, cursor=on|off, stamp=on|off)" },
		{ ":desktop:stamp=yes", "bad stamp 'yes' (valid: on, off)" },
		{ ":desktop:format=RG16", "bad format 'RG16' (valid: XR24, XB24)" },
		{ ":desktop:format=", "bad format '' (valid: XR24, XB24)" },
		{ ":desktop:rate=0", "bad rate '0' (valid: 1..1000" },
		{ ":desktop:rate=1001", "bad rate '1001'" },
		{ ":desktop:rate=+5", "bad rate '+5'" },
		{ ":desktop:frames=-1", "bad frames '-1' (valid: 0.." },
		{ ":desktop:frames=99999999999999999999", "bad frames '99999999999999999999'" },
		{ ":desktop:cursor=maybe", "bad cursor 'maybe' (valid: on, off)" },
		{ ":desktop:rate", "option 'rate' needs a value" },
		{ ":desktop:rate=5,,cursor=on", "empty option (valid: format=" },
		{ ":desktop:rate=5,", "empty option" },
		{ ":desktop:rate=5,rate=6", "option 'rate' given twice" },
		{ ":desktop:rate=5:x", "unexpected ':' in options 'rate=5:x'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plane_source *src = (struct plane_source *)&src;
		char err[256] = "";
		int rc = synthetic_source_create(cases[i].spec, &src, err, sizeof(err));
		if (rc != -EINVAL || !strstr(err, cases[i].msg) || strncmp(err, "synthetic: ", 11))
			fail_msg("spec '%s': rc %d, message '%s', expected '%s'", cases[i].spec, rc, err,
				 cases[i].msg);
		assert_null(src);
	}
}

static void test_spec_error_buffer_bounds(void **state)
{
	(void)state;
	char err[16];
	struct plane_source *src;

	memset(err, 'Z', sizeof(err));
	assert_int_equal(synthetic_source_create("1280x720:no-such-scene", &src, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7); /* truncated, terminated */
	for (size_t i = 8; i < sizeof(err); i++)
		assert_int_equal(err[i], 'Z');
	/* No buffer at all is fine too. */
	assert_int_equal(synthetic_source_create("bad", &src, NULL, 0), -EINVAL);
}

/* ---- ids ---- */

/* Steps the source from tick 1 to before end, every step-th tick: its primary plane keeps
 * the id it was mapped with, and, where still is given, shows those pixels throughout. */
static void assert_id_kept(struct plane_source *src, const struct mapped *m, uint64_t end,
			   uint64_t step, const uint8_t *still)
{
	for (uint64_t t = 1; t < end; t += step) {
		synthetic_source_set_tick(src, t);
		assert_int_equal(query(src, PLANE_PRIMARY).dmabuf_id, m->info.dmabuf_id);
		if (still)
			assert_memory_equal(m->p, still, m->len);
	}
}

static void test_ids_stable_content_changes(void **state)
{
	(void)state;
	struct mapped m;
	struct plane_source *src = make_mapped("640x480:desktop", 0, &m);
	uint8_t *at0 = snapshot(&m);
	assert_id_kept(src, &m, 100, 7, NULL);
	/* Tick 31 shows 12:00:01: the clock changed in place under the same id. */
	synthetic_source_set_tick(src, 31);
	assert_int_equal(query(src, PLANE_PRIMARY).dmabuf_id, 1);
	assert_int_not_equal(memcmp(at0, m.p, m.len), 0);
	free(at0);
	destroy_mapped(src, &m);
}

static void test_flip_alternates(void **state)
{
	(void)state;
	struct plane_source *src = make("640x480:flip");

	for (uint64_t t = 0; t < 8; t++) {
		synthetic_source_set_tick(src, t);
		struct plane_info p = query(src, PLANE_PRIMARY);
		assert_int_equal(p.dmabuf_id, 1 + t % 2);
		assert_int_equal(p.width, 640);
		assert_int_equal(query(src, PLANE_CURSOR).dmabuf_id, 3); /* after both primaries */
	}
	plane_source_destroy(src);
}

/* Most 64x64 tiles are equal between the two buffers: a flip is not a full-screen change. */
static void test_flip_mostly_equal(void **state)
{
	(void)state;
	struct plane_source *src = make("640x480:flip");
	struct mapped a, b;
	unsigned differ = 0, tiles = 0;

	synthetic_source_set_tick(src, 10);
	map_primary(src, &a);
	synthetic_source_set_tick(src, 11);
	map_primary(src, &b);
	assert_int_not_equal(a.info.dmabuf_id, b.info.dmabuf_id);
	for (uint32_t ty = 0; ty < 480; ty += 64) {
		for (uint32_t tx = 0; tx < 640; tx += 64, tiles++) {
			bool same = true;
			for (uint32_t y = ty; y < ty + 64 && y < 480 && same; y++)
				same = memcmp(pixel_at(&a, tx, y), pixel_at(&b, tx, y),
					      4u * (tx + 64 <= 640 ? 64 : 640 - tx)) == 0;
			differ += !same;
		}
	}
	assert_true(differ > 0);
	assert_true(differ * 10 < tiles);
	unmap(&a);
	unmap(&b);
	plane_source_destroy(src);
}

static void test_modes_ids_and_no_plane(void **state)
{
	(void)state;
	static const struct {
		uint64_t tick;
		uint32_t id, w, h;
	} steps[] = {
		{ 0, 1, 1280, 720 },  { 59, 1, 1280, 720 },  { 60, 0, 0, 0 },      { 64, 0, 0, 0 },
		{ 65, 2, 640, 480 },  { 124, 2, 640, 480 },  { 125, 0, 0, 0 },     { 130, 3, 800, 600 },
		{ 195, 4, 1024, 768 }, { 255, 0, 0, 0 },     { 260, 1, 1280, 720 }, { 330, 2, 640, 480 },
	};
	struct mapped first;
	struct plane_source *src = make_mapped("1280x720:modes", 0, &first);
	uint8_t *mode0 = snapshot(&first);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		synthetic_source_set_tick(src, steps[i].tick);
		struct plane_info p = query(src, PLANE_PRIMARY), c = query(src, PLANE_CURSOR);
		assert_int_equal(p.dmabuf_id, steps[i].id);
		assert_int_equal(p.width, steps[i].w);
		assert_int_equal(p.height, steps[i].h);
		/* No plane: the cursor is gone too, and that is rc 0, not an error. */
		assert_int_equal(c.dmabuf_id == 0, steps[i].id == 0);
		if (c.dmabuf_id)
			assert_int_equal(c.dmabuf_id, 5);
	}
	/* Mode 0 came back with its id, and with its pixels. */
	synthetic_source_set_tick(src, 260);
	assert_memory_equal(first.p, mode0, first.len);
	free(mode0);
	destroy_mapped(src, &first);
}

static void test_modes_skip_repeated_size(void **state)
{
	(void)state;
	struct plane_source *src = make("800x600:modes");
	uint64_t slot = SYNTHETIC_MODE_TICKS + SYNTHETIC_NOPLANE_TICKS;

	synthetic_source_set_tick(src, slot * 1);
	assert_int_equal(query(src, PLANE_PRIMARY).width, 640);
	synthetic_source_set_tick(src, slot * 2);
	assert_int_equal(query(src, PLANE_PRIMARY).width, 1024);
	synthetic_source_set_tick(src, slot * 3);
	struct plane_info p = query(src, PLANE_PRIMARY);
	assert_int_equal(p.width, 800);
	assert_int_equal(p.dmabuf_id, 1);
	plane_source_destroy(src);
}

static void test_get_dmabuf_unknown(void **state)
{
	(void)state;
	struct plane_source *src = make("320x240:flip");
	static const uint32_t bad[] = { 0, 5, 99, UINT32_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(plane_source_get_dmabuf(src, bad[i]), -ENOENT);
	for (uint32_t id = 1; id <= 4; id++) { /* 2 primaries, arrow, hand */
		int fd = plane_source_get_dmabuf(src, id);
		assert_true(fd >= 0);
		close(fd);
	}
	struct plane_info info;
	assert_int_equal(plane_source_query(src, (enum plane_type)3, &info), -EINVAL);
	plane_source_destroy(src);
}

/* ---- pixels through the fd ---- */

/* A mapping of the returned fd is a live view: the source draws and it shows. */
static void test_mmap_shows_drawing(void **state)
{
	(void)state;
	struct mapped m, again, r;
	struct plane_source *src = make_mapped("640x480:desktop", 0, &m);
	uint8_t *before = snapshot(&m);
	synthetic_source_set_tick(src, 61);
	assert_int_not_equal(memcmp(before, m.p, m.len), 0);
	map_primary(src, &again);
	assert_memory_equal(again.p, m.p, m.len);
	struct plane_source *ref = make_mapped("640x480:desktop", 61, &r);
	assert_same_pixels(&m, m.p, &r, r.p);
	free(before);
	unmap(&again);
	destroy_mapped(src, &m);
	destroy_mapped(ref, &r);
}

/* ---- incremental == from scratch ---- */

struct event {
	bool key;
	uint32_t keysym;
	int x, y; /* thousandths of the screen */
	uint32_t buttons;
};

/* Typing (with a wrap, Backspace, Return, and enough lines to scroll a small Notes
 * window), clicks on the scene and off it, a brush stroke, and a click off screen. */
static const struct event events[] = {
	{ true, 'H', 0, 0, 0 },      { true, 'i', 0, 0, 0 },       { false, 0, 500, 500, 0 },
	{ false, 0, 500, 500, 1 },   { false, 0, 520, 510, 1 },    { false, 0, 540, 520, 1 },
	{ false, 0, 560, 530, 0 },   { true, KEY_RETURN, 0, 0, 0 }, { true, 'x', 0, 0, 0 },
	{ true, KEY_BACKSPACE, 0, 0, 0 }, { false, 0, 300, 300, 1 }, { false, 0, 300, 300, 0 },
	{ false, 0, 2000, -50, 1 },  { false, 0, 100, 900, 0 },    { false, 0, 100, 900, 1 },
	{ false, 0, 650, 700, 1 },   { false, 0, 900, 850, 1 },    { false, 0, 900, 850, 0 },
};

static void apply_events(struct plane_source *src, int w, int h)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		const struct event *e = &events[i];
		if (e->key) {
			src->ops->key(src, e->keysym, true);
			src->ops->key(src, e->keysym, false);
		} else {
			src->ops->pointer(src, e->x * w / 1000, e->y * h / 1000, e->buttons);
		}
	}
	type_text(src, "The quick brown fox jumps over the lazy dog. Pack my box\nwith five "
		       "dozen liquor jugs.\n1\n2\n3\n4\n5\n6\n7\n8 and a long line at the end");
}

/* One source steps tick by tick and gets the input midway; one gets the input first and
 * then jumps from checkpoint to checkpoint; one jumps to each checkpoint and then gets
 * the input; one is made fresh at each checkpoint. All four must show the same pixels. */
static void check_incremental(const char *spec, int w, int h, const uint64_t *checkpoints,
			      size_t n, uint64_t input_tick)
{
	struct plane_source *a = make(spec), *b = make(spec);
	uint64_t t = 0;

	assert_true(checkpoints[0] >= input_tick); /* before it, a has no input yet */
	apply_events(b, w, h);
	for (size_t i = 0; i < n; i++) {
		for (; t <= checkpoints[i]; t++) {
			synthetic_source_set_tick(a, t);
			if (t == input_tick)
				apply_events(a, w, h);
		}
		synthetic_source_set_tick(b, checkpoints[i]);
		struct plane_source *c = make(spec), *d = make(spec);
		synthetic_source_set_tick(c, checkpoints[i]);
		apply_events(c, w, h);
		apply_events(d, w, h);
		synthetic_source_set_tick(d, checkpoints[i]);
		assert_int_equal(synthetic_source_tick(a), checkpoints[i]);
		assert_same_primary(a, b);
		assert_same_primary(a, c);
		assert_same_primary(a, d);
		plane_source_destroy(c);
		plane_source_destroy(d);
	}
	plane_source_destroy(a);
	plane_source_destroy(b);
}

static void test_incremental_simple_scenes(void **state)
{
	(void)state;
	static const uint64_t cps[] = { 3, 31, 95 };
	static const struct {
		const char *spec;
		int w, h;
	} cases[] = {
		{ "320x240:static", 320, 240 }, { "320x240:desktop", 320, 240 },
		{ "320x240:video", 320, 240 },  { "320x240:drag", 320, 240 },
		{ "320x240:scroll", 320, 240 }, { "333x241:flip", 333, 241 },
		{ "320x240:flip:format=XB24", 320, 240 },
		{ "320x240:static:stamp=on", 320, 240 }, { "320x240:drag:stamp=on", 320, 240 },
		{ "333x241:flip:stamp=on", 333, 241 },
	};

	/* Input at tick 2: for flip, while the other buffer is off screen. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_incremental(cases[i].spec, cases[i].w, cases[i].h, cps, 3, 2);
}

static void test_incremental_typing(void **state)
{
	(void)state;
	/* 400 ticks type 800 characters: the editor wraps and scrolls many times. */
	static const uint64_t cps[] = { 1, 57, 240, 400 };

	check_incremental("320x240:typing", 320, 240, cps, 4, 1);
	check_incremental("1280x720:typing", 1280, 720, cps, 4, 0);
}

static void test_incremental_modes(void **state)
{
	(void)state;
	/* Input in the second mode; the others must show it when they come back. */
	static const uint64_t cps[] = { 75, 140, 200, 265, 340 };

	check_incremental("700x500:modes", 700, 500, cps, 5, 75);
	check_incremental("700x500:modes:stamp=on", 700, 500, cps, 5, 75);
}

/* stamp=on: the tick's low 16 bits as black/white blocks, read back block by block. */
static uint64_t read_stamp(const struct mapped *m, int w, int h)
{
	struct synthetic_rect r = synthetic_tick_stamp_rect(w, h);
	const int b = SYNTHETIC_TICK_STAMP_BLOCK;
	uint64_t v = 0;

	for (unsigned i = 0; i < SYNTHETIC_TICK_STAMP_BITS; i++) {
		int x0 = r.x + (int)(i % SYNTHETIC_TICK_STAMP_COLS) * b;
		int y0 = r.y + (int)(i / SYNTHETIC_TICK_STAMP_COLS) * b;
		uint32_t first = pixel_rgb(m, (uint32_t)x0, (uint32_t)y0);
		assert_true(first == 0xffffffu || first == 0);
		for (int y = y0; y < y0 + b; y++)
			for (int x = x0; x < x0 + b; x++)
				assert_int_equal(pixel_rgb(m, (uint32_t)x, (uint32_t)y), first);
		if (first)
			v |= 1ull << i;
	}
	return v;
}

static void test_tick_stamp(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		int w, h;
	} cases[] = {
		{ "320x240:static:stamp=on", 320, 240 }, { "800x600:drag:stamp=on", 800, 600 },
		{ "320x240:video:stamp=on,format=XB24", 320, 240 },
	};
	static const uint64_t ticks[] = { 0, 1, 30, 0xbeef, 0x10000 + 5, 7 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plane_source *src = make(cases[i].spec);
		struct synthetic_rect r = synthetic_tick_stamp_rect(cases[i].w, cases[i].h);
		assert_int_equal(r.x, 0);
		assert_int_equal(r.y % SYNTHETIC_TICK_STAMP_BLOCK, 0);
		assert_true(r.y + r.h <= cases[i].h && r.y + r.h > cases[i].h - 16);
		for (size_t t = 0; t < sizeof(ticks) / sizeof(ticks[0]); t++) {
			struct mapped m;
			synthetic_source_set_tick(src, ticks[t]);
			map_primary(src, &m);
			assert_int_equal(read_stamp(&m, cases[i].w, cases[i].h), ticks[t] & 0xffffu);
			unmap(&m);
		}
		plane_source_destroy(src);
	}
	/* Off by default: the static scene's corner is the same at every tick. */
	struct plane_source *a = make("320x240:static"), *b = make("320x240:static:stamp=off");
	synthetic_source_set_tick(a, 0);
	synthetic_source_set_tick(b, 0xffff);
	assert_same_primary(a, b);
	plane_source_destroy(a);
	plane_source_destroy(b);
}

static void test_incremental_desktop_large(void **state)
{
	(void)state;
	static const uint64_t cps[] = { 29, 30, 95 };

	check_incremental("1920x1080:desktop", 1920, 1080, cps, 3, 20);
}

/* The dragged window bounces: every direction uncovers a different strip. */
static void test_incremental_drag_bounces(void **state)
{
	(void)state;
	static const uint64_t cps[] = { 3, 100, 160, 230, 300, 460, 470 };
	static const uint64_t big[] = { 3, 50 };

	check_incremental("320x240:drag", 320, 240, cps, 7, 2);
	check_incremental("1920x1080:drag", 1920, 1080, big, 2, 2);
}

/* Incremental drawing rests on this: a picture drawn in pieces, in any order and at any
 * offsets, equals the picture drawn whole. Pieces start from garbage, so a layer that
 * skips a pixel it should draw shows. */
static void render_pieces(const struct synth_frame *f, struct synth_canvas *c, int step_x,
			  int step_y)
{
	for (int y = 0; y < c->h; y += step_y)
		for (int x = 0; x < c->w; x += step_x)
			synth_frame_render(f, c, synth_rect_make(x, y, step_x, step_y));
}

static void test_render_in_pieces(void **state)
{
	(void)state;
	static const int sizes[][4] = { { 320, 240, 11, 13 }, { 1920, 1080, 37, 41 },
					{ 37, 29, 3, 5 },     { 3840, 2160, 501, 333 } };

	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		int w = sizes[z][0], h = sizes[z][1];
		size_t bytes = (size_t)w * (size_t)h * 4u;
		uint32_t *whole = malloc(bytes), *pieces = malloc(bytes);
		assert_non_null(whole);
		assert_non_null(pieces);
		for (int k = 0; k < SYNTH_SCENE_COUNT; k++) {
			struct synth_scene sc = { .kind = (enum synth_scene_kind)k, .rate = 30 };
			for (const char *p = "Notes\nover the scene"; *p; p++)
				synth_input_key(&sc.input, *p == '\n' ? KEY_RETURN : (unsigned char)*p);
			for (int i = 0; i < 40; i++)
				synth_input_paint(&sc.input, w * i / 40, h / 3 + i, w, h);
			struct synth_frame f;
			assert_int_equal(synth_frame_init(&f, &sc, w, h, 77), 0);
			struct synth_canvas cw = { whole, w, h, (size_t)w, k % 2 == 1 };
			struct synth_canvas cp = { pieces, w, h, (size_t)w, k % 2 == 1 };
			memset(whole, 0xab, bytes);
			memset(pieces, 0xcd, bytes);
			synth_frame_render(&f, &cw, synth_rect_make(0, 0, w, h));
			render_pieces(&f, &cp, sizes[z][2], sizes[z][3]);
			if (memcmp(whole, pieces, bytes) != 0)
				fail_msg("%s at %dx%d: pieces differ from whole", synth_scene_name(sc.kind),
					 w, h);
			synth_frame_fini(&f);
			synth_input_free(&sc.input);
		}
		free(whole);
		free(pieces);
	}
}

/* Jumping backwards is a jump like any other. */
static void test_set_tick_backwards(void **state)
{
	(void)state;
	static const char *const specs[] = { "320x240:typing", "320x240:drag", "320x240:scroll",
					     "320x240:flip", "320x240:desktop" };

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct plane_source *a = make(specs[i]), *b = make(specs[i]);
		synthetic_source_set_tick(a, 300);
		synthetic_source_set_tick(a, 40);
		synthetic_source_set_tick(b, 40);
		assert_same_primary(a, b);
		plane_source_destroy(a);
		plane_source_destroy(b);
	}
}

/* ---- what changes, and what does not ---- */

static void test_static_never_changes(void **state)
{
	(void)state;
	struct mapped m;
	struct plane_source *src = make_mapped("640x480:static", 0, &m);
	uint8_t *at0 = snapshot(&m);
	assert_int_equal(m.info.dmabuf_id, 1);
	assert_id_kept(src, &m, 2000, 97, at0);
	struct synthetic_rect r = scene_rect(src);
	assert_true(r.w == 0 || r.h == 0);
	free(at0);
	destroy_mapped(src, &m);
}

/* Writes a marker into the buffer behind the source's back: the marker survives exactly
 * as long as the source does not draw over it, which shows what a tick redraws. */
static void test_ticks_redraw_only_what_changes(void **state)
{
	(void)state;
	struct plane_source *st = make("640x480:static"), *dt = make("640x480:desktop");
	struct mapped ms, md;
	static const uint8_t marker[4] = { 1, 2, 3, 4 };

	synthetic_source_set_tick(st, 0);
	synthetic_source_set_tick(dt, 0);
	map_plane(st, PLANE_PRIMARY, PROT_READ | PROT_WRITE, &ms);
	map_plane(dt, PLANE_PRIMARY, PROT_READ | PROT_WRITE, &md);
	struct synthetic_rect clock = scene_rect(dt);
	uint32_t cx = (uint32_t)(clock.x + clock.w / 2), cy = (uint32_t)(clock.y + clock.h / 2);
	memcpy(pixel_at(&ms, 320, 240), marker, 4);
	memcpy(pixel_at(&md, 320, 240), marker, 4);
	memcpy(pixel_at(&md, cx, cy), marker, 4);
	/* The clock shows 12:00:00 until tick 30. */
	for (uint64_t t = 1; t < 30; t++) {
		synthetic_source_set_tick(st, t);
		synthetic_source_set_tick(dt, t);
	}
	assert_memory_equal(pixel_at(&ms, 320, 240), marker, 4);
	assert_memory_equal(pixel_at(&md, 320, 240), marker, 4);
	assert_memory_equal(pixel_at(&md, cx, cy), marker, 4);
	synthetic_source_set_tick(dt, 30);
	assert_memory_equal(pixel_at(&md, 320, 240), marker, 4);
	assert_memory_not_equal(pixel_at(&md, cx, cy), marker, 4);
	unmap(&ms);
	unmap(&md);
	plane_source_destroy(st);
	plane_source_destroy(dt);
}

static void test_video_region_changes_every_tick(void **state)
{
	(void)state;
	static const uint64_t ticks[] = { 1, 2, 3, 4, 5, 100, 255, 256, 257, 1000 };
	struct mapped m;
	struct plane_source *src = make_mapped("320x240:video", 0, &m);
	struct synthetic_rect r = scene_rect(src);
	/* About a third of the screen. */
	assert_true((int64_t)r.w * r.h * 4 > 320 * 240 && (int64_t)r.w * r.h * 2 < 320 * 240);
	uint8_t *prev = malloc(m.len);
	assert_non_null(prev);
	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		synthetic_source_set_tick(src, ticks[i] - 1);
		memcpy(prev, m.p, m.len);
		synthetic_source_set_tick(src, ticks[i]);
		for (uint32_t y = 0; y < 240; y++)
			for (uint32_t x = 0; x < 320; x++)
				if (in_rect(r, x, y) == pixels_equal(&m, m.p, prev, x, y))
					fail_msg("tick %llu pixel (%u,%u): %s",
						 (unsigned long long)ticks[i], x, y,
						 in_rect(r, x, y) ? "unchanged" : "changed");
	}
	free(prev);
	destroy_mapped(src, &m);
}

static void test_scroll_moves_up(void **state)
{
	(void)state;
	struct mapped m;
	struct plane_source *src = make_mapped("640x480:scroll", 10, &m);
	struct synthetic_rect r = scene_rect(src);
	uint8_t *prev = snapshot(&m);
	synthetic_source_set_tick(src, 11);
	/* Rows in the lower half of the log at tick 11 are the rows 2 lower at tick 10. */
	size_t row = (size_t)r.w * 4;
	bool moved = false;
	for (uint32_t y = (uint32_t)(r.y + r.h / 2); y < (uint32_t)(r.y + r.h - 8); y++) {
		const uint8_t *now = pixel_at(&m, (uint32_t)r.x + 4, y);
		const uint8_t *before = prev + (size_t)(y + 2) * m.info.stride + (size_t)(r.x + 4) * 4;
		assert_memory_equal(now, before, row - 40);
		moved |= memcmp(now, prev + (size_t)y * m.info.stride + (size_t)(r.x + 4) * 4,
				row - 40) != 0;
	}
	assert_true(moved);
	free(prev);
	destroy_mapped(src, &m);
}

static void test_drag_moves_window(void **state)
{
	(void)state;
	struct plane_source *src = make("640x480:drag");

	synthetic_source_set_tick(src, 5);
	struct synthetic_rect a = scene_rect(src);
	synthetic_source_set_tick(src, 6);
	struct synthetic_rect b = scene_rect(src);
	assert_true(a.x != b.x || a.y != b.y);
	assert_int_equal(a.w, b.w);
	assert_int_equal(a.h, b.h);
	/* It stays on the screen, wherever the path goes. */
	for (uint64_t t = 0; t < 3000; t += 13) {
		synthetic_source_set_tick(src, t);
		a = scene_rect(src);
		assert_true(a.x >= 0 && a.y >= 0 && a.x + a.w <= 640 && a.y + a.h <= 480);
	}
	plane_source_destroy(src);
}

/* ---- cursor ---- */

static void test_cursor_plane(void **state)
{
	(void)state;
	struct plane_source *src = make("640x480:desktop");
	struct mapped cur;

	map_plane(src, PLANE_CURSOR, PROT_READ, &cur);
	struct plane_info c = cur.info;
	assert_int_equal(c.fourcc, PLANE_FORMAT_ARGB8888);
	assert_int_equal(c.width, SYNTHETIC_CURSOR_SIZE);
	assert_int_equal(c.height, SYNTHETIC_CURSOR_SIZE);
	assert_int_equal(c.stride, SYNTHETIC_CURSOR_SIZE * 4);
	assert_true(c.size >= c.stride * c.height);
	assert_int_equal(c.dmabuf_id, 2);
	assert_int_equal(c.x_hot, SYNTHETIC_CURSOR_HOT_X);
	assert_int_equal(c.y_hot, SYNTHETIC_CURSOR_HOT_Y);
	/* The pointer starts at the centre. */
	assert_int_equal((int32_t)c.x, 320 - (int32_t)SYNTHETIC_CURSOR_HOT_X);
	assert_int_equal((int32_t)c.y, 240 - (int32_t)SYNTHETIC_CURSOR_HOT_Y);
	/* The hotspot is the arrow's tip (opaque), a corner is transparent, and the shape has
	 * both a dark outline and a light fill. */
	const uint32_t *px = (const uint32_t *)cur.p;
	assert_int_equal(px[c.y_hot * 32 + c.x_hot] >> 24, 0xff);
	assert_int_equal(px[31 * 32 + 31], 0);
	bool dark = false, light = false;
	for (int i = 0; i < 32 * 32; i++) {
		dark |= px[i] == 0xff000000u;
		light |= px[i] == 0xffffffffu;
	}
	assert_true(dark && light);
	uint8_t *arrow = snapshot(&cur);

	src->ops->pointer(src, 100, 50, 0);
	c = query(src, PLANE_CURSOR);
	assert_int_equal((int32_t)c.x, 98);
	assert_int_equal((int32_t)c.y, 49);
	/* Clamped to the screen; near the edge the image starts off screen. */
	src->ops->pointer(src, -50, 10000, 0);
	c = query(src, PLANE_CURSOR);
	assert_int_equal((int32_t)c.x, -(int32_t)SYNTHETIC_CURSOR_HOT_X);
	assert_int_equal((int32_t)c.y, 479 - (int32_t)SYNTHETIC_CURSOR_HOT_Y);

	/* A hand while button 1 is down, with its own id and hotspot; then the arrow again. */
	src->ops->pointer(src, 200, 200, 1);
	c = query(src, PLANE_CURSOR);
	assert_int_equal(c.dmabuf_id, 3);
	assert_int_equal(c.x_hot, SYNTHETIC_HAND_HOT_X);
	assert_int_equal(c.y_hot, SYNTHETIC_HAND_HOT_Y);
	assert_int_equal((int32_t)c.x, 200 - (int32_t)SYNTHETIC_HAND_HOT_X);
	src->ops->pointer(src, 200, 200, 0);
	c = query(src, PLANE_CURSOR);
	assert_int_equal(c.dmabuf_id, 2);
	/* The arrow's buffer never changed. */
	synthetic_source_set_tick(src, 100);
	assert_memory_equal(cur.p, arrow, cur.len);
	free(arrow);
	destroy_mapped(src, &cur);

	src = make("640x480:desktop:cursor=off");
	c = query(src, PLANE_CURSOR);
	assert_int_equal(c.dmabuf_id, 0);
	assert_int_equal(plane_source_get_dmabuf(src, 2), -ENOENT);
	plane_source_destroy(src);
}

/* The cursor stays on the screen of the mode on show, and comes back where it was. */
static void test_cursor_clamped_to_mode(void **state)
{
	(void)state;
	struct plane_source *src = make("1280x720:modes");
	uint64_t slot = SYNTHETIC_MODE_TICKS + SYNTHETIC_NOPLANE_TICKS;

	synthetic_source_set_tick(src, 0);
	src->ops->pointer(src, 1200, 700, 0);
	struct plane_info c = query(src, PLANE_CURSOR);
	assert_int_equal((int32_t)c.x, 1200 - (int32_t)SYNTHETIC_CURSOR_HOT_X);
	assert_int_equal((int32_t)c.y, 700 - (int32_t)SYNTHETIC_CURSOR_HOT_Y);
	synthetic_source_set_tick(src, slot); /* 640x480 */
	c = query(src, PLANE_CURSOR);
	assert_int_equal((int32_t)c.x, 639 - (int32_t)SYNTHETIC_CURSOR_HOT_X);
	assert_int_equal((int32_t)c.y, 479 - (int32_t)SYNTHETIC_CURSOR_HOT_Y);
	synthetic_source_set_tick(src, 4 * slot); /* 1280x720 again */
	c = query(src, PLANE_CURSOR);
	assert_int_equal((int32_t)c.x, 1200 - (int32_t)SYNTHETIC_CURSOR_HOT_X);
	plane_source_destroy(src);
}

/* ---- input ---- */

static void assert_stamp(const struct mapped *m, int cx, int cy, bool expect)
{
	int half = (int)SYNTHETIC_STAMP_SIZE / 2;

	for (int y = cy - half; y < cy + half; y++)
		for (int x = cx - half; x < cx + half; x++)
			if (x >= 0 && y >= 0 && x < (int)m->info.width && y < (int)m->info.height &&
			    (pixel_rgb(m, (uint32_t)x, (uint32_t)y) == SYNTHETIC_STAMP_RGB) != expect)
				fail_msg("pixel (%d,%d) %s stamp colour", x, y, expect ? "lacks" : "has");
}

static void test_pointer_click_stamps(void **state)
{
	(void)state;
	struct mapped m;
	int half = (int)SYNTHETIC_STAMP_SIZE / 2;
	struct plane_source *src = make_mapped("640x480:desktop", 0, &m);
	src->ops->pointer(src, 200, 300, 0);
	assert_stamp(&m, 200, 300, false);
	src->ops->pointer(src, 200, 300, 1);
	assert_stamp(&m, 200, 300, true);
	/* Exactly the square: the pixels around it are untouched. */
	for (int i = -half - 1; i <= half; i++) {
		assert_int_not_equal(pixel_rgb(&m, (uint32_t)(200 + i), (uint32_t)(300 - half - 1)),
				     SYNTHETIC_STAMP_RGB);
		assert_int_not_equal(pixel_rgb(&m, (uint32_t)(200 + i), (uint32_t)(300 + half)),
				     SYNTHETIC_STAMP_RGB);
		assert_int_not_equal(pixel_rgb(&m, (uint32_t)(200 - half - 1), (uint32_t)(300 + i)),
				     SYNTHETIC_STAMP_RGB);
		assert_int_not_equal(pixel_rgb(&m, (uint32_t)(200 + half), (uint32_t)(300 + i)),
				     SYNTHETIC_STAMP_RGB);
	}
	/* A stroke while held; release paints nothing; moving without a button neither. */
	src->ops->pointer(src, 400, 100, 1);
	assert_stamp(&m, 400, 100, true);
	src->ops->pointer(src, 420, 120, 0);
	src->ops->pointer(src, 440, 140, 0);
	assert_stamp(&m, 420, 120, false);
	assert_stamp(&m, 440, 140, false);
	/* Over the clock, which is redrawn every second: the paint stays on top. */
	struct synthetic_rect clock = scene_rect(src);
	int kx = clock.x + clock.w / 2, ky = clock.y + clock.h / 2;
	src->ops->pointer(src, kx, ky, 1);
	src->ops->pointer(src, kx, ky, 0);
	synthetic_source_set_tick(src, 45);
	assert_stamp(&m, kx, ky, true);
	/* Over the Notes window, which is drawn over the scene: the paint is on top. */
	struct synthetic_textbox tb = notes_box(src);
	src->ops->pointer(src, tb.x + 10, tb.y + 10, 1);
	src->ops->pointer(src, tb.x + 10, tb.y + 10, 0);
	type_text(src, "ab\ncd");
	assert_stamp(&m, tb.x + 10, tb.y + 10, true);
	/* Off screen clamps to the corner. */
	src->ops->pointer(src, 5000, 5000, 1);
	assert_stamp(&m, 639, 479, true);
	src->ops->pointer(src, -5, -5, 1);
	assert_stamp(&m, 0, 0, true);
	destroy_mapped(src, &m);
}

/* Whether the cell shows the glyph exactly: glyph bits in fg, everything else in bg
 * (ch < 0: the caret, a solid glyph-sized block). */
static bool cell_matches(const struct mapped *m, const struct synthetic_textbox *tb, uint32_t col,
			 uint32_t row, int ch)
{
	const uint8_t *g = ch >= 0 ? synthetic_font_glyph((unsigned char)ch) : NULL;
	uint32_t x0 = (uint32_t)tb->x + col * tb->cell_w, y0 = (uint32_t)tb->y + row * tb->cell_h;

	for (uint32_t y = 0; y < tb->cell_h; y++) {
		for (uint32_t x = 0; x < tb->cell_w; x++) {
			uint32_t gx = x / tb->scale, gy = y / tb->scale;
			bool on = gy < 8 && (g ? (g[gy] >> gx & 1u) : true);
			if (pixel_rgb(m, x0 + x, y0 + y) != (on ? tb->fg_rgb : tb->bg_rgb))
				return false;
		}
	}
	return true;
}

static void assert_cell(const struct mapped *m, const struct synthetic_textbox *tb, uint32_t col,
			uint32_t row, int ch)
{
	if (!cell_matches(m, tb, col, row, ch))
		fail_msg("cell (%u,%u) does not show '%c'", col, row, ch >= 0 ? ch : '#');
}

#define CARET (-1)

static void test_keys_type_into_notes(void **state)
{
	(void)state;
	struct mapped m;
	struct plane_source *src = make_mapped("640x480:desktop", 0, &m);
	struct synthetic_textbox tb = notes_box(src);
	assert_true(tb.cols >= 10 && tb.rows >= 4);
	assert_int_equal(tb.cell_w, 8 * tb.scale);
	assert_cell(&m, &tb, 0, 0, CARET);
	assert_cell(&m, &tb, 1, 0, ' ');

	type_text(src, "Hi");
	assert_cell(&m, &tb, 0, 0, 'H');
	assert_cell(&m, &tb, 1, 0, 'i');
	assert_cell(&m, &tb, 2, 0, CARET);
	/* Key-up and keys that are not text change nothing. */
	uint8_t *before = snapshot(&m);
	src->ops->key(src, 'Q', false);
	src->ops->key(src, KEY_SHIFT_L, true);
	src->ops->key(src, 0x20ac, true); /* EuroSign */
	assert_memory_equal(m.p, before, m.len);
	free(before);

	type_text(src, "\b");
	assert_cell(&m, &tb, 1, 0, CARET);
	assert_cell(&m, &tb, 2, 0, ' ');
	type_text(src, "\n~");
	assert_cell(&m, &tb, 0, 1, '~');
	assert_cell(&m, &tb, 1, 1, CARET);

	/* A word longer than a line breaks at the edge. */
	char word[256];
	memset(word, 'w', tb.cols + 3);
	word[tb.cols + 3] = '\0';
	type_text(src, "\n");
	type_text(src, word);
	assert_cell(&m, &tb, tb.cols - 1, 2, 'w');
	assert_cell(&m, &tb, 2, 3, 'w');
	assert_cell(&m, &tb, 3, 3, CARET);

	/* Enough lines scroll the text up: 'H' leaves the first row. */
	for (uint32_t i = 0; i < tb.rows; i++)
		type_text(src, "\nz");
	assert_cell(&m, &tb, 0, tb.rows - 1, 'z');
	assert_cell(&m, &tb, 1, tb.rows - 1, CARET);
	assert_cell(&m, &tb, 0, 0, 'z');
	assert_cell(&m, &tb, 1, 0, ' ');
	destroy_mapped(src, &m);

	/* A line filled to the last column puts the caret on the next line. */
	src = make_mapped("640x480:desktop", 0, &m);
	memset(word, 'a', tb.cols);
	word[tb.cols] = '\0';
	type_text(src, word);
	assert_cell(&m, &tb, tb.cols - 1, 0, 'a');
	assert_cell(&m, &tb, 0, 1, CARET);
	destroy_mapped(src, &m);
}

/* The typing scene types its paragraph two characters a tick, the caret just after. */
static void test_typing_scene_types(void **state)
{
	(void)state;
	static const char start[] = "The synthetic vGPU types";
	struct synthetic_textbox ed;
	struct mapped m;
	struct plane_source *src = make_mapped("640x480:typing", 0, &m);
	assert_int_equal(synthetic_source_editor(src, &ed), 0);
	assert_true(ed.cols > sizeof(start) && ed.rows > 10);
	struct synthetic_rect win = scene_rect(src);
	assert_true(in_rect(win, (uint32_t)ed.x, (uint32_t)ed.y));
	assert_true(in_rect(win, (uint32_t)ed.x + ed.cols * ed.cell_w - 1,
			    (uint32_t)ed.y + ed.rows * ed.cell_h - 1));
	assert_cell(&m, &ed, 0, 0, CARET);
	for (uint32_t t = 1; 2 * t < sizeof(start) - 1; t++) {
		synthetic_source_set_tick(src, t);
		for (uint32_t i = 0; i < 2 * t; i++)
			assert_cell(&m, &ed, i, 0, start[i]);
		assert_cell(&m, &ed, 2 * t, 0, CARET);
		assert_cell(&m, &ed, 2 * t + 1, 0, ' ');
	}
	/* Much later the window is full: the caret stays on the last row as text scrolls. */
	for (uint64_t t = 1000; t < 1010; t++) {
		synthetic_source_set_tick(src, t);
		uint32_t carets = 0, last_row = 0;
		for (uint32_t r = 0; r < ed.rows; r++)
			for (uint32_t c = 0; c < ed.cols; c++)
				if (cell_matches(&m, &ed, c, r, CARET)) {
					carets++;
					last_row = r;
				}
		assert_int_equal(carets, 1);
		assert_int_equal(last_row, ed.rows - 1);
	}
	destroy_mapped(src, &m);

	src = make("640x480:desktop");
	assert_int_equal(synthetic_source_editor(src, &ed), -ENOENT);
	plane_source_destroy(src);
}

/* Backspace past the beginning, and far more text than the source keeps. */
static void test_keys_edge_cases(void **state)
{
	(void)state;
	struct plane_source *a = make("320x240:desktop"), *b = make("320x240:desktop");
	char chunk[101];

	synthetic_source_set_tick(a, 0);
	synthetic_source_set_tick(b, 0);
	type_text(a, "\b\b\bab\b\b\b");
	assert_same_primary(a, b);
	memset(chunk, 'k', 100);
	chunk[100] = '\0';
	for (int i = 0; i < 100; i++) /* 10000 characters */
		type_text(a, chunk);
	synthetic_source_set_tick(a, 3);
	struct mapped m;
	struct synthetic_textbox tb = notes_box(a);
	map_primary(a, &m);
	assert_cell(&m, &tb, 0, 0, 'k');
	unmap(&m);
	plane_source_destroy(a);
	plane_source_destroy(b);
}

/* ---- formats ---- */

static void test_formats_equivalent(void **state)
{
	(void)state;
	static const char *const scenes[] = { "desktop", "typing", "video", "flip", "drag" };

	for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++) {
		char xr[64], xb[64];
		snprintf(xr, sizeof(xr), "320x240:%s:format=XR24", scenes[i]);
		snprintf(xb, sizeof(xb), "320x240:%s:format=XB24", scenes[i]);
		struct plane_source *a = make(xr), *b = make(xb);
		apply_events(a, 320, 240);
		apply_events(b, 320, 240);
		synthetic_source_set_tick(a, 77);
		synthetic_source_set_tick(b, 77);
		struct mapped ma, mb;
		map_primary(a, &ma);
		map_primary(b, &mb);
		assert_int_equal(ma.info.fourcc, PLANE_FORMAT_XRGB8888);
		assert_int_equal(mb.info.fourcc, PLANE_FORMAT_XBGR8888);
		/* Not a grey picture, or a swap would prove nothing. */
		bool swapped_differs = false;
		for (uint32_t y = 0; y < 240; y++) {
			for (uint32_t x = 0; x < 320; x++) {
				const uint8_t *p = pixel_at(&ma, x, y), *q = pixel_at(&mb, x, y);
				if (p[0] != q[2] || p[1] != q[1] || p[2] != q[0] || p[3] != q[3])
					fail_msg("%s: pixel (%u,%u) differs between XR24 and XB24",
						 scenes[i], x, y);
				swapped_differs |= p[0] != q[0];
			}
		}
		assert_true(swapped_differs);
		unmap(&ma);
		unmap(&mb);
		plane_source_destroy(a);
		plane_source_destroy(b);
	}
}

/* Memory order is what the fourcc says: XR24 is B,G,R,X and XB24 is R,G,B,X. */
static void test_format_byte_order(void **state)
{
	(void)state;
	static const char *const specs[] = { "320x240:static:format=XR24",
					     "320x240:static:format=XB24" };

	for (int i = 0; i < 2; i++) {
		struct plane_source *src = make(specs[i]);
		struct mapped m;
		src->ops->pointer(src, 100, 100, 1);
		map_primary(src, &m);
		const uint8_t *p = pixel_at(&m, 100, 100);
		uint8_t r = SYNTHETIC_STAMP_RGB >> 16, g = SYNTHETIC_STAMP_RGB >> 8 & 0xff,
			b = SYNTHETIC_STAMP_RGB & 0xff;
		assert_int_equal(p[0], i == 0 ? b : r);
		assert_int_equal(p[1], g);
		assert_int_equal(p[2], i == 0 ? r : b);
		unmap(&m);
		plane_source_destroy(src);
	}
}

/* ---- time ---- */

static void test_frames_clamp(void **state)
{
	(void)state;
	struct plane_source *a = make("320x240:video:frames=10"), *b = make("320x240:video");

	synthetic_source_set_tick(a, 50);
	assert_int_equal(synthetic_source_tick(a), 10);
	synthetic_source_set_tick(b, 10);
	assert_same_primary(a, b);
	synthetic_source_set_tick(a, UINT64_MAX);
	assert_int_equal(synthetic_source_tick(a), 10);
	synthetic_source_set_tick(b, UINT64_MAX);
	assert_int_equal(synthetic_source_tick(b), SYNTHETIC_TICK_MAX);
	plane_source_destroy(a);
	plane_source_destroy(b);

	/* frames=0 is a still. */
	a = make("320x240:drag:frames=0");
	synthetic_source_set_tick(a, 500);
	assert_int_equal(synthetic_source_tick(a), 0);
	plane_source_destroy(a);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_wall_clock(void **state)
{
	(void)state;
	struct plane_source *src = make("320x240:video:rate=1000");
	struct plane_source *held = make("320x240:video:rate=1000,frames=3");

	uint64_t t0 = now_ms();
	query(src, PLANE_PRIMARY);
	query(held, PLANE_PRIMARY);
	assert_int_equal(synthetic_source_tick(src), 0); /* the clock starts at the first query */
	sleep_ms(60);
	query(src, PLANE_PRIMARY);
	query(held, PLANE_PRIMARY);
	uint64_t elapsed = now_ms() - t0 + 1;
	/* At 1000 ticks a second a tick is a millisecond: at least the sleep, at most what
	 * passed since just before the first query. */
	uint64_t t = synthetic_source_tick(src);
	if (t < 59 || t > elapsed)
		fail_msg("tick %llu after %llu ms", (unsigned long long)t, (unsigned long long)elapsed);
	assert_int_equal(synthetic_source_tick(held), 3);
	/* set_tick stops the clock. */
	synthetic_source_set_tick(src, 5);
	sleep_ms(20);
	query(src, PLANE_PRIMARY);
	assert_int_equal(synthetic_source_tick(src), 5);
	plane_source_destroy(src);
	plane_source_destroy(held);
}

/* ---- sizes ---- */

static void exercise(const char *spec, int w, int h)
{
	struct plane_source *src = make(spec);

	for (uint64_t t = 0; t < 4; t++) {
		synthetic_source_set_tick(src, t);
		struct plane_info p = query(src, PLANE_PRIMARY);
		assert_int_equal(p.width, (uint32_t)w);
		assert_int_equal(p.height, (uint32_t)h);
	}
	apply_events(src, w, h);
	synthetic_source_set_tick(src, 1000);
	query(src, PLANE_PRIMARY);
	query(src, PLANE_CURSOR);
	plane_source_destroy(src);
}

static void test_small_sizes(void **state)
{
	(void)state;
	static const char *const scenes[] = { "static", "desktop", "typing", "scroll",
					      "drag",   "video",   "flip",   "modes" };
	static const int sizes[][2] = { { 16, 16 }, { 17, 23 }, { 16, 300 }, { 300, 16 } };
	char spec[64];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++) {
			snprintf(spec, sizeof(spec), "%dx%d:%s", sizes[s][0], sizes[s][1], scenes[i]);
			exercise(spec, sizes[s][0], sizes[s][1]);
		}
	}
}

static void test_large_sizes(void **state)
{
	(void)state;
	static const char *const scenes[] = { "static", "desktop", "typing", "scroll",
					      "drag",   "video",   "flip",   "modes" };
	char spec[64];

	for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++) {
		snprintf(spec, sizeof(spec), "4000x3000:%s", scenes[i]);
		exercise(spec, 4000, 3000);
	}
	exercise("8192x64:video", 8192, 64);
	exercise("64x8192:typing", 64, 8192);
}

/* ---- threads ---- */

static void *input_thread(void *arg)
{
	struct plane_source *src = arg;

	for (int i = 0; i < 2000; i++) {
		src->ops->pointer(src, i % 320, i % 240, (uint32_t)(i / 7 % 2));
		src->ops->key(src, (uint32_t)('a' + i % 26), true);
	}
	return NULL;
}

/* Capture and input at once: no deadlock, no race that ASan can see, and the result is
 * still what the input says (a single thread applies the same events afterwards). */
static void test_threads(void **state)
{
	(void)state;
	struct plane_source *src = make("320x240:flip:rate=1000");
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, input_thread, src), 0);
	for (int i = 0; i < 500; i++) {
		struct plane_info p = query(src, PLANE_PRIMARY);
		assert_true(p.dmabuf_id == 1 || p.dmabuf_id == 2);
	}
	assert_int_equal(pthread_join(th, NULL), 0);

	struct plane_source *ref = make("320x240:flip");
	input_thread(ref);
	uint64_t t = synthetic_source_tick(src);
	synthetic_source_set_tick(src, t);
	synthetic_source_set_tick(ref, t);
	assert_same_primary(src, ref);
	plane_source_destroy(ref);
	plane_source_destroy(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_defaults),
		cmocka_unit_test(test_spec_good),
		cmocka_unit_test(test_spec_bad),
		cmocka_unit_test(test_spec_error_buffer_bounds),
		cmocka_unit_test(test_ids_stable_content_changes),
		cmocka_unit_test(test_flip_alternates),
		cmocka_unit_test(test_flip_mostly_equal),
		cmocka_unit_test(test_modes_ids_and_no_plane),
		cmocka_unit_test(test_modes_skip_repeated_size),
		cmocka_unit_test(test_get_dmabuf_unknown),
		cmocka_unit_test(test_mmap_shows_drawing),
		cmocka_unit_test(test_incremental_simple_scenes),
		cmocka_unit_test(test_incremental_typing),
		cmocka_unit_test(test_incremental_modes),
		cmocka_unit_test(test_incremental_desktop_large),
		cmocka_unit_test(test_tick_stamp),
		cmocka_unit_test(test_incremental_drag_bounces),
		cmocka_unit_test(test_render_in_pieces),
		cmocka_unit_test(test_set_tick_backwards),
		cmocka_unit_test(test_static_never_changes),
		cmocka_unit_test(test_ticks_redraw_only_what_changes),
		cmocka_unit_test(test_video_region_changes_every_tick),
		cmocka_unit_test(test_scroll_moves_up),
		cmocka_unit_test(test_drag_moves_window),
		cmocka_unit_test(test_cursor_plane),
		cmocka_unit_test(test_cursor_clamped_to_mode),
		cmocka_unit_test(test_pointer_click_stamps),
		cmocka_unit_test(test_keys_type_into_notes),
		cmocka_unit_test(test_typing_scene_types),
		cmocka_unit_test(test_keys_edge_cases),
		cmocka_unit_test(test_formats_equivalent),
		cmocka_unit_test(test_format_byte_order),
		cmocka_unit_test(test_frames_clamp),
		cmocka_unit_test(test_wall_clock),
		cmocka_unit_test(test_small_sizes),
		cmocka_unit_test(test_large_sizes),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
