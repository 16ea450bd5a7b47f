/* Several clients: together, one leaving, one per encoding, one not reading, SIGTERM. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

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
	const struct scene sc = {"typing", "320x240:typing:frames=75", 75, 30};
	struct ref_frame want;
	struct vc a, b, *cs[] = {&a, &b};
	bool ok;

	if (!render(&sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc.spec, NULL) && connect_client(r, &a, "client A", &default_opts);
	if (ok) {
		ok = connect_client(r, &b, "client B", &default_opts) && vc_pump(cs, 2, 0.7) == 0;
		vc_close(&a); /* mid-scene: 0.7 s of 2.5 */
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
	ok = ok && settle(cs, n, sc);
	for (size_t i = 0; ok && i < n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "client %s", encodings[i].name);
		ok = check_client(cs[i], &want, encodings[i].quality >= 0 ? &jpeg : &exact, what);
	}
	for (size_t i = 0; i < n; i++)
		vc_close(cs[i]);
	ref_frame_free(&want);
	return ok;
}

/* A client that stops reading (raw 640x480 video: its socket buffers fill within a fraction
 * of a second, then the server's writes to it block) must not stall the capture or the
 * other client; when it reads again it catches up. */
bool case_slow_client(struct run *r)
{
	const struct scene sc = {"video", "640x480:video:frames=75", 75, 30};
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
			unsigned a0, b0;

			ok = vc_pump(both, 2, 0.2) == 0;
			a0 = a.updates, b0 = b.updates;
			ok = ok && vc_pump(fast, 1, 1.2) == 0; /* B reads nothing */
			/* 30 ticks a second: A should get about 36 updates; demand a third */
			if (ok && a.updates - a0 < 12) {
				say("client A got %u updates in the 1.2 s client B did not read "
				    "(want >= 12 of the ~36 frames): the slow client stalls it",
				    a.updates - a0);
				ok = false;
			}
			if (ok && getenv("VNC_CHECK_VERBOSE"))
				say("during B's stall: A %u updates, B %u", a.updates - a0,
				    b.updates - b0);
			ok = ok && settle(both, 2, &sc) &&
			     check_client(&a, &want, &exact, "client A") &&
			     check_client(&b, &want, &exact, "client B (slow)");
			vc_close(&b);
		}
		vc_close(&a);
	}
	ref_frame_free(&want);
	return ok;
}

/* SIGTERM while clients are connected, one of them not reading (the server's writes to it
 * block): the server must still close them and exit 0 within 5 s, without leaks. */
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
			ok = vc_pump(both, 2, 0.2) == 0 && vc_pump(fast, 1, 1.0) == 0;
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
