/* Intel tiled buffer layouts and CPU detiling.
 *
 * GVT-g guests scan out X- or Y-tiled buffers; the CPU paths (damage, the shadow frame,
 * Tight-JPEG) read linear pixels, so a tiled buffer is copied to a linear staging buffer
 * first. The layouts (i915's tiled_offset() in gem/selftests/i915_gem_mman.c, and the
 * I915_FORMAT_MOD_* comments in drm_fourcc.h):
 *   X-tiled: 4 KiB tiles of 512 bytes x 8 rows, each row of the tile contiguous; tiles
 *            row-major, so a row of tiles is stride * 8 bytes.
 *   Y-tiled: 4 KiB tiles of 128 bytes x 32 rows, made of eight 16-byte-wide columns
 *            ("OWords") of 32 rows each (512 contiguous bytes a column); tiles row-major,
 *            a row of tiles is stride * 32 bytes.
 * Bit-6 address swizzling is not applied: GVT-g hosts (Broadwell and later) report
 * I915_BIT_6_SWIZZLE_NONE for the CPU view of scanout buffers.
 *
 * Pure functions; any thread.
 */
#ifndef VGPU_VFIO_TILING_H
#define VGPU_VFIO_TILING_H

#include <stddef.h>
#include <stdint.h>

/* Format modifiers (drm_fourcc.h DRM_FORMAT_MOD_LINEAR, I915_FORMAT_MOD_X_TILED / _Y_TILED):
 * GVT-g reports the tiled ones for guests that scan out tiled buffers. */
#define PLANE_MODIFIER_LINEAR 0ULL
#define PLANE_MODIFIER_INTEL_X_TILED 0x0100000000000001ULL
#define PLANE_MODIFIER_INTEL_Y_TILED 0x0100000000000002ULL
/* Layouts we refuse, named so the log can say which: Yf (iHD's VA driver reads it as Y,
 * so an import would show garbage rather than fail) and the render-compressed (CCS)
 * variants, whose pixels are not all in the main surface. */
#define PLANE_MODIFIER_INTEL_Yf_TILED 0x0100000000000003ULL
#define PLANE_MODIFIER_INTEL_Y_TILED_CCS 0x0100000000000004ULL
#define PLANE_MODIFIER_INTEL_Yf_TILED_CCS 0x0100000000000005ULL

struct vfio_tile_layout {
	uint64_t modifier;
	uint32_t width_bytes; /* 1 for linear */
	uint32_t rows;        /* 1 for linear */
	uint32_t span_bytes;  /* Y: width of a column (16); X and linear: width_bytes */
};

/* The layout of a modifier: 0, or -EINVAL for one we cannot read. */
int vfio_tiling_layout(uint64_t modifier, struct vfio_tile_layout *out);

/* drm_fourcc.h's name of a modifier we know ("I915_FORMAT_MOD_Yf_TILED"), or NULL. */
const char *vfio_tiling_modifier_name(uint64_t modifier);

/* True for the tiled layouts (not linear). */
int vfio_tiling_is_tiled(uint64_t modifier);

/* Copy the picture row_bytes wide and height rows high from the tiled buffer src (rows of
 * tiles src_stride bytes apart per pixel row, i.e. the plane's stride) to the linear dst
 * (dst_stride bytes a row). src must hold src_stride * height rounded up to whole tile
 * rows (plane_info_validate checks the plane's size for that). */
void vfio_tiling_detile(const struct vfio_tile_layout *t, uint8_t *dst, size_t dst_stride,
			const uint8_t *src, size_t src_stride, size_t row_bytes, uint32_t height);

/* The inverse, for tests and tools: lay a linear picture out as tiles. */
void vfio_tiling_tile(const struct vfio_tile_layout *t, uint8_t *dst, size_t dst_stride,
		      const uint8_t *src, size_t src_stride, size_t row_bytes, uint32_t height);

#endif
