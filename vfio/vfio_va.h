/* VA-API readback of dma-bufs that the CPU cannot map (Intel GVT-g).
 *
 * GVT-g exports the guest's framebuffer as a dma-buf of a private GEM object: mmap gives
 * ENODEV. The only way to its pixels is through the GPU: the dma-buf is imported into
 * VA-API as a surface (VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 with the plane's modifier,
 * so tiled layouts are the driver's business) and copied into a linear VAImage with
 * vaGetImage (vaDeriveImage as the fallback), which is mapped and copied row by row.
 * The render node and the import are va_prime.h's, shared with the VPL encoder.
 *
 * vfio_va_readback plugs into the dmabuf cache's readback seam (dmabuf_cache.h): the cache
 * opens it lazily on the first unmappable buffer. open() takes the node named by
 * $VGPU_VA_RENDER_NODE, else the mdev's parent GPU's (render_node.h), else the first DRM
 * render node (/dev/dri/renderD128 and up) on which a VA driver initialises. Without libva at build time every call fails with -ENOTSUP and says
 * so.
 *
 * Owned by the capture thread, like the cache; the VA display is not shared.
 */
#ifndef VGPU_VFIO_VA_H
#define VGPU_VFIO_VA_H

#include <stdint.h>

#include "dmabuf_readback.h"

extern const struct dmabuf_readback_ops vfio_va_readback;

#endif
