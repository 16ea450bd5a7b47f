/* Metrics: counters the server keeps for Prometheus, and their text exposition.
 *
 * Owns the encode-time histograms (one per encoder) and the bytes sent by clients that
 * have gone; everything else (capture statistics, clients, auth failures) is read from
 * its owner when the text is rendered. Observations are relaxed atomics: any thread,
 * never blocking (encoders call metrics_observe_encode() on client output threads).
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

struct capture;
struct vnc_server;

/* Any thread: one encode took this long. */
void metrics_observe_encode(enum metrics_encoder enc, double seconds);


/* Client threads (clientGoneHook): bytes a client sent before it went. */
void metrics_add_gone_bytes(uint64_t bytes);
uint64_t metrics_gone_bytes(void);

/* Main: what metrics_render() reads (either may be NULL). */
void metrics_set_sources(struct capture *cap, struct vnc_server *srv);

/* The Prometheus text exposition (format 0.0.4): a malloc'ed, NUL-terminated string the
 * caller frees, or NULL when out of memory. *len gets its length. */
char *metrics_render(size_t *len);

#endif
