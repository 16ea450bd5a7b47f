/* The dmabuf cache: plane buffers by dmabuf id, one fd and one mapping per id.
 *
 * Real devices hand out an id per buffer; the same id comes back for as long as the guest
 * keeps that buffer, and old ids return after page flips and mode changes. Asking the
 * device twice for a live id is a bug on some drivers (mbochs: two fds on one file
 * reference), so each id is imported once and kept until it is evicted: least recently
 * used first, never the one just returned. An id whose geometry changed is closed before
 * it is imported again. Region planes (mdpy) live here too, keyed by region index and
 * mapped through the source's map_region op; a new index, size or format re-maps.
 *
 * Reading: readers always see linear pixels at `pixels`, `info.stride` bytes a row.
 *  - linear and mappable (mbochs with an O_RDWR export, mdpy regions, memfds): the mapping
 *    itself. A size that is not a page multiple cannot be mapped whole (dma-buf mmap only
 *    maps whole pages inside the size): the whole pages are mapped over an anonymous
 *    reservation, so the unreachable tail reads as zeros (black), and `tail_unmapped`
 *    says how many bytes that is.
 *  - Intel X/Y-tiled: dmabuf_buffer_begin_read() detiles the mapping into a staging
 *    buffer and `pixels` points there.
 *  - not mappable (GVT-g dma-bufs: mmap fails with ENODEV): imported through the readback
 *    ops (VA-API by default, vfio_va.h) and read back into the staging buffer by
 *    dmabuf_buffer_begin_read().
 * When the source's generation changes (a new device), every buffer is dropped.
 *
 * Owned by the capture thread: no locking, no other thread touches it.
 */
#ifndef VGPU_DMABUF_CACHE_H
#define VGPU_DMABUF_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plane.h"
#include "dmabuf_readback.h"
#include "plane_source.h"

#define DMABUF_CACHE_DEFAULT_CAPACITY 6u

/* struct dmabuf_readback_ops, the seam for buffers that cannot be mapped, is in
 * dmabuf_readback.h. */
#define DMABUF_READBACK_RETRY_MS 5000u

enum dmabuf_read_path {
	DMABUF_READ_DIRECT,   /* pixels = the mapping */
	DMABUF_READ_DETILE,   /* pixels = staging, detiled from the mapping at begin_read */
	DMABUF_READ_READBACK, /* pixels = staging, read back through the readback ops */
};

struct dmabuf_cache;

struct dmabuf_buffer {
	bool used;                /* the slot holds a buffer */
	uint32_t id;              /* dmabuf id; 0 for a region plane */
	int fd;                   /* the one fd for this id; -1 for a region plane */
	const uint8_t *pixels;    /* linear pixels, info.stride bytes a row (see above) */
	void *map;                /* read-only mapping of the buffer, or NULL */
	size_t map_len;           /* bytes mapped (>= what the geometry needs) */
	size_t tail_unmapped;     /* bytes at the end that could not be mapped (read as 0) */
	uint8_t *staging;         /* linear copy for the DETILE and READBACK paths */
	size_t staging_len;
	enum dmabuf_read_path path;
	void *image;              /* READBACK: the imported image */
	struct dmabuf_cache *cache;
	struct plane_info info;   /* the geometry it was imported with */
	uint64_t last_used;       /* cache clock at the last lookup */
	bool no_sync;             /* DMA_BUF_IOCTL_SYNC is not supported by this fd */
};

struct dmabuf_cache {
	struct plane_source *source;
	struct dmabuf_buffer *slots;
	unsigned capacity;
	uint64_t clock;
	uint64_t imports;         /* fds ever taken from the source, for tests and stats */
	uint64_t generation;      /* the source's generation the buffers belong to */
	/* The unmappable-buffer path (default: VA-API); tests may replace it after init. */
	const struct dmabuf_readback_ops *readback;
	void *readback_ctx;
	uint64_t readback_failed_ms;  /* when open last failed, 0 = never */
	char readback_error[256];     /* and why: room for the sentence and open()'s err[160] */
};

/* capacity >= 2 (one current, one previous for flips). 0 or -ENOMEM. */
int dmabuf_cache_init(struct dmabuf_cache *cache, struct plane_source *source, unsigned capacity);
void dmabuf_cache_destroy(struct dmabuf_cache *cache);

/* The buffer for a validated plane: from the cache, or imported from the source (or the
 * region mapped) and set up for reading. The pointer stays valid until the next call.
 * 0 or a negative errno (message in why). */
int dmabuf_cache_get(struct dmabuf_cache *cache, const struct plane_info *plane,
		     struct dmabuf_buffer **out, char *why, size_t why_len);

/* Close every buffer (device lost, source replaced). */
void dmabuf_cache_clear(struct dmabuf_cache *cache);

/* Number of buffers held. */
unsigned dmabuf_cache_count(const struct dmabuf_cache *cache);

/* Bracket CPU reads of a buffer: DMA_BUF_IOCTL_SYNC so the exporter can flush caches (a
 * no-op for fds that do not support it, such as memfds), and for tiled or unmappable
 * buffers the copy into the staging buffer that `pixels` points at. begin_read returns 0,
 * or a negative errno when the copy failed: `pixels` then still shows the previous copy
 * (the last good frame) and the failure is logged, rate-limited. */
int dmabuf_buffer_begin_read(struct dmabuf_buffer *buf);
void dmabuf_buffer_end_read(struct dmabuf_buffer *buf);

#endif
