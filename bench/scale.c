/* Many clients on one server: the server's CPU with 1, 8, 32... clients.
 *
 * One server per (scene, encoding, client count), WxH at o->fps; the clients are vb_probe
 * connections that parse but do not decode (so that they cost the two-core machine next
 * to nothing and the server's CPU is what is measured), all asking for the same encoding
 * and quality and each keeping one incremental request outstanding, as real clients do.
 * After o->settle, the server's CPU (scheduler run time of all its threads) over
 * o->seconds, and what the clients received: updates per second per client (are they all
 * served at the frame rate?) and bytes per update. The ratio is CPU with N clients over
 * CPU with one, in the same run.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_proc.h"
#include "bench_util.h"
#include "rfb_test_client.h"
#include "vnc_bench.h"

#define MAX_CLIENTS 256
#define CONNECT_GROUP 4

struct scale_result {
	double cpu_ms_per_s, updates_per_s, kb_per_update;
	bool ok;
};

/* The server refuses a socket while the address still has AUTH_MAX_PENDING_PER_SOURCE
 * handshakes in progress, and it counts one as over a moment after the client saw it end:
 * try again a few times, one at a time. */
static int connect_again(struct rr *p, int port, const int32_t *list, size_t n_enc)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		rr_close(p);
		usleep(50 * 1000);
		if (vb_probe_connect(p, port, list, n_enc) == 0)
			return 0;
	}
	return -1;
}

static struct scale_result run_one(const struct vb_opts *o, const char *scene, const char *enc,
				   unsigned n)
{
	static struct rr probes[MAX_CLIENTS];
	struct rr *ps[MAX_CLIENTS];
	struct scale_result res = {0};
	char source[96], log[600];
	int port;
	int32_t list[16];
	size_t n_enc;
	vb_encodings(enc, o->quality, list, &n_enc);
	snprintf(source, sizeof(source), "synthetic:%ux%u:%s", o->width, o->height, scene);
	snprintf(log, sizeof(log), "%s/scale-%s-%s-%u.log", o->logdir, scene, enc, n);
	pid_t pid = bench_server_start(o->bin, source, o->fps, o->server_args, log, &port);
	if (pid < 0)
		return res;
	/* In groups, so that the server's ~100 ms wait for a WebSocket upgrade on each new
	 * socket overlaps within a group; no bigger than the handshakes the server lets one
	 * address have in progress (AUTH_MAX_PENDING_PER_SOURCE). */
	unsigned live = 0;
	while (live < n && live < MAX_CLIENTS) {
		unsigned first = live;
		for (; live < n && live < MAX_CLIENTS && live - first < CONNECT_GROUP; live++) {
			ps[live] = &probes[live];
			if (vb_probe_open(ps[live], port) < 0) {
				rr_close(ps[live]);
				goto out;
			}
		}
		for (unsigned i = first; i < live; i++)
			if (vb_probe_handshake(ps[i], list, n_enc) < 0 &&
			    connect_again(ps[i], port, list, n_enc) < 0)
				goto out;
	}
	if (rr_pump(ps, live, o->settle, false) < 0)
		goto out;
	uint64_t u0 = 0, b0 = 0, u1 = 0, b1 = 0;
	for (unsigned i = 0; i < live; i++)
		u0 += ps[i]->updates, b0 += ps[i]->bytes_read;
	double c0 = bench_proc_sched_s(pid), t0 = bench_now_s();
	if (rr_pump(ps, live, o->seconds, false) < 0)
		goto out;
	double c1 = bench_proc_sched_s(pid), t1 = bench_now_s();
	for (unsigned i = 0; i < live; i++)
		u1 += ps[i]->updates, b1 += ps[i]->bytes_read;
	res.cpu_ms_per_s = 1000 * (c1 - c0) / (t1 - t0);
	res.updates_per_s = (double)(u1 - u0) / live / (t1 - t0);
	res.kb_per_update = u1 > u0 ? (double)(b1 - b0) / (double)(u1 - u0) / 1024 : 0;
	res.ok = true;
out:
	for (unsigned i = 0; i < live; i++) {
		if (ps[i]->dead)
			fprintf(stderr, "vnc_bench: scale: client %u: %s\n", i, ps[i]->why);
		rr_close(ps[i]);
	}
	bench_child_stop(pid, 5);
	return res;
}

int vb_scale(const struct vb_opts *o)
{
	bool headline_done = false;
	fprintf(o->md,
		"| scene (%ux%u, %u fps) | encoding (quality %u) | clients | server CPU ms per s | "
		"vs 1 client | updates/s per client | KiB per update |\n"
		"|---|---|---:|---:|---:|---:|---:|\n",
		o->width, o->height, o->fps, o->quality);
	for (unsigned s = 0; s < o->n_scenes; s++) {
		for (unsigned e = 0; e < o->n_encodings; e++) {
			const char *scene = o->scenes[s], *enc = o->encodings[e];
			if (!strcmp(enc, "h264") && !vb_have_h264()) {
				fprintf(o->md, "| %s | %s | | not measured: not built | | | |\n", scene, enc);
				continue;
			}
			double base = 0;
			for (unsigned k = 0; k < o->n_clients; k++) {
				unsigned n = o->clients[k];
				struct scale_result r = run_one(o, scene, enc, n);
				if (!r.ok) {
					fprintf(o->md, "| %s | %s | %u | failed (see logs) | | | |\n", scene,
						enc, n);
					continue;
				}
				if (k == 0)
					base = r.cpu_ms_per_s;
				double rel = base > 0 ? r.cpu_ms_per_s / base : 0;
				fprintf(o->md, "| %s | %s | %u | %.1f | %.2f | %.1f | %.1f |\n", scene, enc, n,
					r.cpu_ms_per_s, rel, r.updates_per_s, r.kb_per_update);
				fprintf(o->tsv, "%s\t%s\t%u\t%.3f\n", scene, enc, n, r.cpu_ms_per_s);
				fprintf(o->kv, "clients_%s_%s_%u_vs_1=%.3f\n", scene, enc, n, rel);
				/* H.264's figure: its first scene, the last count. */
				if (!strcmp(enc, "h264") && s == 0 && k == o->n_clients - 1 && k > 0)
					fprintf(o->kv, "clients%u_vs_1_h264=%.3f\n", n, rel);
				/* The summary's figure: the first scene and encoding, the last count. */
				if (!headline_done && k == o->n_clients - 1 && k > 0) {
					fprintf(o->kv, "clients%u_vs_1=%.3f\n", n, rel);
					fprintf(o->kv, "clients_headline=%s %s\n", scene, enc);
					headline_done = true;
				}
			}
		}
	}
	return headline_done ? 0 : -1;
}
