/* Lossless Tight rectangles (the refresh): decoded the way a Tight client decodes them
 * (zlib stream 3 kept across rectangles, reset when told), they give back every pixel;
 * the filter and the control byte are the ones the content calls for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tight_jpeg_lossless.h"

/* ---- a client's decoder for what the module emits ------------------------------------- */

struct client {
	z_stream z[4];
	bool active[4];
};

static void client_free(struct client *c)
{
	for (int i = 0; i < 4; i++)
		if (c->active[i])
			inflateEnd(&c->z[i]);
}

static uint32_t compact_len(const uint8_t **p)
{
	uint32_t len = (*p)[0] & 0x7f;
	if ((*p)[0] & 0x80) {
		len |= (uint32_t)((*p)[1] & 0x7f) << 7;
		if ((*p)[1] & 0x80) {
			len |= (uint32_t)(*p)[2] << 14;
			*p += 3;
			return len;
		}
		*p += 2;
		return len;
	}
	*p += 1;
	return len;
}

/* Decode one rectangle's data (after its header) into XRGB pixels (X = 0). Returns the
 * control byte. */
static uint8_t decode(struct client *c, const uint8_t *data, size_t len, uint32_t w, uint32_t h,
		      uint32_t *out)
{
	const uint8_t *p = data, *end = data + len;
	uint8_t ctl = *p++;
	uint32_t palette[256];
	unsigned colours = 0;
	int bits;

	for (int i = 0; i < 4; i++)
		if ((ctl >> i) & 1 && c->active[i]) {
			inflateEnd(&c->z[i]);
			c->active[i] = false;
		}
	uint8_t hi = ctl >> 4;
	assert_true(hi < 8); /* basic compression */
	int stream = hi & 3;
	if (hi & 4) {
		assert_int_equal(*p++, 1); /* palette filter */
		colours = (unsigned)*p++ + 1;
		for (unsigned i = 0; i < colours; i++, p += 3)
			palette[i] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		bits = colours == 2 ? 1 : 8;
	} else {
		bits = 24;
	}
	size_t row = ((size_t)w * (size_t)bits + 7) / 8, raw_len = row * h;
	uint8_t *raw = malloc(raw_len + 1);
	assert_non_null(raw);
	if (raw_len < 12) {
		assert_true((size_t)(end - p) == raw_len);
		memcpy(raw, p, raw_len);
	} else {
		uint32_t zlen = compact_len(&p);
		assert_true((size_t)(end - p) == zlen);
		if (!c->active[stream]) {
			memset(&c->z[stream], 0, sizeof(c->z[stream]));
			assert_int_equal(inflateInit(&c->z[stream]), Z_OK);
			c->active[stream] = true;
		}
		z_stream *z = &c->z[stream];
		z->next_in = (Bytef *)p;
		z->avail_in = zlen;
		z->next_out = raw;
		z->avail_out = (uInt)raw_len;
		int r = inflate(z, Z_SYNC_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		assert_int_equal(z->avail_out, 0);
		assert_int_equal(z->avail_in, 0);
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *r = raw + y * row;
			uint32_t v;
			if (bits == 24)
				v = (uint32_t)r[x * 3] << 16 | (uint32_t)r[x * 3 + 1] << 8 |
				    r[x * 3 + 2];
			else if (bits == 8)
				v = palette[r[x]];
			else
				v = palette[(r[x / 8] >> (7 - x % 8)) & 1];
			out[y * w + x] = v;
		}
	free(raw);
	return ctl;
}

/* ---- pictures --------------------------------------------------------------------------- */

struct pic {
	uint32_t w, h;
	size_t stride;
	uint8_t *px; /* XRGB8888: B, G, R, X */
};

static struct pic pic_new(uint32_t w, uint32_t h)
{
	struct pic p = {w, h, (size_t)w * 4 + 20, NULL};
	p.px = malloc(p.stride * h);
	assert_non_null(p.px);
	return p;
}

static void pic_set(struct pic *p, uint32_t x, uint32_t y, uint32_t rgb)
{
	uint8_t *q = p->px + y * p->stride + x * 4;
	q[0] = (uint8_t)rgb, q[1] = (uint8_t)(rgb >> 8), q[2] = (uint8_t)(rgb >> 16);
	q[3] = (uint8_t)(x ^ y); /* the X byte is not part of the colour */
}

static uint32_t pic_get(const struct pic *p, uint32_t x, uint32_t y)
{
	const uint8_t *q = p->px + y * p->stride + x * 4;
	return (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

/* n colours: text-like stripes of a small palette; n = 0: every pixel its own. */
static struct pic pic_colours(uint32_t w, uint32_t h, unsigned n)
{
	struct pic p = pic_new(w, h);
	uint32_t seed = w * 31 + h + n;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t v = n ? ((seed >> 16) % n) * 0x0a0b0cu : (seed >> 8) & 0xffffff;
			pic_set(&p, x, y, v);
		}
	return p;
}

/* Encode (x, y, w, h) of p, decode it as a client, compare; returns the control byte. */
static uint8_t roundtrip(struct tight_lossless *s, struct client *c, const struct pic *p,
			 uint32_t x, uint32_t y, uint32_t w, uint32_t h, int level)
{
	const uint8_t *data;
	size_t len;
	uint32_t *got = malloc((size_t)w * h * 4);
	assert_non_null(got);
	assert_int_equal(tight_lossless_encode(s, p->px + y * p->stride + x * 4, p->stride, w, h,
					       level, &data, &len),
			 0);
	uint8_t ctl = decode(c, data, len, w, h, got);
	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			if (got[j * w + i] != pic_get(p, x + i, y + j))
				fail_msg("pixel %u,%u of a %ux%u rect: %06x, want %06x", i, j, w, h,
					 got[j * w + i], pic_get(p, x + i, y + j));
	free(got);
	return ctl;
}

static void test_filters_and_stream_reset(void **state)
{
	(void)state;
	struct tight_lossless s;
	struct client c = {0};
	tight_lossless_init(&s);

	struct pic two = pic_colours(64, 64, 2);
	struct pic few = pic_colours(64, 64, 17);
	struct pic many = pic_colours(128, 64, 0);

	/* First rectangle: palette filter (0x40), stream 3 (0x30), reset stream 3 (0x08). */
	assert_int_equal(roundtrip(&s, &c, &few, 0, 0, 64, 64, 6), 0x78);
	/* Then the same stream goes on without a reset. */
	assert_int_equal(roundtrip(&s, &c, &two, 0, 0, 64, 64, 6), 0x70);
	/* Two colours with a width that is not a multiple of 8 (rows padded to a byte). */
	assert_int_equal(roundtrip(&s, &c, &two, 3, 5, 13, 9, 6), 0x70);
	/* Many colours: copy filter, no filter byte. */
	assert_int_equal(roundtrip(&s, &c, &many, 0, 0, 128, 64, 6), 0x30);
	/* Another zlib level in the middle of the stream. */
	assert_int_equal(roundtrip(&s, &c, &few, 8, 8, 40, 40, 1), 0x70);
	assert_int_equal(roundtrip(&s, &c, &many, 1, 1, 100, 50, 9), 0x30);
	/* Tiny: under 12 bytes of data go uncompressed (3 pixels of RGB = 9 bytes). */
	assert_int_equal(roundtrip(&s, &c, &many, 0, 0, 3, 1, 6), 0x30);
	/* One colour (a lossless rect the planner never makes, but must still work). */
	struct pic one = pic_colours(16, 16, 1);
	assert_int_equal(roundtrip(&s, &c, &one, 0, 0, 16, 16, 6), 0x70);

	/* After a reset, the next rectangle tells the client to reset too. */
	tight_lossless_reset(&s);
	assert_int_equal(roundtrip(&s, &c, &many, 0, 0, 64, 64, 6), 0x38);
	assert_int_equal(roundtrip(&s, &c, &few, 0, 0, 64, 64, 6), 0x70);

	/* The limits: 2048 wide, 65536 pixels. */
	struct pic wide = pic_colours(2048, 32, 0);
	assert_int_equal(roundtrip(&s, &c, &wide, 0, 0, 2048, 32, 1), 0x30);
	const uint8_t *data;
	size_t len;
	assert_int_equal(tight_lossless_encode(&s, wide.px, wide.stride, 2048, 33, 1, &data, &len),
			 -22);
	assert_int_equal(tight_lossless_encode(&s, wide.px, wide.stride, 0, 1, 1, &data, &len),
			 -22);

	free(two.px), free(few.px), free(many.px), free(one.px), free(wide.px);
	tight_lossless_destroy(&s);
	client_free(&c);
}

static void test_palette_is_smaller_than_copy(void **state)
{
	(void)state;
	struct tight_lossless s;
	const uint8_t *data;
	size_t len_few, len_many;
	tight_lossless_init(&s);
	struct pic few = pic_colours(256, 64, 4);
	struct pic many = pic_colours(256, 64, 0);
	assert_int_equal(tight_lossless_encode(&s, few.px, few.stride, 256, 64, 6, &data, &len_few),
			 0);
	assert_int_equal(
		tight_lossless_encode(&s, many.px, many.stride, 256, 64, 6, &data, &len_many), 0);
	/* 4 colours: at most ~2 bits a pixel after zlib; random RGB barely compresses. */
	assert_true(len_few < 256 * 64 / 2);
	assert_true(len_many > 256 * 64 * 3 * 9 / 10);
	free(few.px), free(many.px);
	tight_lossless_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_and_stream_reset),
		cmocka_unit_test(test_palette_is_smaller_than_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
