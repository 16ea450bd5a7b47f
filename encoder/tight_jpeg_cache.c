/* What the clients of one frame share: a chained hash table of encoded rectangles, an LRU
 * list of finished entries, reference counts, reservations that other askers wait on; and
 * the newest frame's tile facts. See tight_jpeg_cache.h. */
#include "tight_jpeg_cache.h"

#include "clock.h"
#include "tight_jpeg_plan.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 1024u /* power of two */

struct tight_cache_entry {
	struct tight_cache_key key;
	uint8_t *data;
	size_t len;
	unsigned refs;  /* holders: the reserver, waiters, senders */
	bool ready;     /* data is there */
	bool in_table;  /* findable; ready entries in the table are also on the LRU list */
	struct tight_cache_entry *chain;
	struct tight_cache_entry *lru_prev, *lru_next;
};

struct tight_cache {
	pthread_mutex_t lock;
	pthread_cond_t done; /* a reservation was filled or abandoned */
	size_t max_bytes, max_entries;
	struct tight_cache_entry *buckets[BUCKETS];
	struct tight_cache_entry *lru_head, *lru_tail; /* head = most recently used */
	struct tight_cache_stats stats;

	/* The tile facts of one frame: which (pixels, pitch, size), and per tile the
	 * generation its facts are of (0: none; generations start at 1). */
	struct {
		pthread_mutex_t lock;
		const uint8_t *pixels;
		size_t pitch;
		uint32_t width, height;
		size_t n;
		uint64_t *gen;
		struct tight_tile_facts *facts;
		uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS];
	} tiles;
};

static size_t bucket_of(const struct tight_cache_key *k)
{
	uint64_t h = k->hash;

	h ^= ((uint64_t)k->x << 48 | (uint64_t)k->y << 32 | (uint64_t)k->w << 16 | k->h) *
	     0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)k->kind << 16 | (uint64_t)k->quality << 8 | k->subsamp) *
	     0xC2B2AE3D27D4EB4Full;
	h ^= h >> 31;
	return (size_t)(h & (BUCKETS - 1));
}

static bool key_equal(const struct tight_cache_key *a, const struct tight_cache_key *b)
{
	return a->hash == b->hash && a->x == b->x && a->y == b->y && a->w == b->w &&
	       a->h == b->h && a->quality == b->quality && a->subsamp == b->subsamp &&
	       a->kind == b->kind;
}

int tight_cache_create(size_t max_bytes, size_t max_entries, struct tight_cache **out)
{
	struct tight_cache *c = calloc(1, sizeof(*c));
	pthread_condattr_t attr;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&c->tiles.lock, NULL);
	c->max_bytes = max_bytes;
	c->max_entries = max_entries ? max_entries : 1;
	*out = c;
	return 0;
}

static void lru_unlink(struct tight_cache *c, struct tight_cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct tight_cache *c, struct tight_cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void entry_free(struct tight_cache_entry *e)
{
	free(e->data);
	free(e);
}

/* Take e out of the table (and the LRU list and the bound if it is finished); free it if
 * nobody holds it. */
static void table_remove(struct tight_cache *c, struct tight_cache_entry *e)
{
	struct tight_cache_entry **p = &c->buckets[bucket_of(&e->key)];

	while (*p && *p != e)
		p = &(*p)->chain;
	if (*p)
		*p = e->chain;
	e->chain = NULL;
	e->in_table = false;
	if (e->ready) {
		lru_unlink(c, e);
		c->stats.bytes -= e->len;
		c->stats.entries--;
	}
	if (e->refs == 0)
		entry_free(e);
}

static void evict(struct tight_cache *c)
{
	while (c->lru_tail &&
	       (c->stats.bytes > c->max_bytes || c->stats.entries > c->max_entries)) {
		c->stats.evictions++;
		table_remove(c, c->lru_tail);
	}
}

void tight_cache_destroy(struct tight_cache *c)
{
	if (!c)
		return;
	tight_cache_clear(c);
	free(c->tiles.gen);
	free(c->tiles.facts);
	pthread_mutex_destroy(&c->tiles.lock);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

enum tight_cache_result tight_cache_get(struct tight_cache *c, const struct tight_cache_key *k,
					unsigned wait_ms, struct tight_cache_entry **out)
{
	struct tight_cache_entry *e;
	size_t b = bucket_of(k);

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	for (e = c->buckets[b]; e && !key_equal(&e->key, k); e = e->chain)
		;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&c->lock);
			return TIGHT_CACHE_BUSY;
		}
		e->key = *k;
		e->refs = 1;
		e->in_table = true;
		e->chain = c->buckets[b];
		c->buckets[b] = e;
		c->stats.misses++;
		pthread_mutex_unlock(&c->lock);
		*out = e;
		return TIGHT_CACHE_RESERVED;
	}
	e->refs++; /* keeps it alive while we wait */
	if (!e->ready && wait_ms) {
		struct timespec deadline;

		c->stats.waits++;
		clock_deadline(&deadline, CLOCK_MONOTONIC, wait_ms);
		while (!e->ready && e->in_table)
			if (pthread_cond_timedwait(&c->done, &c->lock, &deadline) == ETIMEDOUT)
				break;
	}
	if (!e->ready) {
		if (--e->refs == 0 && !e->in_table)
			entry_free(e);
		pthread_mutex_unlock(&c->lock);
		return TIGHT_CACHE_BUSY;
	}
	c->stats.hits++;
	if (e->in_table) {
		lru_unlink(c, e);
		lru_push_front(c, e);
	}
	pthread_mutex_unlock(&c->lock);
	*out = e;
	return TIGHT_CACHE_HIT;
}

const uint8_t *tight_cache_data(const struct tight_cache_entry *e, size_t *len)
{
	/* Immutable once ready, and the caller holds a reference: no lock needed. */
	*len = e->len;
	return e->data;
}

/* Under c->lock. */
static void fill_locked(struct tight_cache *c, struct tight_cache_entry *e, uint8_t *data,
			size_t len)
{
	e->data = data;
	e->len = len;
	e->ready = true;
	if (e->in_table) {
		c->stats.bytes += len;
		c->stats.entries++;
		lru_push_front(c, e);
	}
}

void tight_cache_fill(struct tight_cache *c, struct tight_cache_entry *e, uint8_t *data,
		      size_t len)
{
	const struct tight_cache_fill f = {e, data, len};

	tight_cache_fill_batch(c, &f, 1);
}

void tight_cache_fill_batch(struct tight_cache *c, const struct tight_cache_fill *f, size_t n)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++)
		fill_locked(c, f[i].e, f[i].data, f[i].len);
	/* The caller holds each entry: eviction leaves them alive until put back. */
	evict(c);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

void tight_cache_abandon(struct tight_cache *c, struct tight_cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	e->refs--;
	if (e->in_table)
		table_remove(c, e); /* frees it if nobody waits on it */
	else if (e->refs == 0)
		entry_free(e);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

void tight_cache_put(struct tight_cache *c, struct tight_cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	if (--e->refs == 0 && !e->in_table)
		entry_free(e);
	pthread_mutex_unlock(&c->lock);
}

void tight_cache_clear(struct tight_cache *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->lru_tail)
		table_remove(c, c->lru_tail);
	pthread_mutex_unlock(&c->lock);
}

/* The table for this frame's shape; a new shape forgets every tile. Under tiles.lock. */
static int tiles_for(struct tight_cache *c, const uint8_t *pixels, size_t pitch,
		     const struct tight_plan_grid *g)
{
	size_t n = (size_t)g->cols * g->rows;

	if (c->tiles.pixels == pixels && c->tiles.pitch == pitch && c->tiles.width == g->width &&
	    c->tiles.height == g->height)
		return 0;
	if (n > c->tiles.n) {
		uint64_t *gen = malloc(n * sizeof(*gen));
		struct tight_tile_facts *facts = malloc(n * sizeof(*facts));

		if (!gen || !facts) {
			free(gen), free(facts);
			return -ENOMEM;
		}
		free(c->tiles.gen), free(c->tiles.facts);
		c->tiles.gen = gen;
		c->tiles.facts = facts;
		c->tiles.n = n;
	}
	memset(c->tiles.gen, 0, n * sizeof(*c->tiles.gen));
	c->tiles.pixels = pixels;
	c->tiles.pitch = pitch;
	c->tiles.width = g->width;
	c->tiles.height = g->height;
	return 0;
}

int tight_cache_tile_facts(struct tight_cache *c, uint64_t generation, const uint8_t *pixels,
			   size_t pitch, const struct tight_plan_grid *g, const uint8_t *kind,
			   unsigned palette_max, struct tight_tile_facts *facts)
{
	uint64_t classified = 0, shared = 0;

	pthread_mutex_lock(&c->tiles.lock);
	if (tiles_for(c, pixels, pitch, g) < 0) {
		pthread_mutex_unlock(&c->tiles.lock);
		return -ENOMEM;
	}
	for (uint32_t ty = 0; ty < g->rows; ty++) {
		for (uint32_t tx = 0; tx < g->cols; tx++) {
			size_t i = (size_t)ty * g->cols + tx;
			struct tight_tile_facts *f = &c->tiles.facts[i];
			bool known = c->tiles.gen[i] == generation;

			if (kind[i] == TIGHT_PLAN_NONE)
				continue;
			if (known && tight_tile_facts_enough(f, palette_max)) {
				shared++;
			} else {
				/* A newer generation overwrites an older one's facts: a client
				 * still on the older one classifies by itself (below). */
				if (!known && c->tiles.gen[i] > generation) {
					tight_tile_facts_compute(g, pixels, pitch, tx, ty, palette_max,
								 false, &facts[i], c->tiles.slots);
					classified++;
					continue;
				}
				tight_tile_facts_compute(g, pixels, pitch, tx, ty, palette_max, known,
							 f, c->tiles.slots);
				c->tiles.gen[i] = generation;
				classified++;
			}
			facts[i] = *f;
		}
	}
	pthread_mutex_unlock(&c->tiles.lock);

	pthread_mutex_lock(&c->lock);
	c->stats.tiles_classified += classified;
	c->stats.tiles_shared += shared;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void tight_cache_get_stats(struct tight_cache *c, struct tight_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
