/* vnc_check's shared parts: the encodings it checks, connecting clients, waiting for the
 * expected picture, comparing with the reference (harness.c has the scenes and the server). */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

const struct encoding encodings[] = {
	{"raw", "raw copyrect", -1},       {"hextile", "hextile copyrect", -1},
	{"zlib", "zlib copyrect", -1},     {"zrle", "zrle copyrect", -1},
	{"tight", "tight copyrect", -1},   {"tight-jpeg", "tight copyrect", 9},
	{"ultra", "ultra copyrect", -1},
};
const size_t n_encodings = sizeof(encodings) / sizeof(encodings[0]);

const struct tolerance exact = {0, 0};
/* Tight with quality level 9 is JPEG (libvncserver: Q100, 4:4:4; our own Tight-JPEG path may
 * choose otherwise). A correct encoder stays far inside these bounds; a wrong rectangle,
 * channel order or stale tile does not. Per channel: mean |error| <= 3, max |error| <= 40. */
const struct tolerance jpeg = {3.0, 40};

const struct encoding *find_encoding(const char *name)
{
	for (size_t i = 0; i < n_encodings; i++)
		if (strcmp(encodings[i].name, name) == 0)
			return &encodings[i];
	return NULL;
}

/* ---- clients ---- */

struct vc_opts pixel_opts(const struct encoding *e)
{
	struct vc_opts o = {
		.encodings = e->encodings,
		.compress = 1,
		.quality = e->quality,
		.remote_cursor = true, /* the cursor comes as a shape, not in the framebuffer */
	};
	return o;
}

const struct vc_opts default_opts = {
	.encodings = "tight copyrect", .compress = 1, .quality = -1, .remote_cursor = true,
};

bool connect_client_at(struct vc *c, const char *label, const char *host, int port,
			      const struct vc_opts *o)
{
	char err[256];

	if (vc_connect_to(c, label, host, port, o, err, sizeof(err)) < 0) {
		say("%s", err);
		return false;
	}
	return true;
}

bool connect_client(struct run *r, struct vc *c, const char *label,
			   const struct vc_opts *o)
{
	return connect_client_at(c, label, "127.0.0.1", r->port, o);
}

bool start_scene(struct run *r, const struct scene *sc, struct vc *c, const struct vc_opts *o,
		 struct ref_frame *want)
{
	if (!render(sc, NULL, 0, want))
		return false;
	if (start_server(r, sc->spec, NULL) && connect_client(r, c, "client", o))
		return true;
	ref_frame_free(want);
	return false;
}

/* Compare a client's framebuffer with want. */
bool check_client(const struct vc *c, const struct ref_frame *want,
			 const struct tolerance *tol, const char *what)
{
	struct ref_frame got;
	bool ok;

	if (vc_snapshot(c, &got) < 0)
		return false;
	ok = compare_frames(&got, want, tol, what);
	ref_frame_free(&got);
	return ok;
}

bool wait_picture(struct vc **cs, size_t n, size_t i, const struct ref_frame *want,
		  const struct tolerance *tol, const char *what)
{
	double deadline = now_s() + WAIT_LIMIT_S;
	unsigned seen = 0;
	bool first = true;

	for (;;) {
		if (first || cs[i]->updates != seen) {
			struct ref_frame got;
			bool match;

			first = false;
			seen = cs[i]->updates;
			if (vc_snapshot(cs[i], &got) < 0)
				return false;
			match = frames_match(&got, want, tol);
			ref_frame_free(&got);
			if (match)
				return true;
		}
		if (now_s() > deadline) {
			say("%s: not the expected picture within %d s (%u updates); the last one:",
			    what, WAIT_LIMIT_S, cs[i]->updates);
			check_client(cs[i], want, tol, what);
			return false;
		}
		if (vc_pump(cs, n, 0.05) < 0)
			return false;
	}
}

bool settle(struct vc **cs, size_t n, const struct scene *sc)
{
	struct ref_frame want;
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	ok = true;
	for (size_t i = 0; ok && i < n; i++)
		ok = wait_picture(cs, n, i, &want, &exact, cs[i]->label);
	ref_frame_free(&want);
	return ok;
}

bool settle_and_check(struct vc *c, const struct scene *sc, const struct ref_frame *want,
			     const struct tolerance *tol)
{
	struct vc *cs[] = {c};
	char what[128];

	snprintf(what, sizeof(what), "%s, %s", c->label, sc->spec);
	return wait_picture(cs, 1, 0, want, tol, what);
}
