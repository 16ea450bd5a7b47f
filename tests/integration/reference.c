/* The reference frames: the synthetic vGPU run in-process. See reference.h. */
#include "reference.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plane.h"
#include "plane_source.h"
#include "synthetic.h"

/* A source at tick, with the events applied; NULL and a message on failure. */
static struct plane_source *open_at(const char *spec, uint64_t tick,
				    const struct ref_event *events, size_t n_events,
				    char *err, size_t err_len)
{
	struct plane_source *src = NULL;
	char why[256] = "";

	if (synthetic_source_create(spec, &src, why, sizeof(why)) < 0 || !src) {
		snprintf(err, err_len, "synthetic_source_create(\"%s\"): %s", spec, why);
		return NULL;
	}
	/* Stop the wall clock first, so the events land at the same tick as on the server,
	 * which gets them after its scene has come to rest. */
	synthetic_source_set_tick(src, tick);
	for (size_t i = 0; i < n_events; i++) {
		const struct ref_event *e = &events[i];

		if (e->kind == REF_POINTER && src->ops->pointer)
			src->ops->pointer(src, e->x, e->y, e->buttons);
		else if (e->kind == REF_KEY && src->ops->key)
			src->ops->key(src, e->keysym, e->down);
	}
	synthetic_source_set_tick(src, tick);
	return src;
}

/* Map the plane's buffer; NULL and a message on failure. */
static const uint8_t *map_plane(struct plane_source *src, const struct plane_info *info,
				char *err, size_t err_len)
{
	int fd = plane_source_get_dmabuf(src, info->dmabuf_id);
	void *p;

	if (fd < 0) {
		snprintf(err, err_len, "get_dmabuf(%u): %s", info->dmabuf_id, strerror(-fd));
		return NULL;
	}
	p = mmap(NULL, info->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, err_len, "mmap of %u bytes: %s", info->size, strerror(errno));
		return NULL;
	}
	return p;
}

static int query(struct plane_source *src, enum plane_type type, struct plane_info *info,
		 char *err, size_t err_len)
{
	char why[256];
	int rc = plane_source_query(src, type, info);

	if (rc < 0) {
		snprintf(err, err_len, "query(%s): %s", type == PLANE_CURSOR ? "cursor" : "primary",
			 strerror(-rc));
		return -1;
	}
	if (info->dmabuf_id == 0) {
		snprintf(err, err_len, "no %s plane at this tick",
			 type == PLANE_CURSOR ? "cursor" : "primary");
		return -1;
	}
	if (plane_info_validate(info, why, sizeof(why)) < 0) {
		snprintf(err, err_len, "invalid plane: %s", why);
		return -1;
	}
	return 0;
}

/* Byte offsets of R, G, B in a 32-bit pixel of that format; false if not supported. */
static bool rgb_offsets(uint32_t fourcc, int *r, int *g, int *b)
{
	switch (fourcc) {
	case PLANE_FORMAT_XRGB8888:
	case PLANE_FORMAT_ARGB8888:
		*b = 0, *g = 1, *r = 2; /* little endian x:R:G:B = bytes B,G,R,X */
		return true;
	case PLANE_FORMAT_XBGR8888:
	case PLANE_FORMAT_ABGR8888:
		*r = 0, *g = 1, *b = 2;
		return true;
	default:
		return false;
	}
}

/* The source at tick, after events, with one plane queried and mapped. */
struct mapped {
	struct plane_source *src;
	struct plane_info info;
	const uint8_t *map;
};

static void unmap_at(struct mapped *m)
{
	if (m->map)
		munmap((void *)m->map, m->info.size);
	if (m->src)
		plane_source_destroy(m->src);
}

/* 0, or -1 with err (and nothing left to unmap). */
static int map_at(struct mapped *m, const char *spec, uint64_t tick,
		  const struct ref_event *events, size_t n_events, enum plane_type type,
		  char *err, size_t err_len)
{
	memset(m, 0, sizeof(*m));
	m->src = open_at(spec, tick, events, n_events, err, err_len);
	if (m->src && query(m->src, type, &m->info, err, err_len) == 0 &&
	    (m->map = map_plane(m->src, &m->info, err, err_len)))
		return 0;
	unmap_at(m);
	return -1;
}

int ref_render(const char *spec, uint64_t tick, const struct ref_event *events,
	       size_t n_events, struct ref_frame *out, char *err, size_t err_len)
{
	struct mapped m;
	int ro, go, bo, rc = -1;
	char fcc[5];

	memset(out, 0, sizeof(*out));
	if (map_at(&m, spec, tick, events, n_events, PLANE_PRIMARY, err, err_len) < 0)
		return -1;
	const struct plane_info *info = &m.info;
	if (!rgb_offsets(info->fourcc, &ro, &go, &bo)) {
		snprintf(err, err_len, "primary plane format %s not handled by the test",
			 plane_fourcc_str(info->fourcc, fcc));
		goto out;
	}
	out->width = info->width;
	out->height = info->height;
	out->rgb = malloc((size_t)info->width * info->height * 3);
	if (!out->rgb) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	for (uint32_t y = 0; y < info->height; y++) {
		const uint8_t *row = m.map + (size_t)y * info->stride;
		uint8_t *o = out->rgb + (size_t)y * info->width * 3;

		for (uint32_t x = 0; x < info->width; x++, row += 4, o += 3) {
			o[0] = row[ro];
			o[1] = row[go];
			o[2] = row[bo];
		}
	}
	rc = 0;
out:
	unmap_at(&m);
	return rc;
}

int ref_cursor(const char *spec, uint64_t tick, const struct ref_event *events,
	       size_t n_events, struct ref_cursor *out, char *err, size_t err_len)
{
	struct mapped m;
	int rc = -1;
	char fcc[5];

	memset(out, 0, sizeof(*out));
	if (map_at(&m, spec, tick, events, n_events, PLANE_CURSOR, err, err_len) < 0)
		return -1;
	const struct plane_info *info = &m.info;
	if (info->fourcc != PLANE_FORMAT_ARGB8888) {
		snprintf(err, err_len, "cursor plane format %s, the test expects AR24",
			 plane_fourcc_str(info->fourcc, fcc));
		goto out;
	}
	out->width = info->width;
	out->height = info->height;
	out->x_hot = info->x_hot;
	out->y_hot = info->y_hot;
	out->x = (int32_t)info->x;
	out->y = (int32_t)info->y;
	out->bgra = malloc((size_t)info->width * info->height * 4);
	if (!out->bgra) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	for (uint32_t y = 0; y < info->height; y++)
		memcpy(out->bgra + (size_t)y * info->width * 4, m.map + (size_t)y * info->stride,
		       (size_t)info->width * 4);
	rc = 0;
out:
	unmap_at(&m);
	return rc;
}

void ref_blend_cursor(struct ref_frame *f, const struct ref_cursor *c)
{
	for (uint32_t cy = 0; cy < c->height; cy++) {
		int64_t y = (int64_t)c->y + cy;

		for (uint32_t cx = 0; cx < c->width; cx++) {
			int64_t x = (int64_t)c->x + cx;
			const uint8_t *s = c->bgra + ((size_t)cy * c->width + cx) * 4;
			uint8_t *d;

			if (x < 0 || y < 0 || x >= f->width || y >= f->height)
				continue;
			d = f->rgb + ((size_t)y * f->width + (size_t)x) * 3;
			for (int i = 0; i < 3; i++) /* d is R,G,B; s is B,G,R,A */
				d[i] = (uint8_t)((s[2 - i] * s[3] + d[i] * (255 - s[3]) + 127) / 255);
		}
	}
}

void ref_frame_free(struct ref_frame *f)
{
	free(f->rgb);
	f->rgb = NULL;
}

void ref_cursor_free(struct ref_cursor *c)
{
	free(c->bgra);
	c->bgra = NULL;
}

bool ref_frame_equal(const struct ref_frame *a, const struct ref_frame *b)
{
	return a->width == b->width && a->height == b->height &&
	       memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3) == 0;
}
