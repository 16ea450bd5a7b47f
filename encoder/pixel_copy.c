/* XRGB rows are copied as they are; XBGR rows go through libyuv's ABGR→ARGB swizzle
 * (libyuv names formats by little-endian word order: its "ARGB" is bytes B,G,R,A). */
#include "pixel_copy.h"

#include <errno.h>
#include <libyuv/convert_argb.h>
#include <string.h>

#include "plane.h"

int pixel_copy_rect(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride,
		    uint32_t fourcc, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	uint8_t *d = dst + (size_t)y * dst_stride + (size_t)x * 4;
	const uint8_t *s = src + (size_t)y * src_stride + (size_t)x * 4;
	switch (fourcc) {
	case PLANE_FORMAT_XRGB8888:
	case PLANE_FORMAT_ARGB8888:
		for (uint32_t r = 0; r < h; r++)
			memcpy(d + r * dst_stride, s + r * src_stride, (size_t)w * 4);
		return 0;
	case PLANE_FORMAT_XBGR8888:
	case PLANE_FORMAT_ABGR8888:
		return ABGRToARGB(s, (int)src_stride, d, (int)dst_stride, (int)w, (int)h) ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}
