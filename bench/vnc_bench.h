/* vnc_bench: the benchmarks that run the real vgpu-vnc binary (idle cost, latency, scale,
 * many servers). vnc_bench.c parses the options and runs the section asked for; each
 * section lives in its own file. Results go out as a Markdown table (md), key=value lines
 * for the summary (kv) and TSV rows for the plots (tsv).
 */
#ifndef VGPU_BENCH_VNC_BENCH_H
#define VGPU_BENCH_VNC_BENCH_H

#include <stdint.h>
#include <stdio.h>

#define VB_MAX_LIST 16

struct vb_opts {
	const char *bin;       /* the vgpu-vnc binary */
	const char *peer;      /* the neatvnc_peer binary (peer.c) */
	const char *logdir;    /* server logs go here */
	uint32_t width, height;
	unsigned fps;
	double seconds;        /* measurement window */
	double settle;         /* before the window */
	unsigned samples;      /* latency samples per encoding */
	unsigned clients[VB_MAX_LIST], n_clients;
	char scenes[VB_MAX_LIST][16];
	unsigned n_scenes;
	char encodings[VB_MAX_LIST][16];
	unsigned n_encodings;
	unsigned servers;      /* how many idle servers */
	unsigned quality;      /* the clients' JPEG / H.264 quality level */
	const char *server_args[16]; /* more arguments for every server, NULL-terminated */
	FILE *md, *kv, *tsv;
};

/* The encodings the clients can ask for, by name: "raw", "tight-jpeg", "h264". The
 * encoding list to send; 0 or -1 for an unknown name. */
int vb_encodings(const char *name, unsigned quality, int32_t *enc, size_t *n);

struct rr;
/* A parsing, non-decoding client (tests/lib/rfb_test_client.h): for load and CPU
 * measurements, where a decoding client would eat the CPU the server needs (32 libvncclient
 * clients decoding JPEG would not fit on two cores). vb_probe_open connects to
 * 127.0.0.1:port, vb_probe_handshake does security None, the server's pixel format, the
 * encodings and the first request (then one request after each update): in two steps, so
 * that many probes can connect at once (the server waits ~100 ms on every new socket for a
 * WebSocket upgrade before it speaks RFB, and those waits overlap when all sockets are
 * open before the first handshake). 0, or -1 with the reason in the probe's why. */
int vb_probe_open(struct rr *p, int port);
int vb_probe_handshake(struct rr *p, const int32_t *enc, size_t n);
int vb_probe_connect(struct rr *p, int port, const int32_t *enc, size_t n);

/* Is the Open H.264 path built into this tree (encoder/h264_x264.c and
 * server/open_h264.c, which the benchmark is built with when they exist)? */
int vb_have_h264(void);

int vb_idle(const struct vb_opts *o);
int vb_servers(const struct vb_opts *o);
int vb_latency(const struct vb_opts *o);
int vb_scale(const struct vb_opts *o);
int vb_peer(const struct vb_opts *o);

/* Latency samples (ms, sorted or not) from a libvncclient client of the server at port:
 * enc "raw", "tight-jpeg" or "zrle" picks what it decodes; list, when not NULL, is the
 * SetEncodings it sends instead of libvncclient's own. The count, or -1. (latency.c) */
int vb_latency_at(const struct vb_opts *o, int port, const char *enc, const int32_t *list,
		  size_t n_list, double *lat, unsigned want, unsigned *misses);

/* The floor process: read (XXH3) a width x height frame fps times a second for seconds. */
int vb_floor(uint32_t width, uint32_t height, unsigned fps, double seconds);

#endif
