/* The VFIO device plane source: open, query, dma-bufs, regions, EDID, loss, hand-over. */
#include "vfio_device.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "vfio_edid.h"
#include "vfio_group.h"
#include "vfio_handover.h"
#include "vfio_probe.h"

struct vfio_source {
	struct plane_source base;
	pthread_mutex_t lock;
	char label[300];                /* "mdev UUID", "fd 3", "socket PATH" */
	int fd;                         /* the device, -1 none */
	struct vfio_caps caps;
	uint64_t generation;            /* capture thread only */
	uint64_t link_up_at_ms;         /* 0 = no link-up pending */
	bool loss_reported;             /* -ENODEV was returned once for this loss */
	bool lost;
	/* mdev: */
	struct vfio_group_handle group;
	bool have_group;
	/* socket: */
	struct vfio_handover *handover;
	int pending_fd;                 /* offered, not adopted yet; -1 none */
	struct vfio_caps pending_caps;
	uint64_t pending_conn, conn;    /* connection numbers */
	bool conn_gone;                 /* the current device's connection closed */
};

static const struct plane_source_ops vfio_ops;

static struct vfio_source *to_vfio(struct plane_source *s)
{
	return (struct vfio_source *)s;
}

static void log_caps(const struct vfio_source *v, const struct vfio_caps *caps)
{
	char d[200];
	vfio_probe_describe(caps, d, sizeof(d));
	log_info("vfio %s: %s", v->label, d);
}

/* ---- device life cycle (lock held) ---- */

static void drop_device(struct vfio_source *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->link_up_at_ms = 0;
	v->generation++;
}

static void adopt_pending(struct vfio_source *v)
{
	if (v->pending_fd < 0)
		return;
	drop_device(v);
	v->fd = v->pending_fd;
	v->caps = v->pending_caps;
	v->conn = v->pending_conn;
	v->pending_fd = -1;
	v->conn_gone = false;
	v->lost = false;
	v->loss_reported = false;
	log_info("vfio %s: using the device fd handed over on connection %llu", v->label,
		 (unsigned long long)v->conn);
}

/* Returns -ENODEV the first time after a loss, 0 afterwards. */
static int device_lost(struct vfio_source *v, const char *why)
{
	if (!v->lost) {
		log_warn("vfio %s: device lost (%s); no display until %s", v->label, why,
			 v->handover ? "the owner hands over a device again"
				     : "vgpu-vnc is restarted with a device");
		drop_device(v);
		v->lost = true;
	}
	if (v->loss_reported)
		return 0;
	v->loss_reported = true;
	return -ENODEV;
}

/* ---- ops ---- */

static void fill_plane(const struct vfio_source *v, enum plane_type type,
		       const struct vfio_device_gfx_plane_info *q, struct plane_info *out)
{
	memset(out, 0, sizeof(*out));
	out->drm_plane_type = type;
	if (v->caps.dmabuf) {
		if (q->dmabuf_id == 0)
			return; /* no plane now */
		out->dmabuf_id = q->dmabuf_id;
	} else {
		if (q->drm_format == 0 || q->size == 0)
			return; /* no plane now */
		out->is_region = true;
		out->region_index = q->region_index;
	}
	out->fourcc = q->drm_format;
	out->modifier = q->drm_format_mod;
	out->width = q->width;
	out->height = q->height;
	out->stride = q->stride;
	out->size = q->size;
	out->x = q->x_pos;
	out->y = q->y_pos;
	/* GVT-g says "no hotspot" with UINT_MAX */
	out->x_hot = q->x_hot == UINT32_MAX ? 0 : q->x_hot;
	out->y_hot = q->y_hot == UINT32_MAX ? 0 : q->y_hot;
}

static int vfio_query(struct plane_source *src, enum plane_type type, struct plane_info *out)
{
	struct vfio_source *v = to_vfio(src);
	memset(out, 0, sizeof(*out));
	out->drm_plane_type = type;
	pthread_mutex_lock(&v->lock);
	int r = 0;
	adopt_pending(v);
	if (v->fd >= 0 && v->handover && v->conn_gone)
		r = device_lost(v, "the owner closed its hand-over connection");
	if (v->fd < 0)
		goto out; /* no device (yet, or any more): no plane */
	if (v->link_up_at_ms && clock_now_ms() >= v->link_up_at_ms) {
		int e = vfio_probe_edid_link(v->fd, &v->caps.edid_region,
					     VFIO_DEVICE_GFX_LINK_STATE_UP);
		if (e < 0)
			log_warn("vfio %s: EDID link up failed: %s", v->label, strerror(-e));
		v->link_up_at_ms = 0;
	}
	if (type == PLANE_CURSOR && !v->caps.dmabuf)
		goto out; /* region devices have no cursor plane (mdpy answers with its primary) */
	struct vfio_device_gfx_plane_info q;
	memset(&q, 0, sizeof(q));
	q.argsz = sizeof(q);
	q.flags = v->caps.dmabuf ? VFIO_GFX_PLANE_TYPE_DMABUF : VFIO_GFX_PLANE_TYPE_REGION;
	q.drm_plane_type = type;
	if (ioctl(v->fd, VFIO_DEVICE_QUERY_GFX_PLANE, &q) < 0) {
		r = -errno;
		if (r == -ENODEV || r == -EIO || r == -ENXIO)
			r = device_lost(v, strerror(-r));
		goto out;
	}
	fill_plane(v, type, &q, out);
out:
	pthread_mutex_unlock(&v->lock);
	return r;
}

static int vfio_get_dmabuf(struct plane_source *src, uint32_t id)
{
	struct vfio_source *v = to_vfio(src);
	pthread_mutex_lock(&v->lock);
	int fd = -ENODEV;
	if (v->fd >= 0) {
		fd = ioctl(v->fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
		if (fd < 0)
			fd = -errno;
		else
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	pthread_mutex_unlock(&v->lock);
	return fd;
}

static int vfio_map_region(struct plane_source *src, const struct plane_info *p, void **map,
			   size_t *map_len, char *why, size_t why_len)
{
	struct vfio_source *v = to_vfio(src);
	pthread_mutex_lock(&v->lock);
	int r = -ENODEV;
	struct vfio_region_info ri;
	if (v->fd < 0) {
		snprintf(why, why_len, "no device");
		goto out;
	}
	r = vfio_probe_region_info(v->fd, p->region_index, &ri);
	if (r < 0) {
		snprintf(why, why_len, "region %u: REGION_INFO failed: %s", p->region_index,
			 strerror(-r));
		goto out;
	}
	size_t len;
	r = vfio_probe_check_region(&ri, p, (size_t)sysconf(_SC_PAGESIZE), &len, why, why_len);
	if (r < 0)
		goto out;
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, v->fd, (off_t)ri.offset);
	if (m == MAP_FAILED) {
		r = -errno;
		snprintf(why, why_len, "cannot map region %u (%zu bytes at 0x%llx): %s",
			 p->region_index, len, (unsigned long long)ri.offset, strerror(-r));
		goto out;
	}
	*map = m;
	*map_len = len;
out:
	pthread_mutex_unlock(&v->lock);
	return r;
}

static uint64_t vfio_generation(struct plane_source *src)
{
	return to_vfio(src)->generation;
}

static int vfio_request_size(struct plane_source *src, uint32_t width, uint32_t height)
{
	struct vfio_source *v = to_vfio(src);
	uint8_t edid[VFIO_EDID_BLOCK];
	pthread_mutex_lock(&v->lock);
	int r = -ENODEV;
	if (v->fd < 0)
		goto out;
	r = -ENOTSUP;
	if (!v->caps.edid)
		goto out;
	const struct vfio_edid_region *e = &v->caps.edid_region;
	uint32_t w = width, h = height;
	vfio_edid_clamp(&w, &h, e->max_xres, e->max_yres);
	r = vfio_edid_generate(edid, w, h);
	if (r == 0)
		r = vfio_probe_edid_write(v->fd, e, edid, sizeof(edid));
	if (r < 0) {
		log_warn("vfio %s: cannot write the EDID: %s", v->label, strerror(-r));
		r = -EIO;
		goto out;
	}
	v->link_up_at_ms = clock_now_ms() + VFIO_EDID_LINK_DELAY_MS;
	log_info("vfio %s: EDID with preferred mode %ux%u (asked %ux%u); link down, up in %u ms",
		 v->label, w, h, width, height, VFIO_EDID_LINK_DELAY_MS);
out:
	pthread_mutex_unlock(&v->lock);
	return r;
}

static void vfio_destroy(struct plane_source *src)
{
	struct vfio_source *v = to_vfio(src);
	vfio_handover_stop(v->handover); /* first: no more offers */
	if (v->pending_fd >= 0)
		close(v->pending_fd);
	if (v->fd >= 0)
		close(v->fd);
	if (v->have_group)
		vfio_group_close(&v->group);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct plane_source_ops vfio_ops = {
	.name = "vfio",
	.query = vfio_query,
	.get_dmabuf = vfio_get_dmabuf,
	.destroy = vfio_destroy,
	.request_size = vfio_request_size,
	.map_region = vfio_map_region,
	.generation = vfio_generation,
};

/* ---- socket: hand-over callbacks (handover thread) ---- */

static int on_offer(void *opaque, int fd, uint64_t conn, char *why, size_t why_len)
{
	struct vfio_source *v = opaque;
	struct vfio_caps caps;
	int r = vfio_probe(fd, &caps, why, why_len);
	if (r < 0)
		return r;
	log_caps(v, &caps);
	pthread_mutex_lock(&v->lock);
	if (v->pending_fd >= 0)
		close(v->pending_fd); /* never adopted: the newer one wins */
	v->pending_fd = fd;
	v->pending_caps = caps;
	v->pending_conn = conn;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void on_gone(void *opaque, uint64_t conn)
{
	struct vfio_source *v = opaque;
	pthread_mutex_lock(&v->lock);
	if (v->pending_fd >= 0 && v->pending_conn == conn) {
		close(v->pending_fd); /* withdrawn before it was used */
		v->pending_fd = -1;
	} else if (v->conn == conn) {
		v->conn_gone = true;
	}
	pthread_mutex_unlock(&v->lock);
}

static const struct vfio_handover_ops handover_ops = {.offer = on_offer, .gone = on_gone};

/* ---- opening ---- */

static int parse_fd(const char *arg, int *fd)
{
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (!arg[0] || *end || errno || n < 0 || n > INT_MAX)
		return -EINVAL;
	*fd = (int)n;
	return 0;
}

static int open_device(struct vfio_source *v, const char *kind, const char *arg, char *err,
		       size_t err_len)
{
	char why[400] = "";
	int r;
	if (strcmp(kind, "socket") == 0) {
		snprintf(v->label, sizeof(v->label), "socket %s", arg);
		return vfio_handover_start(arg, &handover_ops, v, &v->handover, err, err_len);
	}
	if (strcmp(kind, "fd") == 0) {
		int fd;
		if (parse_fd(arg, &fd) < 0) {
			snprintf(err, err_len, "source 'fd:%s': expected fd:N, N a decimal fd number",
				 arg);
			return -EINVAL;
		}
		snprintf(v->label, sizeof(v->label), "fd %d", fd);
		r = vfio_probe(fd, &v->caps, why, sizeof(why));
		if (r < 0) {
			snprintf(err, err_len, "source 'fd:%s': %s%s", arg, why,
				 r == -EBADF ? " (start vgpu-vnc with the VM manager's device fd "
					       "inherited as that number)"
					     : "");
			return r;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		v->fd = fd;
		return 0;
	}
	r = vfio_group_resolve(kind, arg, &v->group, err, err_len);
	if (r < 0)
		return r;
	snprintf(v->label, sizeof(v->label), "mdev %s", v->group.name);
	int fd = vfio_group_open_device(&v->group, err, err_len);
	if (fd < 0)
		return fd;
	v->have_group = true;
	r = vfio_probe(fd, &v->caps, why, sizeof(why));
	if (r < 0) {
		snprintf(err, err_len, "source '%s:%s': %s", kind, arg, why);
		close(fd);
		return r;
	}
	v->fd = fd;
	return 0;
}

int vfio_source_open(const char *kind, const char *arg, struct plane_source **out, char *err,
		     size_t err_len)
{
	*out = NULL;
	struct vfio_source *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	v->base.ops = &vfio_ops;
	v->fd = -1;
	v->pending_fd = -1;
	v->group.group_fd = v->group.container_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	int r = open_device(v, kind, arg, err, err_len);
	if (r < 0) {
		vfio_destroy(&v->base);
		return r;
	}
	if (v->fd >= 0)
		log_caps(v, &v->caps);
	else
		log_info("vfio %s: waiting for the owner to hand over a device fd", v->label);
	*out = &v->base;
	return 0;
}
