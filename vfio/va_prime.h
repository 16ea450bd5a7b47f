/* VA-API on a DRM render node, and dma-bufs imported as VA surfaces (DRM PRIME).
 *
 * Shared by the capture side's readback (vfio_va.c, which copies GVT-g buffers the CPU
 * cannot map) and the VPL encoder (encoder/h264_vpl_va.c, which encodes from them without
 * a copy): one way to open a render node's VA display and one way to describe a dma-buf
 * to the driver. Import is what FFmpeg's vaapi_map_from_drm does:
 * VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 with a VADRMPRIMESurfaceDescriptor (fd, size,
 * modifier, pitch), so the driver knows the X/Y tiling; or the older DRM_PRIME with
 * VASurfaceAttribExternalBuffers, which can state linear or Y-tiled only (and Intel's
 * driver takes the tiling from the buffer object regardless).
 *
 * No state of its own: displays and surfaces belong to the caller's thread.
 */
#ifndef VGPU_VA_PRIME_H
#define VGPU_VA_PRIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <va/va.h>

/* vaCreateSurfaces, or a test's stand-in for it. */
typedef VAStatus (*va_create_surfaces_fn)(VADisplay dpy, unsigned int format,
					  unsigned int width, unsigned int height,
					  VASurfaceID *surfaces, unsigned int num_surfaces,
					  VASurfaceAttrib *attrib_list, unsigned int num_attribs);

/* One plane dma-buf. */
struct va_prime_buf {
	int fd;                 /* borrowed; the VA surface keeps its own reference */
	uint32_t drm_fourcc;    /* DRM_FORMAT_XRGB8888 ... */
	uint32_t width, height; /* pixels */
	uint32_t stride;        /* bytes */
	uint32_t size;          /* bytes */
	uint64_t modifier;      /* DRM format modifier */
};

/* The VA fourcc for a DRM fourcc we read (XRGB8888 -> BGRX ...), 0 if none. VA names the
 * bytes in memory, DRM the 32-bit word from the top (FFmpeg's table). */
uint32_t va_prime_fourcc(uint32_t drm_fourcc);

/* One RGB32 surface from b, va_fourcc = va_prime_fourcc(b->drm_fourcc): with
 * DRM_PRIME_2 and the modifier, or (legacy) with DRM_PRIME and no modifier. The VA
 * status of create. */
VAStatus va_prime_create(VADisplay dpy, va_create_surfaces_fn create,
			 const struct va_prime_buf *b, uint32_t va_fourcc, bool legacy,
			 VASurfaceID *out);

/* Open the render node and initialise VA on it; with need_intel, refuse a VA driver that
 * is not Intel's. 0 with *drm_fd and *dpy (vaTerminate and close them), or -errno with
 * what went wrong in note. who names the user in the log ("VPL encoder"), or NULL. */
int va_prime_open_node(const char *node, bool need_intel, const char *who, int *drm_fd,
		       VADisplay *dpy, char *note, size_t note_len);

#endif
