/* Copying plane pixels into the server's framebuffer format.
 *
 * The shadow framebuffer that libvncserver encodes from is always XRGB8888 (bytes
 * B,G,R,X); planes come as XRGB or XBGR (with or without alpha). XBGR is swizzled with
 * libyuv on the way. Pure functions; any thread.
 */
#ifndef VGPU_PIXEL_COPY_H
#define VGPU_PIXEL_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Copy a w×h rectangle at (x, y) from a plane of that fourcc into dst (XRGB8888), both
 * addressed with their own strides. Returns 0, or -EINVAL for a format it cannot read. */
int pixel_copy_rect(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride,
		    uint32_t fourcc, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

#endif
