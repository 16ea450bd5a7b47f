/* hostile_check: the server against hostile guests, hostile and slow clients, churn,
 * password guessing and failing parts.
 *
 *   hostile_check PATH/TO/vgpu-vnc CASE
 *
 * Like tests/integration's vnc_check (whose server, client, reference and comparison code
 * it reuses), it starts the real binary on the synthetic vGPU and checks real bytes: the
 * pixels clients receive against the reference, the server's log lines, its RSS and open
 * fds from /proc, its exit status after SIGTERM (0, and no sanitizer report).
 *
 * Cases (one ctest entry each, label "hostile"):
 *   guest             the hostile scene (every bad plane, interleaved with good frames):
 *                     every update matches good frames only, row segment by row segment;
 *                     at rest the last good frame, exactly; rejections logged, rate-limited
 *   device-gone       fail=enodev@A-B: the last frame stays while the device is gone, the
 *                     picture moves on when it is back
 *   oom-resize        frame allocations over 2 MiB fail (a preloaded allocator, or ASan's
 *                     max_allocation_size_mb): the resize to 1024x768 is refused, the old
 *                     frame stays, later modes work
 *   messages          clients that send truncated messages, ClientCutText of 2^31 bytes,
 *                     65535 encodings, unknown message types, 0 and 64 bpp, requests far
 *                     outside the screen or 0 pixels wide, pixel formats flipping under
 *                     updates, garbage before the handshake, then hang up mid-message:
 *                     each is disconnected with a log line that says why (or served, when
 *                     what it sent is legal); a good client's pixels stay right
 *   flood             40 connections at once that never read, against --max-clients 8:
 *                     the cap holds (refusals logged), a good client keeps its frames
 *   silent            connections that never finish the handshake are closed after
 *                     --handshake-timeout, freeing their slots
 *   slow              a client reading at ~100 KB/s: a fast client goes on getting
 *                     updates (300 of them; its rates are logged), RSS growth stays bounded
 *   slow-long         the same for 1500 updates (SKIPPED unless VGPU_LONG_TESTS=1)
 *   stalled-resize    mode changes while a client never reads: the others' display does
 *                     not wait for it (4 size changes within 40 s, not one per 20 s), it is
 *                     disconnected, and says so
 *   churn             500 connect/handshake/update/disconnect cycles (100 under ASan): fds
 *                     and RSS at the end equal the start within a stated margin
 *   auth-delay        wrong passwords are refused after a growing delay per source, while
 *                     another client is served without delay; the right one still works
 *   auth-reload       SIGHUP re-reads the password file; a broken file keeps the old one
 *   auth-websocket    a WebSocket client is offered VNC authentication, not None
 *   no-auth-policy    no password on a non-loopback address: refused unless asked for
 *   preauth           with a password and a fake QMP: on tcp:, unix: and fd: listeners,
 *                     raw and in WebSocket frames, input, SetDesktopSize, SetEncodings and
 *                     SetPixelFormat right after each failing handshake step reach nothing
 *                     (QMP gets only the authenticated client's key); bad HTTP requests
 *                     (60 GET lines, 5 KiB, cut short, late) are refused, nothing
 *                     leaks (ASan); garbage
 *                     after a failed step closes the client once (no double free)
 *   preauth-noauth    the same without a password: a security type not offered, garbage
 *                     frames after a complete handshake; a key in the frame of ClientInit
 *                     still arrives
 *   sigterm-heavy     SIGTERM with six clients on the video scene: exit 0 (30 s limit)
 *   encoder-fails     x264 encodes fail from the 5th frame on (a preloaded shim): the
 *                     H.264 client is served by another encoding, with correct pixels
 *   request-hooks     a client listing Open H.264 but no cursor encoding, served by the
 *                     library as every H.264 frame fails (VGPU_TEST_H264_FAIL_FRAMES),
 *                     (and a plain raw one) asks 50 times for a small square of a still screen, then
 *                     paints into it: the next update carries exactly the paint (no
 *                     update for nothing before it), twice
 *   xcursor-race      8 XCursor clients while the guest's cursor flips at --fps 240:
 *                     every client gets its shapes, the server exits cleanly (ASan: no
 *                     leak or double free from converting a shared cursor)
 *
 * Files: cases_*.c (the cases; cases_preauth.c has a fake QMP server), proc_stats.c (RSS,
 * fds, log counting, the raw client's helpers; the client itself, one that sends any bytes,
 * is tests/lib/rfb_test_client.c), fail_alloc.c and fail_x264.c (preloaded fault injectors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/rfbproto.h>

#include "hostile.h"
#include "util.h"

#define WATCHDOG_S 110 /* ctest's TIMEOUT is 120 (slow-long has its own, longer) */

static const struct check_case cases[] = {
	{"guest", case_hostile_guest},
	{"device-gone", case_device_gone},
	{"oom-resize", case_oom_resize},
	{"messages", case_hostile_messages},
	{"flood", case_connection_flood},
	{"silent", case_silent_handshakes},
	{"slow", case_slow_reader},
	{"slow-long", case_slow_reader_long},
	{"stalled-resize", case_stalled_resize},
	{"churn", case_churn},
	{"auth-delay", case_auth_delay},
	{"auth-reload", case_auth_reload},
	{"auth-websocket", case_auth_websocket},
	{"no-auth-policy", case_no_auth_policy},
	{"preauth", case_preauth},
	{"preauth-noauth", case_preauth_noauth},
	{"sigterm-heavy", case_sigterm_heavy},
	{"encoder-fails", case_encoder_fails},
	{"request-hooks", case_request_hooks},
	{"xcursor-race", case_xcursor_race},
};

int main(int argc, char **argv)
{
	struct check_driver d = {
		.name = "hostile_check",
		.cases = cases,
		.n_cases = sizeof(cases) / sizeof(cases[0]),
		.watchdog_s = WATCHDOG_S,
		.log_lines = 80,
	};

	if (argc == 3 && strcmp(argv[2], "slow-long") == 0) {
		const char *on = getenv("VGPU_LONG_TESTS");
		if (!on || strcmp(on, "1") != 0) {
			say_prefix = d.name;
			say("SKIPPED slow-long: 60 s of video; run it with VGPU_LONG_TESTS=1");
			return 77;
		}
		d.watchdog_s = 170;
	}
	/* libvncserver's DES (for the raw client's VNC auth) initialises libgcrypt on first
	 * use, and a first use from several threads at once fails silently (auth.c,
	 * des_works): do it once here, before any thread. */
	uint8_t warm[CHALLENGESIZE] = {0};
	char key[] = "warm-up";
	rfbEncryptBytes(warm, key);
	return check_main(&d, argc, argv);
}
