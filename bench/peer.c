/* vgpu-vnc beside neatvnc: the same scenes, the same clients, the same encodings.
 *
 * For each scene and encoding, each server in turn: vgpu-vnc (--bin) and neatvnc 0.5
 * (--peer, neatvnc_peer.c), both drawing the synthetic vGPU's scene WxH in-process at
 * o->fps. Two clients, one after the other, on the same server:
 *   cost     a vb_probe (parses every message, decodes nothing, one incremental request
 *            outstanding, as scale.c's clients): after o->settle, over o->seconds, the
 *            server's CPU (scheduler run time of all its threads, including the scene's
 *            drawing, which is the same code in both) per update the client got, and the
 *            bytes per update;
 *   latency  libvncclient decoding the same encoding (latency.c's click -> stamp -> pixel
 *            in the client's framebuffer), o->samples clicks; p50 and p99.
 * Both clients send the same SetEncodings. "tight-jpeg": Tight, quality level 9 (-23:
 * neatvnc 0.5 uses JPEG only for level 9 or 0, and then at JPEG quality 66, 4:2:2) and
 * TurboVNC's fine quality 66 and 4:2:2 subsampling (-446, -766: vgpu-vnc's Tight-JPEG
 * honours these, so both encode JPEG with the same quality and subsampling; neatvnc
 * ignores them). "zrle": ZRLE (vgpu-vnc: libvncserver's). Compression level 2, remote
 * cursor, as vnc_bench.c's lists.
 * Ratios are vgpu-vnc over neatvnc per scene and encoding; the summary's cpu_vs_neatvnc and
 * bytes_vs_neatvnc are the worst (largest) over the scenes and encodings.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_proc.h"
#include "bench_util.h"
#include "rfb_test_client.h"
#include "vnc_bench.h"

#define PEER_MAX_SAMPLES 4096
#define FINE_QUALITY(q) (-512 + (q))   /* TurboVNC: JPEG quality 1..100 */
#define SUBSAMP_2X (-768 + 2)          /* TurboVNC: 4:2:2 */

struct peer_result {
	bool ok;
	double updates_per_s, cpu_ms_per_update, kib_per_update;
	double p50, p99;
	int samples;
};

static size_t peer_encodings(const char *enc, int32_t *list)
{
	size_t n = 0;
	if (!strcmp(enc, "tight-jpeg")) {
		vb_encodings(enc, 9, list, &n);
		list[n++] = FINE_QUALITY(66);
		list[n++] = SUBSAMP_2X;
	} else if (vb_encodings(enc, 6, list, &n) < 0) {
		return 0;
	}
	return n;
}

static pid_t start(const struct vb_opts *o, bool neat, const char *scene, const char *enc,
		   int *port)
{
	char source[96], log[600], fps[16];
	snprintf(source, sizeof(source), "synthetic:%ux%u:%s", o->width, o->height, scene);
	snprintf(log, sizeof(log), "%s/peer-%s-%s-%s.log", o->logdir, neat ? "neatvnc" : "vgpu-vnc",
		 scene, enc);
	if (!neat)
		return bench_server_start(o->bin, source, o->fps, o->server_args, log, port);
	snprintf(fps, sizeof(fps), "%u", o->fps);
	const char *argv[] = {o->peer, "--source", source, "--fps", fps, NULL};
	unlink(log);
	pid_t pid = bench_child_start((char *const *)argv, log);
	if (pid < 0)
		return -1;
	*port = bench_child_port(pid, log, 10.0);
	if (*port <= 0) {
		fprintf(stderr, "vnc_bench: peer: %s did not report a port (log: %s)\n", o->peer, log);
		bench_child_stop(pid, 2.0);
		return -1;
	}
	return pid;
}

static struct peer_result run_one(const struct vb_opts *o, bool neat, const char *scene,
				  const char *enc, FILE *tsv)
{
	static double lat[PEER_MAX_SAMPLES];
	struct peer_result r = {0};
	int32_t list[16];
	size_t n_list = peer_encodings(enc, list);
	int port;
	pid_t pid = start(o, neat, scene, enc, &port);
	if (pid < 0 || !n_list)
		return r;
	struct rr probe = {0}, *ps = &probe;
	if (vb_probe_connect(ps, port, list, n_list) < 0 || rr_pump(&ps, 1, o->settle, false) < 0)
		goto out;
	unsigned u0 = probe.updates;
	uint64_t b0 = probe.bytes_read;
	double c0 = bench_proc_sched_s(pid), t0 = bench_now_s();
	if (rr_pump(&ps, 1, o->seconds, false) < 0)
		goto out;
	double c1 = bench_proc_sched_s(pid), t1 = bench_now_s();
	unsigned du = probe.updates - u0;
	r.updates_per_s = du / (t1 - t0);
	r.cpu_ms_per_update = du ? 1000 * (c1 - c0) / du : 0;
	r.kib_per_update = du ? (double)(probe.bytes_read - b0) / du / 1024 : 0;
	/* The probe stays connected (idle: it asks for nothing more) while the latency
	 * client works: neatvnc 0.5 sometimes resets the next connection when a client hangs
	 * up while its update is being encoded. */
	unsigned misses = 0;
	r.samples = vb_latency_at(o, port, enc, list, n_list, lat,
				  o->samples < PEER_MAX_SAMPLES ? o->samples : PEER_MAX_SAMPLES, &misses);
	if (r.samples > 0) {
		for (int i = 0; i < r.samples; i++)
			fprintf(tsv, "%s, %s\t%s\t%.4f\n", neat ? "neatvnc" : "vgpu-vnc", enc, scene, lat[i]);
		r.p50 = bench_percentile(lat, (size_t)r.samples, 50);
		r.p99 = bench_percentile(lat, (size_t)r.samples, 99);
	}
	r.ok = du > 0 && r.samples > 0;
	if (!r.ok)
		fprintf(stderr, "vnc_bench: peer: %s %s %s: %u updates in the window, %d clicks seen (%u not)\n",
			neat ? "neatvnc" : "vgpu-vnc", scene, enc, du, r.samples, misses);
out:
	if (probe.dead)
		fprintf(stderr, "vnc_bench: peer: %s %s %s: %s\n", neat ? "neatvnc" : "vgpu-vnc", scene,
			enc, probe.why);
	rr_close(ps);
	bench_child_stop(pid, 5);
	return r;
}

static void row(const struct vb_opts *o, const char *scene, const char *enc, const char *who,
		const struct peer_result *r, const char *ratios)
{
	if (!r->ok) {
		fprintf(o->md, "| %s | %s | %s | failed (see logs) | | | | | |\n", scene, enc, who);
		return;
	}
	fprintf(o->md, "| %s | %s | %s | %.1f | %.2f | %.1f | %.1f | %.1f | %s |\n", scene, enc, who,
		r->updates_per_s, r->cpu_ms_per_update, r->kib_per_update, r->p50, r->p99, ratios);
}

int vb_peer(const struct vb_opts *o)
{
	double worst_cpu = 0, worst_bytes = 0;
	char worst_cpu_at[48] = "", worst_bytes_at[48] = "";
	unsigned compared = 0;
	if (!o->peer) {
		fprintf(stderr, "vnc_bench: peer: --peer PATH/neatvnc_peer is needed\n");
		return -1;
	}
	fprintf(o->md,
		"| scene (%ux%u, %u fps) | encoding | server | updates/s | server CPU ms per update | "
		"KiB per update | latency p50 ms | latency p99 ms | vgpu-vnc / neatvnc: CPU, bytes |\n"
		"|---|---|---|---:|---:|---:|---:|---:|---|\n",
		o->width, o->height, o->fps);
	for (unsigned s = 0; s < o->n_scenes; s++) {
		for (unsigned e = 0; e < o->n_encodings; e++) {
			const char *scene = o->scenes[s], *enc = o->encodings[e];
			struct peer_result ours = run_one(o, false, scene, enc, o->tsv);
			struct peer_result neat = run_one(o, true, scene, enc, o->tsv);
			char ratios[64] = "";
			if (ours.ok && neat.ok && neat.cpu_ms_per_update > 0 && neat.kib_per_update > 0) {
				double cpu = ours.cpu_ms_per_update / neat.cpu_ms_per_update;
				double bytes = ours.kib_per_update / neat.kib_per_update;
				snprintf(ratios, sizeof(ratios), "%.2f, %.2f", cpu, bytes);
				fprintf(o->kv, "peer_%s_%s_cpu_vs_neatvnc=%.3f\npeer_%s_%s_bytes_vs_neatvnc=%.3f\n",
					scene, enc, cpu, scene, enc, bytes);
				if (cpu > worst_cpu)
					worst_cpu = cpu, snprintf(worst_cpu_at, sizeof(worst_cpu_at), "%s %s", scene, enc);
				if (bytes > worst_bytes)
					worst_bytes = bytes, snprintf(worst_bytes_at, sizeof(worst_bytes_at), "%s %s", scene, enc);
				compared++;
			}
			row(o, scene, enc, "vgpu-vnc", &ours, ratios);
			row(o, scene, enc, "neatvnc", &neat, "");
		}
	}
	if (!compared)
		return -1;
	fprintf(o->kv, "cpu_vs_neatvnc=%.3f\ncpu_vs_neatvnc_at=%s\nbytes_vs_neatvnc=%.3f\n"
		"bytes_vs_neatvnc_at=%s\n", worst_cpu, worst_cpu_at, worst_bytes, worst_bytes_at);
	return compared == o->n_scenes * o->n_encodings ? 0 : -1;
}
