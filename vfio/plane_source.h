/* The plane source interface: where frames come from.
 *
 * One small vtable, the contract of VFIO_DEVICE_QUERY_GFX_PLANE / VFIO_DEVICE_GET_GFX_DMABUF,
 * implemented by the real VFIO device and by the synthetic vGPU. The capture thread owns
 * a source and is the only caller of query/get_dmabuf/destroy. The input calls are made
 * from libvncserver's client threads; sources that implement them lock internally.
 */
#ifndef VGPU_PLANE_SOURCE_H
#define VGPU_PLANE_SOURCE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plane.h"

struct plane_source;

struct plane_source_ops {
	const char *name;
	/* Describe the current plane of that type. Returns 0 (dmabuf_id 0 = no plane now) or
	 * a negative errno. -EAGAIN / -ENOMEM are transient: try again at the next tick. */
	int (*query)(struct plane_source *src, enum plane_type type, struct plane_info *out);
	/* A new fd for the buffer with that id, owned by the caller (mmap-able where the
	 * exporter allows), or a negative errno. Call at most once per live id. */
	int (*get_dmabuf)(struct plane_source *src, uint32_t dmabuf_id);
	void (*destroy)(struct plane_source *src);
	/* Optional: input from clients (the synthetic vGPU reacts to it). buttons is the RFB
	 * button mask; keysym an X keysym. Any thread. */
	void (*pointer)(struct plane_source *src, int x, int y, uint32_t buttons);
	void (*key)(struct plane_source *src, uint32_t keysym, bool down);
	/* Optional: ask the guest for a display size (a client's SetDesktopSize): a real
	 * device rewrites its EDID with that preferred mode and toggles the link. The new
	 * mode shows up later through query(). 0, -ENOTSUP (no EDID region), -EINVAL (out
	 * of range), -ENODEV (no device right now) or -EIO (the write failed).
	 * The server calls it from the capture thread, coalesced and at most once a second
	 * (capture.h); sources that implement it lock internally all the same. */
	int (*request_size)(struct plane_source *src, uint32_t width, uint32_t height);
	/* Optional, region planes (mdpy): map the device region that plane->region_index
	 * names, read-only, after checking that the plane lies inside it. 0 with the mapping
	 * in *map / *map_len (the caller munmaps it; the pixels start at *map), or a negative
	 * errno with a one-line reason in why. Capture thread, like query. */
	int (*map_region)(struct plane_source *src, const struct plane_info *plane, void **map,
			  size_t *map_len, char *why, size_t why_len);
	/* Optional: a number that changes whenever the source starts showing another device
	 * (socket: the owner handed over a new fd). Buffers and mappings taken before belong
	 * to the old device; the dmabuf cache drops them. Capture thread. */
	uint64_t (*generation)(struct plane_source *src);
	/* Optional: what changed in buffer dmabuf_id since the last call, as the source
	 * knows it (QEMU's D-Bus display names the rectangles it updated): ORs 1 into
	 * flags[i] for every tile touched (tile x tile pixels, cols x rows of them,
	 * row-major) and returns how many it flagged, or -ENOTSUP when it cannot tell (also
	 * for a buffer it no longer shows): the caller then compares pixels. A new buffer's
	 * first report, and the first after a new size, covers all of it. Capture thread. */
	int (*damage)(struct plane_source *src, uint32_t dmabuf_id, uint32_t tile, uint32_t cols,
		      uint32_t rows, uint8_t *flags);
};

struct plane_source {
	const struct plane_source_ops *ops;
};

/* plane_source_open() (plane_source_open.h) makes one from a spec. */

static inline int plane_source_query(struct plane_source *s, enum plane_type t,
				     struct plane_info *out)
{
	return s->ops->query(s, t, out);
}

/* query(), asked once more at once on -ENOMEM / -EAGAIN: the first query after a mode
 * change may fail with ENOMEM on mbochs although the buffer was made. *out is zeroed
 * before each try. */
static inline int plane_source_query_settled(struct plane_source *s, enum plane_type t,
					     struct plane_info *out)
{
	memset(out, 0, sizeof(*out));
	int r = s->ops->query(s, t, out);
	if (r == -ENOMEM || r == -EAGAIN) {
		memset(out, 0, sizeof(*out));
		r = s->ops->query(s, t, out);
	}
	return r;
}

static inline int plane_source_get_dmabuf(struct plane_source *s, uint32_t id)
{
	return s->ops->get_dmabuf(s, id);
}

/* -ENOTSUP when the source has no region planes. */
static inline int plane_source_map_region(struct plane_source *s, const struct plane_info *p,
					  void **map, size_t *map_len, char *why, size_t why_len)
{
	if (!s->ops->map_region) {
		if (why && why_len)
			why[0] = '\0';
		return -ENOTSUP;
	}
	return s->ops->map_region(s, p, map, map_len, why, why_len);
}

static inline uint64_t plane_source_generation(struct plane_source *s)
{
	return s->ops->generation ? s->ops->generation(s) : 0;
}

static inline int plane_source_damage(struct plane_source *s, uint32_t id, uint32_t tile,
				      uint32_t cols, uint32_t rows, uint8_t *flags)
{
	return s->ops->damage ? s->ops->damage(s, id, tile, cols, rows, flags) : -ENOTSUP;
}

static inline void plane_source_destroy(struct plane_source *s)
{
	if (s)
		s->ops->destroy(s);
}

#endif
