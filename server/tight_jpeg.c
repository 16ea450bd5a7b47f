/* The Tight-JPEG path's glue for one client, and what its clients share (registry,
 * cache, frame store). The update itself is tight_jpeg_encoder.c's. */
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
#include "frame_store.h"
#include "log.h"
#include "metrics.h"
#include "tight_jpeg_cache.h"
#include "tight_jpeg_encoder.h"
#include "tight_jpeg_lossless.h"

/* A client counts as a sharing peer this long after its last update. */
#define SHARE_PEER_MS 2000

static _Atomic uint32_t refresh_delay_ms = TIGHT_REFRESH_DEFAULT_MS;
static _Atomic(struct frame_store *) frames;

/* What the path did for a client: the summary in the log when the client goes. */
struct totals {
	uint64_t updates;
	uint64_t jpeg_rects, jpeg_bytes, jpeg_shared; /* shared: taken from the cache */
	uint64_t fill_rects;
	uint64_t palette_rects, palette_bytes;   /* few colours, sent exactly */
	uint64_t lossless_rects, lossless_bytes; /* lossless refresh */
	uint64_t library_updates; /* updates libvncserver sent this client meanwhile */
};

struct tight_jpeg_client {
	atomic_uint refs;    /* the owner (client_encoding) + a send in progress */
	atomic_bool closed;  /* tight_jpeg_client_free was called */
	atomic_bool serving; /* this path has served the client */
	rfbClientPtr cl;
	struct tight_waker_entry wake;
	bool timer; /* wake is registered (output thread) */
	struct tight_jpeg_encoder *enc; /* its own lock guards what the timer reads */

	/* The output thread's (under the client's sendMutex). */
	uint32_t *region; /* the update's rectangles, 4 values each */
	size_t region_cap;
	uint64_t library_rects; /* libvncserver's pixel rectangles to this client so far */
	struct tight_jpeg_params params;
	bool have_params;
	struct totals totals;

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

void tight_jpeg_set_refresh_ms(uint32_t ms)
{
	atomic_store(&refresh_delay_ms, ms);
}

void tight_jpeg_set_frame_store(struct frame_store *fs)
{
	atomic_store(&frames, fs);
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
	if (tight_jpeg_encoder_create(&st->enc) < 0) {
		free(st);
		return NULL;
	}
	atomic_init(&st->refs, 1);
	st->cl = cl;
	st->share_key = -1;
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
	const struct totals *s = &st->totals;
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

	tight_jpeg_encoder_destroy(st->enc);
	free(st->region);
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

/* ---- regions ------------------------------------------------------------------------ */

static void region_add(void *opaque, const uint32_t r[4])
{
	sraRegionPtr rr = sraRgnCreateRect((int)r[0], (int)r[1], (int)(r[0] + r[2]),
					   (int)(r[1] + r[3]));
	sraRgnOr(opaque, rr);
	sraRgnDestroy(rr);
}

/* Mark rectangles as modified and wake the client's output thread. */
static void mark_modified(rfbClientPtr cl, sraRegionPtr region)
{
	LOCK(cl->updateMutex);
	sraRgnOr(cl->modifiedRegion, region);
	TSIGNAL(cl->updateCond);
	UNLOCK(cl->updateMutex);
}

/* The region as the encoder's rectangles (x, y, w, h), clipped at 0. Their number, or
 * -ENOMEM. */
static long region_rects(struct tight_jpeg_client *st, sraRegionPtr region)
{
	size_t cap = sraRgnCountRects(region), n = 0;
	sraRect r;

	if (cap > st->region_cap) {
		uint32_t *p = realloc(st->region, cap * 4 * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->region = p;
		st->region_cap = cap;
	}
	sraRectangleIterator *it = sraRgnGetIterator(region);
	while (n < cap && sraRgnIteratorNext(it, &r)) {
		int x1 = r.x1 < 0 ? 0 : r.x1, y1 = r.y1 < 0 ? 0 : r.y1;

		if (r.x2 <= x1 || r.y2 <= y1)
			continue;
		uint32_t *q = st->region + 4 * n++;
		q[0] = (uint32_t)x1, q[1] = (uint32_t)y1;
		q[2] = (uint32_t)(r.x2 - x1), q[3] = (uint32_t)(r.y2 - y1);
	}
	sraRgnReleaseIterator(it);
	return (long)n;
}

/* ---- the lossless refresh timer ----------------------------------------------------- */

/* Timer thread: mark the due tiles as modified, so that the client's output thread sends
 * them (losslessly) at its next request even when the screen is still. */
static uint64_t refresh_fire(struct tight_waker_entry *e, uint64_t now)
{
	struct tight_jpeg_client *st =
		(struct tight_jpeg_client *)((char *)e - offsetof(struct tight_jpeg_client, wake));
	sraRegionPtr region = sraRgnCreate();
	uint64_t next = tight_jpeg_encoder_due(st->enc, now, region_add, region);

	if (!sraRgnEmpty(region))
		mark_modified(st->cl, region);
	sraRgnDestroy(region);
	return next;
}

/* ---- one update --------------------------------------------------------------------- */

/* The sink: the client's socket. rfbWriteExact does the WebSocket framing and TLS; a
 * failure closes the client. */
static int client_write(void *opaque, const void *buf, size_t n)
{
	rfbClientPtr cl = opaque;

	if (cl->sock < 0)
		return -1;
	if (rfbWriteExact(cl, buf, (int)n) <= 0) {
		rfbLogPerror("tight-jpeg: write");
		rfbCloseClient(cl);
		return -1;
	}
	return 0;
}

static uint64_t store_generation(void *fs)
{
	return frame_store_generation(fs);
}

static void jpeg_timed(double seconds)
{
	metrics_observe_encode(METRICS_ENC_TIGHT_JPEG, seconds);
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

/* The cache when another client with the same JPEG settings is being served too. */
static struct tight_cache *share_begin(struct tight_jpeg_client *st,
				       const struct tight_jpeg_params *p, uint64_t now)
{
	int key = p->quality << 8 | p->subsamp;
	struct tight_cache *cache = NULL;

	/* Sharing needs the frame store's generation. */
	if (!atomic_load(&frames))
		return NULL;
	pthread_mutex_lock(&registry.lock);
	st->share_key = key;
	st->share_ms = now;
	for (struct tight_jpeg_client *c = registry.head; c && !cache; c = c->reg_next)
		if (c != st && c->share_key == key && (int64_t)(now - c->share_ms) < SHARE_PEER_MS)
			cache = registry.cache;
	pthread_mutex_unlock(&registry.lock);
	return cache;
}

static void add_totals(struct totals *t, const struct tight_jpeg_update_stats *u)
{
	t->updates++;
	t->jpeg_rects += u->jpeg_rects;
	t->jpeg_bytes += u->jpeg_bytes;
	t->jpeg_shared += u->jpeg_shared;
	t->fill_rects += u->fill_rects;
	t->palette_rects += u->palette_rects;
	t->palette_bytes += u->palette_bytes;
	t->lossless_rects += u->lossless_rects;
	t->lossless_bytes += u->lossless_bytes;
}

static const char *subsamp_name(int subsamp)
{
	return subsamp == TJSAMP_444   ? "4:4:4"
	       : subsamp == TJSAMP_422 ? "4:2:2"
	       : subsamp == TJSAMP_420 ? "4:2:0"
				       : "gray";
}

/* Send the client's pending update. False if this path cannot serve it (it is left to
 * libvncserver) or the client went away. */
static bool send_update(struct tight_jpeg_client *st, rfbClientPtr cl,
			const struct tight_jpeg_params *params)
{
	rfbScreenInfoPtr s = cl->screen, src = cl->scaledScreen;
	uint64_t now = clock_now_ms();
	struct frame_store *fs = atomic_load(&frames);
	struct tight_jpeg_update_stats stats;
	long n;

	sraRegionPtr region = client_encoding_take_update(cl);
	if (!region)
		return true;
	if (s->width <= 0 || s->height <= 0 || (n = region_rects(st, region)) < 0) {
		client_encoding_give_back(cl, region);
		sraRgnDestroy(region);
		return false;
	}
	if (!st->have_params || st->params.quality != params->quality ||
	    st->params.subsamp != params->subsamp)
		log_debug("client %p: Tight-JPEG quality %d, subsampling %s (TurboJPEG from %s)",
			  (void *)cl, params->quality, subsamp_name(params->subsamp),
			  tight_jpeg_library());
	st->params = *params;
	st->have_params = true;

	uint64_t lib = library_rects(cl);
	if (lib != st->library_rects) {
		/* The library drew on the client's screen, maybe with its own JPEG: whatever it
		 * sent gets a lossless refresh too. */
		st->library_rects = lib;
		st->totals.library_updates++;
		tight_jpeg_encoder_forget(st->enc, now);
	}

	const struct tight_jpeg_frame frame = {
		.pixels = (const uint8_t *)src->frameBuffer,
		.stride = (size_t)src->paddedWidthInBytes,
		.width = (uint32_t)s->width,
		.height = (uint32_t)s->height,
		/* The frame store's generation names the shadow framebuffer's pixels; a drawn
		 * cursor's private copy is this client's own, and shares nothing. */
		.generation = fs && src == s ? store_generation : NULL,
		.generation_opaque = fs,
	};
	const struct tight_jpeg_settings settings = {
		.jpeg = *params,
		.compress_level = cl->tightCompressLevel,
		.last_rect = cl->enableLastRectEncoding,
		.refresh_ms = atomic_load(&refresh_delay_ms),
		.cache = share_begin(st, params, now),
		.jpeg_timed = jpeg_timed,
	};
	const struct byte_sink sink = {.write = client_write, .opaque = cl};

	/* Whatever is buffered belongs to a message before ours. */
	if (cl->ublen > 0 && !rfbSendUpdateBuf(cl)) {
		sraRgnDestroy(region);
		return false;
	}
	int r = tight_jpeg_encoder_update(st->enc, &frame, st->region, (size_t)n, &settings, now,
					  &sink, &stats);
	if (r == -ENOMEM || r == -EINVAL) {
		client_encoding_give_back(cl, region);
		sraRgnDestroy(region);
		return false;
	}
	sraRgnDestroy(region);
	for (unsigned i = 0; i < stats.messages; i++)
		rfbStatRecordMessageSent(cl, rfbFramebufferUpdate, 0, 0);
	add_totals(&st->totals, &stats);
	if (r == 0 && stats.n_retry) {
		sraRegionPtr retry = sraRgnCreate();

		for (size_t i = 0; i < stats.n_retry; i++)
			region_add(retry, stats.retry + 4 * i);
		mark_modified(cl, retry);
		sraRgnDestroy(retry);
	}
	tight_waker_schedule(&st->wake, stats.next_refresh_ms);
	return r == 0;
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
