/* What vnc_check's files share (and hostile_check uses): encodings, client helpers, cases.
 * See vnc_check.c for what the driver does; harness.h for the scenes, the server and main(). */
#ifndef VNC_CHECK_CHECK_H
#define VNC_CHECK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compare.h"
#include "harness.h"
#include "reference.h"
#include "vnc_client.h"

struct encoding {
	const char *name;
	const char *encodings; /* libvncclient's encodingsString */
	int quality;           /* -1: lossless (no quality level sent) */
};

extern const struct encoding encodings[];
extern const size_t n_encodings;

/* Lossless encodings compare exactly; tight-jpeg within `jpeg` (see check.c). */
extern const struct tolerance exact, jpeg;

/* ---- helpers (check.c) ---- */

const struct encoding *find_encoding(const char *name);

/* Client options for a pixel check with that encoding (cursor as a shape). */
struct vc_opts pixel_opts(const struct encoding *e);
/* Lossless tight with cursor shapes. */
extern const struct vc_opts default_opts;
bool connect_client_at(struct vc *c, const char *label, const char *host, int port,
		       const struct vc_opts *o);
/* To 127.0.0.1 and the server's port. */
bool connect_client(struct run *r, struct vc *c, const char *label, const struct vc_opts *o);

/* Render the scene's last tick into want, start the server on the scene and connect c
 * ("client") with o. On failure nothing is left to free. */
bool start_scene(struct run *r, const struct scene *sc, struct vc *c, const struct vc_opts *o,
		 struct ref_frame *want);
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
/* ---- cases: true if the case passed (each says why not) ---- */

/* cases_pixels.c */
bool case_pixels(struct run *r, const struct scene *sc, const struct encoding *e);
bool case_static_quiet(struct run *r);
bool case_resize(struct run *r);
/* cases_input.c */
bool case_cursor(struct run *r);
bool case_softcursor(struct run *r);
bool case_input(struct run *r);
bool case_input_wake(struct run *r);
/* cases_clients.c */
bool case_two_clients(struct run *r);
bool case_many_clients(struct run *r);
bool case_slow_client(struct run *r);
bool case_sigterm_busy(struct run *r);
/* cases_server.c */
/* A new file in $TMPDIR holding content; its name in path (the caller unlinks it). */
bool write_password_file(char *path, size_t len, const char *content);
bool case_desktop_name(struct run *r);
bool case_auth(struct run *r);
bool case_no_auth_refused(struct run *r);
bool case_listeners(struct run *r);
bool case_websocket(struct run *r);

#endif
