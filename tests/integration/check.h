/* What the integration driver's files share: scenes, encodings, the run, helpers, cases.
 * See vnc_check.c for what the driver does. */
#ifndef VNC_CHECK_CHECK_H
#define VNC_CHECK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compare.h"
#include "reference.h"
#include "server_proc.h"
#include "vnc_client.h"

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

extern const struct scene scenes[];
extern const size_t n_scenes;

struct encoding {
	const char *name;
	const char *encodings; /* libvncclient's encodingsString */
	int quality;           /* -1: lossless (no quality level sent) */
};

extern const struct encoding encodings[];
extern const size_t n_encodings;

/* Lossless encodings compare exactly; tight-jpeg within `jpeg` (see check.c). */
extern const struct tolerance exact, jpeg;

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

/* ---- helpers (check.c) ---- */

const struct scene *find_scene(const char *name);
const struct encoding *find_encoding(const char *name);

/* Start the server with exactly these arguments; no port wait. */
bool start_raw(struct run *r, const char *const *args);
/* Wait for the "listening on tcp:" line; r->port. */
bool wait_port(struct run *r);
/* Start on synthetic:SPEC, loopback, any port, plus extra arguments (NULL-terminated). */
bool start_server(struct run *r, const char *spec, const char *const *extra);

/* Client options for a pixel check with that encoding (cursor as a shape). */
struct vc_opts pixel_opts(const struct encoding *e);
/* Lossless tight with cursor shapes. */
extern const struct vc_opts default_opts;
bool connect_client_at(struct vc *c, const char *label, const char *host, int port,
		       const struct vc_opts *o);
/* To 127.0.0.1 and the server's port. */
bool connect_client(struct run *r, struct vc *c, const char *label, const struct vc_opts *o);

/* Pump all n clients until cs[i] shows want within tol (and, if want is stamped, want's
 * tick); after WAIT_LIMIT_S say how the last picture differs and return false. */
bool wait_picture(struct vc **cs, size_t n, size_t i, const struct ref_frame *want,
		  const struct tolerance *tol, const char *what);
/* Wait until every client shows the scene's last tick exactly (lossless clients). */
bool settle(struct vc **cs, size_t n, const struct scene *sc);
/* Compare a client's framebuffer with want; `what` names it in messages. */
bool check_client(const struct vc *c, const struct ref_frame *want,
		  const struct tolerance *tol, const char *what);
/* Wait until one client shows want within tol (wait_picture). */
bool settle_and_check(struct vc *c, const struct scene *sc, const struct ref_frame *want,
		      const struct tolerance *tol);
/* The reference frame of the scene's last tick after those events. */
bool render(const struct scene *sc, const struct ref_event *ev, size_t n, struct ref_frame *out);

/* ---- cases: true if the case passed (each says why not) ---- */

/* cases_pixels.c */
bool case_pixels(struct run *r, const struct scene *sc, const struct encoding *e);
bool case_static_quiet(struct run *r);
bool case_resize(struct run *r);
/* cases_input.c */
bool case_cursor(struct run *r);
bool case_softcursor(struct run *r);
bool case_input(struct run *r);
/* cases_clients.c */
bool case_two_clients(struct run *r);
bool case_many_clients(struct run *r);
bool case_slow_client(struct run *r);
bool case_sigterm_busy(struct run *r);
/* cases_server.c */
bool case_desktop_name(struct run *r);
bool case_auth(struct run *r);
bool case_no_auth_refused(struct run *r);
bool case_listeners(struct run *r);
bool case_websocket(struct run *r);

#endif
