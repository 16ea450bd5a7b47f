/* VA-API readback: a DRM render node, dma-buf import, vaGetImage, copy out. */
#include "vfio_va.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "plane.h"

/* VA fourccs, also without libva: VA_FOURCC(ch0, ch1, ch2, ch3) is the same packing as
 * DRM's. DRM names the 32-bit word from the top, VA the bytes in memory. */
uint32_t vfio_va_fourcc(uint32_t drm_fourcc)
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

#ifdef VGPU_HAVE_VA

#include <va/va.h>
#include <va/va_drm.h>
#include <va/va_drmcommon.h>

struct va_ctx {
	int drm_fd;
	VADisplay dpy;
	char node[64];
};

struct va_image {
	VASurfaceID surface;
	VAImage image;      /* for vaGetImage; image_id VA_INVALID_ID if none */
	bool derive;        /* vaGetImage failed once: use vaDeriveImage */
	uint32_t width, height, bpp;
};

static void va_quiet(void *ctx, const char *msg)
{
	(void)ctx;
	log_debug("libva: %s", msg);
}

static int try_node(struct va_ctx *c, const char *node, char *why, size_t why_len)
{
	c->drm_fd = open(node, O_RDWR | O_CLOEXEC);
	if (c->drm_fd < 0) {
		int e = errno;
		snprintf(why, why_len, "%s: %s", node, strerror(e));
		return -e;
	}
	c->dpy = vaGetDisplayDRM(c->drm_fd);
	if (!c->dpy) {
		snprintf(why, why_len, "%s: vaGetDisplayDRM failed", node);
		close(c->drm_fd);
		return -ENODEV;
	}
	vaSetInfoCallback(c->dpy, va_quiet, NULL);
	vaSetErrorCallback(c->dpy, va_quiet, NULL);
	int major, minor;
	VAStatus st = vaInitialize(c->dpy, &major, &minor);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, why_len, "%s: vaInitialize: %s", node, vaErrorStr(st));
		vaTerminate(c->dpy);
		close(c->drm_fd);
		return -ENODEV;
	}
	snprintf(c->node, sizeof(c->node), "%s", node);
	log_info("VA-API %d.%d on %s (%s)", major, minor, node, vaQueryVendorString(c->dpy));
	return 0;
}

static int va_open(void **out, char *why, size_t why_len)
{
	struct va_ctx *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	const char *env = getenv("VGPU_VA_RENDER_NODE");
	char node[64], last[160] = "no DRM render node (/dev/dri/renderD*)";
	int r = -ENODEV;
	for (int i = 128; i < 192 && r < 0; i++) {
		if (env)
			snprintf(node, sizeof(node), "%s", env);
		else
			snprintf(node, sizeof(node), "/dev/dri/renderD%d", i);
		r = try_node(c, node, last, sizeof(last));
		if (env || r == -ENOENT) /* render nodes are numbered without gaps */
			break;
	}
	if (r < 0) {
		snprintf(why, why_len, "no VA display: %s", last);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

static void va_close(void *ctx)
{
	struct va_ctx *c = ctx;
	if (!c)
		return;
	vaTerminate(c->dpy);
	close(c->drm_fd);
	free(c);
}

static int va_import(void *ctx, int fd, const struct plane_info *p, void **out, char *why,
		     size_t why_len)
{
	struct va_ctx *c = ctx;
	uint32_t fourcc = vfio_va_fourcc(p->fourcc);
	if (!fourcc) {
		snprintf(why, why_len, "no VA format for this plane format");
		return -EINVAL;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	VADRMPRIMESurfaceDescriptor d;
	memset(&d, 0, sizeof(d));
	d.fourcc = fourcc;
	d.width = p->width;
	d.height = p->height;
	d.num_objects = 1;
	d.objects[0].fd = fd;
	d.objects[0].size = size > 0 ? (uint32_t)size : p->size;
	d.objects[0].drm_format_modifier = p->modifier;
	d.num_layers = 1;
	d.layers[0].drm_format = p->fourcc;
	d.layers[0].num_planes = 1;
	d.layers[0].object_index[0] = 0;
	d.layers[0].offset[0] = 0;
	d.layers[0].pitch[0] = p->stride;
	VASurfaceAttrib attrs[2];
	memset(attrs, 0, sizeof(attrs));
	attrs[0].type = VASurfaceAttribMemoryType;
	attrs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[0].value.type = VAGenericValueTypeInteger;
	attrs[0].value.value.i = VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2;
	attrs[1].type = VASurfaceAttribExternalBufferDescriptor;
	attrs[1].flags = VA_SURFACE_ATTRIB_SETTABLE;
	attrs[1].value.type = VAGenericValueTypePointer;
	attrs[1].value.value.p = &d;

	struct va_image *img = calloc(1, sizeof(*img));
	if (!img) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	img->image.image_id = VA_INVALID_ID;
	img->width = p->width;
	img->height = p->height;
	img->bpp = plane_format_bpp(p->fourcc);
	VAStatus st = vaCreateSurfaces(c->dpy, VA_RT_FORMAT_RGB32, p->width, p->height,
				       &img->surface, 1, attrs, 2);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, why_len, "vaCreateSurfaces (DRM PRIME 2, modifier 0x%llx) on %s: %s",
			 (unsigned long long)p->modifier, c->node, vaErrorStr(st));
		free(img);
		return -EIO;
	}
	VAImageFormat fmt;
	memset(&fmt, 0, sizeof(fmt));
	fmt.fourcc = fourcc;
	fmt.byte_order = VA_LSB_FIRST;
	fmt.bits_per_pixel = 32;
	if (vaCreateImage(c->dpy, &fmt, (int)p->width, (int)p->height, &img->image) !=
	    VA_STATUS_SUCCESS) {
		img->image.image_id = VA_INVALID_ID;
		img->derive = true;
	}
	*out = img;
	return 0;
}

static int copy_image(struct va_ctx *c, const VAImage *vi, const struct va_image *img,
		      uint8_t *dst, size_t dst_stride, char *why, size_t why_len)
{
	void *data = NULL;
	VAStatus st = vaMapBuffer(c->dpy, vi->buf, &data);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, why_len, "vaMapBuffer: %s", vaErrorStr(st));
		return -EIO;
	}
	size_t row = (size_t)img->width * img->bpp;
	if (vi->width < img->width || vi->height < img->height || vi->pitches[0] < row ||
	    (uint64_t)vi->offsets[0] + (uint64_t)vi->pitches[0] * (img->height - 1) + row >
		    vi->data_size) {
		vaUnmapBuffer(c->dpy, vi->buf);
		snprintf(why, why_len, "VA image %ux%u pitch %u does not hold the plane",
			 vi->width, vi->height, vi->pitches[0]);
		return -EIO;
	}
	const uint8_t *src = (const uint8_t *)data + vi->offsets[0];
	for (uint32_t y = 0; y < img->height; y++)
		memcpy(dst + y * dst_stride, src + (size_t)y * vi->pitches[0], row);
	vaUnmapBuffer(c->dpy, vi->buf);
	return 0;
}

static int va_read(void *ctx, void *image, uint8_t *dst, size_t dst_stride, char *why,
		   size_t why_len)
{
	struct va_ctx *c = ctx;
	struct va_image *img = image;
	VAStatus st = vaSyncSurface(c->dpy, img->surface);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, why_len, "vaSyncSurface: %s", vaErrorStr(st));
		return -EIO;
	}
	if (!img->derive) {
		st = vaGetImage(c->dpy, img->surface, 0, 0, img->width, img->height,
				img->image.image_id);
		if (st == VA_STATUS_SUCCESS)
			return copy_image(c, &img->image, img, dst, dst_stride, why, why_len);
		log_debug("vaGetImage: %s; trying vaDeriveImage", vaErrorStr(st));
		img->derive = true;
	}
	VAImage derived;
	st = vaDeriveImage(c->dpy, img->surface, &derived);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, why_len, "vaGetImage and vaDeriveImage failed: %s", vaErrorStr(st));
		return -EIO;
	}
	int r = copy_image(c, &derived, img, dst, dst_stride, why, why_len);
	vaDestroyImage(c->dpy, derived.image_id);
	return r;
}

static void va_release(void *ctx, void *image)
{
	struct va_ctx *c = ctx;
	struct va_image *img = image;
	if (!img)
		return;
	if (c) {
		if (img->image.image_id != VA_INVALID_ID)
			vaDestroyImage(c->dpy, img->image.image_id);
		vaDestroySurfaces(c->dpy, &img->surface, 1);
	}
	free(img);
}

const struct dmabuf_readback_ops vfio_va_readback = {
	.name = "VA-API",
	.open = va_open,
	.close = va_close,
	.import = va_import,
	.read = va_read,
	.release = va_release,
};

#else /* !VGPU_HAVE_VA */

static int va_open(void **out, char *why, size_t why_len)
{
	*out = NULL;
	snprintf(why, why_len, "this vgpu-vnc was built without VA-API (libva-dev)");
	return -ENOTSUP;
}

static void va_close(void *ctx)
{
	(void)ctx;
}

static int va_import(void *ctx, int fd, const struct plane_info *p, void **out, char *why,
		     size_t why_len)
{
	(void)ctx, (void)fd, (void)p, (void)out;
	snprintf(why, why_len, "built without VA-API");
	return -ENOTSUP;
}

static int va_read(void *ctx, void *image, uint8_t *dst, size_t dst_stride, char *why,
		   size_t why_len)
{
	(void)ctx, (void)image, (void)dst, (void)dst_stride;
	snprintf(why, why_len, "built without VA-API");
	return -ENOTSUP;
}

static void va_release(void *ctx, void *image)
{
	(void)ctx, (void)image;
}

const struct dmabuf_readback_ops vfio_va_readback = {
	.name = "VA-API",
	.open = va_open,
	.close = va_close,
	.import = va_import,
	.read = va_read,
	.release = va_release,
};

#endif
