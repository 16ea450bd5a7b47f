/* drawn_cursor.c with client_encoding.c, without a network: a client that takes no cursor
 * shapes reads its own copy of the framebuffer with the cursor blended in, and that copy
 * shows what the region being sent looks like when it is taken. The capture thread and a
 * cursor move can mark the screen at any moment of the client's output thread; here they
 * do so at the worst one, between the start of the update (the displayHook's
 * drawn_cursor_prepare) and the moment its path takes the region to send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include "client_encoding.h"
#include "config.h"
#include "drawn_cursor.h"
#include "frame_store.h"
#include "vnc_server.h"

#define SCREEN_W 320
#define SCREEN_H 240
#define CURSOR 8 /* an opaque white square, hotspot at its top left */

static const uint32_t background = 0x00102030, painted = 0x00c04080;

struct fixture {
	struct config cfg;
	struct frame_store frames;
	struct vnc_server *srv;
	rfbScreenInfoPtr s;
	rfbClientPtr cl;
	struct client_encoding *ce;
	int peer;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	char *argv[] = {"vgpu-vnc", "--source", "synthetic:320x240:static", NULL};
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	assert_int_equal(config_load(&f->cfg, 3, argv, null, null), CONFIG_OK);
	fclose(null);
	frame_store_init(&f->frames);
	char err[256];
	assert_int_equal(vnc_server_create(&f->cfg, NULL, &f->frames, SCREEN_W, SCREEN_H, &f->srv,
					   err, sizeof(err)),
			 0);
	f->s = vnc_server_screen(f->srv);
	uint32_t *fb = (uint32_t *)f->s->frameBuffer;
	for (size_t i = 0; i < (size_t)SCREEN_W * SCREEN_H; i++)
		fb[i] = background;
	uint8_t white[CURSOR * CURSOR * 4];
	memset(white, 0xff, sizeof(white));
	vnc_server_set_cursor(f->srv, white, CURSOR * 4, CURSOR, CURSOR, 0, 0);
	vnc_server_move_cursor(f->srv, 10, 10);

	/* A client on hold (no threads: this test is its output thread), without cursor
	 * shapes, that asked for the whole screen. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->cl = rfbNewClient(f->s, sv[0]);
	assert_non_null(f->cl);
	f->peer = sv[1];
	f->ce = client_encoding_get(f->cl);
	assert_non_null(f->ce);
	assert_false(f->cl->enableCursorShapeUpdates);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rfbCloseClient(f->cl);
	rfbClientConnectionGone(f->cl);
	close(f->peer);
	vnc_server_destroy(f->srv);
	frame_store_destroy(&f->frames);
	free(f);
	return 0;
}

static void request_all(rfbClientPtr cl)
{
	sraRegionPtr all = sraRgnCreateRect(0, 0, SCREEN_W, SCREEN_H);
	LOCK(cl->updateMutex);
	sraRgnOr(cl->requestedRegion, all);
	UNLOCK(cl->updateMutex);
	sraRgnDestroy(all);
}

/* The capture thread's tick: new pixels in r, then the damage. */
static void paint(struct fixture *f, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	uint32_t *fb = (uint32_t *)f->s->frameBuffer;
	for (uint32_t j = y; j < y + h; j++)
		for (uint32_t i = x; i < x + w; i++)
			fb[(size_t)j * SCREEN_W + i] = painted;
	const uint32_t r[4] = {x, y, w, h};
	vnc_server_mark_modified(f->srv, r, 1);
}

/* What the client must see at x, y: the screen, and the cursor at (cx, cy) over it. */
static uint32_t want_at(const struct fixture *f, int x, int y, int cx, int cy)
{
	if (x >= cx && x < cx + CURSOR && y >= cy && y < cy + CURSOR)
		return 0x00ffffff;
	return ((const uint32_t *)f->s->frameBuffer)[(size_t)y * SCREEN_W + x] & 0xffffff;
}

/* Every pixel of region in the client's copy is what the client must see. */
static void assert_copy_over(const struct fixture *f, sraRegionPtr region, int cx, int cy)
{
	const rfbScreenInfo *src = f->cl->scaledScreen;
	assert_ptr_not_equal(src, f->s); /* the drawn cursor's copy */
	unsigned checked = 0;
	sraRectangleIterator *it = sraRgnGetIterator(region);
	sraRect r;
	while (sraRgnIteratorNext(it, &r))
		for (int y = r.y1; y < r.y2; y++)
			for (int x = r.x1; x < r.x2; x++) {
				uint32_t got = *(const uint32_t *)(src->frameBuffer +
								  (size_t)y * src->paddedWidthInBytes +
								  (size_t)x * 4) &
					       0xffffff;
				uint32_t want = want_at(f, x, y, cx, cy);
				if (got != want)
					fail_msg("the client's copy at %d,%d: %06x, want %06x", x, y, got,
						 want);
				checked++;
			}
	sraRgnReleaseIterator(it);
	assert_true(checked > 0);
}

/* The first update: the whole screen with the cursor at 10,10. */
static void first_update(struct fixture *f)
{
	request_all(f->cl);
	drawn_cursor_prepare(f->cl, &f->ce->drawn_cursor, &f->ce->takes_cursor);
	assert_false(f->ce->takes_cursor);
	sraRegionPtr region = client_encoding_take_update(f->cl);
	assert_non_null(region);
	assert_copy_over(f, region, 10, 10);
	sraRgnDestroy(region);
}

/* After the first update, the next one's region as its path takes it, with meanwhile
 * run after the update began (drawn_cursor_prepare) and before the taking. */
static sraRegionPtr update_with(struct fixture *f, void (*meanwhile)(struct fixture *f))
{
	first_update(f);
	request_all(f->cl);
	drawn_cursor_prepare(f->cl, &f->ce->drawn_cursor, &f->ce->takes_cursor);
	meanwhile(f);
	sraRegionPtr region = client_encoding_take_update(f->cl);
	assert_non_null(region);
	return region;
}

static void paint_tile(struct fixture *f)
{
	paint(f, 64, 64, 64, 64);
}

static void move_cursor(struct fixture *f)
{
	vnc_server_move_cursor(f->srv, 100, 80);
}

/* A tick's damage marked after the update began and before its path took the region:
 * the region taken must be sent with the tick's pixels, or they are lost (the damage is
 * gone with the taking; a lossless rectangle never comes again). */
static void test_paint_during_update(void **state)
{
	struct fixture *f = *state;
	sraRegionPtr region = update_with(f, paint_tile);
	assert_copy_over(f, region, 10, 10);
	sraRgnDestroy(region);
}

/* The cursor moved after the update began: the old place without it, the new one with
 * it, in what is taken. */
static void test_move_during_update(void **state)
{
	struct fixture *f = *state;
	sraRegionPtr region = update_with(f, move_cursor);
	sraRegionPtr both = sraRgnCreateRect(10, 10, 10 + CURSOR, 10 + CURSOR);
	sraRegionPtr now = sraRgnCreateRect(100, 80, 100 + CURSOR, 80 + CURSOR);
	sraRgnOr(both, now);
	sraRgnSubtract(both, region);
	assert_true(sraRgnEmpty(both)); /* both places are sent */
	assert_copy_over(f, region, 100, 80);
	sraRgnDestroy(both);
	sraRgnDestroy(now);
	sraRgnDestroy(region);
}

/* The peer of the client's socket: reads everything until the client is closed. */
static void *drain(void *arg)
{
	char buf[65536];
	while (read(*(int *)arg, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static struct fixture *hooked;

/* The server's displayHook, then a capture tick: the moment after our hook refreshed the
 * copy and before libvncserver takes its update out of the modified region. */
static void hook_then_paint(rfbClientPtr cl)
{
	client_encoding_display_hook(cl);
	paint(hooked, 200, 100, 30, 20);
}

/* One update the way the client's output thread sends it: libvncserver's own, with the
 * damage it copied before calling the displayHook. */
static void library_update(struct fixture *f)
{
	request_all(f->cl);
	LOCK(f->cl->updateMutex);
	sraRegionPtr given = sraRgnCreateRgn(f->cl->modifiedRegion);
	UNLOCK(f->cl->updateMutex);
	LOCK(f->cl->sendMutex);
	assert_true(rfbSendFramebufferUpdate(f->cl, given));
	UNLOCK(f->cl->sendMutex);
	sraRgnDestroy(given);
}

/* libvncserver's own encoders (a client without our paths) read the copy after the
 * displayHook, and take what they send out of the modified region a moment later: a tick
 * marked in between was sent from the old copy, and must be sent again. */
static void test_library_path(void **state)
{
	struct fixture *f = *state;
	pthread_t reader;
	assert_int_equal(pthread_create(&reader, NULL, drain, &f->peer), 0);
	f->cl->preferredEncoding = rfbEncodingRaw;
	vnc_server_move_cursor(f->srv, 40, 200);
	hooked = f;
	f->s->displayHook = hook_then_paint;
	library_update(f);
	f->s->displayHook = client_encoding_display_hook;
	assert_string_equal(client_encoding_served_by(f->cl), "library");
	/* All of the tick's rectangle is modified again. */
	sraRegionPtr missing = sraRgnCreateRect(200, 100, 230, 120);
	LOCK(f->cl->updateMutex);
	sraRgnSubtract(missing, f->cl->modifiedRegion);
	UNLOCK(f->cl->updateMutex);
	assert_true(sraRgnEmpty(missing));
	sraRgnDestroy(missing);
	/* The next update refreshes the copy over it, with the cursor where it is. */
	library_update(f);
	sraRegionPtr all = sraRgnCreateRect(0, 0, SCREEN_W, SCREEN_H);
	assert_copy_over(f, all, 40, 200);
	sraRgnDestroy(all);
	shutdown(f->peer, SHUT_RDWR);
	pthread_join(reader, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paint_during_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_during_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_library_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
