/* The dmabuf cache's readback seam: how to read buffers the CPU cannot map.
 *
 * The cache (dmabuf_cache.h) calls these ops; the VA-API readback (vfio_va.h) implements
 * them, and tests replace them with fakes. Kept apart from both so that the
 * implementation does not depend on the cache that uses it. Capture thread, like the
 * cache.
 */
#ifndef VGPU_DMABUF_READBACK_H
#define VGPU_DMABUF_READBACK_H

#include <stddef.h>
#include <stdint.h>

#include "plane.h"

/* How to read buffers that cannot be mapped: import them elsewhere and copy back linear
 * pixels. ctx comes from open (called lazily, once, on the first unmappable buffer; a
 * failure is remembered and retried after DMABUF_READBACK_RETRY_MS). import returns an
 * image for a dma-buf fd; read copies its pixels into dst (dst_stride bytes a row,
 * plane width * 4 bytes of each row). All return 0 or a negative errno with why. */
struct dmabuf_readback_ops {
	const char *name;
	int (*open)(void **ctx, char *why, size_t why_len);
	void (*close)(void *ctx);
	int (*import)(void *ctx, int fd, const struct plane_info *p, void **image, char *why,
		      size_t why_len);
	int (*read)(void *ctx, void *image, uint8_t *dst, size_t dst_stride, char *why,
		    size_t why_len);
	void (*release)(void *ctx, void *image);
};

#endif
