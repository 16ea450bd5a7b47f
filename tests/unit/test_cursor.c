/* cursor.c without a network: a cursor is published with every form libvncserver may
 * send or draw already built (so no client thread converts it), the XCursor bitmap and
 * the mask follow the pixels, large cursors are cropped around the hotspot, and a cursor
 * a client holds outlives its replacement while other threads swap theirs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/rfb.h>

#include "config.h"
#include "cursor.h"
#include "frame_store.h"
#include "vnc_server.h"

#define SCREEN_W 320
#define SCREEN_H 240

static struct config cfg;
static struct frame_store frames;

static struct vnc_server *make_server(void)
{
	char *argv[] = {"vgpu-vnc", "--source", "synthetic:320x240:static", NULL};
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	assert_int_equal(config_load(&cfg, 3, argv, null, null), CONFIG_OK);
	fclose(null);
	struct vnc_server *srv = NULL;
	char err[256];
	static bool frames_made;
	if (!frames_made)
		frame_store_init(&frames);
	frames_made = true;
	assert_int_equal(vnc_server_create(&cfg, NULL, &frames, SCREEN_W, SCREEN_H, &srv, err,
					   sizeof(err)),
			 0);
	return srv;
}

/* ARGB8888 (bytes B,G,R,A): pixel (x, y) is light where x + y is even, dark elsewhere;
 * opaque in the left half, transparent (alpha 40) in the right. */
static uint8_t *pattern(uint32_t w, uint32_t h, uint8_t seed)
{
	uint8_t *px = malloc((size_t)w * h * 4);
	assert_non_null(px);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *p = px + ((size_t)y * w + x) * 4;
			uint8_t v = (x + y) % 2 ? (uint8_t)(20 + seed % 50) : (uint8_t)(200 + seed % 50);
			p[0] = v;
			p[1] = (uint8_t)(v + 3);
			p[2] = (uint8_t)(v - 5);
			p[3] = x < w / 2 ? 255 : 40;
		}
	return px;
}

static bool bit(const unsigned char *bits, uint32_t w, uint32_t x, uint32_t y)
{
	return bits[y * ((w + 7) / 8) + x / 8] & (0x80u >> (x & 7));
}

/* Every form is there when the cursor is published, and each follows the pixels. */
static void test_published_whole(void **state)
{
	(void)state;
	struct vnc_server *srv = make_server();
	const uint32_t w = 37, h = 21;
	uint8_t *px = pattern(w, h, 7);
	vnc_server_set_cursor(srv, px, (size_t)w * 4, w, h, 3, 4);
	rfbCursorPtr c = vnc_server_screen(srv)->cursor;
	assert_non_null(c);
	assert_int_equal(c->width, w);
	assert_int_equal(c->height, h);
	assert_int_equal(c->xhot, 3);
	assert_int_equal(c->yhot, 4);
	/* libvncserver converts on a client's output thread whatever is missing here. */
	assert_non_null(c->richSource);
	assert_non_null(c->source);
	assert_non_null(c->mask);
	assert_non_null(c->alphaSource);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = px + ((size_t)y * w + x) * 4;
			const uint8_t *r = c->richSource + ((size_t)y * w + x) * 4;
			assert_memory_equal(r, p, 3);
			assert_int_equal(c->alphaSource[y * w + x], p[3]);
			assert_int_equal(bit(c->mask, w, x, y), p[3] >= 128);
			assert_int_equal(bit(c->source, w, x, y), p[0] + p[1] + p[2] >= 3 * 128);
		}
	/* XCursor colours: set bits white, clear bits black. */
	assert_int_equal(c->foreRed, 0xffff);
	assert_int_equal(c->backRed, 0);
	free(px);
	vnc_server_destroy(srv);
}

/* No cursor: libvncserver's 1x1 with an empty mask, also with every form. */
static void test_empty_cursor(void **state)
{
	(void)state;
	struct vnc_server *srv = make_server();
	vnc_server_set_cursor(srv, NULL, 0, 0, 0, 0, 0);
	rfbCursorPtr c = vnc_server_screen(srv)->cursor;
	assert_non_null(c);
	assert_int_equal(c->width, 1);
	assert_int_equal(c->height, 1);
	assert_int_equal(c->mask[0], 0);
	assert_non_null(c->source);
	assert_non_null(c->richSource);
	vnc_server_destroy(srv);
}

/* A 512x512 cursor with its hotspot in the corner: cropped to 64x64 around it. */
static void test_crop(void **state)
{
	(void)state;
	struct vnc_server *srv = make_server();
	uint8_t *px = pattern(512, 512, 1);
	vnc_server_set_cursor(srv, px, 512 * 4, 512, 512, 511, 500);
	rfbCursorPtr c = vnc_server_screen(srv)->cursor;
	assert_int_equal(c->width, CURSOR_MAX_SIDE);
	assert_int_equal(c->height, CURSOR_MAX_SIDE);
	assert_int_equal(c->xhot, 63);
	assert_int_equal(c->yhot, 500 - (512 - 64));
	/* The crop's first pixel is (448, 448) of the plane. */
	assert_memory_equal(c->richSource, px + ((size_t)448 * 512 + 448) * 4, 3);
	free(px);
	vnc_server_destroy(srv);
}

/* A client's reference keeps its cursor whole through many replacements (under ASan a
 * freed one would be reported), and the last reference frees it (LeakSanitizer). */
static void test_held_outlives_replacement(void **state)
{
	(void)state;
	struct vnc_server *srv = make_server();
	struct _rfbScreenInfo *s = vnc_server_screen(srv);
	uint8_t *px = pattern(32, 32, 3);
	vnc_server_set_cursor(srv, px, 32 * 4, 32, 32, 0, 0);
	rfbCursorPtr held = NULL;
	rfbCursorPtr c = cursor_hold(s, &held);
	assert_ptr_equal(c, s->cursor);
	for (int i = 0; i < 100; i++) {
		uint8_t *other = pattern(16, 16, (uint8_t)i);
		vnc_server_set_cursor(srv, other, 16 * 4, 16, 16, 1, 1);
		free(other);
	}
	assert_ptr_not_equal(held, s->cursor);
	assert_int_equal(held->width, 32);
	assert_memory_equal(held->richSource, px, 3);
	cursor_release(held);
	free(px);
	vnc_server_destroy(srv);
}

struct holder {
	struct _rfbScreenInfo *screen;
	atomic_bool *stop;
	unsigned long sum;
};

/* What a client's output thread does with each cursor shape: take the current cursor
 * and read all of it. */
static void *hold_loop(void *arg)
{
	struct holder *h = arg;
	rfbCursorPtr held = NULL;
	while (!atomic_load(h->stop)) {
		rfbCursorPtr c = cursor_hold(h->screen, &held);
		size_t n = (size_t)c->width * c->height;
		for (size_t i = 0; i < n; i++)
			h->sum += c->richSource[i * 4] + c->alphaSource[i];
		for (size_t i = 0; i < (size_t)(c->width + 7) / 8 * c->height; i++)
			h->sum += c->source[i] + c->mask[i];
	}
	cursor_release(held);
	return NULL;
}

/* Eight threads read the cursor while it is replaced 2000 times. */
static void test_concurrent_holders(void **state)
{
	(void)state;
	struct vnc_server *srv = make_server();
	atomic_bool stop = false;
	struct holder h[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		h[i] = (struct holder){.screen = vnc_server_screen(srv), .stop = &stop};
		assert_int_equal(pthread_create(&t[i], NULL, hold_loop, &h[i]), 0);
	}
	uint8_t *a = pattern(32, 32, 1), *b = pattern(24, 40, 2);
	for (int i = 0; i < 2000; i++) {
		if (i % 3 == 2)
			vnc_server_set_cursor(srv, NULL, 0, 0, 0, 0, 0);
		else if (i % 2)
			vnc_server_set_cursor(srv, a, 32 * 4, 32, 32, 2, 1);
		else
			vnc_server_set_cursor(srv, b, 24 * 4, 24, 40, 9, 1);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	free(a);
	free(b);
	vnc_server_destroy(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_whole),
		cmocka_unit_test(test_empty_cursor),
		cmocka_unit_test(test_crop),
		cmocka_unit_test(test_held_outlives_replacement),
		cmocka_unit_test(test_concurrent_holders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
