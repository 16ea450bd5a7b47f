/* Intel X/Y tile layouts: where a run of bytes of a pixel row lives in a tiled buffer. */
#include "vfio_tiling.h"

#include <errno.h>
#include <string.h>


int vfio_tiling_layout(uint64_t modifier, struct vfio_tile_layout *out)
{
	switch (modifier) {
	case PLANE_MODIFIER_LINEAR:
		*out = (struct vfio_tile_layout){modifier, 1, 1, 1};
		return 0;
	case PLANE_MODIFIER_INTEL_X_TILED:
		*out = (struct vfio_tile_layout){modifier, 512, 8, 512};
		return 0;
	case PLANE_MODIFIER_INTEL_Y_TILED:
		*out = (struct vfio_tile_layout){modifier, 128, 32, 16};
		return 0;
	default:
		return -EINVAL;
	}
}

const char *vfio_tiling_modifier_name(uint64_t modifier)
{
	switch (modifier) {
	case PLANE_MODIFIER_LINEAR: return "DRM_FORMAT_MOD_LINEAR";
	case PLANE_MODIFIER_INTEL_X_TILED: return "I915_FORMAT_MOD_X_TILED";
	case PLANE_MODIFIER_INTEL_Y_TILED: return "I915_FORMAT_MOD_Y_TILED";
	case PLANE_MODIFIER_INTEL_Yf_TILED: return "I915_FORMAT_MOD_Yf_TILED";
	case PLANE_MODIFIER_INTEL_Y_TILED_CCS: return "I915_FORMAT_MOD_Y_TILED_CCS";
	case PLANE_MODIFIER_INTEL_Yf_TILED_CCS: return "I915_FORMAT_MOD_Yf_TILED_CCS";
	default: return NULL;
	}
}

int vfio_tiling_is_tiled(uint64_t modifier)
{
	return modifier == PLANE_MODIFIER_INTEL_X_TILED || modifier == PLANE_MODIFIER_INTEL_Y_TILED;
}

/* Offset in the tiled buffer of the span that starts at byte xb (a multiple of the span
 * width) of pixel row y. */
static size_t span_offset(const struct vfio_tile_layout *t, size_t stride, size_t xb, size_t y)
{
	size_t tile_bytes = (size_t)t->width_bytes * t->rows;
	size_t in_tile_x = xb % t->width_bytes;
	return (y / t->rows) * stride * t->rows + (xb / t->width_bytes) * tile_bytes +
	       (in_tile_x / t->span_bytes) * (size_t)t->span_bytes * t->rows +
	       (y % t->rows) * t->span_bytes;
}

/* Walk every span of every row; to_linear picks the direction of the copy. */
static void walk(const struct vfio_tile_layout *t, uint8_t *tiled_w, const uint8_t *tiled_r,
		 size_t tiled_stride, uint8_t *lin_w, const uint8_t *lin_r, size_t lin_stride,
		 size_t row_bytes, uint32_t height, int to_linear)
{
	for (size_t y = 0; y < height; y++) {
		if (t->width_bytes == 1) { /* linear */
			if (to_linear)
				memcpy(lin_w + y * lin_stride, tiled_r + y * tiled_stride, row_bytes);
			else
				memcpy(tiled_w + y * tiled_stride, lin_r + y * lin_stride, row_bytes);
			continue;
		}
		for (size_t xb = 0; xb < row_bytes; xb += t->span_bytes) {
			size_t n = row_bytes - xb < t->span_bytes ? row_bytes - xb : t->span_bytes;
			size_t off = span_offset(t, tiled_stride, xb, y);
			if (to_linear)
				memcpy(lin_w + y * lin_stride + xb, tiled_r + off, n);
			else
				memcpy(tiled_w + off, lin_r + y * lin_stride + xb, n);
		}
	}
}

void vfio_tiling_detile(const struct vfio_tile_layout *t, uint8_t *dst, size_t dst_stride,
			const uint8_t *src, size_t src_stride, size_t row_bytes, uint32_t height)
{
	walk(t, NULL, src, src_stride, dst, NULL, dst_stride, row_bytes, height, 1);
}

void vfio_tiling_tile(const struct vfio_tile_layout *t, uint8_t *dst, size_t dst_stride,
		      const uint8_t *src, size_t src_stride, size_t row_bytes, uint32_t height)
{
	walk(t, dst, NULL, dst_stride, NULL, src, src_stride, row_bytes, height, 0);
}
