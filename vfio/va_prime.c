/* VA-API on a render node and DRM PRIME import. See va_prime.h. */
#include "va_prime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <va/va_drm.h>
#include <va/va_drmcommon.h>

#include "log.h"
#include "plane.h"
#include "vfio_tiling.h"

/* VA_FOURCC(ch0, ch1, ch2, ch3) is the same packing as DRM's. */
uint32_t va_prime_fourcc(uint32_t drm_fourcc)
{
	switch (drm_fourcc) {
	case PLANE_FORMAT_XRGB8888:
		return PLANE_FOURCC('B', 'G', 'R', 'X');
	case PLANE_FORMAT_ARGB8888:
		return PLANE_FOURCC('B', 'G', 'R', 'A');
	case PLANE_FORMAT_XBGR8888:
		return PLANE_FOURCC('R', 'G', 'B', 'X');
	case PLANE_FORMAT_ABGR8888:
		return PLANE_FOURCC('R', 'G', 'B', 'A');
	default:
		return 0;
	}
}

VAStatus va_prime_create(VADisplay dpy, va_create_surfaces_fn create,
			 const struct va_prime_buf *b, uint32_t va_fourcc, bool legacy,
			 VASurfaceID *out)
{
	VADRMPRIMESurfaceDescriptor desc;
	VASurfaceAttribExternalBuffers ext;
	/* Legacy: the descriptor can only say linear or (ENABLE_TILING) Y-tiled, and says
	 * which; Intel's media driver then takes the tiling from the buffer object anyway
	 * (mos_bo_get_tiling), which GVT sets from the plane's modifier. Callers keep this
	 * path to the modifiers it can state. */
	uintptr_t handle = (uintptr_t)b->fd;
	memset(&desc, 0, sizeof(desc));
	memset(&ext, 0, sizeof(ext));
	if (legacy) {
		ext.pixel_format = va_fourcc;
		ext.width = b->width;
		ext.height = b->height;
		ext.data_size = b->size;
		ext.num_planes = 1;
		ext.pitches[0] = b->stride;
		ext.offsets[0] = 0;
		ext.buffers = &handle;
		ext.num_buffers = 1;
		ext.flags = b->modifier == PLANE_MODIFIER_INTEL_Y_TILED
				    ? VA_SURFACE_EXTBUF_DESC_ENABLE_TILING
				    : 0;
	} else {
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
	}

	VASurfaceAttrib attrs[2];
	memset(attrs, 0, sizeof(attrs));
	attrs[0].type = VASurfaceAttribMemoryType;
	attrs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[0].value.type = VAGenericValueTypeInteger;
	attrs[0].value.value.i = legacy ? VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME
					: VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2;
	attrs[1].type = VASurfaceAttribExternalBufferDescriptor;
	attrs[1].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[1].value.type = VAGenericValueTypePointer;
	attrs[1].value.value.p = legacy ? (void *)&ext : (void *)&desc;
	return create(dpy, VA_RT_FORMAT_RGB32, b->width, b->height, out, 1, attrs, 2);
}

/* libva's own messages, at debug level: ctx is the user's name or NULL. */
static void va_log(void *ctx, const char *msg)
{
	if (ctx)
		log_debug("libva (%s): %s", (const char *)ctx, msg);
	else
		log_debug("libva: %s", msg);
}

int va_prime_open_node(const char *node, bool need_intel, const char *who, int *drm_fd,
		       VADisplay *dpy_out, char *note, size_t note_len)
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
	vaSetErrorCallback(dpy, va_log, (void *)who);
	vaSetInfoCallback(dpy, va_log, (void *)who);
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
	log_info("%s%sVA-API %d.%d on %s (%s)", who ? who : "", who ? ": " : "", major, minor,
		 node, vendor ? vendor : "?");
	*drm_fd = fd;
	*dpy_out = dpy;
	return 0;
}
