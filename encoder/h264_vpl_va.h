/* VA-API for the VPL back end: the render-node display, and importing a plane's dma-buf
 * as a VA surface without copying a pixel (both through vfio's va_prime.h).
 *
 * The display is our own (libva displays are not shared between threads here), on the
 * node named by $VGPU_VA_RENDER_NODE (the variable the capture side's VA readback
 * honours too), else the mdev's parent GPU that main chose (vfio's render_node.h), else
 * the first DRM render node, /dev/dri/renderD128 and up, whose VA driver initialises and
 * is Intel's (a host may also have another GPU).
 *
 * Import tries DRM_PRIME_2 with the modifier first; if the driver refuses that, the
 * older DRM_PRIME, but only for a layout that descriptor can state (linear, Y-tiled).
 *
 * Below h264_vpl.h (which takes the VA calls through struct h264_vpl_va_fns, defined
 * here) and h264_vpl_alloc.h; includes neither.
 *
 * Called by the encoder's owner thread.
 */
#ifndef VGPU_H264_VPL_VA_H
#define VGPU_H264_VPL_VA_H

#include <stddef.h>
#include <stdint.h>

#include <va/va.h>

#include "va_prime.h"

/* The VA calls the back end makes on surfaces; in production vaCreateSurfaces and
 * vaDestroySurfaces themselves. */
struct h264_vpl_va_fns {
	va_create_surfaces_fn create_surfaces;
	VAStatus (*destroy_surfaces)(VADisplay dpy, VASurfaceID *surfaces, int num_surfaces);
};

struct h264_vpl_display {
	int drm_fd; /* -1 when closed */
	VADisplay dpy;
};

/* The real VA calls (vaCreateSurfaces, vaDestroySurfaces). */
extern const struct h264_vpl_va_fns h264_vpl_va_real;

/* 0, or -ENODEV with why (no render node, no VA driver, not Intel). */
int h264_vpl_display_open(struct h264_vpl_display *d, char *why, size_t why_len);
void h264_vpl_display_close(struct h264_vpl_display *d);

/* Import b as one RGB32 VA surface. 0, -EINVAL (a format or layout we cannot describe),
 * or -ENOTSUP with why naming the attempts and their VA statuses (the driver refused). */
int h264_vpl_va_import(VADisplay dpy, const struct h264_vpl_va_fns *va,
		       const struct va_prime_buf *b, VASurfaceID *out, char *why,
		       size_t why_len);

#endif
