/* vnc_check: the integration driver.
 *
 *   vnc_check PATH/TO/vgpu-vnc CASE
 *
 * Starts the real server binary on the synthetic vGPU (fork/exec, its log on a pipe, port 0
 * and the port read back from the "listening on" line), connects real libvncclient clients,
 * and checks what they receive against the synthetic source run in-process as the reference
 * (reference.c): every pixel, the size, the cursor shape, the desktop name. At the end the
 * server gets SIGTERM and must exit with status 0 (in a sanitizer build that also means no
 * leak and no report). On failure it prints what differed and the tail of the server's log.
 *
 * Cases (one ctest entry each, see CMakeLists.txt):
 *   pixels.SCENE.ENCODING  a scene runs to its last tick; the client must come to show the
 *                          source's last tick (the scenes stamp it: stamp=on) exactly
 *                          (tight-jpeg: within a stated tolerance, with the right stamp)
 *   static-quiet           a static scene sends no rectangle after the first full update,
 *                          over 1.5 s of incremental requests
 *   resize                 the modes scene: the client sees a size change, ends equal
 *   cursor                 the RichCursor shape equals the cursor plane (arrow, hand)
 *   softcursor             without cursor shapes, the cursor is blended into the frame
 *   input                  pointer clicks and typed text reach the scene
 *   two-clients            two clients end equal; one leaves mid-scene, the other goes on
 *   many-clients           one client per encoding on one server, all end equal
 *   slow-client            a client that stops reading stalls neither capture nor others
 *   sigterm-busy           SIGTERM with clients connected (one not reading): exit 0
 *   desktop-name           --desktop-name reaches the client
 *   auth                   --password-file: right password works, wrong one is refused
 *   no-auth-refused        no password on a non-loopback address: exit 1 or 2 at once
 *   listeners              clients on 127.0.0.1, [::1] and a unix socket of one server
 *   websocket              RFB through a WebSocket upgrade on the same port
 *
 * Environment: VNC_CHECK_VERBOSE=1 shows libvncclient's log, each update as it arrives and
 * the error statistics of matching frames; VNC_CHECK_ECHO_SERVER=1 echoes the server's log
 * as it comes.
 *
 * Files: check.c (scenes, encodings, server and client helpers), cases_*.c (the cases),
 * server_proc.c (the server process), vnc_client.c (libvncclient), reference.c (the
 * in-process synthetic source), compare.c (pixels), websocket.c.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "util.h"

#define WATCHDOG_S 50 /* a case that hangs (blocked in a read) fails here, with the log;
		       * ctest's TIMEOUT is 60 */

/* ---- main ---- */

static bool run_pixels_case(struct run *r, const char *name)
{
	char scene[64], enc[64];
	const char *dot1 = strchr(name, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	const struct scene *sc;
	const struct encoding *e;

	if (!dot2 || (size_t)(dot2 - dot1) > sizeof(scene))
		return false;
	snprintf(scene, sizeof(scene), "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
	snprintf(enc, sizeof(enc), "%s", dot2 + 1);
	sc = find_scene(scene);
	e = find_encoding(enc);
	if (!sc || !e) {
		say("unknown %s in \"%s\"", sc ? "encoding" : "scene", name);
		return false;
	}
	return case_pixels(r, sc, e);
}

static const struct {
	const char *name;
	bool (*fn)(struct run *r);
} cases[] = {
	{"static-quiet", case_static_quiet}, {"resize", case_resize},
	{"cursor", case_cursor},             {"softcursor", case_softcursor},
	{"input", case_input},
	{"two-clients", case_two_clients},   {"many-clients", case_many_clients},
	{"slow-client", case_slow_client},   {"sigterm-busy", case_sigterm_busy},
	{"desktop-name", case_desktop_name},
	{"auth", case_auth},                 {"no-auth-refused", case_no_auth_refused},
	{"listeners", case_listeners},
	{"websocket", case_websocket},
};

/* The watchdog: libvncclient reads block, so a server that stops mid-message would hang
 * the case until ctest kills it without a word. Instead, after WATCHDOG_S, say so, print
 * the server's log and exit (the server dies with us: PR_SET_PDEATHSIG). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct run *run;
	const char *name;
} watchdog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, NULL};

static void *watchdog_main(void *arg)
{
	struct timespec until;
	int rc = 0;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WATCHDOG_S;
	pthread_mutex_lock(&watchdog.lock);
	while (!watchdog.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&watchdog.cond, &watchdog.lock, &until);
	if (!watchdog.done) {
		say("FAIL %s: no result after %d s (blocked on the server?)", watchdog.name,
		    WATCHDOG_S);
		if (watchdog.run->started)
			server_print_log_tail(&watchdog.run->srv, 60);
		_exit(1);
	}
	pthread_mutex_unlock(&watchdog.lock);
	return NULL;
}

static void watchdog_stop(pthread_t t)
{
	pthread_mutex_lock(&watchdog.lock);
	watchdog.done = true;
	pthread_cond_signal(&watchdog.cond);
	pthread_mutex_unlock(&watchdog.lock);
	pthread_join(t, NULL);
}

static bool run_case(struct run *r, const char *name, bool *known)
{
	*known = true;
	if (strncmp(name, "pixels.", 7) == 0)
		return run_pixels_case(r, name);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return cases[i].fn(r);
	*known = false;
	return false;
}

static void usage(void)
{
	fprintf(stderr, "usage: vnc_check PATH/TO/vgpu-vnc CASE\ncases: pixels.SCENE.ENCODING");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fprintf(stderr, " %s", cases[i].name);
	fprintf(stderr, "\nscenes:");
	for (size_t i = 0; i < n_scenes; i++)
		fprintf(stderr, " %s", scenes[i].name);
	fprintf(stderr, "\nencodings:");
	for (size_t i = 0; i < n_encodings; i++)
		fprintf(stderr, " %s", encodings[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	struct run r = {0};
	bool ok, known;
	double t0 = now_s();
	pthread_t wd;

	if (argc != 3) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	r.bin = argv[1];
	watchdog.run = &r;
	watchdog.name = argv[2];
	pthread_create(&wd, NULL, watchdog_main, NULL);
	ok = run_case(&r, argv[2], &known);
	watchdog_stop(wd);
	if (!known) {
		usage();
		return 2;
	}
	if (r.started && r.srv.pid)
		ok = server_stop(&r.srv, 5) && ok;
	if (!ok && r.started)
		server_print_log_tail(&r.srv, 60);
	if (r.started)
		server_free(&r.srv);
	say("%s %s (%.2f s)", !ok ? "FAIL" : case_skipped ? "SKIPPED (in part)" : "PASS", argv[2],
	    now_s() - t0);
	return !ok ? 1 : case_skipped ? 77 : 0;
}

