/* Encode once, send to many: Tight-JPEG encoders of several clients on one frame, sharing
 * a tight_cache. Every update is decoded here as a Tight client would (fills, JPEG through
 * TurboJPEG, basic rectangles with the palette or copy filter through the client's four
 * zlib streams and their reset bits), so the checks are on pixels and bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <zlib.h>

#include "byte_sink.h"
#include "unit_util.h"
#include "tight_jpeg_cache.h"
#include "tight_jpeg_encoder.h"

#define W 512 /* 8 x 2 tiles */
#define H 128
#define CLIENTS 4

/* ---- the frame: fills, few colours (palette), noise (JPEG) --------------------------- */

static uint8_t fb[W * H * 4];
static uint64_t gen = 1;

static uint64_t frame_generation(void *opaque)
{
	(void)opaque;
	return gen;
}

static void put(int x, int y, uint32_t rgb)
{
	memcpy(fb + ((size_t)y * W + x) * 4, &rgb, 4);
}

static void draw(unsigned seed)
{
	srand(seed);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int tile = (y / 64) * 8 + x / 64;
			uint32_t rgb;

			if (tile % 4 == 0) /* one colour */
				rgb = 0x204080u + (uint32_t)tile;
			else if (tile % 4 == 1) /* stripes of four colours */
				rgb = (uint32_t[]){0xffffff, 0x000000, 0xff0000, 0x00ff00}[(x + y) / 3 % 4];
			else /* photographic */
				rgb = (uint32_t)(x * 3 + (rand() & 15)) << 16 |
				      (uint32_t)(y * 2 + (rand() & 15)) << 8 |
				      (uint32_t)((x + y + (rand() & 7)) & 255);
			put(x, y, rgb & 0xffffff);
		}
}

/* ---- a client: the bytes it got and what it decoded --------------------------------- */

struct client {
	struct tight_jpeg_encoder *enc;
	uint8_t *bytes;
	size_t len, cap;
	uint8_t screen[W * H * 4];
	bool lossy[W * H]; /* pixel came from a JPEG */
	z_stream z[4];
	bool z_on[4];
};

static int sink_write(void *opaque, const void *p, size_t n)
{
	struct client *c = opaque;

	unit_buf_append(&c->bytes, &c->len, &c->cap, p, n);
	return 0;
}

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static size_t compact(const uint8_t *p, size_t *at)
{
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		uint8_t b = p[(*at)++];
		n |= (size_t)(b & (i == 2 ? 0xff : 0x7f)) << (7 * i);
		if (i < 2 && !(b & 0x80))
			break;
	}
	return n;
}

static void inflate_into(struct client *c, int stream, const uint8_t *in, size_t n, uint8_t *out,
			 size_t out_n)
{
	z_stream *z = &c->z[stream];

	if (!c->z_on[stream]) {
		memset(z, 0, sizeof(*z));
		assert_int_equal(inflateInit(z), Z_OK);
		c->z_on[stream] = true;
	}
	z->next_in = (uint8_t *)in;
	z->avail_in = (uInt)n;
	z->next_out = out;
	z->avail_out = (uInt)out_n;
	int r = inflate(z, Z_SYNC_FLUSH);
	assert_true(r == Z_OK || r == Z_STREAM_END);
	assert_int_equal(z->avail_out, 0); /* exactly the rectangle's bytes */
}

static void set_px(struct client *c, uint32_t x, uint32_t y, const uint8_t rgb[3], bool lossy)
{
	uint32_t v = (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];

	memcpy(c->screen + ((size_t)y * W + x) * 4, &v, 4);
	c->lossy[y * W + x] = lossy;
}

static void decode_basic(struct client *c, const uint8_t *p, size_t *at, uint8_t ctl,
			 uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
	uint8_t palette[256][3], *raw;
	unsigned colours = 0;
	int stream = ctl >> 4 & 3;

	if (ctl & 0x40) {
		assert_int_equal(p[(*at)++], 1); /* the palette filter */
		colours = p[(*at)++] + 1u;
		memcpy(palette, p + *at, colours * 3);
		*at += colours * 3;
	}
	size_t row = colours == 2 ? (w + 7) / 8 : colours ? w : w * 3, raw_n = row * h;
	raw = malloc(raw_n);
	assert_non_null(raw);
	if (raw_n < 12) {
		memcpy(raw, p + *at, raw_n);
		*at += raw_n;
	} else {
		size_t n = compact(p, at);
		inflate_into(c, stream, p + *at, n, raw, raw_n);
		*at += n;
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *q = raw + y * row;
			unsigned i = colours == 2 ? q[x / 8] >> (7 - x % 8) & 1 : colours ? q[x] : 0;
			set_px(c, x0 + x, y0 + y, colours ? palette[i] : q + 3 * x, false);
		}
	free(raw);
}

static void decode_jpeg(struct client *c, const uint8_t *jpeg, size_t n, uint32_t x0,
			uint32_t y0, uint32_t w, uint32_t h)
{
	tjhandle tj = tjInitDecompress();
	uint8_t *rgb = malloc((size_t)w * h * 3);

	assert_non_null(rgb);
	assert_int_equal(tjDecompress2(tj, jpeg, (unsigned long)n, rgb, (int)w, 0, (int)h, TJPF_RGB,
				       0),
			 0);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			set_px(c, x0 + x, y0 + y, rgb + 3 * ((size_t)y * w + x), true);
	free(rgb);
	tjDestroy(tj);
}

/* One FramebufferUpdate of Tight rectangles, into the client's screen. */
static void decode(struct client *c)
{
	const uint8_t *p = c->bytes;
	size_t at = 4;

	assert_true(c->len >= 4);
	assert_int_equal(p[0], 0);
	for (uint32_t i = 0, n = be16(p + 2); i < n; i++) {
		uint32_t x = be16(p + at), y = be16(p + at + 2), w = be16(p + at + 4),
			 h = be16(p + at + 6);
		assert_int_equal(p[at + 11], 7); /* Tight */
		at += 12;
		uint8_t ctl = p[at++];
		for (int s = 0; s < 4; s++)
			if (ctl & (1u << s) && c->z_on[s]) {
				inflateEnd(&c->z[s]);
				c->z_on[s] = false;
			}
		if (ctl >> 4 == 0x8) {
			for (uint32_t yy = 0; yy < h; yy++)
				for (uint32_t xx = 0; xx < w; xx++)
					set_px(c, x + xx, y + yy, p + at, false);
			at += 3;
		} else if (ctl >> 4 == 0x9) {
			size_t len = compact(p, &at);
			decode_jpeg(c, p + at, len, x, y, w, h);
			at += len;
		} else {
			decode_basic(c, p, &at, ctl & 0xf0, x, y, w, h);
		}
	}
	assert_int_equal(at, c->len);
}

/* Pixels that came exactly are exact; JPEG ones within tol per channel on average. */
static void expect_screen(const struct client *c, double tol)
{
	double err = 0;
	size_t lossy = 0;

	for (size_t i = 0; i < (size_t)W * H; i++) {
		const uint8_t *a = c->screen + 4 * i, *b = fb + 4 * i;
		if (!c->lossy[i]) {
			assert_memory_equal(a, b, 3);
			continue;
		}
		lossy++;
		for (int k = 0; k < 3; k++)
			err += abs(a[k] - b[k]);
	}
	if (lossy)
		assert_true(err / (3.0 * lossy) <= tol);
}

static const uint32_t whole[] = {0, 0, W, H};

static void client_update(struct client *c, struct tight_cache *cache, int quality,
			  uint64_t now, struct tight_jpeg_update_stats *st)
{
	const struct tight_jpeg_frame f = {.pixels = fb, .stride = W * 4, .width = W, .height = H,
					   .generation = frame_generation};
	const struct tight_jpeg_settings s = {
		.jpeg = {.quality = quality, .subsamp = TJSAMP_444}, .compress_level = 2,
		.refresh_ms = 1000, .cache = cache};
	const struct byte_sink sink = {.write = sink_write, .opaque = c};

	c->len = 0;
	assert_int_equal(tight_jpeg_encoder_update(c->enc, &f, whole, 1, &s, now, &sink, st), 0);
	decode(c);
}

static struct client *clients_new(unsigned n)
{
	struct client *c = calloc(n, sizeof(*c));

	assert_non_null(c);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(tight_jpeg_encoder_create(&c[i].enc), 0);
	return c;
}

static void clients_free(struct client *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		tight_jpeg_encoder_destroy(c[i].enc);
		free(c[i].bytes);
		for (int s = 0; s < 4; s++)
			if (c[i].z_on[s])
				inflateEnd(&c[i].z[s]);
	}
	free(c);
}

/* ---- the cases ---------------------------------------------------------------------- */

/* Same settings: every client gets the same bytes; each tile is classified once and each
 * rectangle (JPEG and lossless) encoded once for all; and every client decodes the frame,
 * exactly where it is lossless and exactly everywhere after the refresh. */
static void test_same_settings_share(void **state)
{
	(void)state;
	struct client *c = clients_new(CLIENTS);
	struct tight_cache *cache;
	struct tight_cache_stats cs;
	struct tight_jpeg_update_stats st[CLIENTS];

	draw(1);
	gen = 7;
	assert_int_equal(tight_cache_create(1u << 24, 1024, &cache), 0);
	for (int round = 0; round < 2; round++) {
		/* Round 1 at 1000 ms: JPEG and palette; round 2 at 2200 ms: the refresh. */
		struct tight_cache_stats before;
		tight_cache_get_stats(cache, &before);
		for (unsigned i = 0; i < CLIENTS; i++)
			client_update(&c[i], cache, 79, round ? 2200 : 1000, &st[i]);
		tight_cache_get_stats(cache, &cs);
		for (unsigned i = 1; i < CLIENTS; i++) {
			assert_int_equal(c[i].len, c[0].len);
			assert_memory_equal(c[i].bytes, c[0].bytes, c[0].len);
		}
		for (unsigned i = 0; i < CLIENTS; i++)
			expect_screen(&c[i], round ? 0 : 8);
		unsigned shareable = st[0].jpeg_rects + st[0].palette_rects + st[0].lossless_rects;
		assert_true(shareable > 0);
		if (round == 0)
			assert_true(st[0].jpeg_rects > 0 && st[0].palette_rects > 0);
		else
			assert_true(st[0].jpeg_rects == 0 && st[0].lossless_rects > 0);
		/* One encode per rectangle for the group, the other clients hit; in the
		 * refresh, the palette rectangles of the same frame are there already. */
		unsigned again = round ? st[0].palette_rects : 0;
		assert_int_equal(cs.misses - before.misses, shareable - again);
		assert_int_equal(cs.hits - before.hits, (CLIENTS - 1) * shareable + again);
		assert_int_equal(st[0].jpeg_shared, 0);
		for (unsigned i = 1; i < CLIENTS; i++)
			assert_int_equal(st[i].jpeg_shared, st[0].jpeg_rects);
	}
	/* 16 tiles, classified once for the frame; the other clients and rounds copy. */
	assert_int_equal(cs.tiles_classified, 16);
	assert_int_equal(cs.tiles_shared, 2 * CLIENTS * 16 - 16);
	tight_cache_destroy(cache);
	clients_free(c, CLIENTS);
}

/* Different JPEG quality: no JPEG is shared (the lossless rectangles may be: their bytes
 * do not depend on the quality), and each client decodes its own right. */
static void test_different_quality_not_shared(void **state)
{
	(void)state;
	struct client *c = clients_new(2);
	struct tight_cache *cache;
	struct tight_jpeg_update_stats st[2];

	draw(2);
	gen = 9;
	assert_int_equal(tight_cache_create(1u << 24, 1024, &cache), 0);
	client_update(&c[0], cache, 30, 1000, &st[0]);
	client_update(&c[1], cache, 95, 1000, &st[1]);
	assert_true(st[0].jpeg_rects > 0 && st[1].jpeg_rects == st[0].jpeg_rects);
	assert_int_equal(st[0].jpeg_shared + st[1].jpeg_shared, 0);
	assert_true(st[0].jpeg_bytes < st[1].jpeg_bytes);
	expect_screen(&c[0], 12);
	expect_screen(&c[1], 4);
	tight_cache_destroy(cache);
	clients_free(c, 2);
}

/* A client that goes from shared rectangles to its own zlib stream and back (a peer came
 * and went): its stream 3 stays in step, every lossless pixel exact. */
static void test_own_stream_after_shared(void **state)
{
	(void)state;
	struct client *c = clients_new(1);
	struct tight_cache *cache;
	struct tight_jpeg_update_stats st;

	assert_int_equal(tight_cache_create(1u << 24, 1024, &cache), 0);
	for (int i = 0; i < 6; i++) {
		draw(10 + (unsigned)i);
		gen = 20 + (uint64_t)i;
		client_update(&c[0], i % 3 == 1 ? NULL : cache, 79, 1000 + 100 * (uint64_t)i, &st);
		assert_true(st.palette_rects > 0);
		expect_screen(&c[0], 8);
	}
	tight_cache_destroy(cache);
	clients_free(c, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_settings_share),
		cmocka_unit_test(test_different_quality_not_shared),
		cmocka_unit_test(test_own_stream_after_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
