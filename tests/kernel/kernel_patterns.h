/* What the kernel test's VM manager draws and the host's checker expects, and how the two
 * talk. Shared by vm_manager.c (static, in the guest) and kernel_check.c (on the host);
 * header-only and freestanding C11 so both builds take it as is.
 *
 * Control channel: the guest's second serial port (/dev/ttyS1), a unix socket on the
 * host. One command a line from the host, "SEQ VERB ARGS...\n"; one answer a line from
 * the manager, "SEQ ok KEY=VALUE...\n" or "SEQ err MESSAGE\n". At start the manager sends
 * "0 ready\n". The verbs are documented in vm_manager.c.
 */
#ifndef VGPU_KERNEL_PATTERNS_H
#define VGPU_KERNEL_PATTERNS_H

#include <stdint.h>

/* The guest's pixel at (x, y) of a picture drawn with `salt` (XRGB8888, x = 0): smooth
 * enough to see what went wrong in a dump, different in every channel for neighbouring
 * pixels and for different salts. */
static inline uint32_t kpat_pixel(uint32_t x, uint32_t y, uint32_t salt)
{
	uint32_t r = (x * 7u + salt * 31u) & 0xffu;
	uint32_t g = (y * 13u + salt * 17u + (x >> 6) * 5u) & 0xffu;
	uint32_t b = (x ^ y ^ (salt * 29u)) & 0xffu;
	return r << 16 | g << 8 | b;
}

/* mdpy's own start-up picture (samples/vfio-mdev/mdpy.c, mdpy_reset): every byte of row
 * y is y * 255 / height. */
static inline uint32_t kpat_mdpy_gradient(uint32_t y, uint32_t height)
{
	uint32_t v = y * 255u / height;
	return v << 16 | v << 8 | v;
}

#define KPAT_SALT_GRADIENT 0xffffffffu /* "mdpy's gradient" instead of a salt */

#define KPAT_CTL_MAX_LINE 512

#endif
