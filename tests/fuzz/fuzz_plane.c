/* Fuzz target: a guest's plane description and buffer, through everything that reads
 * them before a pixel reaches the screen.
 *
 * The input is a plane_info (every field chosen by the fuzzer, as a hostile guest chooses
 * them), a buffer length, and the buffer's bytes. The plane goes through
 * plane_info_validate(); a plane that passes is served by a fake source whose dma-buf is a
 * memfd of the chosen length (shorter, longer or exactly what the plane claims), mapped by
 * dmabuf_cache_get(), read (detiled for tiled modifiers), hashed by damage_refine() and
 * copied with pixel_copy_rect() like the capture thread does. Region planes go through
 * vfio_probe_check_region() with a region the fuzzer describes too. ASan and UBSan judge.
 * One thread. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "damage.h"
#include "dmabuf_cache.h"
#include "fake_plane_source.h"
#include "pixel_copy.h"
#include "plane.h"
#include "plane_source.h"
#include "vfio_probe.h"

#define MAX_BUFFER (4u << 20) /* keeps each run fast; larger planes stop at "shorter" */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
	struct plane_source base;
	const uint8_t *bytes; /* avail bytes of content; the rest of len reads as zeros */
	size_t avail, len;
};

/* A memfd of the fuzzer's length holding the fuzzer's bytes. */
static int fake_get_dmabuf(struct plane_source *s, uint32_t id)
{
	struct fake *f = (struct fake *)s;
	(void)id;
	int fd = memfd_create("fuzz-plane", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = f->avail < f->len ? f->avail : f->len;
	if (ftruncate(fd, (off_t)f->len) < 0 || (n && write(fd, f->bytes, n) < 0)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static const struct plane_source_ops fake_ops = {
	.name = "fuzz", .query = fake_plane_source_no_query, .get_dmabuf = fake_get_dmabuf,
	.destroy = fake_plane_source_no_destroy,
};

/* Never VA-API from a fuzzer: a readback that is not there. */
static int no_open(void **ctx, char *why, size_t why_len)
{
	(void)ctx;
	snprintf(why, why_len, "no readback in the fuzzer");
	return -ENODEV;
}

static const struct dmabuf_readback_ops no_readback = {.name = "none", .open = no_open};

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

#define HEADER 72

static void check_region(const uint8_t *d, const struct plane_info *p)
{
	struct vfio_region_info ri = {.argsz = sizeof(ri), .flags = u32(d + 60), .index = p->region_index,
				      .size = u64(d + 48), .offset = u64(d + 56) & ~0xfffull};
	size_t len = 0;
	char why[256];
	if (vfio_probe_check_region(&ri, p, 4096, &len, why, sizeof(why)) == 0 &&
	    len < plane_info_bytes_needed(p))
		abort(); /* it said yes to a mapping shorter than the plane */
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	if (size < HEADER)
		return 0;
	/* Known-good values half the time, so that the fuzzer reaches the paths behind
	 * validation quickly: a format, a modifier, a plane type from the lists. */
	static const uint32_t fourccs[] = {PLANE_FORMAT_XRGB8888, PLANE_FORMAT_ARGB8888,
					   PLANE_FORMAT_XBGR8888, PLANE_FORMAT_ABGR8888};
	static const uint64_t mods[] = {PLANE_MODIFIER_LINEAR, PLANE_MODIFIER_INTEL_X_TILED,
					PLANE_MODIFIER_INTEL_Y_TILED};
	uint8_t sel = d[0];
	struct plane_info p = {
		.drm_plane_type = sel & 1 ? u32(d + 4) : (sel & 2 ? PLANE_CURSOR : PLANE_PRIMARY),
		.fourcc = sel & 4 ? u32(d + 8) : fourccs[d[1] & 3],
		.modifier = sel & 8 ? u64(d + 12) : mods[d[2] % 3],
		.width = u32(d + 20) & (sel & 16 ? 0xffffffffu : 0x3ffu),
		.height = u32(d + 24) & (sel & 16 ? 0xffffffffu : 0x3ffu),
		.stride = u32(d + 28) & (sel & 32 ? 0xffffffffu : 0x3fffu),
		.size = u32(d + 32),
		.x = u32(d + 36),
		.y = u32(d + 40),
		.x_hot = d[44],
		.y_hot = d[45],
		.dmabuf_id = 1 + d[46],
		.is_region = (sel & 64) != 0,
		.region_index = d[47],
	};
	uint32_t buf_len = u32(d + 64) % MAX_BUFFER;
	if (sel & 128) /* often exactly what the plane claims */
		buf_len = p.size < MAX_BUFFER ? p.size : buf_len;
	char why[256];
	if (plane_info_validate(&p, why, sizeof(why)) < 0)
		return 0;
	/* What validation promises every reader. */
	uint64_t need = plane_info_bytes_needed(&p);
	if (need == 0 || need > p.size || p.stride < (uint64_t)p.width * 4 || p.stride % 4)
		abort();
	if (p.is_region) {
		check_region(d, &p);
		return 0;
	}
	struct fake src = {.base = {.ops = &fake_ops}, .bytes = d + HEADER,
			   .avail = size - HEADER, .len = buf_len};
	struct dmabuf_cache cache;
	if (dmabuf_cache_init(&cache, &src.base, 2) < 0)
		return 0;
	cache.readback = &no_readback;
	struct dmabuf_buffer *b = NULL;
	if (dmabuf_cache_get(&cache, &p, &b, why, sizeof(why)) == 0) {
		dmabuf_buffer_begin_read(b);
		struct damage dmg;
		if (p.drm_plane_type == PLANE_PRIMARY && damage_init(&dmg, p.width, p.height) == 0) {
			size_t tiles = damage_tile_count(&dmg);
			uint8_t *changed = calloc(tiles, 1);
			uint8_t *fb = malloc((size_t)p.width * p.height * 4);
			if (changed && fb) {
				size_t n = damage_refine(&dmg, b->pixels, p.stride, changed);
				for (size_t i = 0; i < tiles && n; i++) {
					uint32_t x, y, w, h;
					damage_tile_rect(&dmg, i, &x, &y, &w, &h);
					pixel_copy_rect(fb, (size_t)p.width * 4, b->pixels, p.stride,
							p.fourcc, x, y, w, h);
				}
			}
			free(changed);
			free(fb);
			damage_destroy(&dmg);
		} else if (p.drm_plane_type == PLANE_CURSOR) {
			/* What the capture thread hashes of a cursor. */
			volatile uint8_t sum = 0;
			size_t bytes = (size_t)p.stride * (p.height - 1) + (size_t)p.width * 4;
			for (size_t i = 0; i < bytes; i += 61)
				sum ^= b->pixels[i];
			(void)sum;
		}
		dmabuf_buffer_end_read(b);
	}
	dmabuf_cache_destroy(&cache);
	return 0;
}
