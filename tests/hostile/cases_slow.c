/* Slow clients: one reading at about 100 KB/s beside a fast one on the video scene. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

#define SLOW_BYTES_PER_S (100 * 1024)

struct slow_reader {
	struct run *r;
	atomic_bool stop;
	uint64_t bytes;
	bool ok;
};

/* Reads 10 KiB every 100 ms and asks for an update every 100 ms, whether or not it has
 * read the last one: the server's writes to it block most of the time. */
static void *slow_main(void *arg)
{
	struct slow_reader *s = arg;
	struct rr c = {.fd = -1};
	s->ok = rr_open(s->r, &c, "slow client", NULL) &&
		rr_request(&c, false, 0, 0, c.width, c.height);
	uint8_t buf[SLOW_BYTES_PER_S / 10];
	while (s->ok && !atomic_load(&s->stop)) {
		ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			say("the slow client was disconnected");
			s->ok = false;
		}
		s->bytes += n > 0 ? (uint64_t)n : 0;
		uint8_t req[10] = {3, 1, 0, 0, 0, 0, (uint8_t)(c.width >> 8), (uint8_t)c.width,
				   (uint8_t)(c.height >> 8), (uint8_t)c.height};
		(void)!send(c.fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
		sleep_s(0.1);
	}
	rr_close(&c);
	return NULL;
}

/* A client that reads everything at once gets `count` more updates (at most `limit`
 * seconds: an outer limit, not a speed); returns its rate, for the log. */
static double fast_updates(struct rr *c, unsigned count, double limit, bool *ok)
{
	unsigned u0 = c->updates;
	double t0 = now_s();
	while (*ok && c->updates - u0 < count) {
		if (now_s() - t0 > limit) {
			say("the fast client got %u of %u updates in %.0f s: stalled", c->updates - u0,
			    count, limit);
			*ok = false;
			break;
		}
		int m = rr_read_message(c, 0.05);
		if (m == -1) {
			say("the fast client lost its connection");
			*ok = false;
		} else if (m == 1 && !rr_request(c, true, 0, 0, c->width, c->height)) {
			*ok = false;
		}
	}
	return (c->updates - u0) / (now_s() - t0);
}

static bool slow_reader(struct run *r, unsigned count)
{
	double seconds;
	struct rr fast = {.fd = -1};
	struct slow_reader s = {.r = r};
	pthread_t t;
	char env[512] = "";
	if (built_with_asan()) {
		/* ASan keeps freed memory in quarantine (256 MB by default): a small one makes
		 * RSS mean something. */
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(env, sizeof(env), "ASAN_OPTIONS=%s%squarantine_size_mb=4",
			 old ? old : "", old && *old ? ":" : "");
	}
	bool ok = start_server_env(r, "640x480:video", NULL, env[0] ? env : NULL) &&
		  rr_open(r, &fast, "fast client", NULL) &&
		  rr_request(&fast, false, 0, 0, fast.width, fast.height);
	double alone = ok ? fast_updates(&fast, count / 4, 60, &ok) : 0;
	ok = ok && pthread_create(&t, NULL, slow_main, &s) == 0;
	if (!ok)
		return false;
	/* Some pictures for the slow client's socket buffers to fill (raw 640x480 video:
	 * 1.2 MB a picture), then the fast client must go on getting updates: a slow client
	 * that stalled it would stop it here. How fast it goes is bench/'s business. */
	fast_updates(&fast, count / 4, 60, &ok);
	long rss0 = proc_rss_kib(r->srv.pid);
	int fds0 = proc_fd_count(r->srv.pid);
	double t_with = now_s();
	double with = fast_updates(&fast, count, 120, &ok);
	seconds = now_s() - t_with;
	long rss1 = proc_rss_kib(r->srv.pid);
	int fds1 = proc_fd_count(r->srv.pid);
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	rr_close(&fast);
	ok = ok && s.ok;
	/* The slow client's socket buffers hold a few MiB in the kernel, not in the server;
	 * the server itself keeps at most one pending region and one update per client. */
	long bound_kib = built_with_asan() ? 32 * 1024 : 8 * 1024;
	say("fast client: %.1f updates/s alone, %.1f with a client reading %.0f KB/s beside it "
	    "(it read %.1f MB in %.0f s); server RSS %ld -> %ld KiB (%+ld, bound %ld), fds %d -> %d",
	    alone, with, s.bytes / 1000.0 / (seconds + 1), s.bytes / 1e6, seconds + 1, rss0, rss1,
	    rss1 - rss0, bound_kib, fds0, fds1);
	ok = ok && holds(rss1 - rss0 <= bound_kib,
			 "the server grew by %ld KiB in %.0f s with a slow client (bound %ld KiB)",
			 rss1 - rss0, seconds, bound_kib);
	ok = ok && holds(fds1 == fds0, "the server's open fds changed from %d to %d", fds0, fds1);
	return ok;
}

bool case_slow_reader(struct run *r)
{
	return slow_reader(r, 300); /* about 10 s at the scene's 30 a second */
}

bool case_slow_reader_long(struct run *r)
{
	return slow_reader(r, 1500);
}

/* A client that never reads while the guest changes mode: the resize must not wait for it
 * (libvncserver would let its blocked write hold the display for up to 20 s). The modes
 * scene changes size about once a second; the fast client must see RESIZES size changes
 * (within RESIZE_LIMIT_S, an outer limit far below RESIZES x 20 s), and the stalled client
 * is disconnected with a line that says why. How long each wait is goes to bench/. */
#define RESIZES 4
#define RESIZE_LIMIT_S 40.0
bool case_stalled_resize(struct run *r)
{
	struct rr fast = {.fd = -1}, stalled = {.fd = -1};
	bool ok = start_server(r, "640x480:modes:rate=60", NULL) &&
		  rr_open(r, &stalled, "stalled client", NULL) &&
		  rr_open(r, &fast, "fast client", NULL) &&
		  rr_request(&fast, false, 0, 0, fast.width, fast.height);
	double t0 = now_s(), last = t0, worst = 0;
	unsigned sizes = 0;
	uint16_t w = fast.width;
	while (ok && sizes < RESIZES && now_s() - t0 < RESIZE_LIMIT_S) {
		/* The stalled client keeps asking for the whole screen and reads nothing. */
		uint8_t req[10] = {3, 0, 0, 0, 0, 0, 0x04, 0x00, 0x03, 0x00};
		(void)!send(stalled.fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
		int m = rr_read_message(&fast, 0.05);
		if (m == -1) {
			say("the fast client lost its connection");
			ok = false;
		} else if (m == 1) {
			double t = now_s();
			worst = t - last > worst ? t - last : worst;
			last = t;
			sizes += fast.width != w;
			w = fast.width;
			ok = rr_request(&fast, true, 0, 0, fast.width, fast.height);
		}
	}
	worst = now_s() - last > worst ? now_s() - last : worst;
	say("fast client: %u updates, %u size changes in %.1f s, longest wait %.2f s",
	    fast.updates, sizes, now_s() - t0, worst);
	ok = ok &&
	     holds(sizes >= RESIZES, "want %d size changes within %.0f s beside a stalled client",
		   RESIZES, RESIZE_LIMIT_S);
	ok = ok && holds(server_log_contains(&r->srv, "it does not read"),
			 "no line about the stalled client");
	rr_close(&fast);
	rr_close(&stalled);
	return ok;
}
