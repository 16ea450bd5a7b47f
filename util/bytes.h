/* Big-endian byte writers for wire formats (RFB is big-endian throughout).
 *
 * Each writes at p and returns the byte after what it wrote, so a message is a chain of
 * calls: p = put_be16(p, 1); p = put_be32(p, encoding); …
 */
#ifndef VGPU_BYTES_H
#define VGPU_BYTES_H

#include <stdint.h>

static inline uint8_t *put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

#endif
