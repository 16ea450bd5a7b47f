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
#include "render_node.h"

#ifdef VGPU_HAVE_VA

#include <va/va.h>

#include "va_prime.h"

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

static int try_node(struct va_ctx *c, const char *node, char *why, size_t why_len)
{
	int r = va_prime_open_node(node, false, NULL, &c->drm_fd, &c->dpy, why, why_len);
	if (r == 0)
		snprintf(c->node, sizeof(c->node), "%s", node);
	return r;
}

static int va_open(void **out, char *why, size_t why_len)
{
	struct va_ctx *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	/* $VGPU_VA_RENDER_NODE, else the mdev's parent GPU (render_node.h): the buffers can
	 * only be imported there, so no other node is tried. */
	const char *env = getenv("VGPU_VA_RENDER_NODE");
	if (!env || !*env)
		env = render_node_chosen();
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
	uint32_t fourcc = va_prime_fourcc(p->fourcc);
	if (!fourcc) {
		snprintf(why, why_len, "no VA format for this plane format");
		return -EINVAL;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	struct va_prime_buf b = {
		.fd = fd,
		.drm_fourcc = p->fourcc,
		.width = p->width,
		.height = p->height,
		.stride = p->stride,
		.size = size > 0 ? (uint32_t)size : p->size,
		.modifier = p->modifier,
	};

	struct va_image *img = calloc(1, sizeof(*img));
	if (!img) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	img->image.image_id = VA_INVALID_ID;
	img->width = p->width;
	img->height = p->height;
	img->bpp = plane_format_bpp(p->fourcc);
	VAStatus st = va_prime_create(c->dpy, vaCreateSurfaces, &b, fourcc, false, &img->surface);
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

#endif

const struct dmabuf_readback_ops vfio_va_readback = {
	.name = "VA-API",
	.open = va_open,
	.close = va_close,
	.import = va_import,
	.read = va_read,
	.release = va_release,
};

