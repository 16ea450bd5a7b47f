/* A small EDID 1.4 generator: how a client's requested size reaches the guest.
 *
 * The VFIO EDID region (VFIO_REGION_SUBTYPE_GFX_EDID) lets the host replace the EDID the
 * guest sees. A guest driver takes the first detailed timing as its preferred mode, so a
 * client's SetDesktopSize becomes an EDID whose first detailed timing is that size (after
 * clamping to the device's maximum), written with the link down and then brought up, the
 * way QEMU's hw/vfio/display.c does it. Only the 128-byte base block is produced:
 * header, vendor "VGV", sRGB chromaticity, the established 640x480/800x600/1024x768 modes
 * that fit, the preferred timing (60 Hz, reduced blanking), range limits, and the monitor
 * name "vgpu-vnc".
 *
 * Pure functions; any thread.
 */
#ifndef VGPU_VFIO_EDID_H
#define VGPU_VFIO_EDID_H

#include <stddef.h>
#include <stdint.h>

#define VFIO_EDID_BLOCK 128u
#define VFIO_EDID_MAX_DIM 4095u /* the detailed timing's 12-bit fields */

/* Clamp a requested size to the device maximum (0 = none) and to what an EDID detailed
 * timing can say (1..4095). */
void vfio_edid_clamp(uint32_t *width, uint32_t *height, uint32_t max_width,
		     uint32_t max_height);

/* Fill out (VFIO_EDID_BLOCK bytes) with a base block whose preferred mode is
 * width x height. 0, or -EINVAL for a size outside 1..4095. */
int vfio_edid_generate(uint8_t *out, uint32_t width, uint32_t height);

/* The preferred mode (first detailed timing) of an EDID base block: 0, or -EINVAL if the
 * header, the checksum or the descriptor is not valid. */
int vfio_edid_preferred_mode(const uint8_t *edid, size_t len, uint32_t *width,
			     uint32_t *height);

/* True if the 128-byte block sums to 0 mod 256. */
int vfio_edid_checksum_ok(const uint8_t *block);

#endif
