/* The dmabuf cache: import, map, look up by id, evict the least recently used; and the
 * three ways of reading a buffer (direct, detiled, read back). */
#include "dmabuf_cache.h"

#include <errno.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "vfio_tiling.h"
#include "vfio_va.h"

int dmabuf_cache_init(struct dmabuf_cache *cache, struct plane_source *source, unsigned capacity)
{
	memset(cache, 0, sizeof(*cache));
	if (capacity < 2)
		capacity = 2;
	cache->slots = calloc(capacity, sizeof(*cache->slots));
	if (!cache->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < capacity; i++)
		cache->slots[i].fd = -1;
	cache->source = source;
	cache->capacity = capacity;
	cache->readback = &vfio_va_readback;
	cache->generation = source ? plane_source_generation(source) : 0;
	return 0;
}

static void slot_release(struct dmabuf_buffer *b)
{
	if (b->image && b->cache && b->cache->readback)
		b->cache->readback->release(b->cache->readback_ctx, b->image);
	if (b->map)
		munmap(b->map, b->map_len);
	free(b->staging);
	if (b->fd >= 0)
		close(b->fd);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

void dmabuf_cache_clear(struct dmabuf_cache *cache)
{
	for (unsigned i = 0; i < cache->capacity; i++)
		if (cache->slots[i].used)
			slot_release(&cache->slots[i]);
}

void dmabuf_cache_destroy(struct dmabuf_cache *cache)
{
	if (!cache->slots)
		return;
	dmabuf_cache_clear(cache);
	free(cache->slots);
	cache->slots = NULL;
	if (cache->readback_ctx)
		cache->readback->close(cache->readback_ctx);
	cache->readback_ctx = NULL;
}

unsigned dmabuf_cache_count(const struct dmabuf_cache *cache)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cache->capacity; i++)
		n += cache->slots[i].used;
	return n;
}

/* Map whole pages of fd over an anonymous reservation of len bytes rounded up: the part
 * of the last page past the buffer's last whole page reads as zeros. */
static void *map_with_zero_tail(int fd, size_t len, size_t page, size_t *map_len, int *err)
{
	size_t whole = len / page * page, total = whole + page;
	void *res = mmap(NULL, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		*err = errno;
		return NULL;
	}
	if (whole && mmap(res, whole, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		*err = errno;
		munmap(res, total);
		return NULL;
	}
	*map_len = total;
	return res;
}

/* Map the buffer read-only, all of what the plane needs. Exporters only map whole pages
 * inside the buffer's size, so a size that is not a page multiple is mapped rounded down,
 * and when the picture reaches into the last partial page, over a zero-filled tail.
 * Returns 0, -ENODEV when the exporter cannot map at all, or another negative errno. */
static int map_buffer(struct dmabuf_buffer *b, const struct plane_info *p, char *why,
		      size_t why_len)
{
	size_t need = (size_t)plane_info_bytes_needed(p);
	/* dma-bufs and memfds report their size through lseek. Reading past the end of a
	 * mapping that is longer than its buffer faults (SIGBUS), so a buffer shorter than
	 * its plane claims is refused here. */
	off_t real = lseek(b->fd, 0, SEEK_END);
	if (real >= 0 && (uint64_t)real < need) {
		snprintf(why, why_len, "dmabuf %u is shorter (%lld bytes) than its plane needs (%zu)",
			 p->dmabuf_id, (long long)real, need);
		return -EINVAL;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = p->size;
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, b->fd, 0);
	int err = m == MAP_FAILED ? errno : 0;
	if (m == MAP_FAILED && err == EINVAL && len % page) {
		size_t down = len / page * page;
		if (down >= need) {
			m = down ? mmap(NULL, down, PROT_READ, MAP_SHARED, b->fd, 0) : MAP_FAILED;
			err = m == MAP_FAILED ? errno : 0;
			len = down;
		} else {
			m = map_with_zero_tail(b->fd, len, page, &len, &err);
			if (!m)
				m = MAP_FAILED;
			else
				b->tail_unmapped = p->size - down;
		}
	}
	if (m == MAP_FAILED) {
		snprintf(why, why_len, "cannot map dmabuf %u (%u bytes): %s", p->dmabuf_id, p->size,
			 strerror(err ? err : EINVAL));
		return -(err ? err : EINVAL);
	}
	if (b->tail_unmapped) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 60000, LOG_WARN,
				"dmabuf %u: size %u is not a page multiple; its last %zu bytes "
				"cannot be mapped and show as black",
				p->dmabuf_id, p->size, b->tail_unmapped);
	}
	b->map = m;
	b->map_len = len;
	return 0;
}

static int alloc_staging(struct dmabuf_buffer *b, const struct plane_info *p, char *why,
			 size_t why_len)
{
	b->staging_len = (size_t)p->stride * p->height;
	b->staging = calloc(1, b->staging_len);
	if (!b->staging) {
		snprintf(why, why_len, "out of memory for a %ux%u staging buffer", p->width,
			 p->height);
		return -ENOMEM;
	}
	b->pixels = b->staging;
	return 0;
}

/* The readback context, opened on first use; a failure is remembered for a while. */
static int readback_ready(struct dmabuf_cache *cache, char *why, size_t why_len)
{
	if (cache->readback_ctx)
		return 0;
	uint64_t now = clock_now_ms();
	if (cache->readback_failed_ms && now - cache->readback_failed_ms < DMABUF_READBACK_RETRY_MS) {
		snprintf(why, why_len, "%s", cache->readback_error);
		return -ENODEV;
	}
	char err[160] = "";
	int r = cache->readback->open(&cache->readback_ctx, err, sizeof(err));
	if (r < 0) {
		cache->readback_ctx = NULL;
		cache->readback_failed_ms = now ? now : 1;
		snprintf(cache->readback_error, sizeof(cache->readback_error),
			 "the dma-buf cannot be mapped (ENODEV) and %s readback is not available: %s",
			 cache->readback->name, err);
		snprintf(why, why_len, "%s", cache->readback_error);
		return r;
	}
	cache->readback_failed_ms = 0;
	log_info("dma-bufs that cannot be mapped are read back through %s",
		 cache->readback->name);
	return 0;
}

static int setup_readback(struct dmabuf_cache *cache, struct dmabuf_buffer *b,
			  const struct plane_info *p, char *why, size_t why_len)
{
	int r = readback_ready(cache, why, why_len);
	if (r < 0)
		return r;
	char err[160] = "";
	r = cache->readback->import(cache->readback_ctx, b->fd, p, &b->image, err, sizeof(err));
	if (r < 0) {
		b->image = NULL;
		snprintf(why, why_len, "dmabuf %u cannot be mapped and %s import failed: %s",
			 p->dmabuf_id, cache->readback->name, err);
		return r;
	}
	b->path = DMABUF_READ_READBACK;
	return alloc_staging(b, p, why, why_len);
}

static bool matches(const struct dmabuf_buffer *b, const struct plane_info *p)
{
	if (!b->used || b->info.is_region != p->is_region)
		return false;
	return p->is_region ? b->info.region_index == p->region_index : b->id == p->dmabuf_id;
}

static struct dmabuf_buffer *find(struct dmabuf_cache *cache, const struct plane_info *p)
{
	for (unsigned i = 0; i < cache->capacity; i++)
		if (matches(&cache->slots[i], p))
			return &cache->slots[i];
	return NULL;
}

/* A free slot, or the least recently used one, released. */
static struct dmabuf_buffer *take_slot(struct dmabuf_cache *cache)
{
	struct dmabuf_buffer *lru = NULL;
	for (unsigned i = 0; i < cache->capacity; i++) {
		struct dmabuf_buffer *b = &cache->slots[i];
		if (!b->used)
			return b;
		if (!lru || b->last_used < lru->last_used)
			lru = b;
	}
	slot_release(lru);
	return lru;
}

/* Import (or map) into the empty slot b. */
static int import(struct dmabuf_cache *cache, struct dmabuf_buffer *b,
		  const struct plane_info *plane, char *why, size_t why_len)
{
	b->used = true;
	b->cache = cache;
	b->id = plane->dmabuf_id;
	b->info = *plane;
	int r;
	if (plane->is_region) {
		r = plane_source_map_region(cache->source, plane, &b->map, &b->map_len, why,
					    why_len);
		if (r == -ENOTSUP && !why[0])
			snprintf(why, why_len, "the source has no region planes");
		if (r < 0)
			return r;
	} else {
		int fd = plane_source_get_dmabuf(cache->source, plane->dmabuf_id);
		if (fd < 0) {
			snprintf(why, why_len, "cannot get dmabuf %u: %s", plane->dmabuf_id,
				 strerror(-fd));
			return fd;
		}
		cache->imports++;
		b->fd = fd;
		r = map_buffer(b, plane, why, why_len);
		if (r == -ENODEV)
			return setup_readback(cache, b, plane, why, why_len);
		if (r < 0)
			return r;
	}
	b->pixels = b->map;
	if (vfio_tiling_is_tiled(plane->modifier)) {
		b->path = DMABUF_READ_DETILE;
		return alloc_staging(b, plane, why, why_len);
	}
	b->path = DMABUF_READ_DIRECT;
	return 0;
}

int dmabuf_cache_get(struct dmabuf_cache *cache, const struct plane_info *plane,
		     struct dmabuf_buffer **out, char *why, size_t why_len)
{
	*out = NULL;
	if (why_len)
		why[0] = '\0';
	uint64_t gen = plane_source_generation(cache->source);
	if (gen != cache->generation) {
		dmabuf_cache_clear(cache); /* another device: its ids mean other buffers */
		cache->generation = gen;
	}
	if (plane->dmabuf_id == 0 && !plane->is_region) {
		snprintf(why, why_len, "no buffer: dmabuf id 0");
		return -EINVAL;
	}
	struct dmabuf_buffer *b = find(cache, plane);
	if (b && !plane_info_same_geometry(&b->info, plane))
		slot_release(b); /* same id, new geometry: the old fd must go before a new one */
	else if (b) {
		b->info = *plane; /* positions and hotspot may move under the same geometry */
		b->last_used = ++cache->clock;
		*out = b;
		return 0;
	}

	b = take_slot(cache);
	int r = import(cache, b, plane, why, why_len);
	if (r < 0) {
		slot_release(b);
		return r;
	}
	b->last_used = ++cache->clock;
	*out = b;
	return 0;
}

static void sync_read(struct dmabuf_buffer *buf, uint64_t flags)
{
	if (buf->no_sync || buf->fd < 0)
		return;
	struct dma_buf_sync sync = {.flags = flags | DMA_BUF_SYNC_READ};
	int r;
	do {
		r = ioctl(buf->fd, DMA_BUF_IOCTL_SYNC, &sync);
	} while (r < 0 && (errno == EINTR || errno == EAGAIN));
	if (r < 0)
		buf->no_sync = true; /* not a dma-buf (memfd): nothing to flush */
}

int dmabuf_buffer_begin_read(struct dmabuf_buffer *buf)
{
	const struct plane_info *p = &buf->info;
	switch (buf->path) {
	case DMABUF_READ_DIRECT:
		sync_read(buf, DMA_BUF_SYNC_START);
		return 0;
	case DMABUF_READ_DETILE: {
		struct vfio_tile_layout t;
		if (vfio_tiling_layout(p->modifier, &t) < 0)
			return -EINVAL; /* cannot happen: validated at import */
		sync_read(buf, DMA_BUF_SYNC_START);
		vfio_tiling_detile(&t, buf->staging, p->stride, buf->map, p->stride,
				   (size_t)p->width * plane_format_bpp(p->fourcc), p->height);
		sync_read(buf, DMA_BUF_SYNC_END);
		return 0;
	}
	case DMABUF_READ_READBACK: {
		char why[160] = "";
		struct dmabuf_cache *c = buf->cache;
		int r = c->readback->read(c->readback_ctx, buf->image, buf->staging, p->stride, why,
					  sizeof(why));
		if (r < 0) {
			static struct log_ratelimit rl;
			log_ratelimited(&rl, 5000, LOG_WARN,
					"dmabuf %u: %s readback failed: %s; showing the last frame",
					p->dmabuf_id, c->readback->name, why);
		}
		return r;
	}
	}
	return -EINVAL;
}

void dmabuf_buffer_end_read(struct dmabuf_buffer *buf)
{
	if (buf->path == DMABUF_READ_DIRECT)
		sync_read(buf, DMA_BUF_SYNC_END);
}
