/* Churn: many short sessions; the server must end where it began in fds and memory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

#define CYCLES 500
#define CYCLES_ASAN 250
#define FD_MARGIN 0          /* open fds at the end: exactly those at the start */
#define RSS_MARGIN_KIB 2048  /* allocator slack; a leak of 4 KiB a cycle would be 2 MB */
#define RSS_MARGIN_KIB_ASAN 8192

static bool write_file(char *path, size_t len, const char *content)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, len, "%s/hostile_pw_XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0)
		return false;
	bool ok = write(fd, content, strlen(content)) == (ssize_t)strlen(content);
	close(fd);
	return ok;
}

/* Outer limits against a hang, not speeds: generous for a loaded machine. */
#define WAIT_S 30.0

/* One session: connect, password, a whole frame, hang up. */
static bool cycle(struct run *r, unsigned i)
{
	struct rr c = {.fd = -1};
	bool ok = rr_open(r, &c, "churn client", "churn-pw") &&
		  rr_request(&c, false, 0, 0, c.width, c.height);
	int m = 0;
	for (double end = now_s() + WAIT_S; ok && m != 1 && now_s() < end;)
		ok = (m = rr_read_message(&c, 0.5)) != -1;
	if (ok && m != 1)
		say("cycle %u: no update within %.0f s", i, WAIT_S);
	rr_close(&c);
	return ok && m == 1;
}

/* The server's fd count once the clients are gone (their threads end asynchronously). */
static int settled_fds(struct run *r, int want)
{
	int n = -1;
	for (double end = now_s() + WAIT_S; now_s() < end; sleep_s(0.05))
		if ((n = proc_fd_count(r->srv.pid)) <= want)
			break;
	return n;
}

#define WORKERS 4 /* in parallel: each connection costs libvncserver's 100 ms WebSocket sniff */

struct worker {
	struct run *r;
	unsigned from, to;
	bool ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->ok = true;
	for (unsigned i = w->from; w->ok && i < w->to; i++)
		w->ok = cycle(w->r, i);
	return NULL;
}

static bool run_cycles(struct run *r, unsigned n)
{
	struct worker w[WORKERS];
	pthread_t t[WORKERS];
	bool ok = true;
	for (unsigned i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){.r = r, .from = n * i / WORKERS, .to = n * (i + 1) / WORKERS};
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (unsigned i = 0; i < WORKERS; i++) {
		pthread_join(t[i], NULL);
		ok = ok && w[i].ok;
	}
	return ok;
}

bool case_churn(struct run *r)
{
	bool asan = built_with_asan();
	unsigned cycles = asan ? CYCLES_ASAN : CYCLES;
	long margin = asan ? RSS_MARGIN_KIB_ASAN : RSS_MARGIN_KIB;
	char pw[256], env[512] = "";
	const char *extra[] = {"--password-file", pw, NULL};
	if (!write_file(pw, sizeof(pw), "churn-pw\n"))
		return false;
	if (asan) {
		/* ASan keeps freed memory in quarantine (256 MB by default): a small one makes
		 * RSS mean something. */
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(env, sizeof(env), "ASAN_OPTIONS=%s%squarantine_size_mb=4",
			 old ? old : "", old && *old ? ":" : "");
	}
	bool ok = start_server_env(r, "320x240:desktop", extra, asan ? env : NULL);
	/* Warm up: allocator arenas, thread stacks and libvncserver's lazy buffers. */
	ok = ok && run_cycles(r, 32);
	int fds0 = ok ? settled_fds(r, 0) : -1;
	sleep_s(0.3);
	fds0 = ok ? proc_fd_count(r->srv.pid) : -1;
	long rss0 = ok ? proc_rss_kib(r->srv.pid) : -1;
	double t0 = now_s();
	ok = ok && run_cycles(r, cycles);
	double took = now_s() - t0;
	int fds1 = ok ? settled_fds(r, fds0) : -1;
	sleep_s(0.3);
	long rss1 = ok ? proc_rss_kib(r->srv.pid) : -1;
	unsigned accepted = log_count(r, "password accepted", NULL);
	unsigned gone = log_count(r, ") disconnected after", NULL);
	if (ok)
		say("%u cycles in %.1f s (%u passwords accepted, %u disconnects logged): fds %d -> %d "
		    "(margin %d), RSS %ld -> %ld KiB (%+ld, margin %ld)",
		    cycles, took, accepted, gone, fds0, fds1, FD_MARGIN, rss0, rss1, rss1 - rss0,
		    margin);
	if (ok && (accepted < cycles + 32 || gone < cycles + 32)) {
		say("want %u accepted passwords and disconnects", cycles + 32);
		ok = false;
	}
	if (ok && (fds1 - fds0 > FD_MARGIN || fds0 - fds1 > FD_MARGIN)) {
		say("open fds went from %d to %d", fds0, fds1);
		ok = false;
	}
	if (ok && rss1 - rss0 > margin) {
		say("RSS grew by %ld KiB over %u cycles (margin %ld KiB)", rss1 - rss0, cycles, margin);
		ok = false;
	}
	unlink(pw);
	return ok;
}
