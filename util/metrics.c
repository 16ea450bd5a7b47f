/* The pushed counters, the encode histograms and the Prometheus text. See metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static const double bucket_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
#define N_BUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

struct histogram {
	atomic_uint_fast64_t buckets[N_BUCKETS]; /* not cumulative; summed when rendered */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_ns;
};

static struct histogram hist[METRICS_ENC_COUNT];
static struct {
	atomic_uint_fast64_t ticks, frames_changed, tiles_changed, tiles_seen, frames_rejected,
		mode_changes, input_ticks, burst_ticks;
} capture;
static atomic_uint_fast64_t bytes_sent, auth_failures;
static atomic_uint clients;
static const char *_Atomic h264_backend = "off";

void metrics_observe_encode(enum metrics_encoder enc, double seconds)
{
	if ((unsigned)enc >= METRICS_ENC_COUNT || !(seconds >= 0))
		return;
	struct histogram *h = &hist[enc];
	size_t i = 0;
	while (i < N_BUCKETS && seconds > bucket_le[i])
		i++;
	if (i < N_BUCKETS)
		atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

#define SET(field, v) atomic_store_explicit(&(field), (v), memory_order_relaxed)
#define GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

/* Sequentially consistent, ticks first, and read back in the opposite order: a render
 * never sees more changed frames (or input and burst ticks) than ticks, or more changed
 * tiles than tiles seen. */
void metrics_set_capture(const struct metrics_capture *t)
{
	atomic_store(&capture.ticks, t->ticks);
	atomic_store(&capture.tiles_seen, t->tiles_seen);
	atomic_store(&capture.frames_changed, t->frames_changed);
	atomic_store(&capture.tiles_changed, t->tiles_changed);
	atomic_store(&capture.frames_rejected, t->frames_rejected);
	atomic_store(&capture.mode_changes, t->mode_changes);
	atomic_store(&capture.input_ticks, t->input_ticks);
	atomic_store(&capture.burst_ticks, t->burst_ticks);
}

void metrics_add_bytes_sent(uint64_t bytes)
{
	atomic_fetch_add_explicit(&bytes_sent, bytes, memory_order_relaxed);
}

void metrics_set_clients(unsigned n)
{
	SET(clients, n);
}

void metrics_add_auth_failure(void)
{
	atomic_fetch_add_explicit(&auth_failures, 1, memory_order_relaxed);
}

void metrics_set_h264_backend(const char *name)
{
	SET(h264_backend, name ? name : "off");
}

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	put(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	    (unsigned long long)v);
}

static void histogram(struct buf *b, const char *label, const struct histogram *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		put(b, "vgpu_vnc_encode_seconds_bucket{encoder=\"%s\",le=\"%g\"} %llu\n", label,
		    bucket_le[i], (unsigned long long)cum);
	}
	uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
	put(b, "vgpu_vnc_encode_seconds_bucket{encoder=\"%s\",le=\"+Inf\"} %llu\n", label,
	    (unsigned long long)count);
	put(b, "vgpu_vnc_encode_seconds_sum{encoder=\"%s\"} %.9f\n", label,
	    (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
	put(b, "vgpu_vnc_encode_seconds_count{encoder=\"%s\"} %llu\n", label,
	    (unsigned long long)count);
}

char *metrics_render(size_t *len)
{
	struct buf b = {.cap = 4096};
	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	uint64_t burst = atomic_load(&capture.burst_ticks);
	uint64_t input = atomic_load(&capture.input_ticks);
	uint64_t rejected = atomic_load(&capture.frames_rejected);
	uint64_t modes = atomic_load(&capture.mode_changes);
	uint64_t tiles = atomic_load(&capture.tiles_changed);
	uint64_t changed = atomic_load(&capture.frames_changed);
	uint64_t tiles_total = atomic_load(&capture.tiles_seen);
	uint64_t ticks = atomic_load(&capture.ticks);
	counter(&b, "vgpu_vnc_frames_captured_total", "Planes queried and read (capture ticks).",
		ticks);
	counter(&b, "vgpu_vnc_frames_changed_total", "Capture ticks that found damage.", changed);
	counter(&b, "vgpu_vnc_frames_unchanged_total", "Capture ticks without damage (skipped).",
		ticks >= changed ? ticks - changed : 0);
	counter(&b, "vgpu_vnc_frames_rejected_total", "Planes that failed validation or mapping.",
		rejected);
	counter(&b, "vgpu_vnc_mode_changes_total", "Display mode changes followed.", modes);
	counter(&b, "vgpu_vnc_capture_input_ticks_total",
		"Capture ticks a client's key or pointer event started at once.",
		input);
	counter(&b, "vgpu_vnc_capture_burst_ticks_total",
		"Capture ticks at the faster rate that follows a client's input.",
		burst);
	counter(&b, "vgpu_vnc_tiles_changed_total", "Changed tiles found by damage tracking.",
		tiles);
	counter(&b, "vgpu_vnc_tiles_total", "Tiles compared by damage tracking.", tiles_total);
	put(&b, "# HELP vgpu_vnc_damage_ratio Changed tiles / tiles compared since start.\n"
		"# TYPE vgpu_vnc_damage_ratio gauge\nvgpu_vnc_damage_ratio %g\n",
	    tiles_total ? (double)tiles / (double)tiles_total : 0.0);
	put(&b, "# HELP vgpu_vnc_encode_seconds Time to encode one picture or rectangle.\n"
		"# TYPE vgpu_vnc_encode_seconds histogram\n");
	histogram(&b, "tight-jpeg", &hist[METRICS_ENC_TIGHT_JPEG]);
	char h264[64];
	snprintf(h264, sizeof(h264), "h264-%s", GET(h264_backend));
	histogram(&b, h264, &hist[METRICS_ENC_H264]);
	counter(&b, "vgpu_vnc_bytes_sent_total", "Bytes sent to VNC clients.", GET(bytes_sent));
	put(&b, "# HELP vgpu_vnc_clients VNC clients connected now.\n"
		"# TYPE vgpu_vnc_clients gauge\nvgpu_vnc_clients %u\n", GET(clients));
	counter(&b, "vgpu_vnc_auth_failures_total", "Wrong, unset or expired passwords.",
		GET(auth_failures));
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
