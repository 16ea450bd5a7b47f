/* Encode once, send to many: what the Tight-JPEG clients of one frame share.
 *
 * Clients that show the same screen get the same damage, so they would classify the same
 * tiles and encode the same rectangles: the work is done once per frame and settings
 * group, here, and each client only picks what it still needs and writes it.
 *
 * Encoded rectangles. Clients with the same JPEG quality and subsampling (the settings
 * group) and the same damage plan the same rectangles (tight_jpeg_plan.h). The key is the
 * rectangle, what it is sent as (JPEG with quality and subsampling; a lossless Tight basic
 * rectangle with its zlib level) and which pixels: the frame store's generation, under
 * which the shadow framebuffer's pixels do not change (tight_jpeg_encoder.h says why a
 * rectangle read while the capture thread writes the next generation is still right to
 * share). A hit means "these exact pixels, encoded this exact way". Clients woken by the
 * same capture tick ask at the same moment: the first one reserves the key and encodes,
 * the others wait for its result (bounded) instead of encoding the same pixels again.
 * Only stateless rectangles are shared: JPEG, and lossless rectangles whose zlib stream
 * starts afresh (tight_jpeg_lossless.h); a client's own zlib stream is never shared.
 *
 * Tile facts (tight_cache_tile_facts): solid colour and colour count of each 64x64 tile of
 * the newest generation, computed by the first client that needs them; every other client
 * of that frame copies them (the lossless refresh decision stays per client).
 *
 * Memory is bounded: at most max_bytes of encoded data and max_entries entries are kept,
 * least recently used first out. An entry that a sender still holds stays alive (outside
 * the bound) until it is put back. The tile facts are one frame's worth.
 *
 * Threads: any; one mutex guards the table for O(1) work per call (plus evictions), never
 * held across encoding or I/O; waiters block on a condition variable, at most wait_ms.
 * The tile facts have their own mutex, held while one client classifies the tiles the
 * others wait for (pixel reads, no I/O).
 */
#ifndef VGPU_TIGHT_JPEG_CACHE_H
#define VGPU_TIGHT_JPEG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define TIGHT_CACHE_DEFAULT_BYTES (16u << 20)
#define TIGHT_CACHE_DEFAULT_ENTRIES 1024u

enum tight_cache_kind {
	TIGHT_CACHE_JPEG = 0,  /* quality, subsamp: the JPEG's */
	TIGHT_CACHE_LOSSLESS,  /* quality 0, subsamp: the zlib level */
};

struct tight_cache_key {
	uint16_t x, y, w, h;
	uint8_t quality, subsamp;
	uint8_t kind;  /* enum tight_cache_kind */
	uint64_t hash; /* which pixels: the frame's generation (or a hash of the pixels) */
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
	/* Tile facts: tiles classified (once per frame), tiles copied by other clients. */
	uint64_t tiles_classified, tiles_shared;
};

struct tight_plan_grid;
struct tight_tile_facts;

/* 0 or -ENOMEM. */
int tight_cache_create(size_t max_bytes, size_t max_entries, struct tight_cache **out);

/* Every entry handed out must have been put back (or filled/abandoned and put). */
void tight_cache_destroy(struct tight_cache *c);

/* wait_ms 0: do not wait; an entry another asker is encoding is BUSY at once. */
enum tight_cache_result tight_cache_get(struct tight_cache *c, const struct tight_cache_key *k,
					unsigned wait_ms, struct tight_cache_entry **e);

const uint8_t *tight_cache_data(const struct tight_cache_entry *e, size_t *len);

/* Publish a reserved entry's JPEG; the cache takes data (malloc'ed). The caller keeps its
 * reference: send the data, then tight_cache_put(e). */
void tight_cache_fill(struct tight_cache *c, struct tight_cache_entry *e, uint8_t *data,
		      size_t len);

/* Publish several reserved entries at once: one wake-up for whoever waits on them. */
struct tight_cache_fill {
	struct tight_cache_entry *e;
	uint8_t *data;
	size_t len;
};
void tight_cache_fill_batch(struct tight_cache *c, const struct tight_cache_fill *f, size_t n);

/* Give up a reservation (the encode failed, or the pixels changed under it): waiters get
 * BUSY. Drops the caller's reference too. */
void tight_cache_abandon(struct tight_cache *c, struct tight_cache_entry *e);

/* Drop a reference from a HIT or a fill. */
void tight_cache_put(struct tight_cache *c, struct tight_cache_entry *e);

/* Forget every finished entry (those still held are freed when put back). */
void tight_cache_clear(struct tight_cache *c);

/* The facts of the tiles with kind[i] != TIGHT_PLAN_NONE of generation `generation` of
 * the frame (pixels, pitch, grid g), enough for palette_max, into facts[i]: classified here
 * if no client of this generation did yet, else copied. 0, or -ENOMEM (then facts is
 * untouched: classify them yourself). */
int tight_cache_tile_facts(struct tight_cache *c, uint64_t generation, const uint8_t *pixels,
			   size_t pitch, const struct tight_plan_grid *g, const uint8_t *kind,
			   unsigned palette_max, struct tight_tile_facts *facts);

void tight_cache_get_stats(struct tight_cache *c, struct tight_cache_stats *out);

#endif
