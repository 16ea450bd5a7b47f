/* The harness of the test drivers (vnc_check, h264_check, tight_jpeg_check, hostile_check):
 * the scenes, the server started for a case, the reference picture, and main() itself:
 * argument parsing, the case table, the watchdog, stopping the server, reporting. */
#ifndef VNC_CHECK_HARNESS_H
#define VNC_CHECK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reference.h"
#include "rfb_test_client.h"
#include "server_proc.h"

/* How long a client may take to show the expected picture: an outer limit against a hang
 * (ctest's TIMEOUT is 60 s), not a speed requirement. Nothing waits for "quiet": the scenes
 * stamp their tick (stamp=on), so the expected picture is recognisable when it comes. */
#define WAIT_LIMIT_S 30

struct scene {
	const char *name;
	const char *spec; /* after "synthetic:" */
	uint64_t ticks;   /* = frames=N: the tick where the scene holds still */
	unsigned rate;    /* = rate=N (the source's default is 30 ticks a second) */
};

/* vnc_check's scenes (the others pick from them, see each driver). */
extern const struct scene scenes[];
extern const size_t n_scenes;

/* The scene of that name in scenes[] / in a table of n, or NULL. */
const struct scene *find_scene(const char *name);
const struct scene *find_scene_in(const struct scene *table, size_t n, const char *name);

/* One run of the driver: the server binary and the server started for the case. */
struct run {
	const char *bin;
	struct server_proc srv;
	bool started;
	int port;
};

/* Set by a case that could not check all it is there for (it says why): a pass becomes
 * exit status 77, which ctest shows as skipped. */
extern bool case_skipped;

/* Start the server with exactly these arguments; no port wait. */
bool start_raw(struct run *r, const char *const *args);
/* Wait for the "listening on tcp:" line; r->port. */
bool wait_port(struct run *r);
/* Start on synthetic:SPEC, loopback, any port, plus extra arguments (NULL-terminated). */
bool start_server(struct run *r, const char *spec, const char *const *extra);

/* The reference frame of the scene's last tick after those events. */
bool render(const struct scene *sc, const struct ref_event *ev, size_t n, struct ref_frame *out);

/* A raw client's framebuffer as a packed RGB frame (caller frees). */
int rr_snapshot(const struct rr *c, struct ref_frame *out);

/* ---- the driver: main() of vnc_check, h264_check, tight_jpeg_check and
 * hostile_check ---- */

struct check_case {
	const char *name;
	bool (*fn)(struct run *r);
};

struct check_driver {
	const char *name;               /* the program, for messages and its usage */
	const struct check_case *cases; /* cases by name */
	size_t n_cases;
	/* Cases "pixels.REST" (REST as the ctest entry spells it), or NULL; pixels_usage
	 * says what REST is ("SCENE.ENCODING"). */
	bool (*pixels)(struct run *r, const char *rest);
	const char *pixels_usage;
	/* Or cases "pixels.SCENE": the scene by scene_of (NULL: find_scene). */
	bool (*pixels_scene)(struct run *r, const struct scene *sc);
	const struct scene *(*scene_of)(const char *name);
	/* A case with no result after this long (blocked on the server?) fails with the
	 * server's log; below ctest's TIMEOUT, so that it says why. */
	int watchdog_s;
	int log_lines; /* of the server's log shown when a case fails */
};

/* Run argv[2] against the server binary argv[1]: the case under the watchdog, then SIGTERM
 * to the server, which must exit with status 0 (server_stop). Says PASS, FAIL or
 * SKIPPED; the exit status: 0, 1, 77 (case_skipped), 2 (usage). */
int check_main(const struct check_driver *d, int argc, char **argv);

#endif
