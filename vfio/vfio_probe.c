/* Probing a VFIO device fd: gfx-plane kinds, cursor, the EDID region. */
#include "vfio_probe.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int query(int fd, uint32_t flags, uint32_t plane_type,
		 struct vfio_device_gfx_plane_info *p)
{
	memset(p, 0, sizeof(*p));
	p->argsz = sizeof(*p);
	p->flags = flags;
	p->drm_plane_type = plane_type;
	return ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, p) < 0 ? -errno : 0;
}

int vfio_probe_region_info(int fd, uint32_t index, struct vfio_region_info *out)
{
	memset(out, 0, sizeof(*out));
	out->argsz = sizeof(*out);
	out->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, out) < 0 ? -errno : 0;
}

int vfio_probe_check_region(const struct vfio_region_info *ri, const struct plane_info *p,
			    size_t page, size_t *map_len, char *why, size_t why_len)
{
	uint64_t need = plane_info_bytes_needed(p);
	if (!(ri->flags & VFIO_REGION_INFO_FLAG_READ) || !(ri->flags & VFIO_REGION_INFO_FLAG_MMAP))
		snprintf(why, why_len, "region %u cannot be mapped for reading (flags 0x%x)",
			 p->region_index, ri->flags);
	else if (need == 0 || p->size > ri->size || need > ri->size)
		snprintf(why, why_len,
			 "plane of %u bytes (%llu needed) does not fit region %u of %llu bytes",
			 p->size, (unsigned long long)need, p->region_index,
			 (unsigned long long)ri->size);
	else if (ri->offset % page || ri->size > (uint64_t)INT64_MAX ||
		 ri->offset > (uint64_t)INT64_MAX - ri->size)
		snprintf(why, why_len, "region %u offset 0x%llx is not page aligned or out of range",
			 p->region_index, (unsigned long long)ri->offset);
	else {
		uint64_t len = (need + page - 1) / page * page;
		*map_len = (size_t)(len > ri->size ? ri->size : len);
		return 0;
	}
	return -EINVAL;
}

/* The type capability of region index, if it has one: 0 and type/subtype, or -ENOENT. */
static int region_type(int fd, uint32_t index, struct vfio_region_info *ri, uint32_t *type,
		       uint32_t *subtype)
{
	/* Start with the bare struct: drivers refuse an argsz larger than what they fill
	 * (mbochs: -EINVAL); a region with capabilities answers with the argsz it needs. */
	size_t len = sizeof(*ri);
	struct vfio_region_info *info = NULL;
	int r = -ENOENT;
	for (int attempt = 0; attempt < 2; attempt++) {
		free(info);
		info = calloc(1, len);
		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)len;
		info->index = index;
		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0) {
			r = -errno;
			goto out;
		}
		if (info->argsz <= len)
			break;
		if (info->argsz > 65536)
			goto out;
		len = info->argsz;
	}
	*ri = *info;
	ri->argsz = sizeof(*ri);
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS) || info->argsz > len)
		goto out;
	/* walk the capability chain, bounded by the buffer and by a hop count */
	for (uint32_t off = info->cap_offset, hops = 0; off && hops < 16; hops++) {
		if (off < sizeof(*info) ||
		    off + sizeof(struct vfio_region_info_cap_type) > len)
			break;
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);
		if (h->id == VFIO_REGION_INFO_CAP_TYPE) {
			const struct vfio_region_info_cap_type *t = (const void *)h;
			*type = t->type;
			*subtype = t->subtype;
			r = 0;
			break;
		}
		off = h->next;
	}
out:
	free(info);
	return r;
}

static int read_u32(int fd, uint64_t where, uint32_t *v)
{
	ssize_t n = pread(fd, v, sizeof(*v), (off_t)where);
	return n == (ssize_t)sizeof(*v) ? 0 : (n < 0 ? -errno : -EIO);
}

static int write_u32(int fd, uint64_t where, uint32_t v)
{
	ssize_t n = pwrite(fd, &v, sizeof(v), (off_t)where);
	return n == (ssize_t)sizeof(v) ? 0 : (n < 0 ? -errno : -EIO);
}

#define EDID_REG(e, field) ((e)->offset + offsetof(struct vfio_region_gfx_edid, field))

static bool find_edid(int fd, uint32_t num_regions, struct vfio_edid_region *e)
{
	for (uint32_t i = 0; i < num_regions && i < 64; i++) {
		struct vfio_region_info ri;
		uint32_t type = 0, subtype = 0;
		if (region_type(fd, i, &ri, &type, &subtype) < 0 || type != VFIO_REGION_TYPE_GFX ||
		    subtype != VFIO_REGION_SUBTYPE_GFX_EDID)
			continue;
		memset(e, 0, sizeof(*e));
		e->index = i;
		e->offset = ri.offset;
		e->size = ri.size;
		/* The registers are 32-bit and must be read one at a time (mbochs refuses
		 * other sizes). The device is the guest's: check what it says. */
		if (read_u32(fd, EDID_REG(e, edid_offset), &e->edid_offset) < 0 ||
		    read_u32(fd, EDID_REG(e, edid_max_size), &e->edid_max_size) < 0 ||
		    read_u32(fd, EDID_REG(e, max_xres), &e->max_xres) < 0 ||
		    read_u32(fd, EDID_REG(e, max_yres), &e->max_yres) < 0)
			return false;
		if (e->edid_max_size < 128 || e->edid_offset < sizeof(struct vfio_region_gfx_edid) ||
		    (uint64_t)e->edid_offset + 128 > e->size)
			return false;
		return true;
	}
	return false;
}

int vfio_probe(int fd, struct vfio_caps *caps, char *err, size_t err_len)
{
	memset(caps, 0, sizeof(*caps));
	struct vfio_device_info di = {.argsz = sizeof(di)};
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &di) < 0) {
		int e = errno;
		if (e == EBADF)
			snprintf(err, err_len, "fd %d is not open", fd);
		else
			snprintf(err, err_len, "fd %d is not a VFIO device (VFIO_DEVICE_GET_INFO: %s)",
				 fd, strerror(e));
		return -e;
	}
	caps->num_regions = di.num_regions;
	struct vfio_device_gfx_plane_info p;
	int rd = query(fd, VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF, 0, &p);
	int rr = query(fd, VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION, 0, &p);
	caps->dmabuf = rd == 0;
	caps->region = rr == 0;
	if (!caps->dmabuf && !caps->region) {
		snprintf(err, err_len,
			 "fd %d is a VFIO device without a display: VFIO_DEVICE_QUERY_GFX_PLANE "
			 "probes for dma-buf planes (%s) and region planes (%s) both failed",
			 fd, strerror(-rd), strerror(-rr));
		return -ENOTSUP;
	}
	if (caps->dmabuf) {
		int r = query(fd, VFIO_GFX_PLANE_TYPE_DMABUF, PLANE_CURSOR, &p);
		caps->cursor = r < 0 ? r : p.dmabuf_id != 0;
	}
	caps->edid = find_edid(fd, di.num_regions, &caps->edid_region);
	return 0;
}

void vfio_probe_describe(const struct vfio_caps *c, char *buf, size_t len)
{
	char cursor[64], edid[64];
	if (!c->dmabuf)
		snprintf(cursor, sizeof(cursor), "never (region planes)");
	else if (c->cursor < 0)
		snprintf(cursor, sizeof(cursor), "query failed (%s)", strerror(-c->cursor));
	else
		snprintf(cursor, sizeof(cursor), "%s", c->cursor ? "shown now" : "none now");
	if (!c->edid)
		snprintf(edid, sizeof(edid), "no (clients cannot resize)");
	else if (c->edid_region.max_xres || c->edid_region.max_yres)
		snprintf(edid, sizeof(edid), "yes, up to %ux%u", c->edid_region.max_xres,
			 c->edid_region.max_yres);
	else
		snprintf(edid, sizeof(edid), "yes, no size limit");
	snprintf(buf, len, "%s%s%s, cursor plane: %s, EDID region: %s",
		 c->dmabuf ? "dma-buf planes" : "", c->dmabuf && c->region ? " and " : "",
		 c->region ? "region planes" : "", cursor, edid);
}

int vfio_probe_edid_link(int fd, const struct vfio_edid_region *e, uint32_t state)
{
	return write_u32(fd, EDID_REG(e, link_state), state);
}

int vfio_probe_edid_write(int fd, const struct vfio_edid_region *e, const uint8_t *blob,
			  uint32_t len)
{
	if (len > e->edid_max_size || (uint64_t)e->edid_offset + len > e->size)
		return -E2BIG;
	int r = vfio_probe_edid_link(fd, e, VFIO_DEVICE_GFX_LINK_STATE_DOWN);
	if (r < 0)
		return r;
	ssize_t n = pwrite(fd, blob, len, (off_t)(e->offset + e->edid_offset));
	if (n != (ssize_t)len)
		return n < 0 ? -errno : -EIO;
	return write_u32(fd, EDID_REG(e, edid_size), len);
}
