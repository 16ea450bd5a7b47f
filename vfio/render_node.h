/* Which DRM render node the VA readback and the VPL encoder open.
 *
 * A GVT-g dma-buf can only be imported on the GPU that made it, and a host may have more
 * than one Intel GPU (an Arc card next to the iGPU). The mdev's sysfs directory sits
 * under its parent PCI device (/sys/bus/mdev/devices/UUID ->
 * /sys/devices/pci0000:00/0000:00:02.0/UUID), and that device's DRM nodes are in its
 * drm/ directory (.../0000:00:02.0/drm/renderD128): that render node is the one. A source
 * that names no sysfs directory (synthetic:, fd:, socket:, pid: without --device) keeps
 * the old way: the first render node with an Intel VA driver.
 *
 * main chooses once, before any thread starts (render_node_choose, then render_node_set);
 * vfio_va.c and h264_vpl_va.c read the choice (render_node_chosen) from their threads
 * afterwards, when nothing writes it any more. $VGPU_VA_RENDER_NODE still overrides both.
 */
#ifndef VGPU_RENDER_NODE_H
#define VGPU_RENDER_NODE_H

#include <stddef.h>

struct render_node_choice {
	char node[64];    /* "/dev/dri/renderD129", or "" for the scan */
	char reason[320]; /* for the log: "render node /dev/dri/renderD129: the mdev's parent
			   * 0000:00:02.0" */
	int warn;         /* the source names a device but its node could not be found */
};

/* The render node of the PCI device above the mdev whose sysfs directory is mdev_sysfs
 * (a link or a real path). 0 with node ("/dev/dri/renderDN") and parent ("0000:00:02.0");
 * or -ENOENT / -ENOTDIR / -ENAMETOOLONG with why (a broken link, a parent without drm/,
 * a drm/ without a render node). */
int render_node_of_mdev(const char *mdev_sysfs, char *node, size_t node_len, char *parent,
			size_t parent_len, char *why, size_t why_len);

/* The sysfs directory a source spec names: mdev:UUID -> SYSFS_ROOT/bus/mdev/devices/UUID,
 * sysfs:PATH -> PATH, pid:PID:PATH (main appends --device) -> PATH. 0, or -ENOENT when
 * the spec names none (synthetic:, fd:, socket:, pid:PID). sysfs_root is "/sys" (tests:
 * a fake tree). */
int render_node_device_of_spec(const char *sysfs_root, const char *spec, char *out,
			       size_t out_len);

/* The choice for a source spec, with its reason. Never fails: without a device, or when
 * its node cannot be found (warn set, the reason says why), node is "" (the scan). */
void render_node_choose(const char *sysfs_root, const char *spec,
			struct render_node_choice *out);

/* Process-wide: set by main before any thread starts; NULL/"" clears. */
void render_node_set(const char *node);

/* The chosen node, or NULL for the scan. */
const char *render_node_chosen(void);

#endif
