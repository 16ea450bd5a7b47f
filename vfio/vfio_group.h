/* Opening a mediated device through the VFIO group/container API (Linux 6.1 has no
 * iommufd/cdev path for mdevs).
 *
 * mdev:UUID and sysfs:PATH name /sys/bus/mdev/devices/UUID. The device's IOMMU group is
 * the basename of its iommu_group link; /dev/vfio/N is opened (exclusively: a group has
 * one owner), checked to be viable, attached to a new container (/dev/vfio/vfio) with the
 * type1v2 IOMMU model, and VFIO_GROUP_GET_DEVICE_FD(UUID) gives the device fd. The mdev
 * samples and GVT-g register as emulated-IOMMU devices, so no IOMMU hardware is needed.
 * The container's model must be set after the group joins (it is dropped whenever the
 * container becomes empty), hence one container per device.
 *
 * Errors say what failed and what to do: no such device, no IOMMU group, no permission,
 * group busy (another process such as QEMU owns it: have it hand the device fd over with
 * --source fd:N or socket:PATH), group not viable.
 *
 * Called from main (through plane_source_open) before any thread starts.
 */
#ifndef VGPU_VFIO_GROUP_H
#define VGPU_VFIO_GROUP_H

#include <stddef.h>

struct vfio_group_handle {
	int container_fd;
	int group_fd;
	int group;          /* N of /dev/vfio/N */
	char name[64];      /* the device's name in the group: the mdev UUID */
	char sysfs[256];    /* its sysfs directory */
};

/* Resolve "mdev:UUID" or "sysfs:PATH" (spec without the kind is passed as kind + arg) to
 * the device's sysfs directory and name. 0 or -ENOENT / -EINVAL with a message. */
int vfio_group_resolve(const char *kind, const char *arg, struct vfio_group_handle *h,
		       char *err, size_t err_len);

/* Open group and container and return the device fd (>= 0), or a negative errno with a
 * message naming the device and the step. On success h owns the group and container fds;
 * release them with vfio_group_close() after closing the device fd. */
int vfio_group_open_device(struct vfio_group_handle *h, char *err, size_t err_len);

void vfio_group_close(struct vfio_group_handle *h);

#endif
