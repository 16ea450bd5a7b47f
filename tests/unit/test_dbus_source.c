/* The D-Bus source's frame side (vfio/dbus_source.c) without QEMU: every value of a
 * Scanout, Update, ScanoutDMABUF, UpdateDMABUF, CursorDefine and MouseSet is checked and
 * a bad one named; pixman formats convert to XRGB8888; QEMU's rectangles become the
 * damage op's tiles; and the ScanoutDMABUF path up to the capture side's seam: a memfd
 * standing in for QEMU's dma-buf (no render node here, so QEMU cannot run gl=on) goes
 * through the plane ops and the dmabuf cache like any plane. The source is opened on a
 * QMP path that does not exist: its GLib thread retries in the background, untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dbus_source_private.h"
#include "dmabuf_cache.h"
#include "log.h"

#define PIXMAN_X8R8G8B8 0x20020888u
#define PIXMAN_R5G6B5 0x10020565u
#define PIXMAN_X8B8G8R8 0x20030888u

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	struct plane_source *src;
	char err[256];
	assert_int_equal(dbus_source_open("qmp-dbus", "/nonexistent/qmp.sock", &src, err,
					  sizeof(err)), 0);
	assert_true(dbus_source_is(src));
	*state = src;
	return 0;
}

static int teardown(void **state)
{
	plane_source_destroy(*state);
	return 0;
}

static void expect_refused(int r, const char *why, const char *needle)
{
	assert_true(r < 0);
	if (!strstr(why, needle))
		fail_msg("reason '%s' does not name '%s'", why, needle);
}

static void scanout_checks(void **state)
{
	struct dbus_src *s = *state;
	uint32_t px[16] = {0};
	char why[256];
	expect_refused(dbus_frame_scanout(s, 4, 4, 8, PIXMAN_X8R8G8B8, px, sizeof(px), why,
					  sizeof(why)), why, "stride 8 < width 4 * 4");
	expect_refused(dbus_frame_scanout(s, 4, 4, 16, PIXMAN_X8R8G8B8, px, 60, why, sizeof(why)),
		       why, "60 bytes of pixel data");
	expect_refused(dbus_frame_scanout(s, 0, 4, 16, PIXMAN_X8R8G8B8, px, sizeof(px), why,
					  sizeof(why)), why, "size 0x4");
	expect_refused(dbus_frame_scanout(s, 9000, 1, 36000, PIXMAN_X8R8G8B8, px, sizeof(px), why,
					  sizeof(why)), why, "size 9000x1");
	expect_refused(dbus_frame_scanout(s, 4, 4, 16, 0x08018000u /* a8 */, px, sizeof(px), why,
					  sizeof(why)), why, "not a 16/24/32-bit RGB");
	struct plane_info p;
	assert_int_equal(plane_source_query(&s->base, PLANE_PRIMARY, &p), 0);
	assert_int_equal(p.dmabuf_id, 0); /* nothing was accepted */
}

static void convert_and_damage(void **state)
{
	struct dbus_src *s = *state;
	char why[256];
	/* 100x70 r5g6b5: pure red, green, blue, white in the first four pixels. */
	uint16_t px[100 * 70] = {0xf800, 0x07e0, 0x001f, 0xffff};
	assert_int_equal(dbus_frame_scanout(s, 100, 70, 200, PIXMAN_R5G6B5, px, sizeof(px), why,
					    sizeof(why)), 0);
	struct plane_info p;
	assert_int_equal(plane_source_query(&s->base, PLANE_PRIMARY, &p), 0);
	assert_int_not_equal(p.dmabuf_id, 0);
	assert_int_equal(p.fourcc, PLANE_FORMAT_XRGB8888);
	assert_int_equal(p.width, 100);
	assert_int_equal(p.stride, 400);
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	int fd = plane_source_get_dmabuf(&s->base, p.dmabuf_id);
	assert_true(fd >= 0);
	const uint32_t *m = mmap(NULL, p.size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(m[0], 0xff0000);
	assert_int_equal(m[1], 0x00ff00);
	assert_int_equal(m[2], 0x0000ff);
	assert_int_equal(m[3], 0xffffff);
	/* The first damage after a scanout covers it all (2x2 tiles of 64). */
	uint8_t flags[4] = {0};
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id, 64, 2, 2, flags), 4);
	/* An x8b8g8r8 update of 3x2 at 70,65: tile (1,1) only, pixels swizzled. */
	uint32_t up[6] = {0x000000ff, 0x0000ff00, 0x00ff0000, 0, 0, 0};
	assert_int_equal(dbus_frame_update(s, 70, 65, 3, 2, 12, PIXMAN_X8B8G8R8, up, sizeof(up), why,
					   sizeof(why)), 0);
	memset(flags, 0, sizeof(flags));
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id, 64, 2, 2, flags), 1);
	assert_memory_equal(flags, ((uint8_t[4]){0, 0, 0, 1}), 4);
	assert_int_equal(m[65 * 100 + 70], 0xff0000);
	assert_int_equal(m[65 * 100 + 72], 0x0000ff);
	/* Nothing new: nothing flagged. Another buffer's id: the source cannot tell. */
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id, 64, 2, 2, flags), 0);
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id + 1, 64, 2, 2, flags), -ENOTSUP);
	/* An update beyond the scanout (QEMU 7.2 switched size without a Scanout). */
	assert_int_equal(dbus_frame_update(s, 99, 0, 2, 1, 8, PIXMAN_X8R8G8B8, up, sizeof(up), why,
					   sizeof(why)), -ERANGE);
	expect_refused(dbus_frame_update(s, -1, 0, 1, 1, 4, PIXMAN_X8R8G8B8, up, sizeof(up), why,
					 sizeof(why)), why, "negative");
	expect_refused(dbus_frame_update(s, 0, 0, 2, 2, 8, PIXMAN_X8R8G8B8, up, 8, why, sizeof(why)),
		       why, "8 bytes of pixel data");
	/* Following the console's new size: a black scanout of it, with a new id. */
	assert_int_equal(dbus_frame_resize(s, 120, 80, why, sizeof(why)), 0);
	struct plane_info q;
	assert_int_equal(plane_source_query(&s->base, PLANE_PRIMARY, &q), 0);
	assert_int_not_equal(q.dmabuf_id, p.dmabuf_id);
	assert_int_equal(q.width, 120);
	munmap((void *)m, p.size);
	close(fd);
}

static void dmabuf_seam(void **state)
{
	struct dbus_src *s = *state;
	char why[256];
	const uint32_t w = 64, h = 32, stride = 256;
	int memfd = memfd_create("fake-dmabuf", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, stride * h), 0);
	uint32_t *px = mmap(NULL, stride * h, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	for (uint32_t i = 0; i < w * h; i++)
		px[i] = i * 2654435761u & 0xffffff;
	/* Refused: bottom-up rows, a stride that is too small, no fd. */
	expect_refused(dbus_frame_scanout_dmabuf(s, dup(memfd), w, h, stride, PLANE_FORMAT_XRGB8888,
						 0, false, why, sizeof(why)), why, "bottom-up");
	expect_refused(dbus_frame_scanout_dmabuf(s, dup(memfd), w, h, 16, PLANE_FORMAT_XRGB8888, 0,
						 true, why, sizeof(why)), why, "stride");
	expect_refused(dbus_frame_scanout_dmabuf(s, -1, w, h, stride, PLANE_FORMAT_XRGB8888, 0, true,
						 why, sizeof(why)), why, "no fd");
	expect_refused(dbus_frame_update_dmabuf(s, 0, 0, 1, 1, why, sizeof(why)), why,
		       "no ScanoutDMABUF");
	assert_int_equal(dbus_frame_scanout_dmabuf(s, dup(memfd), w, h, stride,
						   PLANE_FORMAT_XRGB8888, 0, true, why, sizeof(why)),
			 0);
	/* The capture side: query, validate, import through the dmabuf cache, read. */
	struct plane_info p;
	assert_int_equal(plane_source_query(&s->base, PLANE_PRIMARY, &p), 0);
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	struct dmabuf_cache cache;
	assert_int_equal(dmabuf_cache_init(&cache, &s->base, 2), 0);
	struct dmabuf_buffer *buf;
	assert_int_equal(dmabuf_cache_get(&cache, &p, &buf, why, sizeof(why)), 0);
	assert_int_equal(buf->path, DMABUF_READ_DIRECT);
	assert_int_equal(dmabuf_buffer_begin_read(buf), 0);
	assert_memory_equal(buf->pixels, px, stride * h);
	dmabuf_buffer_end_read(buf);
	uint8_t flags[1] = {0};
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id, 64, 1, 1, flags), 1);
	expect_refused(dbus_frame_update_dmabuf(s, 60, 0, 8, 1, why, sizeof(why)), why,
		       "outside the 64x32 scanout");
	assert_int_equal(dbus_frame_update_dmabuf(s, 1, 1, 2, 2, why, sizeof(why)), 0);
	flags[0] = 0;
	assert_int_equal(plane_source_damage(&s->base, p.dmabuf_id, 64, 1, 1, flags), 1);
	dmabuf_cache_destroy(&cache);
	/* Disable: no plane. */
	dbus_frame_disable(s);
	assert_int_equal(plane_source_query(&s->base, PLANE_PRIMARY, &p), 0);
	assert_int_equal(p.dmabuf_id, 0);
	munmap(px, stride * h);
	close(memfd);
}

static void cursor(void **state)
{
	struct dbus_src *s = *state;
	char why[256];
	uint32_t px[8 * 8];
	for (int i = 0; i < 64; i++)
		px[i] = 0xff000000u | (uint32_t)i;
	expect_refused(dbus_cursor_define(s, 8, 8, 1, 1, px, 100, why, sizeof(why)), why,
		       "100 bytes of pixel data, not 256");
	expect_refused(dbus_cursor_define(s, 8, 8, 8, 0, px, sizeof(px), why, sizeof(why)), why,
		       "hotspot 8,0");
	expect_refused(dbus_cursor_define(s, 600, 8, 0, 0, px, sizeof(px), why, sizeof(why)), why,
		       "size 600x8");
	expect_refused(dbus_mouse_set(s, -5, 3, 1, why, sizeof(why)), why, "position -5,3");
	assert_int_equal(dbus_cursor_define(s, 8, 8, 3, 2, px, sizeof(px), why, sizeof(why)), 0);
	assert_int_equal(dbus_mouse_set(s, 1, 40, 1, why, sizeof(why)), 0);
	uint32_t fb[4 * 4] = {0};
	assert_int_equal(dbus_frame_scanout(s, 4, 4, 16, PIXMAN_X8R8G8B8, fb, sizeof(fb), why,
					    sizeof(why)), 0);
	struct plane_info c;
	assert_int_equal(plane_source_query(&s->base, PLANE_CURSOR, &c), 0);
	assert_int_equal(c.fourcc, PLANE_FORMAT_ARGB8888);
	assert_int_equal((int32_t)c.x, 1 - 3); /* the pointer less the hotspot */
	assert_int_equal((int32_t)c.y, 40 - 2);
	assert_int_equal(plane_info_validate(&c, why, sizeof(why)), 0);
	assert_int_equal(dbus_mouse_set(s, 1, 1, 0, why, sizeof(why)), 0);
	assert_int_equal(plane_source_query(&s->base, PLANE_CURSOR, &c), 0);
	assert_int_equal(c.dmabuf_id, 0); /* hidden */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(scanout_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(convert_and_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(dmabuf_seam, setup, teardown),
		cmocka_unit_test_setup_teardown(cursor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
