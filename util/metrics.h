/* Metrics: the server's counters for Prometheus, and their text exposition.
 *
 * A registry that only receives pushes: each owner pushes its numbers when they change
 * (the capture thread its totals once a tick, the front end its client count and the
 * bytes its clients were sent, auth.c each refused password, the encoders each encode's
 * time, open_h264.c the back end's name at init), and metrics_render() reads nothing but
 * what was pushed. Pushes are relaxed atomics: any thread, never blocking.
 * metrics_render() runs on the control or the metrics HTTP thread.
 */
#ifndef VGPU_METRICS_H
#define VGPU_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_encoder {
	METRICS_ENC_TIGHT_JPEG, /* tight_jpeg.c: one tjCompress2 */
	METRICS_ENC_H264,       /* open_h264_stream.c: one picture of the back end in use */
	METRICS_ENC_COUNT,
};

/* The capture loop's totals since it started (capture.h's statistics). */
struct metrics_capture {
	uint64_t ticks;           /* planes queried */
	uint64_t frames_changed;  /* ticks with damage */
	uint64_t tiles_changed;
	uint64_t tiles_seen;      /* tiles compared */
	uint64_t frames_rejected; /* planes that failed validation or mapping */
	uint64_t mode_changes;
	uint64_t input_ticks;     /* ticks a client's input started at once */
	uint64_t burst_ticks;     /* ticks at the faster rate that follows input */
};

/* Any thread: one encode took this long. */
void metrics_observe_encode(enum metrics_encoder enc, double seconds);

/* The capture thread, once a tick: its totals. */
void metrics_set_capture(const struct metrics_capture *totals);

/* Client threads and the control thread: bytes sent to clients since the last push. */
void metrics_add_bytes_sent(uint64_t bytes);
/* The front end, as clients come and go: clients connected now. */
void metrics_set_clients(unsigned clients);
/* auth.c: a wrong, unset or expired password. */
void metrics_add_auth_failure(void);
/* Main (open_h264_init): the H.264 back end's name, a string that lives as long as the
 * process ("x264", "vpl"; "off", the default, when there is none). */
void metrics_set_h264_backend(const char *name);

/* The Prometheus text exposition (format 0.0.4): a malloc'ed, NUL-terminated string the
 * caller frees, or NULL when out of memory. *len gets its length. */
char *metrics_render(size_t *len);

#endif
