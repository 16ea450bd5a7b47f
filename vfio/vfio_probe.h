/* What a VFIO device fd can show, and its regions: the probe and the EDID region.
 *
 * vfio_probe() checks that an fd is a VFIO device (VFIO_DEVICE_GET_INFO) with a gfx-plane
 * interface (VFIO_DEVICE_QUERY_GFX_PLANE with the PROBE flag, for dma-buf and for region
 * planes), looks for the EDID region (a region with the VFIO_REGION_INFO_CAP_TYPE
 * capability GFX/GFX_EDID) and reads its registers.
 *
 * Plain ioctls/preads on an fd the caller owns; no state. Called from main, from the
 * handover thread (on a freshly received fd) and, for the EDID writes, under the source's
 * lock.
 */
#ifndef VGPU_VFIO_PROBE_H
#define VGPU_VFIO_PROBE_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plane.h"

struct vfio_edid_region {
	uint32_t index;
	uint64_t offset, size;        /* of the region in the device fd */
	uint32_t edid_offset;         /* of the blob, inside the region */
	uint32_t edid_max_size;
	uint32_t max_xres, max_yres;  /* 0 = no limit */
};

struct vfio_caps {
	bool dmabuf;                  /* PROBE|DMABUF succeeded (mbochs, GVT-g) */
	bool region;                  /* PROBE|REGION succeeded (mdpy) */
	bool edid;                    /* the EDID region below is usable */
	struct vfio_edid_region edid_region;
	uint32_t num_regions;
	int cursor;                   /* dma-buf devices: 1 a cursor plane shows now, 0 none
	                                 now, negative errno if the query failed */
};

/* 0, or a negative errno with a message that names the fd ("not a VFIO device", "no
 * gfx-plane support"). */
int vfio_probe(int fd, struct vfio_caps *caps, char *err, size_t err_len);

/* One line for the log: "dma-buf planes, cursor plane: none now, EDID (max 800x600)". */
void vfio_probe_describe(const struct vfio_caps *caps, char *buf, size_t len);

/* Check a region plane (validated by plane_info_validate) against its region's
 * REGION_INFO before mapping it: readable and mmap-able, a page-aligned offset, the
 * plane's size and the bytes its geometry needs inside the region. 0 and the length to
 * map in *map_len (whole pages, never past the region), or -EINVAL with why. Pure. */
int vfio_probe_check_region(const struct vfio_region_info *ri, const struct plane_info *p,
			    size_t page, size_t *map_len, char *why, size_t why_len);

/* VFIO_DEVICE_GET_REGION_INFO without capabilities. 0 or a negative errno. */
int vfio_probe_region_info(int fd, uint32_t index, struct vfio_region_info *out);

/* Write the link state (VFIO_DEVICE_GFX_LINK_STATE_UP / _DOWN). 0 or -errno. */
int vfio_probe_edid_link(int fd, const struct vfio_edid_region *e, uint32_t state);

/* Link down, then the blob and its size. The caller brings the link up later. */
int vfio_probe_edid_write(int fd, const struct vfio_edid_region *e, const uint8_t *blob,
			  uint32_t len);

#endif
