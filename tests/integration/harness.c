/* The harness of the test drivers. See harness.h. */
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* modes: 320x240 for ticks 0..59, no plane for 5 ticks, 640x480 from tick 65 on
 * (SYNTHETIC_MODE_TICKS, SYNTHETIC_NOPLANE_TICKS); at 60 ticks a second to save time. */
const struct scene scenes[] = {
	{"static", "320x240:static:frames=1,stamp=on", 1, 30},
	{"desktop", "640x480:desktop:frames=30,stamp=on", 30, 30},
	{"typing", "320x240:typing:frames=30,stamp=on", 30, 30},
	{"scroll", "320x240:scroll:frames=30,stamp=on", 30, 30},
	{"drag", "320x240:drag:frames=30,stamp=on", 30, 30},
	{"video", "320x240:video:frames=30,stamp=on", 30, 30},
	{"flip", "320x240:flip:frames=30,stamp=on", 30, 30},
	{"modes", "320x240:modes:frames=75,rate=60,stamp=on", 75, 60},
	/* the other pixel format the source shows (bytes R,G,B,X), with many colours */
	{"xb24", "320x240:video:frames=30,format=XB24,stamp=on", 30, 30},
	/* a full-HD-ish screen: many tiles, large rectangles, JPEG on photo content */
	{"large", "1280x720:desktop:frames=30,stamp=on", 30, 30},
	{"large-video", "1280x720:video:frames=30,stamp=on", 30, 30},
	/* h264_check's two-clients: long enough that both see many pictures */
	{"video-long", "320x240:video:frames=60,stamp=on", 60, 30},
};
const size_t n_scenes = sizeof(scenes) / sizeof(scenes[0]);

bool case_skipped;


const struct scene *find_scene_in(const struct scene *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const struct scene *find_scene(const char *name)
{
	return find_scene_in(scenes, n_scenes, name);
}

/* ---- the server ---- */

/* Start the server with exactly these arguments; no port wait. */
bool start_raw(struct run *r, const char *const *args)
{
	if (r->started)
		server_free(&r->srv);
	r->started = server_start(&r->srv, r->bin, args) == 0;
	r->port = -1;
	return r->started;
}

bool wait_port(struct run *r)
{
	char st[64];

	r->port = server_wait_port(&r->srv, 10);
	if (r->port < 0)
		say("the server did not report \"listening on tcp:...\" within 10 s (%s)",
		    server_status_str(&r->srv, st, sizeof(st)));
	return r->port > 0;
}

/* Start on synthetic:SPEC, loopback, any port, plus extra arguments (NULL-terminated). */
bool start_server(struct run *r, const char *spec, const char *const *extra)
{
	char source[256];
	const char *args[40] = {"--source", source, "--listen", "tcp:127.0.0.1:0", "--fps", "30",
				"--log-level", "debug"};
	size_t n = 8;

	snprintf(source, sizeof(source), "synthetic:%s", spec);
	for (; extra && *extra && n < 39; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	return start_raw(r, args) && wait_port(r);
}

bool render(const struct scene *sc, const struct ref_event *ev, size_t n,
		   struct ref_frame *out)
{
	char err[256];

	if (ref_render(sc->spec, sc->ticks, ev, n, out, err, sizeof(err)) < 0) {
		say("reference for %s: %s", sc->spec, err);
		return false;
	}
	return true;
}

int rr_snapshot(const struct rr *c, struct ref_frame *out)
{
	out->width = c->width;
	out->height = c->height;
	out->rgb = rr_rgb(c);
	return out->rgb ? 0 : -1;
}

/* ---- the driver ---- */

/* The watchdog: libvncclient's reads (and some of the raw clients') block, so a server
 * that stops mid-message would hang the case until ctest kills it without a word.
 * Instead, after watchdog_s, say so, print the server's log and exit (the server dies with
 * us: PR_SET_PDEATHSIG). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct run *run;
	const char *name;
	int seconds;
	int log_lines;
} watchdog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, NULL, 0, 0};

static void *watchdog_main(void *arg)
{
	struct timespec until;
	int rc = 0;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += watchdog.seconds;
	pthread_mutex_lock(&watchdog.lock);
	while (!watchdog.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&watchdog.cond, &watchdog.lock, &until);
	if (!watchdog.done) {
		say("FAIL %s: no result after %d s (blocked on the server?)", watchdog.name,
		    watchdog.seconds);
		if (watchdog.run->started)
			server_print_log_tail(&watchdog.run->srv, watchdog.log_lines);
		_exit(1);
	}
	pthread_mutex_unlock(&watchdog.lock);
	return NULL;
}

static const struct check_case *find_case(const struct check_driver *d, const char *name)
{
	for (size_t i = 0; i < d->n_cases; i++)
		if (strcmp(d->cases[i].name, name) == 0)
			return &d->cases[i];
	return NULL;
}

static void usage(const struct check_driver *d)
{
	fprintf(stderr, "usage: %s PATH/TO/vgpu-vnc CASE\ncases:", d->name);
	if (d->pixels || d->pixels_scene)
		fprintf(stderr, " pixels.%s", d->pixels ? d->pixels_usage : "SCENE");
	for (size_t i = 0; i < d->n_cases; i++)
		fprintf(stderr, " %s", d->cases[i].name);
	fprintf(stderr, "\n");
}

static bool run_scene(const struct check_driver *d, struct run *r, const char *name)
{
	const struct scene *sc = d->scene_of ? d->scene_of(name) : find_scene(name);

	if (!sc) {
		say("unknown scene %s", name);
		return false;
	}
	return d->pixels_scene(r, sc);
}

int check_main(const struct check_driver *d, int argc, char **argv)
{
	struct run r = {0};
	double t0 = now_s();
	const struct check_case *c = NULL;
	pthread_t wd;
	bool ok;

	say_prefix = d->name;
	if (argc != 3) {
		usage(d);
		return 2;
	}
	bool pixels = (d->pixels || d->pixels_scene) && strncmp(argv[2], "pixels.", 7) == 0;
	if (!pixels && !(c = find_case(d, argv[2]))) {
		say("unknown case %s", argv[2]);
		usage(d);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	r.bin = argv[1];
	watchdog.run = &r;
	watchdog.name = argv[2];
	watchdog.seconds = d->watchdog_s;
	watchdog.log_lines = d->log_lines;
	pthread_create(&wd, NULL, watchdog_main, NULL);
	if (c)
		ok = c->fn(&r);
	else
		ok = d->pixels ? d->pixels(&r, argv[2] + 7) : run_scene(d, &r, argv[2] + 7);
	pthread_mutex_lock(&watchdog.lock);
	watchdog.done = true;
	pthread_cond_signal(&watchdog.cond);
	pthread_mutex_unlock(&watchdog.lock);
	pthread_join(wd, NULL);
	if (r.started && r.srv.pid)
		ok = server_stop(&r.srv, 5) && ok;
	if (!ok && r.started)
		server_print_log_tail(&r.srv, d->log_lines);
	if (r.started)
		server_free(&r.srv);
	say("%s %s (%.2f s)", !ok ? "FAIL" : case_skipped ? "SKIPPED (in part)" : "PASS", argv[2],
	    now_s() - t0);
	return !ok ? 1 : case_skipped ? 77 : 0;
}
