/* The integration driver's shared parts: the scenes and encodings it checks, starting the
 * server, connecting clients, waiting for rest, comparing with the reference. */
#include "check.h"

#include <stdio.h>
#include <string.h>

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
};
const size_t n_scenes = sizeof(scenes) / sizeof(scenes[0]);

const struct encoding encodings[] = {
	{"raw", "raw copyrect", -1},       {"hextile", "hextile copyrect", -1},
	{"zlib", "zlib copyrect", -1},     {"zrle", "zrle copyrect", -1},
	{"tight", "tight copyrect", -1},   {"tight-jpeg", "tight copyrect", 9},
	{"ultra", "ultra copyrect", -1},
};
const size_t n_encodings = sizeof(encodings) / sizeof(encodings[0]);

bool case_skipped;

const struct tolerance exact = {0, 0};
/* Tight with quality level 9 is JPEG (libvncserver: Q100, 4:4:4; our own Tight-JPEG path may
 * choose otherwise). A correct encoder stays far inside these bounds; a wrong rectangle,
 * channel order or stale tile does not. Per channel: mean |error| <= 3, max |error| <= 40. */
const struct tolerance jpeg = {3.0, 40};

const struct scene *find_scene(const char *name)
{
	for (size_t i = 0; i < n_scenes; i++)
		if (strcmp(scenes[i].name, name) == 0)
			return &scenes[i];
	return NULL;
}

const struct encoding *find_encoding(const char *name)
{
	for (size_t i = 0; i < n_encodings; i++)
		if (strcmp(encodings[i].name, name) == 0)
			return &encodings[i];
	return NULL;
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
