/* The Open H.264 encoding: start-up choice, per-client state, framing and sending.
 * See open_h264.h; the shared streams are open_h264_stream.c.
 */
#include "open_h264.h"

#include <errno.h>
#include <pthread.h>
#include <rfb/rfbregion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "drawn_cursor.h"
#include "frame_store.h"
#include "log.h"
#include "metrics.h"
#include "open_h264_fault.h"
#include "plane.h"
#include "rfb_wire.h"

/* A client's state: its slot in client_encoding (CLIENT_PATH_H264). Made when the client
 * connects (new_state) and freed by free_state() once both of the client's
 * threads have ended, so the request hook (input thread) and serve() (output thread)
 * can use it without a lock. */
struct open_h264_client {
	atomic_uint nonincremental; /* non-incremental requests seen (input thread) */

	/* Output thread only (under the client's sendMutex). */
	unsigned nonincremental_seen;
	struct h264_stream *stream;
	struct h264_stream_key key;
	struct h264_stream_pos pos;
	struct h264_au **batch; /* OPEN_H264_MAX_FRAMES slots */
	uint8_t *drawn;         /* the picture with the cursor drawn in (cursor_drawn streams) */
	size_t drawn_size;
	bool reset_all;         /* the screen size changed: the next context start says so */
	bool failed;            /* no encoder works: libvncserver serves this client */
	bool zero_copy;         /* counted in the frame store as taking no CPU pixels */
	bool counted;           /* counted in the frame store as a client */

	/* A frame failed: the client's request waits, unanswered, for the next publish
	 * (on_publish, capture thread), which asks again for held_region (what it asked for
	 * that had damage; under the client's sendMutex); its damage stays modified. */
	atomic_bool held;
	sraRegionPtr held_region;
};

static struct {
	bool ready;                /* written by init/shutdown, before/after every client */
	bool asked;                /* --encoder named the back end (not auto) */
	enum h264_backend backend; /* resolved: VPL or X264 */
	unsigned caps;             /* its H264_TAKES_* */
	struct h264_hub *hub;
	struct frame_store *frames; /* the caller's (open_h264_init) */
	_Atomic(rfbScreenInfoPtr) screen; /* the clients' screen, for on_publish */
	atomic_uint held;           /* clients with a request held */
} g;

/* ---- framing ----------------------------------------------------------------------- */

size_t open_h264_header(uint8_t out[OPEN_H264_HEADER_SIZE], uint16_t width, uint16_t height,
			uint32_t len, uint32_t flags)
{
	uint8_t *p = rfb_wire_fbu_header(out, 1);
	p = rfb_wire_rect_header(p, 0, 0, width, height, RFB_ENCODING_OPEN_H264);
	p = put_be32(p, len);
	p = put_be32(p, flags);
	return (size_t)(p - out);
}

unsigned open_h264_quality(int tight_quality, int turbo_quality)
{
	if (tight_quality >= 0 && tight_quality <= 9)
		return (unsigned)tight_quality;
	/* The fine-grained JPEG quality, 1..100, in tenths: 91..100 is 9. */
	if (turbo_quality >= 1 && turbo_quality <= 100)
		return (unsigned)(turbo_quality - 1) / 10;
	return 6;
}

/* ---- per-client state and the request hook ------------------------------------------- */

/* Input thread: every FramebufferUpdateRequest, already clipped by libvncserver, before
 * libvncserver adds it to the client's requested region (client_encoding.c's request
 * hook calls this).
 *
 * A non-incremental request means the client wants the whole screen afresh: for us, a
 * new context. noVNC sends one at connect and then only incremental requests.
 *
 * For a client that listed encoding 50 we also register the request ourselves, at a
 * moment when no update is in progress. The reason: libvncserver goes on with its own
 * update after the displayHook, and sends the damage it copied before the hook that lies
 * in the requested region. We empty that region when we answer; a client that answers
 * our update at once (loopback, a fast viewer) could otherwise get its next request in
 * before libvncserver looks, and receive our damage a second time from libvncserver's
 * encoder (seen: a full-screen raw rectangle after the first picture). The output thread
 * holds the client's sendMutex for the whole update, so registering under it orders
 * every request before or after an update, never inside. The input thread may wait for
 * that update's writes; libvncserver's own input-side messages take the same lock. */
static bool on_request(rfbClientPtr cl, struct client_encoding *ce,
		       const rfbFramebufferUpdateRequestMsg *msg)
{
	struct open_h264_client *st = ce->state[CLIENT_PATH_H264];
	if (!st)
		return false;
	if (!msg->incremental)
		atomic_fetch_add(&st->nonincremental, 1);
	/* listed: this thread's (SetEncodings). */
	if (!ce->listed[CLIENT_PATH_H264] || msg->w == 0 || msg->h == 0)
		return false;
	sraRegionPtr rect = sraRgnCreateRect(msg->x, msg->y, msg->x + msg->w, msg->y + msg->h);
	LOCK(cl->sendMutex);
	LOCK(cl->updateMutex);
	/* What libvncserver does with a request (rfbserver.c, rfbFramebufferUpdateRequest). */
	sraRgnOr(cl->requestedRegion, rect);
	if (!msg->incremental) {
		/* All of it afresh, and the screen's size too for ExtendedDesktopSize. */
		sraRgnOr(cl->modifiedRegion, rect);
		sraRgnSubtract(cl->copyRegion, rect);
		cl->newFBSizePending = cl->useExtDesktopSize ? TRUE : cl->newFBSizePending;
	}
	TSIGNAL(cl->updateCond);
	UNLOCK(cl->updateMutex);
	UNLOCK(cl->sendMutex);
	sraRgnDestroy(rect);
	return true;
}

/* The handshake thread (client_encoding.c's newClient): the client's state, before its
 * threads start, so the request hook (input thread) and serve() (output thread) find it. */
static void *new_state(rfbClientPtr cl)
{
	(void)cl;
	struct open_h264_client *st = calloc(1, sizeof(struct open_h264_client));
	/* Every client counts: until it takes H.264 from the plane it may read pixels. */
	if (st && g.frames) {
		frame_store_count_client(g.frames, 1);
		st->counted = true;
	}
	return st;
}

static void set_zero_copy(struct open_h264_client *c, bool on)
{
	if (c->zero_copy == on || !g.frames)
		return;
	c->zero_copy = on;
	frame_store_count_zero_copy(g.frames, on ? 1 : -1);
}

static void free_state(void *state)
{
	struct open_h264_client *st = state;
	if (!st)
		return;
	if (st->stream)
		h264_hub_release(g.hub, st->stream);
	set_zero_copy(st, false);
	if (st->counted)
		frame_store_count_client(g.frames, -1);
	if (atomic_load(&st->held))
		atomic_fetch_sub(&g.held, 1);
	if (st->held_region)
		sraRgnDestroy(st->held_region);
	free(st->drawn);
	free(st->batch);
	free(st);
}

/* ---- the picture to encode ------------------------------------------------------------ */

struct frame_source {
	rfbClientPtr cl;
	struct open_h264_client *c;
	int fd; /* the snapshot's dup, -1 if none */
};

/* The shadow framebuffer with the cursor drawn in, in the client's buffer: what a stream
 * for clients without cursor shapes encodes (CPU pixels only: the plane has no cursor). */
static int drawn_picture(struct frame_source *src, struct h264_frame *f, uint64_t *gen,
			 uint64_t *overlay)
{
	rfbScreenInfoPtr s = src->cl->screen;
	size_t stride = (size_t)s->width * 4, size = stride * (size_t)s->height;
	if (src->c->drawn_size != size) {
		uint8_t *p = malloc(size);
		if (!p)
			return -ENOMEM;
		free(src->c->drawn);
		src->c->drawn = p;
		src->c->drawn_size = size;
	}
	*gen = frame_store_generation(g.frames);
	for (int y = 0; y < s->height; y++)
		memcpy(src->c->drawn + (size_t)y * stride,
		       s->frameBuffer + (size_t)y * (size_t)s->paddedWidthInBytes, stride);
	*overlay = drawn_cursor_overlay(s, src->c->drawn, stride);
	f->pixels = src->c->drawn;
	f->stride = stride;
	return 0;
}

/* Stream lock held; the client's sendMutex keeps the framebuffer from being replaced. */
static int source_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	struct frame_source *src = opaque;
	rfbScreenInfoPtr s = src->cl->screen;
	f->pixels = (const uint8_t *)s->frameBuffer;
	f->stride = (size_t)s->paddedWidthInBytes;
	f->fourcc = PLANE_FORMAT_XRGB8888;
	f->pixels_fourcc = 0;
	f->dmabuf_fd = -1;
	*overlay = 0;
	src->fd = -1;
	if (src->c->key.cursor_drawn)
		return drawn_picture(src, f, gen, overlay);
	if (!(g.caps & H264_TAKES_DMABUF)) {
		*gen = frame_store_generation(g.frames);
		return 0;
	}
	/* The back end imports the plane's dma-buf; the shadow framebuffer rides along
	 * (XRGB8888) for one that takes pixels too, and for x264 when there is no plane to
	 * import. A plane of another size is a mode change in progress, a region plane (mdpy)
	 * has no dma-buf: pixels only, until the store catches up. */
	struct frame_snapshot snap;
	int r = frame_store_snapshot(g.frames, &snap);
	*gen = snap.generation;
	if (r == 0 && snap.fd >= 0 && snap.plane.width == (uint32_t)s->width &&
	    snap.plane.height == (uint32_t)s->height) {
		f->fourcc = snap.plane.fourcc;
		f->pixels_fourcc = PLANE_FORMAT_XRGB8888;
		f->dmabuf_fd = snap.fd;
		f->dmabuf_id = snap.plane.dmabuf_id;
		f->modifier = snap.plane.modifier;
		f->dmabuf_stride = snap.plane.stride;
		f->dmabuf_size = snap.plane.size;
		src->fd = snap.fd;
	} else if (snap.fd >= 0) {
		close(snap.fd);
	}
	return 0;
}

static void source_put(void *opaque, struct h264_frame *f)
{
	struct frame_source *src = opaque;
	(void)f;
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

/* ---- sending ------------------------------------------------------------------------- */

/* The caller holds cl->sendMutex (libvncserver's clientOutput does, around the
 * displayHook), so the message goes out whole even in several writes. */
static bool write_all(rfbClientPtr cl, const void *buf, size_t len)
{
	if (rfbWriteExact(cl, buf, (int)len) > 0)
		return true;
	rfbLogPerror("open_h264: write");
	rfbCloseClient(cl);
	return false;
}

static bool send_batch(rfbClientPtr cl, const struct h264_batch *b, uint32_t flags)
{
	uint8_t hdr[OPEN_H264_HEADER_SIZE];
	uint16_t w = (uint16_t)cl->screen->width, h = (uint16_t)cl->screen->height;
	open_h264_header(hdr, w, h, (uint32_t)b->bytes, flags);
	if (!write_all(cl, hdr, sizeof(hdr)))
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (!write_all(cl, b->aus[i]->data, b->aus[i]->len))
			return false;
	rfbStatRecordEncodingSent(cl, RFB_ENCODING_OPEN_H264, (int)(sizeof(hdr) + b->bytes),
				  w * h * 4);
	return true;
}

/* Answer a request with a FramebufferUpdate of no rectangles. */
static void send_empty(rfbClientPtr cl)
{
	static const uint8_t empty[4] = {rfbFramebufferUpdate, 0, 0, 0};
	write_all(cl, empty, sizeof(empty));
}

static void remark(rfbClientPtr cl, sraRegionPtr region)
{
	LOCK(cl->updateMutex);
	sraRgnOr(cl->modifiedRegion, region);
	UNLOCK(cl->updateMutex);
}

/* Join the stream for the client's current settings; false when out of memory. */
static bool follow_settings(rfbClientPtr cl, const struct client_encoding *ce,
			    struct open_h264_client *c)
{
	struct h264_stream_key key = {
		.width = (uint32_t)cl->screen->width,
		.height = (uint32_t)cl->screen->height,
		.quality = open_h264_quality(cl->tightQualityLevel, cl->turboQualityLevel),
		.cursor_drawn = !ce->takes_cursor,
	};
	if (c->stream && key.width == c->key.width && key.height == c->key.height &&
	    key.quality == c->key.quality && key.cursor_drawn == c->key.cursor_drawn)
		return true;
	if (c->stream) {
		if (key.width != c->key.width || key.height != c->key.height)
			c->reset_all = true;
		h264_hub_release(g.hub, c->stream);
	}
	memset(&c->pos, 0, sizeof(c->pos));
	c->key = key;
	c->stream = h264_hub_acquire(g.hub, &key);
	return c->stream != NULL;
}

/* Capture thread, after every publish: clients whose frame failed ask again, now. Their
 * damage is still modified; the request goes back as on_request registers one, under the
 * client's sendMutex, between updates. A client in the middle of an update keeps its
 * request held until the next publish. */
static void on_publish(void *arg)
{
	(void)arg;
	rfbScreenInfoPtr s = atomic_load(&g.screen);
	if (!s || atomic_load(&g.held) == 0)
		return;
	rfbClientIteratorPtr it = rfbGetClientIterator(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		struct client_encoding *ce = client_encoding_get(cl);
		struct open_h264_client *st = ce ? ce->state[CLIENT_PATH_H264] : NULL;
		if (!st || !atomic_load(&st->held) || pthread_mutex_trylock(&cl->sendMutex) != 0)
			continue;
		if (atomic_exchange(&st->held, false)) {
			atomic_fetch_sub(&g.held, 1);
			LOCK(cl->updateMutex);
			sraRgnOr(cl->requestedRegion, st->held_region);
			TSIGNAL(cl->updateCond);
			UNLOCK(cl->updateMutex);
			sraRgnMakeEmpty(st->held_region);
		}
		UNLOCK(cl->sendMutex);
	}
	rfbReleaseClientIterator(it);
}

/* The frame failed: no answer now. The damage goes back to the modified region (it is
 * not lost on a still screen) and the request, as far as it had damage, waits for the
 * next publish. Under the client's sendMutex. */
static void hold(rfbClientPtr cl, struct open_h264_client *c, sraRegionPtr region)
{
	remark(cl, region);
	if (!c->held_region)
		c->held_region = sraRgnCreate();
	sraRgnOr(c->held_region, region);
	atomic_store(&g.screen, cl->screen);
	if (!atomic_exchange(&c->held, true))
		atomic_fetch_add(&g.held, 1);
}

static bool serve(rfbClientPtr cl, const struct client_encoding *ce, struct open_h264_client *c)
{
	/* A client that takes no cursor shapes shares a stream with the cursor drawn in
	 * (the key's cursor_drawn); one whose every encoder failed stays with libvncserver. */
	if (c->failed) {
		c->pos.joined = false;
		return false;
	}
	if (!c->batch) {
		c->batch = calloc(OPEN_H264_MAX_FRAMES, sizeof(*c->batch));
		if (!c->batch)
			return false;
	}
	if (!follow_settings(cl, ce, c))
		return false;
	unsigned nonincremental = atomic_load(&c->nonincremental);
	sraRegionPtr region = client_encoding_take_update(cl);
	if (!region)
		return true; /* nothing asked for has changed: pseudo-rectangles only */

	/* The capture thread publishes a picture before it marks its damage (capture.c), so
	 * the generation read after taking the damage is at least the damage's picture. */
	struct h264_need need = {
		.gen = frame_store_generation(g.frames),
		.overlay = c->key.cursor_drawn ? drawn_cursor_overlay(cl->screen, NULL, 0) : 0,
		.damage = true,
		.reset = nonincremental != c->nonincremental_seen,
	};
	c->nonincremental_seen = nonincremental;
	struct frame_source fsrc = {.cl = cl, .c = c, .fd = -1};
	struct h264_source src = {.get = source_get, .put = source_put, .opaque = &fsrc};
	struct h264_batch b = {.aus = c->batch, .cap = OPEN_H264_MAX_FRAMES};
	char why[256];
	int r = h264_stream_update(g.hub, c->stream, &c->pos, &need, &src, &b, why, sizeof(why));
	if (r == H264_STREAM_SKIPPED) {
		hold(cl, c, region);
		sraRgnDestroy(region);
		return true;
	}
	if (r < 0) {
		log_warn("h264: client %p: %s; serving it with libvncserver's encodings from now on",
			 (void *)cl, why);
		c->failed = true;
		set_zero_copy(c, false);
		/* libvncserver then sends this update itself: the region it is about to send is
		 * the damage it copied before calling the displayHook. */
		client_encoding_give_back(cl, region);
		sraRgnDestroy(region);
		return false;
	}
	set_zero_copy(c, b.zero_copy);
	if (b.n == 0) {
		/* The request is taken: answer it, or the client would wait for ever. */
		send_empty(cl);
	} else {
		uint32_t flags = 0;
		if (b.reset) {
			flags |= OPEN_H264_RESET_CONTEXT;
			if (c->reset_all)
				flags |= OPEN_H264_RESET_ALL_CONTEXTS;
			c->reset_all = false;
		}
		send_batch(cl, &b, flags);
	}
	h264_batch_release(&b);
	/* A newer picture than what we sent exists already: its damage may be what we just
	 * took, so keep it for the client's next request. */
	if (frame_store_generation(g.frames) > b.newest_gen)
		remark(cl, region);
	sraRgnDestroy(region);
	return true;
}

static bool send_update(rfbClientPtr cl, struct client_encoding *ce)
{
	struct open_h264_client *st = ce->state[CLIENT_PATH_H264];
	/* No state: out of memory when the client connected; libvncserver serves it. */
	if (!g.ready || !st)
		return false;
	return serve(cl, ce, st);
}

/* For a client that listed encoding 50, once open_h264_init() succeeded. */
static bool applies(rfbClientPtr cl, struct client_encoding *ce)
{
	(void)cl;
	return ce->listed[CLIENT_PATH_H264] && g.ready;
}

const struct client_encoding_ops open_h264_ops = {
	.name = "h264", .title = "Open H.264", .path = CLIENT_PATH_H264,
	.pseudo_encoding = RFB_ENCODING_OPEN_H264,
	.new_state = new_state, .free_state = free_state,
	.applies = applies, .send_update = send_update, .on_request = on_request,
};

/* ---- start and stop ------------------------------------------------------------------- */

const char *open_h264_backend_name(void)
{
	return g.ready ? h264_backend_name(g.backend) : "off";
}

static void observe_encode(double seconds)
{
	metrics_observe_encode(METRICS_ENC_H264, seconds);
}

int open_h264_init(const struct config *cfg, struct frame_store *frames, char *err,
		   size_t err_len)
{
	if (g.ready)
		return 0;
	g.frames = frames;
	/* A trial encoder decides once: VPL needs its runtime and a VA display, which either
	 * are here or not for the life of the process. */
	struct h264_encoder_config ec = {
		.width = 640, .height = 480, .fps = cfg->fps, .quality = 6,
		.threads = cfg->x264_threads,
	};
	struct h264_encoder *enc = NULL;
	char why[512];
	int r = h264_encoder_create(cfg->encoder, &ec, &enc, why, sizeof(why));
	if (r < 0) {
		if (cfg->encoder != H264_BACKEND_AUTO) {
			snprintf(err, err_len, "H.264 (--encoder %s): %s",
				 h264_backend_name(cfg->encoder), why);
			return r;
		}
		log_warn("H.264: %s; clients that ask for H.264 get other encodings", why);
		return 0;
	}
	/* Streams make their encoders with the back end that worked here (its name is its
	 * --encoder word), and feed it what it takes. */
	h264_backend_parse(enc->impl->name, &g.backend);
	g.caps = enc->impl->caps;
	h264_encoder_destroy(enc);
	log_info("H.264: %s", why);
	if (g.backend == H264_BACKEND_X264 && cfg->x264_threads > 1)
		log_warn("H.264: --x264-threads %u makes %u slices per picture, which noVNC cannot "
			 "decode", cfg->x264_threads, cfg->x264_threads);

	struct h264_hub_config hc = {
		.backend = g.backend,
		.fps = cfg->fps,
		.threads = cfg->x264_threads,
		.observe_encode = observe_encode,
		.create = open_h264_fault_factory(),
		.limits = {
			.max_frames = OPEN_H264_MAX_FRAMES,
			.max_bytes = OPEN_H264_MAX_BYTES,
			.replay_max_bytes = OPEN_H264_REPLAY_MAX_BYTES,
			.idr_interval_ms = (uint64_t)cfg->idr_interval * 1000u,
		},
	};
	r = h264_hub_create(&hc, &g.hub);
	if (r < 0) {
		snprintf(err, err_len, "H.264: %s", strerror(-r));
		return r;
	}
	frame_store_set_publish_hook(frames, on_publish, NULL);
	g.asked = cfg->encoder != H264_BACKEND_AUTO;
	g.ready = true;
	metrics_set_h264_backend(h264_backend_name(g.backend));
	return 0;
}

/* The probe's frame: the plane's dma-buf, and the shadow framebuffer's pixels (as
 * source_get gives them) for a back end that reads them. */
struct probe_frame {
	struct frame_snapshot snap;
	const uint8_t *pixels;
	size_t stride;
};

static int probe_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	const struct probe_frame *p = opaque;
	*gen = p->snap.generation;
	*overlay = 0;
	f->pixels = p->pixels;
	f->stride = p->stride;
	f->pixels_fourcc = PLANE_FORMAT_XRGB8888;
	f->fourcc = p->snap.plane.fourcc;
	f->dmabuf_fd = p->snap.fd;
	f->dmabuf_id = p->snap.plane.dmabuf_id;
	f->modifier = p->snap.plane.modifier;
	f->dmabuf_stride = p->snap.plane.stride;
	f->dmabuf_size = p->snap.plane.size;
	return 0;
}

static void probe_put(void *opaque, struct h264_frame *f)
{
	(void)opaque;
	(void)f;
}

int open_h264_probe(const uint8_t *pixels, size_t stride, char *err, size_t err_len)
{
	if (!g.ready || !(g.caps & H264_TAKES_DMABUF))
		return 0;
	struct probe_frame p = {.pixels = pixels, .stride = stride};
	if (frame_store_snapshot(g.frames, &p.snap) < 0 || p.snap.fd < 0) {
		if (p.snap.fd >= 0)
			close(p.snap.fd);
		log_info("H.264: no plane to try %s on yet", h264_backend_name(g.backend));
		return 0;
	}
	struct h264_source src = {.get = probe_get, .put = probe_put, .opaque = &p};
	char why[256];
	int r = h264_hub_probe(g.hub, p.snap.plane.width, p.snap.plane.height, &src, why,
			       sizeof(why));
	close(p.snap.fd);
	if (r == 0) {
		log_info("H.264: %s imported and encoded a %ux%u frame of the source",
			 h264_backend_name(g.backend), p.snap.plane.width, p.snap.plane.height);
		return 0;
	}
	if (g.asked) {
		snprintf(err, err_len, "H.264 (--encoder %s): %s", h264_backend_name(g.backend), why);
		return r;
	}
	log_warn("H.264: %s; using x264 (software)", why);
	g.backend = H264_BACKEND_X264;
	g.caps = h264_x264_impl.caps;
	h264_hub_set_backend(g.hub, g.backend);
	metrics_set_h264_backend(h264_backend_name(g.backend));
	return 0;
}

void open_h264_shutdown(void)
{
	g.ready = false;
	if (g.frames)
		frame_store_set_publish_hook(g.frames, NULL, NULL);
	atomic_store(&g.screen, NULL);
	metrics_set_h264_backend("off");
	h264_hub_destroy(g.hub);
	g.hub = NULL;
}
