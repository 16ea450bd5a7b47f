/* The dmabuf cache's VFIO paths: region planes (mapped through the source's map_region,
 * re-mapped when index, size or format change), a new device generation dropping every
 * buffer, and buffers that cannot be mapped (ENODEV) going through the readback seam:
 * a fake readback that works, and the real VA-API one, which has no display here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "skip_status.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmabuf_cache.h"
#include "fake_plane_source.h"

struct fake {
	struct plane_source base;
	int region_fd[20];     /* memfd per region index, -1 none */
	int maps;              /* map_region calls */
	int gets;
	uint64_t generation;
	int pipe_fds[2];       /* get_dmabuf hands out the read end: mmap -> ENODEV */
};

static int f_get(struct plane_source *s, uint32_t id)
{
	struct fake *f = (struct fake *)s;
	(void)id;
	f->gets++;
	return dup(f->pipe_fds[0]);
}

static int f_map_region(struct plane_source *s, const struct plane_info *p, void **map,
			size_t *len, char *why, size_t why_len)
{
	struct fake *f = (struct fake *)s;
	f->maps++;
	if (p->region_index >= 20 || f->region_fd[p->region_index] < 0) {
		snprintf(why, why_len, "no region %u", p->region_index);
		return -EINVAL;
	}
	void *m = mmap(NULL, p->size, PROT_READ, MAP_SHARED, f->region_fd[p->region_index], 0);
	if (m == MAP_FAILED)
		return -errno;
	*map = m;
	*len = p->size;
	return 0;
}

static uint64_t f_generation(struct plane_source *s)
{
	return ((struct fake *)s)->generation;
}

static const struct plane_source_ops fake_ops = {
	.name = "fake", .query = fake_plane_source_no_query, .get_dmabuf = f_get, .destroy = fake_plane_source_no_destroy,
	.map_region = f_map_region, .generation = f_generation,
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	for (int i = 0; i < 20; i++)
		f->region_fd[i] = -1;
	assert_int_equal(pipe2(f->pipe_fds, O_CLOEXEC), 0);
}

static void fake_region(struct fake *f, uint32_t index, size_t len, uint8_t first)
{
	f->region_fd[index] = memfd_create("region", MFD_CLOEXEC);
	assert_int_equal(ftruncate(f->region_fd[index], (off_t)len), 0);
	assert_int_equal(pwrite(f->region_fd[index], &first, 1, 0), 1);
}

static void fake_fini(struct fake *f)
{
	for (int i = 0; i < 20; i++)
		if (f->region_fd[i] >= 0)
			close(f->region_fd[i]);
	close(f->pipe_fds[0]);
	close(f->pipe_fds[1]);
}

static struct plane_info region_plane(uint32_t index, uint32_t w, uint32_t h)
{
	return (struct plane_info){
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888, .width = w,
		.height = h, .stride = w * 4, .size = 2u << 20, .is_region = true,
		.region_index = index,
	};
}

static struct dmabuf_buffer *get_ok(struct dmabuf_cache *c, struct plane_info p)
{
	struct dmabuf_buffer *b = NULL;
	char why[200] = "";
	if (dmabuf_cache_get(c, &p, &b, why, sizeof(why)) != 0)
		fail_msg("dmabuf_cache_get: %s", why);
	return b;
}

static void test_region_planes(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	fake_region(&f, 16, 2u << 20, 0x16);
	fake_region(&f, 17, 2u << 20, 0x17);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 4), 0);
	struct dmabuf_buffer *b = get_ok(&c, region_plane(16, 640, 480));
	assert_true(b->used);
	assert_int_equal(b->fd, -1);
	assert_int_equal(b->pixels[0], 0x16);
	assert_int_equal(b->path, DMABUF_READ_DIRECT);
	assert_int_equal(dmabuf_buffer_begin_read(b), 0); /* no fd: no sync, no failure */
	dmabuf_buffer_end_read(b);
	for (int i = 0; i < 5; i++)
		get_ok(&c, region_plane(16, 640, 480));
	assert_int_equal(f.maps, 1); /* mapped once */
	assert_int_equal(dmabuf_cache_count(&c), 1);
	/* a new size re-maps, in place of the old mapping */
	b = get_ok(&c, region_plane(16, 1024, 480));
	assert_int_equal(f.maps, 2);
	assert_int_equal(dmabuf_cache_count(&c), 1);
	/* a new format re-maps */
	struct plane_info p = region_plane(16, 1024, 480);
	p.fourcc = PLANE_FORMAT_XBGR8888;
	get_ok(&c, p);
	assert_int_equal(f.maps, 3);
	assert_int_equal(dmabuf_cache_count(&c), 1);
	/* a new index maps that region */
	b = get_ok(&c, region_plane(17, 640, 480));
	assert_int_equal(b->pixels[0], 0x17);
	assert_int_equal(f.maps, 4);
	/* a region the source refuses: the reason comes through */
	struct dmabuf_buffer *none = (void *)1;
	char why[200] = "";
	p = region_plane(3, 640, 480);
	assert_int_equal(dmabuf_cache_get(&c, &p, &none, why, sizeof(why)), -EINVAL);
	assert_null(none);
	assert_non_null(strstr(why, "no region 3"));
	assert_int_equal(f.gets, 0); /* no dma-buf was asked for */
	dmabuf_cache_destroy(&c);
	fake_fini(&f);
}

static void test_region_needs_map_region(void **state)
{
	(void)state;
	static const struct plane_source_ops no_region_ops = {
		.name = "noregion", .query = fake_plane_source_no_query, .get_dmabuf = f_get, .destroy = fake_plane_source_no_destroy,
	};
	struct fake f;
	fake_init(&f);
	f.base.ops = &no_region_ops;
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 2), 0);
	struct dmabuf_buffer *b;
	char why[200] = "";
	struct plane_info p = region_plane(16, 640, 480);
	assert_int_equal(dmabuf_cache_get(&c, &p, &b, why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "region"));
	dmabuf_cache_destroy(&c);
	fake_fini(&f);
}

static void test_generation_drops_everything(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f);
	fake_region(&f, 16, 2u << 20, 0x16);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 4), 0);
	get_ok(&c, region_plane(16, 640, 480));
	assert_int_equal(f.maps, 1);
	f.generation++; /* the owner handed over another device */
	uint8_t v = 0x61;
	assert_int_equal(pwrite(f.region_fd[16], &v, 1, 0), 1);
	struct dmabuf_buffer *b = get_ok(&c, region_plane(16, 640, 480));
	assert_int_equal(f.maps, 2); /* same index and geometry, but mapped again */
	assert_int_equal(b->pixels[0], 0x61);
	assert_int_equal(dmabuf_cache_count(&c), 1);
	dmabuf_cache_destroy(&c);
	fake_fini(&f);
}

/* ---- unmappable dma-bufs ---- */

struct fake_rb {
	int opens, imports, reads, releases, closes;
	int open_result;
	uint32_t fill;
};

static struct fake_rb rb;

static int rb_open(void **ctx, char *why, size_t why_len)
{
	rb.opens++;
	if (rb.open_result < 0) {
		snprintf(why, why_len, "no display in this test");
		return rb.open_result;
	}
	*ctx = &rb;
	return 0;
}

static void rb_close(void *ctx)
{
	assert_ptr_equal(ctx, &rb);
	rb.closes++;
}

static int rb_import(void *ctx, int fd, const struct plane_info *p, void **image, char *why,
		     size_t why_len)
{
	(void)why, (void)why_len;
	assert_ptr_equal(ctx, &rb);
	assert_true(fd >= 0);
	assert_int_equal(p->dmabuf_id, 9);
	rb.imports++;
	*image = &rb.fill;
	return 0;
}

static int rb_read(void *ctx, void *image, uint8_t *dst, size_t stride, char *why,
		   size_t why_len)
{
	(void)ctx, (void)why, (void)why_len;
	assert_ptr_equal(image, &rb.fill);
	rb.reads++;
	for (uint32_t y = 0; y < 32; y++)
		for (uint32_t x = 0; x < 32; x++)
			memcpy(dst + y * stride + x * 4, &rb.fill, 4);
	return 0;
}

static void rb_release(void *ctx, void *image)
{
	(void)ctx, (void)image;
	rb.releases++;
}

static const struct dmabuf_readback_ops fake_readback = {
	.name = "fake", .open = rb_open, .close = rb_close, .import = rb_import,
	.read = rb_read, .release = rb_release,
};

static struct plane_info dmabuf_plane(void)
{
	return (struct plane_info){
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888, .width = 32,
		.height = 32, .stride = 256, .size = 256 * 32, .dmabuf_id = 9,
	};
}

static void test_unmappable_uses_readback(void **state)
{
	(void)state;
	memset(&rb, 0, sizeof(rb));
	rb.fill = 0x00abcdef;
	struct fake f;
	fake_init(&f);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 2), 0);
	c.readback = &fake_readback;
	struct dmabuf_buffer *b = get_ok(&c, dmabuf_plane());
	assert_int_equal(b->path, DMABUF_READ_READBACK);
	assert_int_equal(rb.opens, 1);
	assert_int_equal(rb.imports, 1);
	assert_int_equal(dmabuf_buffer_begin_read(b), 0);
	uint32_t px;
	memcpy(&px, b->pixels + 31 * 256 + 31 * 4, 4);
	assert_int_equal(px, 0x00abcdef);
	dmabuf_buffer_end_read(b);
	rb.fill = 0x00123456; /* drawn in place: the next read shows it */
	get_ok(&c, dmabuf_plane());
	assert_int_equal(dmabuf_buffer_begin_read(b), 0);
	memcpy(&px, b->pixels, 4);
	assert_int_equal(px, 0x00123456);
	assert_int_equal(rb.imports, 1); /* one import per id */
	assert_int_equal(f.gets, 1);
	dmabuf_cache_destroy(&c);
	assert_int_equal(rb.releases, 1);
	assert_int_equal(rb.closes, 1);
	fake_fini(&f);
}

static void test_unmappable_without_display(void **state)
{
	(void)state;
	memset(&rb, 0, sizeof(rb));
	rb.open_result = -ENODEV;
	struct fake f;
	fake_init(&f);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 2), 0);
	c.readback = &fake_readback;
	struct dmabuf_buffer *b = (void *)1;
	char why[300] = "";
	struct plane_info p = dmabuf_plane();
	assert_int_equal(dmabuf_cache_get(&c, &p, &b, why, sizeof(why)), -ENODEV);
	assert_null(b);
	assert_non_null(strstr(why, "cannot be mapped"));
	assert_non_null(strstr(why, "no display in this test"));
	/* the failure is remembered: no new open on every frame */
	assert_int_equal(dmabuf_cache_get(&c, &p, &b, why, sizeof(why)), -ENODEV);
	assert_int_equal(rb.opens, 1);
	assert_int_equal(dmabuf_cache_count(&c), 0); /* and no fd kept: the frame is rejected */
	dmabuf_cache_destroy(&c);
	fake_fini(&f);
}

static void test_unmappable_real_va(void **state)
{
	(void)state;
	/* The default readback is VA-API. This machine has no GPU (no render node), so it
	 * must refuse the frame with a reason that says what is missing. */
	if (access("/dev/dri/renderD128", F_OK) == 0) {
		SKIP_BECAUSE("this machine has a render node: VA-API readback may work here");
		return;
	}
	struct fake f;
	fake_init(&f);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &f.base, 2), 0);
	struct dmabuf_buffer *b = (void *)1;
	char why[300] = "";
	struct plane_info p = dmabuf_plane();
	int r = dmabuf_cache_get(&c, &p, &b, why, sizeof(why));
	assert_true(r < 0);
	assert_null(b);
	assert_non_null(strstr(why, "VA-API"));
	assert_true(strstr(why, "renderD128") || strstr(why, "built without"));
	dmabuf_cache_destroy(&c);
	fake_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_planes),
		cmocka_unit_test(test_region_needs_map_region),
		cmocka_unit_test(test_generation_drops_everything),
		cmocka_unit_test(test_unmappable_uses_readback),
		cmocka_unit_test(test_unmappable_without_display),
		cmocka_unit_test(test_unmappable_real_va),
	};
	return skip_status(cmocka_run_group_tests(tests, NULL, NULL));
}
