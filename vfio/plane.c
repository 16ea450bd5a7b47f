/* Plane validation: the one place that decides whether guest-supplied geometry is safe. */
#include "plane.h"

#include <errno.h>
#include <stdio.h>

#include "vfio_tiling.h"

unsigned plane_format_bpp(uint32_t fourcc)
{
	switch (fourcc) {
	case PLANE_FORMAT_XRGB8888:
	case PLANE_FORMAT_ARGB8888:
	case PLANE_FORMAT_XBGR8888:
	case PLANE_FORMAT_ABGR8888:
		return 4;
	default:
		return 0;
	}
}

const char *plane_fourcc_str(uint32_t fourcc, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((fourcc >> (8 * i)) & 0xff);
		buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

static int reject(char *why, size_t len, const char *fmt, unsigned long long a,
		  unsigned long long b, unsigned long long c)
{
	if (why && len)
		snprintf(why, len, fmt, a, b, c);
	return -EINVAL;
}

int plane_info_validate(const struct plane_info *p, char *why, size_t why_len)
{
	char fcc[5];
	bool cursor = p->drm_plane_type == PLANE_CURSOR;

	if (p->drm_plane_type != PLANE_PRIMARY && !cursor)
		return reject(why, why_len, "unknown plane type %llu", p->drm_plane_type, 0, 0);
	unsigned bpp = plane_format_bpp(p->fourcc);
	if (bpp == 0) {
		if (why && why_len)
			snprintf(why, why_len, "unsupported format %s (0x%08x)",
				 plane_fourcc_str(p->fourcc, fcc), p->fourcc);
		return -EINVAL;
	}
	/* Linear, or an Intel tiled layout that the dmabuf cache detiles on the CPU. A cursor
	 * is always linear (GVT-g reports modifier 0 for it). */
	struct vfio_tile_layout tile;
	if (vfio_tiling_layout(p->modifier, &tile) < 0 ||
	    (cursor && p->modifier != PLANE_MODIFIER_LINEAR)) {
		/* Named where we know it: Yf is the one that would otherwise slip through a
		 * VA import (iHD reads it as Y) and show garbage. */
		const char *name = vfio_tiling_modifier_name(p->modifier);
		bool yf = p->modifier == PLANE_MODIFIER_INTEL_Yf_TILED ||
			  p->modifier == PLANE_MODIFIER_INTEL_Yf_TILED_CCS;
		if (why && why_len)
			snprintf(why, why_len, "unsupported modifier 0x%016llx%s%s%s%s",
				 (unsigned long long)p->modifier, name ? " (" : "",
				 name ? name : "", name ? ")" : "",
				 cursor ? " for a cursor"
				 : yf   ? ": Yf tiling is not read (VA would take it for Y)"
					: "");
		return -EINVAL;
	}
	uint32_t max_w = cursor ? PLANE_MAX_CURSOR : PLANE_MAX_WIDTH;
	uint32_t max_h = cursor ? PLANE_MAX_CURSOR : PLANE_MAX_HEIGHT;
	if (p->width == 0 || p->height == 0 || p->width > max_w || p->height > max_h)
		return reject(why, why_len, "size %llux%llu outside 1x1..%llu",
			      p->width, p->height, max_w);
	/* 64-bit arithmetic: width * bpp and stride * height cannot overflow here. */
	uint64_t row = (uint64_t)p->width * bpp;
	if (p->stride < row)
		return reject(why, why_len, "stride %llu < width %llu * 4", p->stride, p->width, 0);
	/* Rows at odd byte offsets: no scan-out engine makes them, and every reader here and
	 * in VA-API assumes whole pixels per row. */
	if (p->stride % bpp)
		return reject(why, why_len, "stride %llu is not a whole number of %llu-byte pixels",
			      p->stride, bpp, 0);
	if (p->stride % tile.width_bytes)
		return reject(why, why_len, "stride %llu is not a whole number of %llu-byte tiles",
			      p->stride, tile.width_bytes, 0);
	uint64_t need = plane_info_bytes_needed(p);
	if (p->size < need)
		return reject(why, why_len, "size %llu < %llu needed for %llu rows",
			      p->size, need, p->height);
	if (cursor && p->dmabuf_id != 0) {
		if (p->x_hot >= p->width || p->y_hot >= p->height)
			return reject(why, why_len, "cursor hotspot %llu,%llu outside %llu-wide cursor",
				      p->x_hot, p->y_hot, p->width);
		/* Signed in practice; bounded so that position + hotspot stays far from int
		 * overflow wherever it is added up. */
		int32_t x = (int32_t)p->x, y = (int32_t)p->y;
		if (x < PLANE_CURSOR_POS_MIN || x > PLANE_CURSOR_POS_MAX || y < PLANE_CURSOR_POS_MIN ||
		    y > PLANE_CURSOR_POS_MAX) {
			if (why && why_len)
				snprintf(why, why_len, "cursor position %d,%d outside %d..%d", x, y,
					 PLANE_CURSOR_POS_MIN, PLANE_CURSOR_POS_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

uint64_t plane_info_bytes_needed(const struct plane_info *p)
{
	struct vfio_tile_layout tile;
	if (p->height == 0 || vfio_tiling_layout(p->modifier, &tile) < 0)
		return 0;
	if (tile.rows > 1) {
		uint64_t tile_rows = ((uint64_t)p->height + tile.rows - 1) / tile.rows;
		return (uint64_t)p->stride * tile.rows * tile_rows;
	}
	return (uint64_t)p->stride * (p->height - 1) +
	       (uint64_t)p->width * plane_format_bpp(p->fourcc);
}

bool plane_info_same_geometry(const struct plane_info *a, const struct plane_info *b)
{
	return a->fourcc == b->fourcc && a->modifier == b->modifier && a->width == b->width &&
	       a->height == b->height && a->stride == b->stride && a->size == b->size;
}
