/* Pre-drawn frames as a plane source (see bench_source.h). */
#include "bench_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_util.h"

struct bench_buffer {
	int fd;
	uint8_t *map;
	uint32_t size;
};

struct bench_source {
	struct plane_source base;
	enum bench_source_kind kind;
	uint32_t width, height, stride;
	struct bench_buffer buf[2];
	unsigned n, cur;
};

static struct bench_source *to_bench(struct plane_source *src)
{
	return (struct bench_source *)src;
}

static int bs_query(struct plane_source *src, enum plane_type type, struct plane_info *out)
{
	struct bench_source *s = to_bench(src);
	memset(out, 0, sizeof(*out));
	out->drm_plane_type = type;
	if (type != PLANE_PRIMARY)
		return 0; /* no cursor plane */
	out->fourcc = PLANE_FORMAT_XRGB8888;
	out->modifier = PLANE_MODIFIER_LINEAR;
	out->width = s->width;
	out->height = s->height;
	out->stride = s->stride;
	out->size = s->buf[s->cur].size;
	out->dmabuf_id = s->cur + 1;
	return 0;
}

static int bs_get_dmabuf(struct plane_source *src, uint32_t id)
{
	struct bench_source *s = to_bench(src);
	if (id == 0 || id > s->n)
		return -ENOENT;
	int fd = fcntl(s->buf[id - 1].fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static void bs_destroy(struct plane_source *src)
{
	struct bench_source *s = to_bench(src);
	for (unsigned i = 0; i < 2; i++) {
		if (s->buf[i].map)
			munmap(s->buf[i].map, s->buf[i].size);
		if (s->buf[i].fd >= 0)
			close(s->buf[i].fd);
	}
	free(s);
}

static const struct plane_source_ops bench_ops = {
	.name = "bench",
	.query = bs_query,
	.get_dmabuf = bs_get_dmabuf,
	.destroy = bs_destroy,
};

/* Noise, so that no two pixels of the two buffers are equal and no tile is uniform. */
static void fill(struct bench_buffer *b, uint64_t seed)
{
	uint64_t *p = (uint64_t *)b->map;
	for (size_t i = 0; i < b->size / 8; i++)
		p[i] = bench_rand(&seed);
}

int bench_source_create(enum bench_source_kind kind, uint32_t width, uint32_t height,
			struct plane_source **out)
{
	struct bench_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &bench_ops;
	s->kind = kind;
	s->width = width;
	s->height = height;
	s->stride = (width * 4 + 63) / 64 * 64;
	s->n = kind == BENCH_SOURCE_FULL ? 2 : 1;
	s->buf[0].fd = s->buf[1].fd = -1;
	long page = sysconf(_SC_PAGESIZE);
	for (unsigned i = 0; i < s->n; i++) {
		struct bench_buffer *b = &s->buf[i];
		b->size = (uint32_t)(((uint64_t)s->stride * height + (uint64_t)page - 1) /
				     (uint64_t)page * (uint64_t)page);
		b->fd = memfd_create("vgpu-bench", MFD_CLOEXEC);
		if (b->fd < 0 || ftruncate(b->fd, b->size) < 0) {
			bs_destroy(&s->base);
			return -errno;
		}
		void *m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
		if (m == MAP_FAILED) {
			bs_destroy(&s->base);
			return -errno;
		}
		b->map = m;
		fill(b, 0x1234567ull + i);
	}
	*out = &s->base;
	return 0;
}

void bench_source_step(struct plane_source *src)
{
	struct bench_source *s = to_bench(src);
	s->cur = (s->cur + 1) % s->n;
}

const uint8_t *bench_source_pixels(struct plane_source *src, uint32_t *stride)
{
	struct bench_source *s = to_bench(src);
	*stride = s->stride;
	return s->buf[s->cur].map;
}
