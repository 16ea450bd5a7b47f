/* Plane descriptions as the VFIO gfx-plane uAPI reports them, and their validation.
 *
 * A plane_info mirrors struct vfio_device_gfx_plane_info (linux/vfio.h). Every field comes
 * from the guest, so nothing may touch memory on its word until plane_info_validate()
 * accepted it. Pure functions; any thread.
 */
#ifndef VGPU_PLANE_H
#define VGPU_PLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio_tiling.h"

/* Same values as DRM_PLANE_TYPE_PRIMARY / DRM_PLANE_TYPE_CURSOR, which the uAPI uses. */
enum plane_type {
	PLANE_PRIMARY = 1,
	PLANE_CURSOR = 2,
};

/* DRM fourcc codes (drm_fourcc.h) for the formats we read. */
#define PLANE_FOURCC(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define PLANE_FORMAT_XRGB8888 PLANE_FOURCC('X', 'R', '2', '4') /* [31:0] x:R:G:B, little endian */
#define PLANE_FORMAT_ARGB8888 PLANE_FOURCC('A', 'R', '2', '4')
#define PLANE_FORMAT_XBGR8888 PLANE_FOURCC('X', 'B', '2', '4') /* [31:0] x:B:G:R, little endian */
#define PLANE_FORMAT_ABGR8888 PLANE_FOURCC('A', 'B', '2', '4')

/* PLANE_MODIFIER_LINEAR and the Intel tiled modifiers live with their layouts in
 * vfio_tiling.h, the lower module. */

/* Limits that keep a hostile guest from making us allocate or read absurd amounts. */
#define PLANE_MAX_WIDTH 8192u
#define PLANE_MAX_HEIGHT 8192u
#define PLANE_MAX_CURSOR 512u
/* A cursor's top-left may lie off the screen (partly or wholly); not further than this. */
#define PLANE_CURSOR_POS_MIN (-(int32_t)PLANE_MAX_CURSOR)
#define PLANE_CURSOR_POS_MAX ((int32_t)PLANE_MAX_WIDTH)

struct plane_info {
	uint32_t drm_plane_type; /* enum plane_type */
	uint32_t fourcc;         /* DRM fourcc */
	uint64_t modifier;       /* DRM format modifier */
	uint32_t width, height;  /* pixels */
	uint32_t stride;         /* bytes per row */
	uint32_t size;           /* bytes of the buffer */
	uint32_t x, y;           /* position on the screen (cursor plane); signed in practice */
	uint32_t x_hot, y_hot;   /* cursor hotspot */
	uint32_t dmabuf_id;      /* 0 = "no plane now" */
	bool is_region;          /* region plane (mdpy): region_index is valid, no dmabuf */
	uint32_t region_index;
};

/* Bytes per pixel of a format we can read, 0 if unknown. */
unsigned plane_format_bpp(uint32_t fourcc);

/* Printable fourcc ("XR24"); buf must hold 5 bytes. Unprintable bytes show as '?'. */
const char *plane_fourcc_str(uint32_t fourcc, char buf[5]);

/* Check every guest-controlled field of a plane that is present (dmabuf_id != 0 or a
 * region). Returns 0 if usable; otherwise -EINVAL and a one-line reason in why
 * ("stride 100 < width 640 * 4"). The stride must be a whole number of pixels. A cursor's
 * position may lie off screen, as far as PLANE_CURSOR_POS_MIN..MAX (the capture thread
 * clamps it to the screen it has); beyond that it is rejected, so that position plus
 * hotspot never overflows.
 * Modifiers: linear, and for primary planes Intel X- and Y-tiled, whose stride must be a
 * whole number of tiles and whose size must cover whole tile rows. Any other is refused
 * and named in why where drm_fourcc.h names it (Yf-tiled, the CCS variants). */
int plane_info_validate(const struct plane_info *p, char *why, size_t why_len);

/* Bytes of the buffer that the pixels of a validated plane occupy: up to the end of the
 * last row for linear planes (it need not be padded to the stride), up to the end of the
 * last tile row for tiled ones. */
uint64_t plane_info_bytes_needed(const struct plane_info *p);

/* True if two planes show the same geometry (format, modifier, size, stride). */
bool plane_info_same_geometry(const struct plane_info *a, const struct plane_info *b);

#endif
