/* Idle cost and many idle servers.
 *
 * vb_idle: CPU time of the real vgpu-vnc over a window of o->seconds, on a static
 * WxH scene at o->fps: (1) with no client; (2) with one client that keeps an incremental
 * update request outstanding (a vb_probe, Tight + JPEG quality as noVNC asks), the window
 * starting once the first full update and the lossless refresh after it are over (no
 * update for 1.5 s); and the floor, measured the same way over the same window: a
 * process that reads a WxH frame (one XXH3 pass, SIMD through libxxhash's dispatcher)
 * o->fps times a second (vb_floor). All three run side by side (see measure()).
 * CPU is utime+stime from /proc/PID/stat (10 ms ticks) and, with ns resolution, the
 * scheduler's run time summed over the threads (/proc/PID/task/TID/schedstat); the ratio
 * uses the latter, because over a 10 s window the floor is only about ten 10 ms ticks.
 *
 * vb_servers: o->servers servers on the static scene, no clients, all at once; after
 * o->settle, CPU over o->seconds and memory (VmRSS, RssAnon, RssShmem, Pss) of each.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xxh_x86dispatch.h>
#define FLOOR_HASH XXH3_64bits_dispatch
#else
#define FLOOR_HASH XXH3_64bits
#endif

#include "bench_proc.h"
#include "bench_util.h"
#include "rfb_test_client.h"
#include "vnc_bench.h"

#define QUIET_S 1.5
#define MIB (1024.0 * 1024.0)

struct cpu {
	double stat_s, sched_s;
};

static struct cpu cpu_now(pid_t pid)
{
	return (struct cpu){bench_proc_cpu_s(pid), bench_proc_sched_s(pid)};
}

static struct cpu cpu_diff(struct cpu a, struct cpu b)
{
	return (struct cpu){b.stat_s - a.stat_s, b.sched_s - a.sched_s};
}

int vb_floor(uint32_t width, uint32_t height, unsigned fps, double seconds)
{
	size_t size = (size_t)width * height * 4;
	int fd = memfd_create("vgpu-bench-floor", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return 1;
	uint8_t *frame = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (frame == MAP_FAILED)
		return 1;
	uint64_t seed = 42;
	for (size_t i = 0; i + 8 <= size; i += 8) {
		uint64_t v = bench_rand(&seed);
		memcpy(frame + i, &v, 8);
	}
	volatile uint64_t sink = 0;
	uint64_t period = 1000000000u / (fps ? fps : 30), next = bench_now_ns();
	uint64_t end = next + (uint64_t)(seconds * 1e9);
	while (next < end) {
		sink += FLOOR_HASH(frame, size);
		next += period;
		bench_sleep_until_ns(next);
	}
	(void)sink;
	return 0;
}

static void self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* The floor and two servers (one without clients, one with a client) side by side over
 * the same window: on a shared machine the load changes from one moment to the next, and
 * measured one after the other the three would not see the same machine. They hardly
 * compete: each works well under a millisecond every 33 ms. */
static pid_t start_floor(const struct vb_opts *o)
{
	char self[512], size[32], fps[16], secs[32], log[600];
	self_path(self, sizeof(self));
	snprintf(size, sizeof(size), "%ux%u", o->width, o->height);
	snprintf(fps, sizeof(fps), "%u", o->fps);
	snprintf(secs, sizeof(secs), "%.2f", o->seconds + 1.5);
	snprintf(log, sizeof(log), "%s/floor.log", o->logdir);
	char *argv[] = {self, (char *)"floor", (char *)"--size", size, (char *)"--fps", fps,
			(char *)"--seconds", secs, NULL};
	return bench_child_start(argv, log);
}

static pid_t start_server(const struct vb_opts *o, const char *name, int *port)
{
	char source[96], log[600];
	snprintf(source, sizeof(source), "synthetic:%ux%u:static", o->width, o->height);
	snprintf(log, sizeof(log), "%s/idle-%s.log", o->logdir, name);
	return bench_server_start(o->bin, source, o->fps, o->server_args, log, port);
}

struct idle_result {
	struct cpu floor, none, client;
	uint64_t updates; /* what the client received during the window */
};

static int measure(const struct vb_opts *o, struct idle_result *res)
{
	int port_none, port;
	pid_t none = start_server(o, "none", &port_none);
	pid_t srv = none > 0 ? start_server(o, "client", &port) : -1;
	if (srv < 0) {
		if (none > 0)
			bench_child_stop(none, 5);
		return -1;
	}
	struct rr probe, *pp = &probe;
	int32_t enc[16];
	size_t n;
	vb_encodings("tight-jpeg", o->quality, enc, &n);
	int r = vb_probe_connect(&probe, port, enc, n);
	/* Past the first full update and the lossless refresh that follows it. */
	double start = bench_now_s(), limit = start + o->settle + 10;
	while (r >= 0 && bench_now_s() < limit &&
	       (probe.updates == 0 || bench_now_s() - start < o->settle ||
		bench_now_s() - probe.last_update_s < QUIET_S))
		r = rr_pump(&pp, 1, 0.1, false);
	pid_t fl = r >= 0 ? start_floor(o) : -1;
	if (fl > 0) {
		r = rr_pump(&pp, 1, 0.5, false); /* the floor fills its frame */
		uint64_t u0 = probe.updates;
		struct cpu f0 = cpu_now(fl), n0 = cpu_now(none), c0 = cpu_now(srv);
		double end = bench_now_s() + o->seconds;
		while (r >= 0 && bench_now_s() < end)
			r = rr_pump(&pp, 1, end - bench_now_s(), false);
		res->floor = cpu_diff(f0, cpu_now(fl));
		res->none = cpu_diff(n0, cpu_now(none));
		res->client = cpu_diff(c0, cpu_now(srv));
		res->updates = probe.updates - u0;
		int status;
		waitpid(fl, &status, 0);
	}
	if (r < 0)
		fprintf(stderr, "vnc_bench: idle client: %s\n", probe.why);
	rr_close(&probe);
	bench_child_stop(srv, 5);
	bench_child_stop(none, 5);
	return r < 0 || fl < 0 ? -1 : 0;
}

int vb_idle(const struct vb_opts *o)
{
	struct idle_result res = {0}; /* measure() fills it when it succeeds; GCC cannot tell */
	if (measure(o, &res) < 0)
		return -1;
	struct cpu floor = res.floor, none = res.none, client = res.client;
	double w = o->seconds;
	fprintf(o->md,
		"| process (%ux%u static, %u fps, %.0f s window) | utime+stime s | scheduler s | "
		"ms CPU per s | vs floor |\n|---|---:|---:|---:|---:|\n",
		o->width, o->height, o->fps, w);
	const struct {
		const char *name;
		struct cpu c;
	} rows[] = {
		{"floor: read the frame (XXH3) 30 times a second", floor},
		{"vgpu-vnc, no client", none},
		{"vgpu-vnc, one client (Tight-JPEG), static screen", client},
	};
	for (size_t i = 0; i < 3; i++)
		fprintf(o->md, "| %s | %.2f | %.4f | %.2f | %.2f |\n", rows[i].name, rows[i].c.stat_s,
			rows[i].c.sched_s, 1000 * rows[i].c.sched_s / w, rows[i].c.sched_s / floor.sched_s);
	fprintf(o->md, "\nUpdates the client received during the window: %llu.\n",
		(unsigned long long)res.updates);
	fprintf(o->kv, "idle_vs_floor=%.3f\n", client.sched_s / floor.sched_s);
	fprintf(o->kv, "idle_vs_floor_stat=%.3f\n",
		floor.stat_s > 0 ? client.stat_s / floor.stat_s : -1.0);
	fprintf(o->kv, "idle_noclient_ms_per_s=%.3f\n", 1000 * none.sched_s / w);
	fprintf(o->kv, "idle_client_ms_per_s=%.3f\n", 1000 * client.sched_s / w);
	fprintf(o->kv, "idle_floor_ms_per_s=%.3f\n", 1000 * floor.sched_s / w);
	return 0;
}

int vb_servers(const struct vb_opts *o)
{
	enum { MAX = 64 };
	unsigned n = o->servers < MAX ? o->servers : MAX;
	pid_t pids[MAX];
	struct cpu c0[MAX];
	char source[96], log[600];
	snprintf(source, sizeof(source), "synthetic:%ux%u:static", o->width, o->height);
	for (unsigned i = 0; i < n; i++) {
		int port;
		snprintf(log, sizeof(log), "%s/server-%u.log", o->logdir, i);
		pids[i] = bench_server_start(o->bin, source, o->fps, o->server_args, log, &port);
		if (pids[i] < 0) {
			while (i--)
				bench_child_stop(pids[i], 5);
			return -1;
		}
	}
	usleep((useconds_t)(o->settle * 1e6));
	for (unsigned i = 0; i < n; i++)
		c0[i] = cpu_now(pids[i]);
	usleep((useconds_t)(o->seconds * 1e6));
	double cpu_sum = 0, cpu_max = 0, rss_sum = 0, rss_max = 0, pss_sum = 0, anon_sum = 0,
	       shmem_sum = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cpu c = cpu_diff(c0[i], cpu_now(pids[i]));
		struct bench_mem m = {0};
		bench_proc_mem(pids[i], &m);
		cpu_sum += c.sched_s;
		cpu_max = c.sched_s > cpu_max ? c.sched_s : cpu_max;
		rss_sum += (double)m.rss_kb;
		rss_max = (double)m.rss_kb > rss_max ? (double)m.rss_kb : rss_max;
		pss_sum += (double)m.pss_kb;
		anon_sum += (double)m.anon_kb;
		shmem_sum += (double)m.shmem_kb;
	}
	for (unsigned i = 0; i < n; i++)
		bench_child_stop(pids[i], 5);
	double fb_mib = (double)o->width * o->height * 4 / MIB, target = 2 * fb_mib + 16;
	double rss = rss_sum / n / 1024, rss_hi = rss_max / 1024;
	fprintf(o->md,
		"| %u servers, %ux%u static, no client | per server (mean) | worst server |\n"
		"|---|---:|---:|\n", n, o->width, o->height);
	fprintf(o->md, "| VmRSS MiB (target <= 2 x %.2f MiB framebuffer + 16 = %.1f; includes the synthetic "
		"vGPU's own buffer, RssShmem below) | %.1f | %.1f |\n",
		fb_mib, target, rss, rss_hi);
	fprintf(o->md, "| of which RssAnon MiB (shadow framebuffer, heaps) | %.1f | |\n",
		anon_sum / n / 1024);
	fprintf(o->md, "| of which RssShmem MiB (the synthetic vGPU's own buffers, mapped twice) | "
		       "%.1f | |\n", shmem_sum / n / 1024);
	fprintf(o->md, "| Pss MiB | %.1f | |\n", pss_sum / n / 1024);
	fprintf(o->md, "| CPU ms per s over %.0f s | %.3f | %.3f |\n", o->seconds,
		1000 * cpu_sum / n / o->seconds, 1000 * cpu_max / o->seconds);
	fprintf(o->kv, "servers_rss_mib=%.2f\nservers_rss_max_mib=%.2f\nservers_rss_target_mib=%.2f\n",
		rss, rss_hi, target);
	fprintf(o->kv, "servers_cpu_ms_per_s=%.4f\n", 1000 * cpu_sum / n / o->seconds);
	return 0;
}
