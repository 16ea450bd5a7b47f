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
	bool broken;              /* the encoder failed: no more encodes */
	struct h264_au **aus;     /* since the last IDR; aus[0] is that IDR */
	size_t n, bytes;
	uint64_t next_seq;        /* seq of the next AU made */
	uint64_t last_gen;        /* generation of the newest picture */
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
	return a->width == b->width && a->height == b->height && a->quality == b->quality;
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

/* Encode one picture into the stream. Stream lock held. */
static int encode(struct h264_hub *hub, struct h264_stream *s, const struct h264_source *src,
		  bool force_idr, char *why, size_t why_len)
{
	const struct h264_limits *lim = &hub->cfg.limits;
	uint64_t now = hub->cfg.now_ms();
	if (!s->enc) {
		struct h264_encoder_config ec = {
			.width = s->key.width,
			.height = s->key.height,
			.fps = hub->cfg.fps,
			.quality = s->key.quality,
			.threads = hub->cfg.threads,
		};
		int r = hub->cfg.create(hub->cfg.backend, &ec, &s->enc, why, why_len);
		if (r < 0)
			return r;
		log_debug("h264: encoder for %ux%u quality %u: %s", s->key.width, s->key.height,
			  s->key.quality, why);
	}
	/* The list restarts at an IDR when it is full, and an IDR is due periodically. */
	bool full = s->n >= lim->max_frames || (s->n > 1 && s->bytes >= lim->max_bytes);
	bool due = lim->idr_interval_ms && now - s->last_idr_ms >= lim->idr_interval_ms;
	force_idr |= s->n == 0 || full || due;

	struct h264_frame frame;
	uint64_t gen = 0;
	memset(&frame, 0, sizeof(frame));
	frame.dmabuf_fd = -1;
	int r = src->get(src->opaque, &frame, &gen);
	if (r < 0) {
		snprintf(why, why_len, "no frame to encode: %s", strerror(-r));
		return r;
	}
	struct h264_packet pkt;
	double t0 = 1e3 * clock_now_s();
	r = h264_encoder_encode(s->enc, &frame, force_idr, &pkt);
	double ms = 1e3 * clock_now_s() - t0;
	if (hub->cfg.observe_encode)
		hub->cfg.observe_encode(ms / 1000.0);
	src->put(src->opaque, &frame);
	if (r < 0) {
		snprintf(why, why_len, "%s encoder failed: %s", s->enc->impl->name, strerror(-r));
		return r;
	}
	if (force_idr && !pkt.idr) {
		snprintf(why, why_len, "%s encoder made no IDR when asked", s->enc->impl->name);
		return -EIO;
	}
	struct h264_au *au = malloc(sizeof(*au) + pkt.len);
	if (!au) {
		snprintf(why, why_len, "out of memory for a %zu-byte access unit", pkt.len);
		return -ENOMEM;
	}
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

	uint64_t count = atomic_fetch_add(&hub->stats.encodes, 1) + 1;
	if (pkt.idr)
		atomic_fetch_add(&hub->stats.idrs, 1);
	atomic_fetch_add(&hub->stats.bytes, pkt.len);
	/* The integration test counts these lines against what clients receive. */
	log_debug("h264: encoded frame %" PRIu64 " (%s, %zu bytes, %.2f ms) for %ux%u "
		  "quality %u, generation %" PRIu64,
		  count, pkt.idr ? "IDR" : "P", pkt.len, ms, s->key.width, s->key.height,
		  s->key.quality, gen);
	return 0;
}

int h264_stream_update(struct h264_hub *hub, struct h264_stream *s, struct h264_stream_pos *pos,
		       const struct h264_need *need, const struct h264_source *src,
		       struct h264_batch *out, char *why, size_t why_len)
{
	const struct h264_limits *lim = &hub->cfg.limits;
	out->n = out->bytes = 0;
	out->reset = out->encoded = false;
	why[0] = '\0';

	pthread_mutex_lock(&s->lock);
	int r = 0;
	if (s->broken) {
		snprintf(why, why_len, "the stream's encoder failed before");
		r = -EIO;
		goto out;
	}
	uint64_t first_seq = s->n ? s->aus[0]->seq : s->next_seq;
	bool reset = need->reset || !pos->joined || pos->next_seq < first_seq ||
		     pos->next_seq > s->next_seq;
	bool newer = need->damage && need->gen > s->last_gen;
	bool long_replay = reset && s->n > 1 && s->bytes > lim->replay_max_bytes;
	if (s->n == 0 || newer || long_replay) {
		r = encode(hub, s, src, long_replay, why, why_len);
		if (r < 0) {
			s->broken = true;
			goto out;
		}
		out->encoded = true;
	}
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
	pos->joined = true;
	atomic_fetch_add(&hub->stats.handed, out->n);
out:
	out->newest_gen = s->last_gen;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void h264_batch_release(struct h264_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		h264_au_put(b->aus[i]);
	b->n = b->bytes = 0;
}
