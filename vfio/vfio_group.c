/* The VFIO group/container dance, with errors a user can act on. */
#include "vfio_group.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"

#define MDEV_DEVICES "/sys/bus/mdev/devices"

int vfio_group_resolve(const char *kind, const char *arg, struct vfio_group_handle *h,
		       char *err, size_t err_len)
{
	memset(h, 0, sizeof(*h));
	h->container_fd = h->group_fd = -1;
	char path[PATH_MAX];
	if (strcmp(kind, "mdev") == 0) {
		if (!arg[0] || strchr(arg, '/') || strlen(arg) >= sizeof(h->name)) {
			snprintf(err, err_len, "source 'mdev:%s': expected mdev:UUID", arg);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), MDEV_DEVICES "/%s", arg);
	} else {
		if (!arg[0]) {
			snprintf(err, err_len, "source 'sysfs:': expected sysfs:/sys/bus/mdev/devices/UUID");
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s", arg);
	}
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, err_len,
				 "source '%s:%s': no such mediated device (%s does not exist; create "
				 "one by writing a UUID to "
				 "/sys/class/mdev_bus/*/mdev_supported_types/TYPE/create)",
				 kind, arg, path);
		else
			snprintf(err, err_len, "source '%s:%s': %s: %s", kind, arg, path, strerror(e));
		return -e;
	}
	const char *base = strrchr(real, '/');
	base = base ? base + 1 : real;
	size_t base_len = strlen(base), real_len = strlen(real);
	if (!base_len || base_len >= sizeof(h->name) || real_len >= sizeof(h->sysfs)) {
		snprintf(err, err_len, "source '%s:%s': %s is not a device directory", kind, arg, real);
		return -EINVAL;
	}
	/* Copies of the lengths checked above (snprintf here made GCC warn of truncation). */
	memcpy(h->name, base, base_len + 1);
	memcpy(h->sysfs, real, real_len + 1);
	return 0;
}

static int find_group(struct vfio_group_handle *h, char *err, size_t err_len)
{
	char link[PATH_MAX], target[PATH_MAX];
	snprintf(link, sizeof(link), "%s/iommu_group", h->sysfs);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		int e = errno;
		snprintf(err, err_len,
			 "mdev %s has no IOMMU group (%s: %s); is it bound to its vendor driver "
			 "and is vfio_iommu_type1 loaded?",
			 h->name, link, strerror(e));
		return e == ENOENT ? -ENODEV : -e;
	}
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	char *end;
	long g = strtol(base, &end, 10);
	if (!base[0] || *end || g < 0 || g > INT_MAX) {
		snprintf(err, err_len, "mdev %s: unexpected iommu_group link %s", h->name, target);
		return -EINVAL;
	}
	h->group = (int)g;
	return 0;
}

static int open_group(struct vfio_group_handle *h, char *err, size_t err_len)
{
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/vfio/%d", h->group);
	h->group_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (h->group_fd >= 0)
		return 0;
	int e = errno;
	switch (e) {
	case EBUSY:
		snprintf(err, err_len,
			 "mdev %s: VFIO group %s is busy: another process (QEMU or a VM manager) "
			 "owns the device. Let that process hand its device fd over instead: "
			 "--source fd:N (inherited) or --source socket:PATH (sent over a unix "
			 "socket)",
			 h->name, dev);
		break;
	case EACCES:
	case EPERM:
		snprintf(err, err_len,
			 "mdev %s: no permission to open %s (%s): run as root or give this user "
			 "access to the group (for example a udev rule setting its owner)",
			 h->name, dev, strerror(e));
		break;
	case ENOENT:
		snprintf(err, err_len, "mdev %s: %s does not exist (is the vfio module loaded?)",
			 h->name, dev);
		break;
	default:
		snprintf(err, err_len, "mdev %s: cannot open %s: %s", h->name, dev, strerror(e));
	}
	return -e;
}

static int ioctl_err(const char *what, struct vfio_group_handle *h, char *err, size_t err_len)
{
	int e = errno;
	snprintf(err, err_len, "mdev %s (group %d): %s failed: %s", h->name, h->group, what,
		 strerror(e));
	return -e;
}

int vfio_group_open_device(struct vfio_group_handle *h, char *err, size_t err_len)
{
	int r = find_group(h, err, err_len);
	if (r < 0)
		return r;
	r = open_group(h, err, err_len);
	if (r < 0)
		return r;
	struct vfio_group_status st = {.argsz = sizeof(st)};
	if (ioctl(h->group_fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		r = ioctl_err("VFIO_GROUP_GET_STATUS", h, err, err_len);
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(err, err_len,
			 "mdev %s: VFIO group %d is not viable: every device in the group must be "
			 "bound to a VFIO driver (see /sys/kernel/iommu_groups/%d/devices)",
			 h->name, h->group, h->group);
		r = -EPERM;
		goto fail;
	}
	h->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (h->container_fd < 0) {
		r = -errno;
		snprintf(err, err_len, "mdev %s: cannot open /dev/vfio/vfio: %s", h->name,
			 strerror(-r));
		goto fail;
	}
	if (ioctl(h->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		snprintf(err, err_len, "mdev %s: /dev/vfio/vfio speaks another VFIO API version",
			 h->name);
		r = -EPROTO;
		goto fail;
	}
	if (ioctl(h->container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		snprintf(err, err_len,
			 "mdev %s: the VFIO container has no type1v2 IOMMU (load vfio_iommu_type1)",
			 h->name);
		r = -ENOTSUP;
		goto fail;
	}
	if (ioctl(h->group_fd, VFIO_GROUP_SET_CONTAINER, &h->container_fd) < 0) {
		r = ioctl_err("VFIO_GROUP_SET_CONTAINER", h, err, err_len);
		goto fail;
	}
	if (ioctl(h->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		r = ioctl_err("VFIO_SET_IOMMU(type1v2)", h, err, err_len);
		goto fail;
	}
	int fd = ioctl(h->group_fd, VFIO_GROUP_GET_DEVICE_FD, h->name);
	if (fd < 0) {
		int e = errno;
		if (e == EBUSY)
			snprintf(err, err_len,
				 "mdev %s: the device is already open elsewhere; have its owner "
				 "hand the fd over with --source fd:N or socket:PATH",
				 h->name);
		else
			ioctl_err("VFIO_GROUP_GET_DEVICE_FD", h, err, err_len);
		r = -e;
		goto fail;
	}
	return fd;
fail:
	vfio_group_close(h);
	return r;
}

void vfio_group_close(struct vfio_group_handle *h)
{
	fd_close(&h->group_fd);
	fd_close(&h->container_fd);
}
