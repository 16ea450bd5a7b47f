/* Shared H.264 streams: encode once, send to many.
 *
 * A stream is one encoder and the access units (AUs) it produced since its last IDR. All
 * clients whose settings give the same key (screen size, quality level, cursor drawn in or
 * not; the back end is chosen once per process) share one stream. Encoding is lazy: the first client that
 * needs a picture newer than the stream's newest encodes it; the others find it there.
 * Each client keeps its position in the stream and, on its turn, takes every AU it has
 * not sent yet, so a slow client gets several pictures glued into one message (the
 * Open H.264 encoding allows that) and stays in sync without a second encode.
 *
 * Memory stays bounded: when the AUs since the last IDR exceed a number of pictures or of
 * bytes, the next encode is an IDR and the list starts again. A client that starts a
 * context (joins, asks non-incrementally, fell behind, changed size) gets the list from
 * its IDR, or, when that list is longer than a replay budget, a fresh IDR encoded now.
 *
 * A frame that cannot be encoded (the dma-buf does not import, the GPU says no) is a skipped
 * frame, not the end of the stream: the caller keeps its damage and asks again on the next
 * capture tick. After H264_STREAM_MAX_FAILURES failed frames in a row the stream moves to
 * x264 for good. A frame that has no dma-buf (display off, mode switch in progress, a region
 * plane) or wants the cursor drawn in goes to x264 from the CPU pixels while the back end
 * only imports. Each change of encoder starts a new context (an epoch): every client's
 * next batch starts at the new encoder's IDR, with ResetContext.
 *
 * Threads: client output threads. A stream's mutex is held while a client encodes (CPU
 * only) and picks its AUs, never across I/O: AUs are reference-counted, so a client
 * writes them after unlocking. The hub's mutex guards the list of streams and their
 * reference counts for O(streams) time. The two are never held together; callers hold
 * their client's sendMutex around both.
 */
#ifndef VGPU_OPEN_H264_STREAM_H
#define VGPU_OPEN_H264_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h264_encoder.h"

struct h264_stream_key {
	uint32_t width, height; /* the screen */
	unsigned quality;       /* 0..9 */
	bool cursor_drawn;      /* the cursor is in the picture (clients without cursor shapes) */
};

/* Failed frames in a row after which a stream leaves a hardware back end for x264. */
#define H264_STREAM_MAX_FAILURES 30u

/* h264_stream_update(): the frame was skipped; nothing was handed out, try again later. */
#define H264_STREAM_SKIPPED 1

/* One access unit, Annex B, immutable once made. */
struct h264_au {
	atomic_uint refs;
	uint64_t seq;  /* position in its stream: 0, 1, 2, ... */
	uint64_t gen;  /* frame store generation of the picture */
	bool idr;      /* an IDR with SPS and PPS in front */
	size_t len;
	uint8_t data[];
};

void h264_au_put(struct h264_au *au);

/* Where a client is in its stream; all zero = not joined yet. The client's own. */
struct h264_stream_pos {
	uint64_t next_seq; /* the first AU it has not sent */
	uint64_t epoch;    /* the stream's encoder it last took AUs from */
	bool joined;
};

struct h264_limits {
	unsigned max_frames;      /* AUs kept since the last IDR (>= 1); at this many the next
				   * encode is an IDR */
	size_t max_bytes;         /* the same in bytes */
	size_t replay_max_bytes;  /* a context start replays at most this; more forces an IDR */
	uint64_t idr_interval_ms; /* an IDR at least this often while pictures are encoded;
				   * 0 = only when needed */
};

struct h264_hub_config {
	enum h264_backend backend; /* already resolved: VPL or X264 */
	unsigned fps, threads;     /* for h264_encoder_config */
	struct h264_limits limits;
	/* For tests (NULL = h264_encoder_create and clock_now_ms). */
	int (*create)(enum h264_backend backend, const struct h264_encoder_config *cfg,
		      struct h264_encoder **out, char *why, size_t why_len);
	uint64_t (*now_ms)(void);
	/* Told how long each encode took (client output threads; may be NULL). */
	void (*observe_encode)(double seconds);
};

/* Counters over all streams, readable from any thread. */
struct h264_hub_stats {
	atomic_uint_fast64_t encodes; /* pictures encoded */
	atomic_uint_fast64_t idrs;    /* of which IDRs */
	atomic_uint_fast64_t bytes;   /* bytes encoded */
	atomic_uint_fast64_t handed;  /* AUs handed to clients (sum over clients) */
	atomic_uint_fast64_t skipped; /* frames that failed and were skipped */
	atomic_uint_fast64_t moves;   /* encoder changes (pixel path, fallback to x264) */
};

struct h264_hub;
struct h264_stream;

int h264_hub_create(const struct h264_hub_config *cfg, struct h264_hub **out);
/* Every stream must have been released. */
void h264_hub_destroy(struct h264_hub *hub);
const struct h264_hub_config *h264_hub_config(const struct h264_hub *hub);
const struct h264_hub_stats *h264_hub_stats(const struct h264_hub *hub);

/* The stream for key, created on first use; NULL when out of memory. */
struct h264_stream *h264_hub_acquire(struct h264_hub *hub, const struct h264_stream_key *key);
/* Drop a reference; the last one destroys the stream, its encoder and its AUs. */
void h264_hub_release(struct h264_hub *hub, struct h264_stream *s);

/* What a client needs now. */
struct h264_need {
	uint64_t gen;     /* the frame store generation it read after taking its damage */
	uint64_t overlay; /* what is drawn over the frame (the cursor: drawn_cursor.h); 0 none */
	bool damage;      /* it has damage: a picture older than gen, or with another overlay,
			   * will not do */
	bool reset;       /* it starts a context (joins, asked non-incrementally, changed size) */
};

/* The picture to encode, fetched only when an encode happens (under the stream lock).
 * get() fills frame, the generation read before the pixels and the overlay drawn into
 * them; put() releases it. */
struct h264_source {
	int (*get)(void *opaque, struct h264_frame *frame, uint64_t *gen, uint64_t *overlay);
	void (*put)(void *opaque, struct h264_frame *frame);
	void *opaque;
};

/* What a client sends now: references it releases with h264_batch_release() after
 * writing. aus and cap are the caller's (cap >= limits.max_frames). */
struct h264_batch {
	struct h264_au **aus;
	size_t cap;
	size_t n, bytes;
	bool reset;          /* send with ResetContext: the AUs start at an IDR */
	bool encoded;        /* this call encoded a picture */
	bool zero_copy;      /* the stream's encoder imports the plane: no CPU pixels read */
	uint64_t newest_gen; /* generation of the stream's newest picture */
};

/* Under the stream's lock: encode if the client needs a newer picture than the stream's
 * newest (or the stream has none, or a context start would replay too much), then hand
 * the client the AUs it has not sent: from the last IDR when it starts a context (or
 * fell behind the list, or the encoder changed), else from where it stopped. 0;
 * H264_STREAM_SKIPPED when the frame failed (nothing handed out: keep the damage and ask
 * again on the next tick; why says what); or a negative errno when no encoder works at
 * all, not even x264 (the stream is then broken for good). */
int h264_stream_update(struct h264_hub *hub, struct h264_stream *s, struct h264_stream_pos *pos,
		       const struct h264_need *need, const struct h264_source *src,
		       struct h264_batch *out, char *why, size_t why_len);

void h264_batch_release(struct h264_batch *b);

/* Before the first stream: try the hub's back end on one real frame of the source (for
 * VPL: import the plane's dma-buf and encode it), with an encoder of width x height made
 * for the trial only. 0 when it encoded; else a negative errno, why says what. */
int h264_hub_probe(struct h264_hub *hub, uint32_t width, uint32_t height,
		   const struct h264_source *src, char *why, size_t why_len);

/* Before the first stream: make the hub's streams use this back end (start-up fallback). */
void h264_hub_set_backend(struct h264_hub *hub, enum h264_backend backend);

#endif
