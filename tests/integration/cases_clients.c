/* Several clients: together, one leaving, one per encoding, one not reading, SIGTERM. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* Pump the clients until each has had at least `count` updates (WAIT_LIMIT_S at most). */
static bool wait_updates(struct vc **cs, size_t n, unsigned count)
{
	double deadline = now_s() + WAIT_LIMIT_S;

	for (;;) {
		bool all = true;

		for (size_t i = 0; i < n; i++)
			all &= cs[i]->updates >= count;
		if (all)
			return true;
		if (now_s() > deadline) {
			for (size_t i = 0; i < n; i++)
				say("%s: %u updates within %d s (want %u)", cs[i]->label, cs[i]->updates,
				    WAIT_LIMIT_S, count);
			return false;
		}
		if (vc_pump(cs, n, 0.05) < 0)
			return false;
	}
}

static bool two_clients_both_equal(struct run *r)
{
	const struct scene *sc = find_scene("typing");
	struct ref_frame want;
	struct vc a, b, *cs[] = {&a, &b};
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc->spec, NULL) && connect_client(r, &a, "client A", &default_opts);
	if (ok) {
		struct vc_opts ob = pixel_opts(find_encoding("zrle"));

		ok = connect_client(r, &b, "client B", &ob);
		ok = ok && settle(cs, 2, sc) && check_client(&a, &want, &exact, "client A") &&
		     check_client(&b, &want, &exact, "client B");
		vc_close(&b);
		vc_close(&a);
	}
	ref_frame_free(&want);
	return ok && server_stop(&r->srv, 5);
}

static bool two_clients_one_leaves(struct run *r)
{
	const struct scene sc = {"typing", "320x240:typing:frames=75,stamp=on", 75, 30};
	struct ref_frame want;
	struct vc a, b, *cs[] = {&a, &b};
	bool ok;

	if (!render(&sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc.spec, NULL) && connect_client(r, &a, "client A", &default_opts);
	if (ok) {
		/* A leaves mid-scene: once both have seen a picture, and long before the end. */
		ok = connect_client(r, &b, "client B", &default_opts) && wait_updates(cs, 2, 1);
		vc_close(&a);
		ok = ok && settle_and_check(&b, &sc, &want, &exact);
		vc_close(&b);
	}
	ref_frame_free(&want);
	return ok;
}

bool case_two_clients(struct run *r)
{
	return two_clients_both_equal(r) && two_clients_one_leaves(r);
}

/* One client per encoding on one server: each ends equal to the source. */
bool case_many_clients(struct run *r)
{
	enum { N = 16 }; /* vc_pump's limit; there are fewer encodings */
	const struct scene *sc = find_scene("video");
	struct vc clients[N], *cs[N];
	struct vc_opts opts[N];
	struct ref_frame want;
	size_t n = 0;
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc->spec, NULL);
	for (; ok && n < n_encodings && n < N; n++) {
		opts[n] = pixel_opts(&encodings[n]);
		cs[n] = &clients[n];
		ok = connect_client(r, cs[n], encodings[n].name, &opts[n]);
		if (!ok)
			break;
	}
	for (size_t i = 0; ok && i < n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "client %s", encodings[i].name);
		ok = wait_picture(cs, n, i, &want, encodings[i].quality >= 0 ? &jpeg : &exact, what);
	}
	for (size_t i = 0; i < n; i++)
		vc_close(cs[i]);
	ref_frame_free(&want);
	return ok;
}

/* A client that stops reading (raw 640x480 video: 1.2 MB a picture, more than the socket
 * buffers hold, so the server's writes to it block) must not stall the capture or the other
 * client: A must reach the scene's last picture while B reads nothing; then B reads again
 * and catches up. */
bool case_slow_client(struct run *r)
{
	const struct scene sc = {"video", "640x480:video:frames=75,stamp=on", 75, 30};
	struct vc_opts o = pixel_opts(find_encoding("raw"));
	struct vc a, b, *both[] = {&a, &b}, *fast[] = {&a};
	struct ref_frame want;
	bool ok;

	if (!render(&sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc.spec, NULL) && connect_client(r, &a, "client A", &o);
	if (ok) {
		ok = connect_client(r, &b, "client B (slow)", &o);
		if (ok) {
			unsigned b0;

			ok = wait_updates(both, 2, 1);
			b0 = b.updates;
			/* B reads nothing while A goes to the end */
			ok = ok && wait_picture(fast, 1, 0, &want, &exact, "client A while B stalls");
			if (ok && b.updates != b0) {
				say("test bug: client B read while it should stall");
				ok = false;
			}
			ok = ok && settle(both, 2, &sc);
			vc_close(&b);
		}
		vc_close(&a);
	}
	ref_frame_free(&want);
	return ok;
}

/* SIGTERM while clients are connected, one of them not reading (the server's writes to it
 * block): the server must still close them and exit 0 (server_stop's generous limit; how
 * fast it exits is bench/'s business), without leaks. */
bool case_sigterm_busy(struct run *r)
{
	const struct scene sc = {"video", "640x480:video", 0, 30}; /* runs until the end */
	struct vc_opts o = pixel_opts(find_encoding("raw"));
	struct vc a, b, *both[] = {&a, &b}, *fast[] = {&a};
	bool ok, stopped = false;
	double t;

	ok = start_server(r, sc.spec, NULL) && connect_client(r, &a, "client A", &o);
	if (ok) {
		ok = connect_client(r, &b, "client B (not reading)", &o);
		if (ok) {
			/* B's writes block once A has had some pictures that B did not read */
			ok = wait_updates(both, 2, 1) && wait_updates(fast, 1, a.updates + 10);
			t = now_s();
			stopped = ok && server_stop(&r->srv, 5);
			if (ok && getenv("VNC_CHECK_VERBOSE"))
				say("the server took %.2f s to exit", now_s() - t);
			vc_close(&b);
		}
		vc_close(&a);
	}
	return ok && stopped;
}
