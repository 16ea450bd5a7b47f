/* VA-API for the VPL back end: render-node display, dma-buf → VA surface import. */
#include "h264_vpl_va.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "render_node.h"

const struct h264_vpl_va_fns h264_vpl_va_real = {
	.create_surfaces = vaCreateSurfaces,
	.destroy_surfaces = vaDestroySurfaces,
};

/* Open one node; 0 and an Intel display, or -errno with what went wrong in note. */
static int try_node(struct h264_vpl_display *d, const char *node, bool need_intel, char *note,
		    size_t note_len)
{
	return va_prime_open_node(node, need_intel, "VPL encoder", &d->drm_fd, &d->dpy, note,
				  note_len);
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
	/* The mdev's parent GPU (render_node.h): its buffers import nowhere else, so no
	 * other node is tried. */
	const char *chosen = render_node_chosen();
	if (chosen) {
		if (try_node(d, chosen, true, note, sizeof(note)) == 0)
			return 0;
		snprintf(why, why_len, "no VA display: %s (the mdev's parent GPU)", note);
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

/* Can the legacy DRM_PRIME descriptor state this layout? Linear, or Y-tiled with
 * VA_SURFACE_EXTBUF_DESC_ENABLE_TILING (va_prime.c); nothing else. Intel's media driver
 * then overwrites the tiling with the buffer object's (mos_bo_get_tiling in
 * media_libva_util.cpp), which GVT sets from the same modifier, so the two agree. An
 * X-tiled or unknown layout would rest on that guess alone: refused. */
static bool legacy_states(uint64_t modifier)
{
	return modifier == DRM_FORMAT_MOD_LINEAR || modifier == I915_FORMAT_MOD_Y_TILED;
}

int h264_vpl_va_import(VADisplay dpy, const struct h264_vpl_va_fns *va,
		       const struct va_prime_buf *b, VASurfaceID *out, char *why,
		       size_t why_len)
{
	uint32_t va_fourcc = va_prime_fourcc(b->drm_fourcc);
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
	if (b->modifier == DRM_FORMAT_MOD_INVALID) {
		snprintf(why, why_len, "dma-buf without a modifier: its layout cannot be stated");
		return -EINVAL;
	}
	VAStatus st = va_prime_create(dpy, va->create_surfaces, b, va_fourcc, false, out);
	if (st == VA_STATUS_SUCCESS)
		return 0;
	const char *prime2 = vaErrorStr(st);
	if (!legacy_states(b->modifier)) {
		snprintf(why, why_len,
			 "vaCreateSurfaces from dma-buf (modifier 0x%016llx, stride %u, size %u): "
			 "DRM_PRIME_2: %s; legacy DRM_PRIME not tried, it cannot state this "
			 "modifier (linear and Y-tiled only)",
			 (unsigned long long)b->modifier, b->stride, b->size, prime2);
		return -ENOTSUP;
	}
	st = va_prime_create(dpy, va->create_surfaces, b, va_fourcc, true, out);
	if (st == VA_STATUS_SUCCESS) {
		log_debug("VPL encoder: DRM_PRIME_2 import: %s; legacy DRM_PRIME took it", prime2);
		return 0;
	}
	snprintf(why, why_len,
		 "vaCreateSurfaces from dma-buf (modifier 0x%016llx, stride %u, size %u): "
		 "DRM_PRIME_2: %s; DRM_PRIME: %s",
		 (unsigned long long)b->modifier, b->stride, b->size, prime2, vaErrorStr(st));
	return -ENOTSUP;
}
