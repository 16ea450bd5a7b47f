/* The real VFIO device as a plane source: mbochs, mdpy, Intel GVT-g.
 *
 * Specs (the part after the kind is `arg`):
 *   mdev:UUID            open /sys/bus/mdev/devices/UUID through its VFIO group
 *   sysfs:PATH           the same, by sysfs path (vfio_group.h)
 *   fd:N                 a VFIO device fd inherited from the process that owns the vGPU
 *   socket:PATH          listen on PATH for the owner to hand the fd over (vfio_handover.h)
 * The device must answer the gfx-plane PROBE; what it supports is logged once.
 *
 * query():   VFIO_DEVICE_QUERY_GFX_PLANE for dma-buf devices (primary and cursor) or for
 *            region devices (primary only: mdpy answers a cursor query with its primary,
 *            so a region device reports no cursor). Region planes come back with
 *            is_region and region_index; "no plane" (id 0, or format/size 0 on a region
 *            device) is rc 0 with dmabuf_id 0. A hotspot of 0xffffffff (GVT-g: none) is
 *            reported as 0,0.
 * get_dmabuf(): VFIO_DEVICE_GET_GFX_DMABUF (the cache calls it once per live id).
 * map_region(): REGION_INFO of the plane's region index, checked against the plane
 *            (readable, mmap-able, the plane's size inside the region), then mmap.
 * request_size(): with the EDID region, a new EDID whose preferred mode is the size
 *            (clamped to the region's max_xres/max_yres), written with the link down; the
 *            link comes up VFIO_EDID_LINK_DELAY_MS later, at the next query. -ENOTSUP
 *            without the region.
 * Device loss: a query that fails with ENODEV/EIO/ENXIO closes the device and reports
 *            -ENODEV once (the capture thread logs it); from then on the source shows no
 *            plane. With socket:, the owner closing its connection does the same, and a
 *            new hand-over brings a new device (generation() changes, so the dmabuf cache
 *            drops buffers of the old one).
 *
 * Threads: query/get_dmabuf/map_region/generation/destroy from the capture thread (and
 * main before it starts); request_size from the capture thread too (clients' requests,
 * coalesced, at most one a second: capture.h); the handover thread offers
 * new fds. One mutex guards the device fd and the EDID state; no call blocks under it
 * for longer than an ioctl or a pwrite.
 */
#ifndef VGPU_VFIO_DEVICE_H
#define VGPU_VFIO_DEVICE_H

#include <stddef.h>

#include "plane_source.h"

#define VFIO_EDID_LINK_DELAY_MS 100u

/* kind is "mdev", "sysfs", "fd" or "socket". 0 or a negative errno with a message that
 * names the spec: -EINVAL for a malformed spec, -ENOENT no such device, -EBUSY the group
 * has another owner, -EACCES no permission, -ENOTSUP not a gfx device. */
int vfio_source_open(const char *kind, const char *arg, struct plane_source **out, char *err,
		     size_t err_len);

#endif
