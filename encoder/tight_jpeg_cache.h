/* Encode once, send to many: recently encoded JPEG rectangles, shared between clients.
 *
 * Clients that show the same screen with the same JPEG quality and subsampling, and that
 * got the same damage, plan the same rectangles (tight_jpeg_plan.h). The key is the
 * rectangle, the JPEG parameters and a hash of the rectangle's pixels, so a hit means
 * "these exact pixels, encoded this exact way". Clients woken by the same capture tick
 * ask at the same moment: the first one reserves the key and encodes, the others wait
 * for its result (bounded) instead of encoding the same pixels again.
 *
 * Memory is bounded: at most max_bytes of JPEG data and max_entries entries are kept,
 * least recently used first out. An entry that a sender still holds stays alive (outside
 * the bound) until it is put back.
 *
 * Threads: any; one mutex guards the table for O(1) work per call (plus evictions), never
 * held across encoding or I/O. Waiters block on a condition variable, at most wait_ms.
 */
#ifndef VGPU_TIGHT_JPEG_CACHE_H
#define VGPU_TIGHT_JPEG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define TIGHT_CACHE_DEFAULT_BYTES (16u << 20)
#define TIGHT_CACHE_DEFAULT_ENTRIES 1024u

struct tight_cache_key {
	uint16_t x, y, w, h;
	uint8_t quality, subsamp;
	uint64_t hash; /* of the rectangle's pixels */
};

struct tight_cache;
struct tight_cache_entry;

enum tight_cache_result {
	TIGHT_CACHE_HIT,      /* *e holds the JPEG: send it, then tight_cache_put(e) */
	TIGHT_CACHE_RESERVED, /* nobody has it: encode, then tight_cache_fill or _abandon */
	TIGHT_CACHE_BUSY,     /* another encode of it did not finish in time (or failed):
			       * encode it yourself without caching; *e is NULL */
};

struct tight_cache_stats {
	uint64_t hits, misses, waits, evictions;
	size_t bytes, entries;
};

/* 0 or -ENOMEM. */
int tight_cache_create(size_t max_bytes, size_t max_entries, struct tight_cache **out);

/* Every entry handed out must have been put back (or filled/abandoned and put). */
void tight_cache_destroy(struct tight_cache *c);

enum tight_cache_result tight_cache_get(struct tight_cache *c, const struct tight_cache_key *k,
					unsigned wait_ms, struct tight_cache_entry **e);

const uint8_t *tight_cache_data(const struct tight_cache_entry *e, size_t *len);

/* Publish a reserved entry's JPEG; the cache takes data (malloc'ed). The caller keeps its
 * reference: send the data, then tight_cache_put(e). */
void tight_cache_fill(struct tight_cache *c, struct tight_cache_entry *e, uint8_t *data,
		      size_t len);

/* Give up a reservation (the encode failed, or the pixels changed under it): waiters get
 * BUSY. Drops the caller's reference too. */
void tight_cache_abandon(struct tight_cache *c, struct tight_cache_entry *e);

/* Drop a reference from a HIT or a fill. */
void tight_cache_put(struct tight_cache *c, struct tight_cache_entry *e);

/* Forget every finished entry (those still held are freed when put back). */
void tight_cache_clear(struct tight_cache *c);

void tight_cache_get_stats(struct tight_cache *c, struct tight_cache_stats *out);

#endif
