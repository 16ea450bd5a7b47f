/* The render node of an mdev's parent GPU. See render_node.h. */
#include "render_node.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char chosen[64];

void render_node_set(const char *node)
{
	snprintf(chosen, sizeof(chosen), "%s", node ? node : "");
}

const char *render_node_chosen(void)
{
	return chosen[0] ? chosen : NULL;
}

/* The lowest renderD<N> in dir, or -1. */
static int lowest_render_minor(DIR *d)
{
	int best = -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, "renderD", 7) || !e->d_name[7])
			continue;
		long n = strtol(e->d_name + 7, &end, 10);
		if (*end || n < 0 || n > 1048575)
			continue;
		if (best < 0 || n < best)
			best = (int)n;
	}
	return best;
}

int render_node_of_mdev(const char *mdev_sysfs, char *node, size_t node_len, char *parent,
			size_t parent_len, char *why, size_t why_len)
{
	char real[PATH_MAX];
	if (!realpath(mdev_sysfs, real)) {
		int e = errno;
		snprintf(why, why_len, "%s does not resolve (%s)", mdev_sysfs, strerror(e));
		return e == ENAMETOOLONG || e == ENOTDIR ? -e : -ENOENT;
	}
	char *slash = strrchr(real, '/');
	if (!slash || slash == real) {
		snprintf(why, why_len, "%s has no parent device", real);
		return -ENOENT;
	}
	*slash = '\0'; /* real is the parent device's directory now */
	const char *name = strrchr(real, '/') + 1;
	char drm[PATH_MAX];
	if ((size_t)snprintf(drm, sizeof(drm), "%s/drm", real) >= sizeof(drm)) {
		snprintf(why, why_len, "parent path too long");
		return -ENAMETOOLONG;
	}
	DIR *d = opendir(drm);
	if (!d) {
		int e = errno;
		snprintf(why, why_len, "the mdev's parent %s has no DRM nodes (%s: %s)", name, drm,
			 strerror(e));
		return e == ENOTDIR ? -ENOTDIR : -ENOENT;
	}
	int minor = lowest_render_minor(d);
	closedir(d);
	if (minor < 0) {
		snprintf(why, why_len, "the mdev's parent %s has no render node in %s", name, drm);
		return -ENOENT;
	}
	if ((size_t)snprintf(node, node_len, "/dev/dri/renderD%d", minor) >= node_len ||
	    (size_t)snprintf(parent, parent_len, "%s", name) >= parent_len) {
		snprintf(why, why_len, "name too long for the buffer");
		return -ENAMETOOLONG;
	}
	return 0;
}

int render_node_device_of_spec(const char *sysfs_root, const char *spec, char *out,
			       size_t out_len)
{
	int n = -1;
	if (!strncmp(spec, "mdev:", 5) && spec[5])
		n = snprintf(out, out_len, "%s/bus/mdev/devices/%s", sysfs_root, spec + 5);
	else if (!strncmp(spec, "sysfs:", 6) && spec[6])
		n = snprintf(out, out_len, "%s", spec + 6);
	else if (!strncmp(spec, "pid:", 4)) {
		const char *path = strchr(spec + 4, ':'); /* pid:PID:PATH, from --device */
		if (path && path[1])
			n = snprintf(out, out_len, "%s", path + 1);
	}
	if (n < 0 || (size_t)n >= out_len) {
		if (out_len)
			out[0] = '\0';
		return -ENOENT;
	}
	return 0;
}

void render_node_choose(const char *sysfs_root, const char *spec,
			struct render_node_choice *out)
{
	char dev[PATH_MAX], parent[64], why[PATH_MAX + 128];
	memset(out, 0, sizeof(*out));
	if (render_node_device_of_spec(sysfs_root, spec, dev, sizeof(dev)) < 0) {
		snprintf(out->reason, sizeof(out->reason),
			 "first Intel render node, the source names no parent device");
		return;
	}
	if (render_node_of_mdev(dev, out->node, sizeof(out->node), parent, sizeof(parent), why,
				sizeof(why)) < 0) {
		out->node[0] = '\0';
		out->warn = 1;
		snprintf(out->reason, sizeof(out->reason),
			 "first Intel render node, no parent GPU found: %.250s", why);
		return;
	}
	snprintf(out->reason, sizeof(out->reason), "render node %s: the mdev's parent %s",
		 out->node, parent);
}
