/* The Tight-JPEG path for one client, and what its clients share (registry, cache). */
#include "tight_jpeg.h"

#include <errno.h>
#include <pthread.h>
#include <rfb/rfbregion.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "clock.h"
#include "damage.h"
#include "frame_store.h"
#include "log.h"
#include "metrics.h"
#include "tight_jpeg_cache.h"
#include "tight_jpeg_classify.h"
#include "tight_jpeg_encode.h"
#include "tight_jpeg_lossless.h"
#include "tight_jpeg_params.h"
#include "tight_jpeg_plan.h"
#include "tight_jpeg_refresh.h"
#include "tight_jpeg_waker.h"
#include "tight_jpeg_wire.h"

/* How long a client waits for another client's encode of the same rectangle before it
 * encodes the rectangle itself: far above one encode, far below a client's patience. */
#define SHARE_WAIT_MS 200u
/* A client counts as a sharing peer this long after its last update. */
#define SHARE_PEER_MS 2000
/* An update of at most this many tiles is "small" (palette_max). */
#define SMALL_UPDATE_TILES 32u

static _Atomic uint32_t refresh_delay_ms = TIGHT_REFRESH_DEFAULT_MS;
static struct frame_store *frames; /* tight_jpeg_set_frame_store(), before any client */

struct tight_jpeg_client {
	atomic_uint refs;    /* the owner (client_encoding) + a send in progress */
	atomic_bool closed;  /* tight_jpeg_client_free was called */
	atomic_bool serving; /* this path has served the client */
	rfbClientPtr cl;
	struct tight_waker_entry wake;
	bool timer; /* wake is registered (output thread) */

	/* Guarded by lock: the timer reads them. */
	pthread_mutex_t lock;
	struct tight_plan_grid grid;
	uint64_t *since;    /* per tile, tight_jpeg_refresh.h */
	uint8_t *timer_due; /* the timer's scratch */
	uint32_t delay_ms;  /* the refresh delay in effect (0: off) */

	/* The output thread's (under the client's sendMutex). */
	uint8_t *kind;  /* enum tight_plan_kind per tile */
	uint32_t *rgb;  /* fill colour per tile */
	uint16_t *colours; /* colour count per palette tile */
	uint32_t colour_slots[TIGHT_PLAN_COLOUR_SLOTS];
	uint8_t *sent;  /* enum tight_refresh_sent per tile */
	struct tight_plan_rect *rects;
	int32_t *scratch;
	struct tight_jpeg_encoder jpeg;
	struct tight_lossless lossless;
	uint64_t library_rects; /* libvncserver's pixel rectangles to this client so far */
	struct tight_jpeg_params params;
	bool have_params;
	struct tight_jpeg_stats stats;

	/* Guarded by registry.lock. */
	struct tight_jpeg_client *reg_prev, *reg_next;
	int share_key;     /* quality << 8 | subsampling of the last update, -1 = none */
	uint64_t share_ms; /* time of the last update */
};

/* Every client's state, and the cache they share (alive while any state is). */
static struct {
	pthread_mutex_t lock;
	struct tight_jpeg_client *head;
	struct tight_cache *cache;
} registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

void tight_jpeg_set_frame_store(struct frame_store *fs)
{
	frames = fs;
}

void tight_jpeg_set_refresh_ms(uint32_t ms)
{
	atomic_store(&refresh_delay_ms, ms);
}

/* ---- which clients ------------------------------------------------------------------ */

static bool params_of(rfbClientPtr cl, struct tight_jpeg_params *p)
{
	return tight_jpeg_params_from_levels(cl->tightQualityLevel, cl->turboQualityLevel,
					     cl->turboSubsampLevel, p);
}

static bool shift_ok(int s)
{
	return s == 0 || s == 8 || s == 16 || s == 24;
}

/* The client format that Tight sends as 3-byte TPIXELs and that JPEG makes sense for. */
static bool client_format_ok(const rfbPixelFormat *f)
{
	return f->trueColour && f->bitsPerPixel == 32 && f->depth == 24 && f->redMax == 255 &&
	       f->greenMax == 255 && f->blueMax == 255 && shift_ok(f->redShift) &&
	       shift_ok(f->greenShift) && shift_ok(f->blueShift) &&
	       f->redShift != f->greenShift && f->redShift != f->blueShift &&
	       f->greenShift != f->blueShift;
}

/* Our shadow framebuffer: XRGB8888 little-endian, bytes B, G, R, X = TJPF_BGRX. */
static bool server_format_ok(const rfbPixelFormat *f)
{
	return f->bitsPerPixel == 32 && !f->bigEndian && f->redShift == 16 && f->greenShift == 8 &&
	       f->blueShift == 0 && f->redMax == 255 && f->greenMax == 255 && f->blueMax == 255;
}

bool tight_jpeg_applies(rfbClientPtr cl)
{
	/* What libvncserver's encoders read for this client: the screen, or for a client
	 * that takes no cursor shapes, drawn_cursor.c's copy with the cursor blended in.
	 * libvncserver's own scaling (another size) stays with the library. */
	const rfbScreenInfo *src = cl->scaledScreen;
	struct tight_jpeg_params p;

	return cl->preferredEncoding == rfbEncodingTight && src && src->frameBuffer &&
	       src->width == cl->screen->width && src->height == cl->screen->height &&
	       src->paddedWidthInBytes >= src->width * 4 && params_of(cl, &p) &&
	       client_format_ok(&cl->format) && server_format_ok(&src->serverFormat);
}

/* ---- per-client state --------------------------------------------------------------- */

static uint64_t refresh_fire(struct tight_waker_entry *e, uint64_t now);

static struct tight_jpeg_client *client_new(rfbClientPtr cl)
{
	struct tight_jpeg_client *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	atomic_init(&st->refs, 1);
	st->cl = cl;
	st->share_key = -1;
	pthread_mutex_init(&st->lock, NULL);
	tight_lossless_init(&st->lossless);
	st->wake.fire = refresh_fire;

	pthread_mutex_lock(&registry.lock);
	/* Out of memory here means no sharing, and nothing else lost. */
	if (!registry.cache)
		tight_cache_create(TIGHT_CACHE_DEFAULT_BYTES, TIGHT_CACHE_DEFAULT_ENTRIES,
				   &registry.cache);
	st->reg_next = registry.head;
	if (registry.head)
		registry.head->reg_prev = st;
	registry.head = st;
	pthread_mutex_unlock(&registry.lock);
	return st;
}

static void client_release(struct tight_jpeg_client *st)
{
	if (atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	const struct tight_jpeg_stats *s = &st->stats;
	log_debug("client %p: Tight-JPEG: %llu updates, %llu JPEG rects (%llu KiB, %llu shared), "
		  "%llu fills, %llu palette rects (%llu KiB), %llu lossless refresh rects "
		  "(%llu KiB), %llu updates by libvncserver",
		  (void *)st->cl, (unsigned long long)s->updates,
		  (unsigned long long)s->jpeg_rects, (unsigned long long)(s->jpeg_bytes >> 10),
		  (unsigned long long)s->jpeg_shared, (unsigned long long)s->fill_rects,
		  (unsigned long long)s->palette_rects,
		  (unsigned long long)(s->palette_bytes >> 10),
		  (unsigned long long)s->lossless_rects,
		  (unsigned long long)(s->lossless_bytes >> 10),
		  (unsigned long long)s->library_updates);

	struct tight_cache *unused = NULL;
	pthread_mutex_lock(&registry.lock);
	if (st->reg_prev)
		st->reg_prev->reg_next = st->reg_next;
	else
		registry.head = st->reg_next;
	if (st->reg_next)
		st->reg_next->reg_prev = st->reg_prev;
	if (!registry.head) {
		/* Nobody holds an entry any more: every send has ended. */
		unused = registry.cache;
		registry.cache = NULL;
	}
	pthread_mutex_unlock(&registry.lock);
	tight_cache_destroy(unused);

	tight_jpeg_encoder_destroy(&st->jpeg);
	tight_lossless_destroy(&st->lossless);
	free(st->since);
	free(st->timer_due);
	free(st->kind);
	free(st->rgb);
	free(st->colours);
	free(st->sent);
	free(st->rects);
	free(st->scratch);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void tight_jpeg_client_free(struct tight_jpeg_client *st)
{
	if (!st || atomic_exchange(&st->closed, true))
		return;
	/* From here the timer never touches the client again, which libvncserver frees once
	 * its threads are gone. */
	tight_waker_remove(&st->wake);
	client_release(st);
}

void tight_jpeg_client_stats(const struct tight_jpeg_client *st, struct tight_jpeg_stats *out)
{
	*out = st->stats;
}

/* Input thread: a FramebufferUpdateRequest, before libvncserver adds it to the requested
 * region. libvncserver goes on after our update (the displayHook) with its own, over the
 * damage its output thread copied before the hook, clipped to the requested region, which
 * our update emptied. A client that answers our update at once (loopback, a fast viewer)
 * could put its next request there before libvncserver looks, and get the same damage
 * again from libvncserver's encoder: lossy JPEG over our lossless refresh. The output
 * thread holds the client's sendMutex for the whole update, so taking it here (for no
 * time) orders the new request after it. (open_h264.c registers its clients' requests
 * itself, under the same lock.) */
void tight_jpeg_on_request(rfbClientPtr cl, struct tight_jpeg_client *st)
{
	if (st && atomic_load(&st->serving)) {
		LOCK(cl->sendMutex);
		UNLOCK(cl->sendMutex);
	}
}

/* Size the tile arrays for a width x height screen. A new size starts from scratch: the
 * client gets the whole new screen anyway. 0 or -ENOMEM. */
static int ensure_grid(struct tight_jpeg_client *st, uint32_t width, uint32_t height)
{
	struct tight_plan_grid g;

	if (st->since && st->grid.width == width && st->grid.height == height)
		return 0;
	tight_plan_grid_init(&g, width, height, DAMAGE_TILE);
	size_t n = (size_t)g.cols * g.rows;
	uint64_t *since = malloc(n * sizeof(*since));
	uint8_t *due = calloc(n, 1), *kind = calloc(n, 1), *sent = calloc(n, 1);
	uint32_t *rgb = calloc(n, sizeof(*rgb));
	uint16_t *colours = calloc(n, sizeof(*colours));
	struct tight_plan_rect *rects = malloc(n * sizeof(*rects));
	int32_t *scratch = malloc(2 * (size_t)g.cols * sizeof(*scratch));

	if (!since || !due || !kind || !sent || !rgb || !colours || !rects || !scratch) {
		free(since), free(due), free(kind), free(sent), free(rgb), free(colours);
		free(rects), free(scratch);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		since[i] = TIGHT_REFRESH_NOT_LOSSY;

	pthread_mutex_lock(&st->lock);
	uint64_t *old_since = st->since;
	uint8_t *old_due = st->timer_due;
	st->grid = g;
	st->since = since;
	st->timer_due = due;
	pthread_mutex_unlock(&st->lock);
	free(old_since);
	free(old_due);
	free(st->kind), free(st->sent), free(st->rgb), free(st->colours), free(st->rects);
	free(st->scratch);
	st->kind = kind;
	st->sent = sent;
	st->rgb = rgb;
	st->colours = colours;
	st->rects = rects;
	st->scratch = scratch;
	return 0;
}

/* ---- the lossless refresh timer ----------------------------------------------------- */

/* The tiles flagged in `tiles` as a region: one rectangle per run in a tile row. */
static sraRegionPtr tiles_region(const struct tight_plan_grid *g, const uint8_t *tiles)
{
	sraRegionPtr region = sraRgnCreate();

	for (uint32_t ty = 0; ty < g->rows; ty++) {
		for (uint32_t tx = 0; tx < g->cols;) {
			uint32_t end = tx, x, y, w, h, ex, ey, ew, eh;

			if (!tiles[(size_t)ty * g->cols + tx]) {
				tx++;
				continue;
			}
			while (end + 1 < g->cols && tiles[(size_t)ty * g->cols + end + 1])
				end++;
			tight_plan_tile_rect(g, tx, ty, &x, &y, &w, &h);
			tight_plan_tile_rect(g, end, ty, &ex, &ey, &ew, &eh);
			sraRegionPtr r =
				sraRgnCreateRect((int)x, (int)y, (int)(ex + ew), (int)(y + h));
			sraRgnOr(region, r);
			sraRgnDestroy(r);
			tx = end + 1;
		}
	}
	return region;
}

/* Timer thread: mark the due tiles as modified, so that the client's output thread sends
 * them (losslessly) at its next request even when the screen is still. */
static uint64_t refresh_fire(struct tight_waker_entry *e, uint64_t now)
{
	struct tight_jpeg_client *st =
		(struct tight_jpeg_client *)((char *)e - offsetof(struct tight_jpeg_client, wake));
	sraRegionPtr region = NULL;
	uint64_t next = TIGHT_REFRESH_NEVER;

	pthread_mutex_lock(&st->lock);
	if (st->since &&
	    tight_refresh_scan(st->since, (size_t)st->grid.cols * st->grid.rows, now, st->delay_ms,
			       TIGHT_REFRESH_SLACK_MS, st->timer_due, &next) > 0)
		region = tiles_region(&st->grid, st->timer_due);
	pthread_mutex_unlock(&st->lock);
	if (region) {
		rfbClientPtr cl = st->cl;

		LOCK(cl->updateMutex);
		sraRgnOr(cl->modifiedRegion, region);
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
		sraRgnDestroy(region);
	}
	return next;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Small pieces go through the client's update buffer, like libvncserver's own encoders. */
static bool out_small(rfbClientPtr cl, const void *p, size_t n)
{
	if ((size_t)cl->ublen + n > UPDATE_BUF_SIZE && !rfbSendUpdateBuf(cl))
		return false;
	memcpy(cl->updateBuf + cl->ublen, p, n);
	cl->ublen += (int)n;
	return true;
}

/* Large payloads go out directly after what is buffered: no copy through the buffer.
 * rfbWriteExact does the WebSocket framing and TLS; a failure closes the client. */
static bool out_large(rfbClientPtr cl, const uint8_t *p, size_t n)
{
	if ((size_t)cl->ublen + n <= UPDATE_BUF_SIZE)
		return out_small(cl, p, n);
	if (cl->ublen > 0 && !rfbSendUpdateBuf(cl))
		return false;
	if (rfbWriteExact(cl, (const char *)p, (int)n) <= 0) {
		rfbLogPerror("tight-jpeg: write");
		rfbCloseClient(cl);
		return false;
	}
	return true;
}

/* ---- encoding ----------------------------------------------------------------------- */

static uint64_t frame_generation(rfbClientPtr cl)
{
	(void)cl;
	return frame_store_generation(frames);
}

struct update {
	rfbClientPtr cl;
	const uint8_t *fb;
	size_t pitch;
	struct tight_jpeg_params params;
	struct tight_cache *cache; /* NULL: no peer to share with */
	int zlib_level;
	sraRegionPtr retry; /* rectangles to send again (an encode failed) */
};

/* Substitute for a rectangle whose encode failed: the count is already on the wire, so
 * something must go there. Its first pixel's colour, and the rectangle again later. */
static bool send_substitute(struct tight_jpeg_client *st, struct update *u,
			    const struct tight_plan_rect *r)
{
	static struct log_ratelimit rl;
	uint8_t buf[TIGHT_WIRE_FILL_SIZE];
	uint32_t px;

	log_ratelimited(&rl, 5000, LOG_WARN, "client %p: cannot encode a %ux%u rectangle; "
			"sending it again later", (void *)u->cl, r->w, r->h);
	memcpy(&px, u->fb + (size_t)r->y * u->pitch + (size_t)r->x * 4, 4);
	sraRegionPtr rr = sraRgnCreateRect((int)r->x, (int)r->y, (int)(r->x + r->w),
					   (int)(r->y + r->h));
	sraRgnOr(u->retry, rr);
	sraRgnDestroy(rr);
	st->stats.fill_rects++;
	return out_small(u->cl, buf,
			 tight_wire_fill(buf, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
					 (uint16_t)r->h, px & 0xffffffu));
}

static bool send_jpeg_bytes(struct update *u, const struct tight_plan_rect *r,
			    const uint8_t *jpeg, size_t len)
{
	uint8_t prefix[TIGHT_WIRE_PREFIX_MAX];
	size_t n = tight_wire_jpeg_prefix(prefix, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
					  (uint16_t)r->h, (uint32_t)len);

	return out_small(u->cl, prefix, n) && out_large(u->cl, jpeg, len);
}

static bool send_jpeg(struct tight_jpeg_client *st, struct update *u,
		      const struct tight_plan_rect *r)
{
	const uint8_t *px = u->fb + (size_t)r->y * u->pitch + (size_t)r->x * 4, *jpeg;
	struct tight_cache_entry *e = NULL;
	struct tight_cache_key key;
	uint64_t gen = 0;
	size_t len;
	int rc;

	if (u->cache) {
		key = (struct tight_cache_key){
			.x = (uint16_t)r->x, .y = (uint16_t)r->y, .w = (uint16_t)r->w,
			.h = (uint16_t)r->h, .quality = (uint8_t)u->params.quality,
			.subsamp = (uint8_t)u->params.subsamp};
		/* The generation first, then the pixels: see the check after encoding. */
		gen = frame_generation(u->cl);
		key.hash = tight_jpeg_rect_hash(px, u->pitch, r->w, r->h);
		if (tight_cache_get(u->cache, &key, SHARE_WAIT_MS, &e) == TIGHT_CACHE_HIT) {
			size_t n;
			const uint8_t *shared = tight_cache_data(e, &n);
			bool ok = send_jpeg_bytes(u, r, shared, n);

			tight_cache_put(u->cache, e);
			st->stats.jpeg_rects++;
			st->stats.jpeg_bytes += n;
			st->stats.jpeg_shared++;
			return ok;
		}
	}
	double t0 = clock_now_s();
	rc = tight_jpeg_encode(&st->jpeg, px, u->pitch, r->w, r->h, &u->params, &jpeg, &len);
	metrics_observe_encode(METRICS_ENC_TIGHT_JPEG, clock_now_s() - t0);
	if (rc < 0 || len > TIGHT_WIRE_MAX_COMPACT) {
		if (e)
			tight_cache_abandon(u->cache, e);
		return send_substitute(st, u, r);
	}
	if (e) {
		/* The capture thread writes the framebuffer while we read it. Publish only if
		 * no tick completed meanwhile (generation) and the pixels hash the same as
		 * before: then the JPEG is of exactly the pixels the key names. */
		uint8_t *copy = NULL;

		if (frame_generation(u->cl) == gen &&
		    tight_jpeg_rect_hash(px, u->pitch, r->w, r->h) == key.hash)
			copy = malloc(len);
		if (copy) {
			memcpy(copy, jpeg, len);
			tight_cache_fill(u->cache, e, copy, len);
			tight_cache_put(u->cache, e);
		} else {
			tight_cache_abandon(u->cache, e);
		}
	}
	st->stats.jpeg_rects++;
	st->stats.jpeg_bytes += len;
	return send_jpeg_bytes(u, r, jpeg, len);
}

static bool send_lossless(struct tight_jpeg_client *st, struct update *u,
			  const struct tight_plan_rect *r)
{
	uint8_t header[TIGHT_WIRE_RECT_HEADER];
	const uint8_t *data;
	size_t len;

	if (tight_lossless_encode(&st->lossless, u->fb + (size_t)r->y * u->pitch + (size_t)r->x * 4,
				  u->pitch, r->w, r->h, u->zlib_level, &data, &len) < 0)
		return send_substitute(st, u, r);
	if (r->kind == TIGHT_PLAN_PALETTE) {
		st->stats.palette_rects++;
		st->stats.palette_bytes += len + sizeof(header);
	} else {
		st->stats.lossless_rects++;
		st->stats.lossless_bytes += len + sizeof(header);
	}
	tight_wire_rect_header(header, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
			       (uint16_t)r->h, TIGHT_WIRE_ENCODING);
	return out_small(u->cl, header, sizeof(header)) && out_large(u->cl, data, len);
}

static bool send_rect(struct tight_jpeg_client *st, struct update *u,
		      const struct tight_plan_rect *r)
{
	uint8_t buf[TIGHT_WIRE_FILL_SIZE];

	switch (r->kind) {
	case TIGHT_PLAN_FILL:
		st->stats.fill_rects++;
		return out_small(u->cl, buf,
				 tight_wire_fill(buf, (uint16_t)r->x, (uint16_t)r->y,
						 (uint16_t)r->w, (uint16_t)r->h, r->rgb));
	case TIGHT_PLAN_LOSSLESS:
	case TIGHT_PLAN_PALETTE:
		return send_lossless(st, u, r);
	default:
		return send_jpeg(st, u, r);
	}
}

/* ---- one update --------------------------------------------------------------------- */

/* Pixel rectangles libvncserver itself has sent this client. Ours are not in its
 * statistics, so a change means the library drew on the client's screen: it served an
 * update while the client was off this path, or answered a request that arrived during
 * ours (it encodes what was modified when the output thread woke). */
static uint64_t library_rects(rfbClientPtr cl)
{
	uint64_t n = 0;

	for (rfbStatList *s = cl->statEncList; s; s = s->Next)
		if (s->type <= 0xffff || s->type == rfbEncodingTightPng)
			n += s->sentCount;
	return n;
}

/* Flag the tiles that the region touches; returns how many. */
static size_t mark_tiles(struct tight_jpeg_client *st, sraRegionPtr region)
{
	const struct tight_plan_grid *g = &st->grid;
	sraRectangleIterator *it = sraRgnGetIterator(region);
	sraRect r;

	memset(st->kind, TIGHT_PLAN_NONE, (size_t)g->cols * g->rows);
	while (sraRgnIteratorNext(it, &r)) {
		int x1 = r.x1 < 0 ? 0 : r.x1, y1 = r.y1 < 0 ? 0 : r.y1;
		int x2 = r.x2 > (int)g->width ? (int)g->width : r.x2;
		int y2 = r.y2 > (int)g->height ? (int)g->height : r.y2;

		if (x1 >= x2 || y1 >= y2)
			continue;
		for (uint32_t ty = (uint32_t)y1 / g->tile; ty <= (uint32_t)(y2 - 1) / g->tile; ty++)
			memset(st->kind + (size_t)ty * g->cols + (uint32_t)x1 / g->tile,
			       TIGHT_PLAN_JPEG,
			       (uint32_t)(x2 - 1) / g->tile - (uint32_t)x1 / g->tile + 1);
	}
	sraRgnReleaseIterator(it);
	size_t n = 0;
	for (size_t i = 0; i < (size_t)g->cols * g->rows; i++)
		n += st->kind[i] != TIGHT_PLAN_NONE;
	return n;
}

/* Tiles with at most this many colours go as palette: text and flat UI, where JPEG is
 * larger (and lossy). Time decides the threshold. One tjCompress2 call costs ~25 us
 * before the first pixel and ~600 bytes of headers: in a small update each JPEG
 * rectangle is a tile or two, and a palette of up to 24 colours (TurboVNC's threshold at
 * compression level 1; 96 above) is smaller and no slower. In a large update JPEG runs
 * over big rectangles, while a tile of a smooth gradient (17..24 colours per 64x64)
 * costs half again as much as a palette and saves little: there, 8 (16). None in
 * grayscale, which a palette would undo. */
static unsigned palette_max(const struct tight_jpeg_params *p, int compress_level,
			    size_t tiles)
{
	bool small = tiles <= SMALL_UPDATE_TILES;

	if (p->subsamp == TJSAMP_GRAY)
		return 0;
	if (compress_level >= 2)
		return small ? 96 : 16;
	return small ? 24 : 8;
}

/* The cache when another client with the same JPEG settings is being served too. */
static struct tight_cache *share_begin(struct tight_jpeg_client *st,
				       const struct tight_jpeg_params *p, uint64_t now)
{
	int key = p->quality << 8 | p->subsamp;
	struct tight_cache *cache = NULL;

	pthread_mutex_lock(&registry.lock);
	st->share_key = key;
	st->share_ms = now;
	for (struct tight_jpeg_client *c = registry.head; c && !cache; c = c->reg_next)
		if (c != st && c->share_key == key && (int64_t)(now - c->share_ms) < SHARE_PEER_MS)
			cache = registry.cache;
	pthread_mutex_unlock(&registry.lock);
	return cache;
}

/* Write the planned rectangles as FramebufferUpdate message(s). False if the client
 * went away. */
static bool send_rects(struct tight_jpeg_client *st, struct update *u, size_t n)
{
	rfbClientPtr cl = u->cl;
	bool last_rect = n > 0xffff && cl->enableLastRectEncoding;
	uint8_t buf[TIGHT_WIRE_RECT_HEADER];

	/* Whatever is buffered belongs to a message before ours. */
	if (cl->ublen > 0 && !rfbSendUpdateBuf(cl))
		return false;
	/* The request is answered even if nothing of the region lies on the screen (a
	 * region from before a resize): else the client would wait for an update forever. */
	if (n == 0)
		return out_small(cl, buf, tight_wire_fbu_header(buf, 0)) && rfbSendUpdateBuf(cl);
	for (size_t done = 0; done < n;) {
		/* Without LastRect, more than 65535 rectangles take several messages. */
		size_t count = last_rect ? n : (n - done > 0xffff ? 0xffff : n - done);

		rfbStatRecordMessageSent(cl, rfbFramebufferUpdate, 0, 0);
		if (!out_small(cl, buf, tight_wire_fbu_header(buf, last_rect ? 0xffff
									     : (uint16_t)count)))
			return false;
		for (size_t i = done; i < done + count; i++)
			if (!send_rect(st, u, &st->rects[i]))
				return false;
		done += count;
		if (last_rect && !out_small(cl, buf, tight_wire_last_rect(buf)))
			return false;
		if (!rfbSendUpdateBuf(cl))
			return false;
	}
	return true;
}

/* Send the client's pending update. False if this path cannot serve it (it is left to
 * libvncserver) or the client went away. */
static bool send_update(struct tight_jpeg_client *st, rfbClientPtr cl,
			const struct tight_jpeg_params *params)
{
	rfbScreenInfoPtr s = cl->screen, src = cl->scaledScreen;
	uint64_t now = clock_now_ms(), next;
	uint32_t delay = params->subsamp == TJSAMP_GRAY ? 0 : atomic_load(&refresh_delay_ms);
	struct update u = {
		.cl = cl,
		.fb = (const uint8_t *)src->frameBuffer,
		.pitch = (size_t)src->paddedWidthInBytes,
		.params = *params,
		/* The client's compression level, as zlib's (1 fastest .. 9 smallest). */
		.zlib_level = cl->tightCompressLevel < 1 ? 1
			      : cl->tightCompressLevel > 9 ? 9 : cl->tightCompressLevel,
	};

	sraRegionPtr region = client_encoding_take_update(cl);
	if (!region)
		return true;
	if (s->width <= 0 || s->height <= 0 || ensure_grid(st, (uint32_t)s->width,
							     (uint32_t)s->height) < 0) {
		client_encoding_give_back(cl, region);
		sraRgnDestroy(region);
		return false;
	}
	size_t n_tiles = (size_t)st->grid.cols * st->grid.rows;

	if (!st->have_params || st->params.quality != params->quality ||
	    st->params.subsamp != params->subsamp)
		log_debug("client %p: Tight-JPEG quality %d, subsampling %s (TurboJPEG from %s)",
			  (void *)cl, params->quality,
			  params->subsamp == TJSAMP_444   ? "4:4:4"
			  : params->subsamp == TJSAMP_422 ? "4:2:2"
			  : params->subsamp == TJSAMP_420 ? "4:2:0"
							  : "gray",
			  tight_jpeg_encoder_library());
	st->params = *params;
	st->have_params = true;

	uint64_t lib = library_rects(cl);
	if (lib != st->library_rects) {
		/* The library drew on the client's screen, maybe with its own JPEG: whatever it
		 * sent gets a lossless refresh too. */
		st->library_rects = lib;
		st->stats.library_updates++;
		pthread_mutex_lock(&st->lock);
		tight_refresh_mark_all_lossy(st->since, n_tiles, now);
		pthread_mutex_unlock(&st->lock);
	}

	size_t n_update = mark_tiles(st, region);
	sraRgnDestroy(region);
	struct tight_classify_opts co = {
		.now_ms = now,
		.delay_ms = delay,
		.slack_ms = TIGHT_REFRESH_SLACK_MS,
		.palette_max = palette_max(params, cl->tightCompressLevel, n_update),
		.grayscale = params->subsamp == TJSAMP_GRAY,
	};
	tight_classify_tiles(&st->grid, u.fb, u.pitch, st->since, &co, st->kind, st->rgb,
			     st->colours, st->sent, st->colour_slots);
	size_t n = tight_plan_rects(&st->grid, st->kind, st->rgb, st->colours, st->rects,
				    st->scratch);
	u.cache = share_begin(st, params, now);
	u.retry = sraRgnCreate();
	st->stats.updates++;
	bool ok = send_rects(st, &u, n);

	if (ok && !sraRgnEmpty(u.retry)) {
		LOCK(cl->updateMutex);
		sraRgnOr(cl->modifiedRegion, u.retry);
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	sraRgnDestroy(u.retry);

	pthread_mutex_lock(&st->lock);
	tight_refresh_record(st->since, st->sent, n_tiles, now);
	st->delay_ms = delay;
	/* Due tiles that this update did not carry (outside the request) need the timer now. */
	size_t left_due = tight_refresh_scan(st->since, n_tiles, now, delay, TIGHT_REFRESH_SLACK_MS,
					     NULL, &next);
	pthread_mutex_unlock(&st->lock);
	tight_waker_schedule(&st->wake, left_due ? now : next);
	return ok;
}

bool tight_jpeg_send_update(rfbClientPtr cl, struct client_encoding *ce)
{
	struct tight_jpeg_params params;
	struct tight_jpeg_client *st = ce->state[CLIENT_PATH_TIGHT_JPEG];

	/* Settings come from the client's input thread at any time: read them once. No
	 * state: out of memory when the client connected. */
	if (!params_of(cl, &params) || !st)
		return false;
	/* Our own reference for the send: the state then outlives a free of the owner's
	 * while we send (libvncserver calls extension close()s inside rfbCloseClient, which
	 * a failed write calls; client_encoding.c frees later, but this path does not depend
	 * on that). ce is not touched from here on. */
	atomic_fetch_add(&st->refs, 1);
	atomic_store(&st->serving, true);
	if (!st->timer)
		st->timer = tight_waker_add(&st->wake) == 0;
	bool ok = send_update(st, cl, &params);
	client_release(st);
	return ok;
}

/* ---- the path (client_encoding.h) ---------------------------------------------------- */

/* The handshake thread, before the client's threads start. */
static void *path_new_state(rfbClientPtr cl)
{
	return client_new(cl);
}

static bool path_applies(rfbClientPtr cl, struct client_encoding *ce)
{
	(void)ce;
	return tight_jpeg_applies(cl);
}

static bool path_on_request(rfbClientPtr cl, struct client_encoding *ce,
			    const rfbFramebufferUpdateRequestMsg *msg)
{
	(void)msg;
	tight_jpeg_on_request(cl, ce->state[CLIENT_PATH_TIGHT_JPEG]);
	return false; /* libvncserver adds the request, now after the update in progress */
}

static void path_free_state(void *state)
{
	tight_jpeg_client_free(state);
}

const struct client_encoding_ops tight_jpeg_ops = {
	.name = "tight-jpeg", .title = "Tight-JPEG", .path = CLIENT_PATH_TIGHT_JPEG,
	.new_state = path_new_state, .free_state = path_free_state,
	.applies = path_applies, .send_update = tight_jpeg_send_update,
	.on_request = path_on_request,
};
