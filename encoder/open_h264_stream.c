/* Shared H.264 streams: the hub, the AU lists and the encode decision. See
 * open_h264_stream.h. */
#include "open_h264_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct h264_stream {
	struct h264_stream *next; /* hub list; hub lock */
	unsigned refs;            /* hub lock */
	struct h264_stream_key key;

	pthread_mutex_t lock;     /* everything below */
	struct h264_encoder *enc; /* made on the first encode */
	enum h264_backend enc_backend; /* enc's */
	bool fallen_back;         /* too many failed frames: x264 for good */
	bool broken;              /* no encoder works, not even x264: no more encodes */
	bool retry;               /* the last frame failed: the next turn encodes again */
	bool zero_copy;           /* the last picture came from the plane, not CPU pixels */
	unsigned failures;        /* failed frames in a row */
	uint64_t epoch;           /* +1 for every new encoder: a new context for everyone */
	struct h264_au **aus;     /* since the last IDR; aus[0] is that IDR */
	size_t n, bytes;
	uint64_t next_seq;        /* seq of the next AU made */
	uint64_t last_gen;        /* generation of the newest picture */
	uint64_t last_overlay;    /* and what was drawn over it */
	uint64_t last_idr_ms;
};

struct h264_hub {
	struct h264_hub_config cfg;
	struct h264_hub_stats stats;
	pthread_mutex_t lock;
	struct h264_stream *streams;
};

void h264_au_put(struct h264_au *au)
{
	if (au && atomic_fetch_sub(&au->refs, 1) == 1)
		free(au);
}

static struct h264_au *au_get(struct h264_au *au)
{
	atomic_fetch_add(&au->refs, 1);
	return au;
}

int h264_hub_create(const struct h264_hub_config *cfg, struct h264_hub **out)
{
	*out = NULL;
	if (cfg->limits.max_frames == 0)
		return -EINVAL;
	struct h264_hub *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return -ENOMEM;
	hub->cfg = *cfg;
	if (!hub->cfg.create)
		hub->cfg.create = h264_encoder_create;
	if (!hub->cfg.now_ms)
		hub->cfg.now_ms = clock_now_ms;
	pthread_mutex_init(&hub->lock, NULL);
	*out = hub;
	return 0;
}

void h264_hub_destroy(struct h264_hub *hub)
{
	if (!hub)
		return;
	if (hub->streams)
		log_warn("h264: %s with streams still in use", __func__);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

const struct h264_hub_config *h264_hub_config(const struct h264_hub *hub)
{
	return &hub->cfg;
}

const struct h264_hub_stats *h264_hub_stats(const struct h264_hub *hub)
{
	return &hub->stats;
}

static bool key_equal(const struct h264_stream_key *a, const struct h264_stream_key *b)
{
	return a->width == b->width && a->height == b->height && a->quality == b->quality &&
	       a->cursor_drawn == b->cursor_drawn;
}

static void drop_aus(struct h264_stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		h264_au_put(s->aus[i]);
	s->n = 0;
	s->bytes = 0;
}

static void stream_free(struct h264_stream *s)
{
	drop_aus(s);
	h264_encoder_destroy(s->enc);
	pthread_mutex_destroy(&s->lock);
	free(s->aus);
	free(s);
}

struct h264_stream *h264_hub_acquire(struct h264_hub *hub, const struct h264_stream_key *key)
{
	pthread_mutex_lock(&hub->lock);
	struct h264_stream *s = hub->streams;
	while (s && !key_equal(&s->key, key))
		s = s->next;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (s)
			s->aus = calloc(hub->cfg.limits.max_frames, sizeof(*s->aus));
		if (!s || !s->aus) {
			free(s);
			pthread_mutex_unlock(&hub->lock);
			return NULL;
		}
		s->key = *key;
		pthread_mutex_init(&s->lock, NULL);
		s->next = hub->streams;
		hub->streams = s;
	}
	s->refs++;
	pthread_mutex_unlock(&hub->lock);
	return s;
}

void h264_hub_release(struct h264_hub *hub, struct h264_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&hub->lock);
	bool last = --s->refs == 0;
	if (last) {
		struct h264_stream **p = &hub->streams;
		while (*p != s)
			p = &(*p)->next;
		*p = s->next;
	}
	pthread_mutex_unlock(&hub->lock);
	/* Nobody else can reach it now: no lock needed to take it apart. */
	if (last)
		stream_free(s);
}

static unsigned backend_caps(enum h264_backend b)
{
	return b == H264_BACKEND_VPL ? h264_vpl_impl.caps : h264_x264_impl.caps;
}

/* The back end for this frame: the hub's (x264 once the stream fell back), unless it
 * cannot take what the frame has (a back end that only imports, and no dma-buf: display
 * off, mode switch, region plane, cursor drawn in), then x264 from the CPU pixels. */
static enum h264_backend pick_backend(const struct h264_hub *hub, const struct h264_stream *s,
				      const struct h264_frame *f)
{
	enum h264_backend want = s->fallen_back ? H264_BACKEND_X264 : hub->cfg.backend;
	unsigned caps = backend_caps(want);
	if ((f->dmabuf_fd >= 0 && (caps & H264_TAKES_DMABUF)) ||
	    (f->pixels && (caps & H264_TAKES_PIXELS)))
		return want;
	return H264_BACKEND_X264;
}

/* Make s->enc a b encoder. A new encoder is a new context: the AUs of the old one go,
 * the next AU is an IDR and every client resets (epoch). A hardware encoder that cannot
 * be made leaves the stream on x264. 0, or a negative errno when not even x264 works. */
static int use_encoder(struct h264_hub *hub, struct h264_stream *s, enum h264_backend b,
		       char *why, size_t why_len)
{
	if (s->enc && s->enc_backend == b)
		return 0;
	struct h264_encoder_config ec = {
		.width = s->key.width,
		.height = s->key.height,
		.fps = hub->cfg.fps,
		.quality = s->key.quality,
		.threads = hub->cfg.threads,
	};
	struct h264_encoder *enc = NULL;
	int r = hub->cfg.create(b, &ec, &enc, why, why_len);
	if (r < 0 && b != H264_BACKEND_X264) {
		log_warn("h264: %ux%u quality %u: no %s encoder (%s); x264 from now on",
			 s->key.width, s->key.height, s->key.quality, h264_backend_name(b), why);
		s->fallen_back = true;
		b = H264_BACKEND_X264;
		if (s->enc && s->enc_backend == b)
			return 0;
		r = hub->cfg.create(b, &ec, &enc, why, why_len);
	}
	if (r < 0)
		return r;
	log_debug("h264: encoder for %ux%u quality %u%s: %s", s->key.width, s->key.height,
		  s->key.quality, s->key.cursor_drawn ? " (cursor drawn in)" : "", why);
	if (s->enc) {
		atomic_fetch_add(&hub->stats.moves, 1);
		log_info("h264: %ux%u quality %u: %s → %s encoder, a new context for its clients",
			 s->key.width, s->key.height, s->key.quality,
			 h264_backend_name(s->enc_backend), h264_backend_name(b));
	}
	h264_encoder_destroy(s->enc);
	s->enc = enc;
	s->enc_backend = b;
	s->epoch++;
	drop_aus(s);
	return 0;
}

/* A frame that failed: skipped, and tried again on the next turn. Too many in a row move
 * a hardware stream to x264; on x264 they end the stream. */
static int frame_failed(struct h264_hub *hub, struct h264_stream *s, int err, const char *why)
{
	static struct log_ratelimit rl;
	s->retry = true;
	s->failures++;
	atomic_fetch_add(&hub->stats.skipped, 1);
	log_ratelimited(&rl, 5000, LOG_WARN,
			"h264: %ux%u quality %u: frame skipped (%u in a row), its damage kept: %s",
			s->key.width, s->key.height, s->key.quality, s->failures, why);
	if (s->failures < H264_STREAM_MAX_FAILURES)
		return H264_STREAM_SKIPPED;
	if (s->enc_backend == H264_BACKEND_X264) {
		s->broken = true;
		return err < 0 ? err : -EIO;
	}
	log_warn("h264: %ux%u quality %u: %u failed frames in a row on %s; x264 from now on",
		 s->key.width, s->key.height, s->key.quality, s->failures,
		 h264_backend_name(s->enc_backend));
	s->fallen_back = true;
	s->failures = 0;
	return H264_STREAM_SKIPPED;
}

/* Encode one picture into the stream. Stream lock held. 0, H264_STREAM_SKIPPED or a
 * negative errno (no encoder at all). */
static int encode(struct h264_hub *hub, struct h264_stream *s, const struct h264_source *src,
		  bool force_idr, char *why, size_t why_len)
{
	const struct h264_limits *lim = &hub->cfg.limits;
	uint64_t now = hub->cfg.now_ms();
	struct h264_frame frame;
	uint64_t gen = 0, overlay = 0;
	memset(&frame, 0, sizeof(frame));
	frame.dmabuf_fd = -1;
	int r = src->get(src->opaque, &frame, &gen, &overlay);
	if (r < 0) {
		snprintf(why, why_len, "no frame to encode: %s", strerror(-r));
		return frame_failed(hub, s, r, why);
	}
	enum h264_backend b = pick_backend(hub, s, &frame);
	r = use_encoder(hub, s, b, why, why_len);
	if (r < 0) {
		src->put(src->opaque, &frame);
		s->broken = true;
		return r;
	}
	/* The list restarts at an IDR when it is full, and an IDR is due periodically. */
	bool full = s->n >= lim->max_frames || (s->n > 1 && s->bytes >= lim->max_bytes);
	bool due = lim->idr_interval_ms && now - s->last_idr_ms >= lim->idr_interval_ms;
	force_idr |= s->n == 0 || full || due;

	struct h264_packet pkt;
	double t0 = 1e3 * clock_now_s();
	r = h264_encoder_encode(s->enc, &frame, force_idr, &pkt);
	double ms = 1e3 * clock_now_s() - t0;
	if (hub->cfg.observe_encode)
		hub->cfg.observe_encode(ms / 1000.0);
	bool imported = frame.dmabuf_fd >= 0 && (s->enc->impl->caps & H264_TAKES_DMABUF);
	src->put(src->opaque, &frame);
	if (r < 0) {
		snprintf(why, why_len, "%s encoder failed: %s", s->enc->impl->name, strerror(-r));
		/* -ENODEV: the back end's session is dead for good (h264_vpl.h); waiting for
		 * more failures would only freeze the picture longer. */
		if (r == -ENODEV && s->failures + 1 < H264_STREAM_MAX_FAILURES)
			s->failures = H264_STREAM_MAX_FAILURES - 1;
		return frame_failed(hub, s, r, why);
	}
	if (force_idr && !pkt.idr) {
		snprintf(why, why_len, "%s encoder made no IDR when asked", s->enc->impl->name);
		return frame_failed(hub, s, -EIO, why);
	}
	struct h264_au *au = malloc(sizeof(*au) + pkt.len);
	if (!au) {
		snprintf(why, why_len, "out of memory for a %zu-byte access unit", pkt.len);
		return frame_failed(hub, s, -ENOMEM, why);
	}
	s->failures = 0;
	s->retry = false;
	s->zero_copy = imported;
	atomic_init(&au->refs, 1);
	au->seq = s->next_seq++;
	au->gen = gen;
	au->idr = pkt.idr;
	au->len = pkt.len;
	memcpy(au->data, pkt.data, pkt.len);
	if (pkt.idr) {
		drop_aus(s);
		s->last_idr_ms = now;
	}
	s->aus[s->n++] = au;
	s->bytes += au->len;
	s->last_gen = gen;
	s->last_overlay = overlay;

	uint64_t count = atomic_fetch_add(&hub->stats.encodes, 1) + 1;
	if (pkt.idr)
		atomic_fetch_add(&hub->stats.idrs, 1);
	atomic_fetch_add(&hub->stats.bytes, pkt.len);
	/* The integration test counts these lines against what clients receive. */
	log_debug("h264: encoded frame %" PRIu64 " (%s, %zu bytes, %.2f ms, %s) for %ux%u "
		  "quality %u, generation %" PRIu64,
		  count, pkt.idr ? "IDR" : "P", pkt.len, ms, s->enc->impl->name, s->key.width,
		  s->key.height, s->key.quality, gen);
	return 0;
}

int h264_stream_update(struct h264_hub *hub, struct h264_stream *s, struct h264_stream_pos *pos,
		       const struct h264_need *need, const struct h264_source *src,
		       struct h264_batch *out, char *why, size_t why_len)
{
	const struct h264_limits *lim = &hub->cfg.limits;
	out->n = out->bytes = 0;
	out->reset = out->encoded = out->zero_copy = false;
	why[0] = '\0';

	pthread_mutex_lock(&s->lock);
	int r = 0;
	if (s->broken) {
		snprintf(why, why_len, "the stream's encoder failed before");
		r = -EIO;
		goto out;
	}
	uint64_t first_seq = s->n ? s->aus[0]->seq : s->next_seq;
	bool reset = need->reset || !pos->joined || pos->epoch != s->epoch ||
		     pos->next_seq < first_seq || pos->next_seq > s->next_seq;
	bool newer = need->damage &&
		     (need->gen > s->last_gen || need->overlay != s->last_overlay);
	bool long_replay = reset && s->n > 1 && s->bytes > lim->replay_max_bytes;
	if (s->n == 0 || newer || long_replay || s->retry) {
		r = encode(hub, s, src, long_replay, why, why_len);
		if (r != 0)
			goto out;
		out->encoded = true;
	}
	/* A new encoder is a new context for everyone. */
	reset |= pos->epoch != s->epoch;
	/* The list always starts at an IDR, so a context start takes all of it. */
	first_seq = s->aus[0]->seq;
	uint64_t start = reset ? first_seq : pos->next_seq;
	for (size_t i = 0; i < s->n && out->n < out->cap; i++) {
		if (s->aus[i]->seq < start)
			continue;
		out->aus[out->n++] = au_get(s->aus[i]);
		out->bytes += s->aus[i]->len;
	}
	out->reset = reset;
	pos->next_seq = s->next_seq;
	pos->epoch = s->epoch;
	pos->joined = true;
	atomic_fetch_add(&hub->stats.handed, out->n);
out:
	out->newest_gen = s->last_gen;
	out->zero_copy = s->zero_copy && !s->retry;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void h264_batch_release(struct h264_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		h264_au_put(b->aus[i]);
	b->n = b->bytes = 0;
}

int h264_hub_probe(struct h264_hub *hub, uint32_t width, uint32_t height,
		   const struct h264_source *src, char *why, size_t why_len)
{
	struct h264_encoder_config ec = {.width = width, .height = height, .fps = hub->cfg.fps,
					 .quality = 6, .threads = hub->cfg.threads};
	struct h264_encoder *enc = NULL;
	int r = hub->cfg.create(hub->cfg.backend, &ec, &enc, why, why_len);
	if (r < 0)
		return r;
	struct h264_frame frame;
	uint64_t gen = 0, overlay = 0;
	memset(&frame, 0, sizeof(frame));
	frame.dmabuf_fd = -1;
	r = src->get(src->opaque, &frame, &gen, &overlay);
	if (r < 0) {
		snprintf(why, why_len, "no frame to try: %s", strerror(-r));
	} else {
		struct h264_packet pkt;
		r = h264_encoder_encode(enc, &frame, true, &pkt);
		if (r < 0)
			snprintf(why, why_len, "%s could not encode a %ux%u frame of the source: %s",
				 enc->impl->name, width, height, strerror(-r));
		else if (!pkt.idr || !pkt.len)
			snprintf(why, why_len, "%s made no IDR of a frame of the source",
				 enc->impl->name);
		if (r == 0 && (!pkt.idr || !pkt.len))
			r = -EIO;
		src->put(src->opaque, &frame);
	}
	h264_encoder_destroy(enc);
	return r;
}

void h264_hub_set_backend(struct h264_hub *hub, enum h264_backend backend)
{
	hub->cfg.backend = backend;
}
