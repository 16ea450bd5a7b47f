/* Failing parts: SIGTERM under heavy traffic, an H.264 encoder that fails to start or
 * stops encoding. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

#define N_BUSY 6

/* Six clients on 640x480 video: four reading raw as fast as they can, one asking for
 * H.264, one that never reads; SIGTERM after 2 s: exit 0 (within server_stop's generous
 * limit; how fast is bench/'s business), no sanitizer report. */
bool case_sigterm_heavy(struct run *r)
{
	struct rr c[N_BUSY];
	static const int32_t h264[] = {RFB_ENC_OPEN_H264, RFB_ENC_RAW, RFB_ENC_RICH_CURSOR};
	bool ok = start_server(r, "640x480:video", NULL);
	unsigned n = 0;
	for (; ok && n < N_BUSY; n++) {
		c[n].fd = -1;
		ok = rr_open(r, &c[n], "busy client", NULL) &&
		     (n != 4 || rr_set_encodings(&c[n], h264, 3)) &&
		     rr_request(&c[n], false, 0, 0, c[n].width, c[n].height);
	}
	uint64_t bytes = 0;
	for (double end = now_s() + 2; ok && now_s() < end;) {
		for (unsigned i = 0; i + 1 < n; i++) { /* the last one never reads */
			uint8_t buf[65536];
			ssize_t k;
			while ((k = recv(c[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				bytes += (uint64_t)k;
			rr_request(&c[i], true, 0, 0, c[i].width, c[i].height);
		}
		usleep(2000);
	}
	double t = now_s();
	bool stopped = ok && server_stop(&r->srv, 5);
	double took = now_s() - t;
	if (ok)
		say("%u clients moved %.1f MB in 2 s; after SIGTERM the server exited in %.2f s (%s)",
		    n, bytes / 1e6, took, stopped ? "status 0, no sanitizer report" : "badly");
	for (unsigned i = 0; i < n; i++)
		rr_close(&c[i]);
	return ok && stopped;
}

static bool ends_right(struct rr *c, const char *spec, uint64_t tick)
{
	struct ref_frame want;
	char err[256];
	if (ref_render(spec, tick, NULL, 0, &want, err, sizeof(err)) < 0) {
		say("reference: %s", err);
		return false;
	}
	/* A client that lost its H.264 stream asks for the whole screen again (rr_wait_picture
	 * does) and must come to show the scene's last tick exactly. */
	bool ok = rr_wait_picture(c, &want, 30, "the H.264 client after the fallback");
	ref_frame_free(&want);
	return ok;
}

static bool start_with_x264_fault(struct run *r, const char *spec, const char *fault)
{
	const char *extra[] = {"--encoder", "auto", NULL};
	char eq[128];
	snprintf(eq, sizeof(eq), "%s", fault);
	char *v = strchr(eq, '=');
	*v++ = '\0';
	setenv(eq, v, 1);
	if (built_with_asan()) {
		/* The shim is not instrumented and comes first: tell ASan that is fine. */
		const char *old = getenv("ASAN_OPTIONS");
		char opts[512];
		snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", old ? old : "",
			 old && *old ? ":" : "");
		setenv("VGPU_SAVED_ASAN_OPTIONS", old ? old : "", 1);
		setenv("ASAN_OPTIONS", opts, 1);
	}
	bool ok = start_server_env(r, spec, extra, "LD_PRELOAD=" FAIL_X264_SO);
	unsetenv(eq);
	if (built_with_asan()) {
		setenv("ASAN_OPTIONS", getenv("VGPU_SAVED_ASAN_OPTIONS"), 1);
		unsetenv("VGPU_SAVED_ASAN_OPTIONS");
	}
	return ok;
}

/* The encoder stops working after 5 frames: the client is served by libvncserver's
 * encodings from then on (the log says so), with the right pixels. Then: no encoder at
 * all from the start; a client that asks for H.264 gets other encodings. */
bool case_encoder_fails(struct run *r)
{
	const char *spec = "320x240:video:rate=30,frames=120";
	static const int32_t enc[] = {RFB_ENC_OPEN_H264, RFB_ENC_RAW, RFB_ENC_RICH_CURSOR,
				      RFB_ENC_DESKTOP_SIZE};
	struct rr c = {.fd = -1};
	double t0 = now_s();
	bool ok = start_with_x264_fault(r, spec, "VGPU_TEST_X264_FAIL_AFTER=5") &&
		  rr_open(r, &c, "H.264 client", NULL) && rr_set_encodings(&c, enc, 4) &&
		  rr_request(&c, false, 0, 0, c.width, c.height) && rr_pump_until(&c, now_s() + 1.5);
	if (ok)
		say("encode failing after 5 frames: %u H.264 rects, then %u raw rects", c.h264_rects,
		    c.raw_rects);
	if (ok && (c.h264_rects == 0 || c.raw_rects == 0)) {
		say("want H.264 first, then raw rectangles");
		ok = false;
	}
	if (ok && !server_log_contains(&r->srv, "serving it with libvncserver's encodings")) {
		say("the server did not say it fell back");
		ok = false;
	}
	ok = ok && rr_pump_until(&c, t0 + 120.0 / 30 + 0.3) && ends_right(&c, spec, 120);
	rr_close(&c);
	if (!ok)
		return false;
	ok = server_stop(&r->srv, 5);

	t0 = now_s();
	ok = ok && start_with_x264_fault(r, spec, "VGPU_TEST_X264_OPEN_FAILS=1") &&
	     rr_open(r, &c, "H.264 client, no encoder", NULL) && rr_set_encodings(&c, enc, 4) &&
	     rr_request(&c, false, 0, 0, c.width, c.height) && rr_pump_until(&c, now_s() + 1.0);
	if (ok && !server_log_contains(&r->srv, "clients that ask for H.264 get other encodings")) {
		say("the server did not say H.264 is off");
		ok = false;
	}
	if (ok && (c.h264_rects != 0 || c.raw_rects == 0)) {
		say("no encoder: want raw rectangles only, got %u H.264 and %u raw", c.h264_rects,
		    c.raw_rects);
		ok = false;
	}
	ok = ok && rr_pump_until(&c, t0 + 120.0 / 30 + 0.3) && ends_right(&c, spec, 120);
	rr_close(&c);
	return ok;
}
