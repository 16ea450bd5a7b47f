/* VA-API for the VPL back end: render-node display, dma-buf → VA surface import. */
#include "h264_vpl_va.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <va/va_drm.h>
#include <va/va_drmcommon.h>

#include "log.h"

const struct h264_vpl_va_fns h264_vpl_va_real = {
	.create_surfaces = vaCreateSurfaces,
	.destroy_surfaces = vaDestroySurfaces,
};

static void va_log(void *ctx, const char *msg)
{
	(void)ctx;
	log_debug("libva (VPL encoder): %s", msg);
}

/* Open one node; 0 and an Intel display, or -errno with what went wrong in note. */
static int try_node(struct h264_vpl_display *d, const char *node, bool need_intel, char *note,
		    size_t note_len)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(note, note_len, "%s: %s", node, strerror(e));
		return -e;
	}
	VADisplay dpy = vaGetDisplayDRM(fd);
	if (!dpy) {
		snprintf(note, note_len, "%s: vaGetDisplayDRM failed", node);
		close(fd);
		return -ENODEV;
	}
	vaSetErrorCallback(dpy, va_log, NULL);
	vaSetInfoCallback(dpy, va_log, NULL);
	int major, minor;
	VAStatus st = vaInitialize(dpy, &major, &minor);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(note, note_len, "%s: vaInitialize: %s", node, vaErrorStr(st));
		vaTerminate(dpy);
		close(fd);
		return -ENODEV;
	}
	const char *vendor = vaQueryVendorString(dpy);
	if (need_intel && (!vendor || !strstr(vendor, "Intel"))) {
		/* The VPL runtimes drive Intel GPUs only; a host may have another one. */
		snprintf(note, note_len, "%s: VA driver is not Intel's (%s)", node,
			 vendor ? vendor : "no vendor string");
		vaTerminate(dpy);
		close(fd);
		return -ENODEV;
	}
	log_info("VPL encoder: VA-API %d.%d on %s (%s)", major, minor, node,
		 vendor ? vendor : "?");
	d->drm_fd = fd;
	d->dpy = dpy;
	return 0;
}

int h264_vpl_display_open(struct h264_vpl_display *d, char *why, size_t why_len)
{
	d->drm_fd = -1;
	d->dpy = NULL;
	char note[256] = "no DRM render node (/dev/dri/renderD*)";
	const char *env = getenv("VGPU_VA_RENDER_NODE");
	if (env && *env) {
		/* Asked for by name: take it whoever made it. */
		if (try_node(d, env, false, note, sizeof(note)) == 0)
			return 0;
		snprintf(why, why_len, "no VA display: %s (from VGPU_VA_RENDER_NODE)", note);
		return -ENODEV;
	}
	bool any = false;
	for (int i = 128; i < 192; i++) {
		char node[32], n[256];
		snprintf(node, sizeof(node), "/dev/dri/renderD%d", i);
		int r = try_node(d, node, true, n, sizeof(n));
		if (r == 0)
			return 0;
		/* Keep the first interesting failure: a missing node says less than one that
		 * exists but has no (Intel) VA driver. */
		if (r != -ENOENT && !any) {
			snprintf(note, sizeof(note), "%s", n);
			any = true;
		}
	}
	snprintf(why, why_len, "no VA display: %s", note);
	return -ENODEV;
}

void h264_vpl_display_close(struct h264_vpl_display *d)
{
	if (d->dpy)
		vaTerminate(d->dpy);
	if (d->drm_fd >= 0)
		close(d->drm_fd);
	d->dpy = NULL;
	d->drm_fd = -1;
}

uint32_t h264_vpl_va_fourcc(uint32_t drm_fourcc)
{
	/* VA names bytes in memory, DRM the 32-bit word from the top (FFmpeg's table). */
	switch (drm_fourcc) {
	case DRM_FORMAT_XRGB8888:
		return VA_FOURCC_BGRX;
	case DRM_FORMAT_ARGB8888:
		return VA_FOURCC_BGRA;
	case DRM_FORMAT_XBGR8888:
		return VA_FOURCC_RGBX;
	case DRM_FORMAT_ABGR8888:
		return VA_FOURCC_RGBA;
	default:
		return 0;
	}
}

static VAStatus import_prime2(VADisplay dpy, const struct h264_vpl_va_fns *va,
			      const struct h264_vpl_dmabuf *b, uint32_t va_fourcc, VASurfaceID *out)
{
	VADRMPRIMESurfaceDescriptor desc;
	memset(&desc, 0, sizeof(desc));
	desc.fourcc = va_fourcc;
	desc.width = b->width;
	desc.height = b->height;
	desc.num_objects = 1;
	desc.objects[0].fd = b->fd;
	desc.objects[0].size = b->size;
	desc.objects[0].drm_format_modifier = b->modifier;
	desc.num_layers = 1;
	desc.layers[0].drm_format = b->drm_fourcc;
	desc.layers[0].num_planes = 1;
	desc.layers[0].object_index[0] = 0;
	desc.layers[0].offset[0] = 0;
	desc.layers[0].pitch[0] = b->stride;

	VASurfaceAttrib attrs[2];
	memset(attrs, 0, sizeof(attrs));
	attrs[0].type = VASurfaceAttribMemoryType;
	attrs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[0].value.type = VAGenericValueTypeInteger;
	attrs[0].value.value.i = VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2;
	attrs[1].type = VASurfaceAttribExternalBufferDescriptor;
	attrs[1].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[1].value.type = VAGenericValueTypePointer;
	attrs[1].value.value.p = &desc;
	return va->create_surfaces(dpy, VA_RT_FORMAT_RGB32, b->width, b->height, out, 1, attrs,
				   2);
}

static VAStatus import_prime(VADisplay dpy, const struct h264_vpl_va_fns *va,
			     const struct h264_vpl_dmabuf *b, uint32_t va_fourcc, VASurfaceID *out)
{
	/* No modifier here: the driver takes the tiling from the buffer object (GVT sets it
	 * on Gen9+; unverified on hardware). */
	uintptr_t handle = (uintptr_t)b->fd;
	VASurfaceAttribExternalBuffers ext;
	memset(&ext, 0, sizeof(ext));
	ext.pixel_format = va_fourcc;
	ext.width = b->width;
	ext.height = b->height;
	ext.data_size = b->size;
	ext.num_planes = 1;
	ext.pitches[0] = b->stride;
	ext.offsets[0] = 0;
	ext.buffers = &handle;
	ext.num_buffers = 1;

	VASurfaceAttrib attrs[2];
	memset(attrs, 0, sizeof(attrs));
	attrs[0].type = VASurfaceAttribMemoryType;
	attrs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[0].value.type = VAGenericValueTypeInteger;
	attrs[0].value.value.i = VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME;
	attrs[1].type = VASurfaceAttribExternalBufferDescriptor;
	attrs[1].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[1].value.type = VAGenericValueTypePointer;
	attrs[1].value.value.p = &ext;
	return va->create_surfaces(dpy, VA_RT_FORMAT_RGB32, b->width, b->height, out, 1, attrs,
				   2);
}

int h264_vpl_va_import(VADisplay dpy, const struct h264_vpl_va_fns *va,
		       const struct h264_vpl_dmabuf *b, VASurfaceID *out, char *why,
		       size_t why_len)
{
	uint32_t va_fourcc = h264_vpl_va_fourcc(b->drm_fourcc);
	if (!va_fourcc) {
		snprintf(why, why_len, "no VA format for DRM fourcc 0x%08x", b->drm_fourcc);
		return -EINVAL;
	}
	/* The descriptor must not promise the driver more than the buffer holds. */
	if (b->fd < 0 || !b->width || !b->height || b->stride / 4 < b->width ||
	    (uint64_t)b->stride * b->height > b->size) {
		snprintf(why, why_len, "dma-buf %ux%u stride %u size %u does not hold the frame",
			 b->width, b->height, b->stride, b->size);
		return -EINVAL;
	}
	/* Without a modifier DRM_PRIME_2 cannot say the layout: go straight to DRM_PRIME. */
	const char *prime2 = "skipped, no modifier";
	if (b->modifier != DRM_FORMAT_MOD_INVALID) {
		VAStatus st = import_prime2(dpy, va, b, va_fourcc, out);
		if (st == VA_STATUS_SUCCESS)
			return 0;
		prime2 = vaErrorStr(st);
	}
	VAStatus st = import_prime(dpy, va, b, va_fourcc, out);
	if (st == VA_STATUS_SUCCESS) {
		log_debug("VPL encoder: DRM_PRIME_2 import: %s; legacy DRM_PRIME took it", prime2);
		return 0;
	}
	snprintf(why, why_len,
		 "vaCreateSurfaces from dma-buf (modifier 0x%016llx, stride %u, size %u): "
		 "DRM_PRIME_2: %s; DRM_PRIME: %s",
		 (unsigned long long)b->modifier, b->stride, b->size, prime2, vaErrorStr(st));
	return -EIO;
}
