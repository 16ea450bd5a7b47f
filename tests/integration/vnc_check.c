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
 *   input-wake             at --fps 1, clicks are seen without waiting for the next tick
 *                          (fewer scheduled ticks than clicks; input ticks counted)
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
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "util.h"

/* "pixels.SCENE.ENCODING" */
static bool run_pixels_case(struct run *r, const char *name)
{
	char scene[64];
	const char *dot = strchr(name, '.');
	const struct scene *sc;
	const struct encoding *e;

	if (!dot || (size_t)(dot - name) >= sizeof(scene)) {
		say("not pixels.SCENE.ENCODING: pixels.%s", name);
		return false;
	}
	snprintf(scene, sizeof(scene), "%.*s", (int)(dot - name), name);
	sc = find_scene(scene);
	e = find_encoding(dot + 1);
	if (!sc || !e) {
		say("unknown %s in \"pixels.%s\"", sc ? "encoding" : "scene", name);
		return false;
	}
	return case_pixels(r, sc, e);
}

static const struct check_case cases[] = {
	{"static-quiet", case_static_quiet}, {"resize", case_resize},
	{"cursor", case_cursor},             {"softcursor", case_softcursor},
	{"input", case_input},
	{"input-wake", case_input_wake},
	{"two-clients", case_two_clients},   {"many-clients", case_many_clients},
	{"slow-client", case_slow_client},   {"sigterm-busy", case_sigterm_busy},
	{"desktop-name", case_desktop_name},
	{"auth", case_auth},                 {"no-auth-refused", case_no_auth_refused},
	{"listeners", case_listeners},
	{"websocket", case_websocket},
};

int main(int argc, char **argv)
{
	static const struct check_driver d = {
		.name = "vnc_check", .cases = cases, .n_cases = sizeof(cases) / sizeof(cases[0]),
		.pixels = run_pixels_case, .pixels_usage = "SCENE.ENCODING",
		.watchdog_s = 50 /* ctest's TIMEOUT is 60 */, .log_lines = 60};

	return check_main(&d, argc, argv);
}
