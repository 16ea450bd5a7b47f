/* VA-API for the VPL back end: the render-node display, and importing a plane's dma-buf
 * as a VA surface without copying a pixel.
 *
 * The display is our own (libva displays are not shared between threads here): the first
 * DRM render node, /dev/dri/renderD128 and up, whose VA driver initialises and is Intel's
 * (a host may also have another GPU), or the node named by $VGPU_VA_RENDER_NODE, the same
 * variable the capture side's VA readback honours.
 *
 * Import is what FFmpeg's vaapi_map_from_drm does: VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2
 * with a VADRMPRIMESurfaceDescriptor (fd, size, modifier, pitch), so the driver knows the
 * X/Y tiling; if the driver refuses that, the older DRM_PRIME with
 * VASurfaceAttribExternalBuffers, where the tiling can only come from the buffer object.
 *
 * Called by the encoder's owner thread.
 */
#ifndef VGPU_H264_VPL_VA_H
#define VGPU_H264_VPL_VA_H

#include <stddef.h>
#include <stdint.h>

#include <va/va.h>

#include "h264_vpl.h"

struct h264_vpl_display {
	int drm_fd; /* -1 when closed */
	VADisplay dpy;
};

/* The real VA calls (vaCreateSurfaces, vaDestroySurfaces). */
extern const struct h264_vpl_va_fns h264_vpl_va_real;

/* 0, or -ENODEV with why (no render node, no VA driver, not Intel). */
int h264_vpl_display_open(struct h264_vpl_display *d, char *why, size_t why_len);
void h264_vpl_display_close(struct h264_vpl_display *d);

/* One plane dma-buf, as the capture side describes it. */
struct h264_vpl_dmabuf {
	int fd;                 /* borrowed; the VA surface keeps its own reference */
	uint32_t drm_fourcc;    /* DRM_FORMAT_XRGB8888 ... */
	uint32_t width, height; /* pixels */
	uint32_t stride;        /* bytes */
	uint32_t size;          /* bytes */
	uint64_t modifier;      /* DRM format modifier */
};

/* The VA fourcc for a DRM fourcc we import (XRGB8888 → BGRX ...), 0 if none. */
uint32_t h264_vpl_va_fourcc(uint32_t drm_fourcc);

/* Import b as one RGB32 VA surface. 0, -EINVAL (a format or layout we cannot describe),
 * or -EIO with why naming both attempts and their VA statuses. */
int h264_vpl_va_import(VADisplay dpy, const struct h264_vpl_va_fns *va,
		       const struct h264_vpl_dmabuf *b, VASurfaceID *out, char *why,
		       size_t why_len);

#endif
