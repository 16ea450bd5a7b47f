/* kernel_check: the host side of the kernel test.
 *
 * Boots the VM (kernel_vm.h), drives the VM manager through a script of steps, and after
 * each step checks with a real VNC client, pixel for pixel, that the real vgpu-vnc inside
 * the VM shows what the manager drew through the kernel's mbochs and mdpy samples:
 *
 *  mbochs (dma-buf planes), device handed over on a unix socket (socket:):
 *   1 no mode yet: the placeholder screen, black
 *   2 first mode set 640x480
 *   3 drawing in place: the new pixels, and damage only in the drawn tiles
 *   4 page flip through the dispi Y offset (a new dmabuf id)
 *   5 flip back: the old id comes back, and the server saw it come back
 *   6 mode change 1024x768: the client gets the new size (DesktopSize)
 *   7 display disabled: the server says "display off", the client keeps the last frame
 *   8 re-enabled, with a picture drawn while it was off
 *   9 the client asks for 1000x700 (SetDesktopSize): vgpu-vnc writes an EDID, clamped to
 *     the device's 800x600; the manager reads it as the guest would and sets that mode;
 *     800x600x4 is not a page multiple, so the last partial page shows black
 *  10 device loss: the owner closes its hand-over connection; then hands over again
 *  11 SIGTERM: exit status 0
 *  mbochs, inherited fd (fd:): the current picture, then a mode change; exit 0
 *  mbochs, the manager's fd taken by pid (pid:): the current picture, a new picture
 *  mbochs, mdev: while the manager owns the group: vgpu-vnc refuses (busy, names fd:)
 *  mdev: of a UUID that does not exist: vgpu-vnc refuses (no such device)
 *  mdpy (region planes), vgpu-vnc opening the mdev itself (mdev:, then sysfs:): mdpy's
 *   own start-up gradient
 *  mdpy, socket:: the gradient, a full picture, drawing in place with damage; exit 0
 *
 * Usage: kernel_check --kernel VMLINUZ --initrd INITRAMFS --accel tcg|kvm --workdir DIR
 * Exit status 0 when every check passed, 1 otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_patterns.h"
#include "kernel_screen.h"
#include "kernel_vm.h"
#include "util.h"

#define LOG(...) (fprintf(stderr, "kernel_check: " __VA_ARGS__), fputc('\n', stderr))
#define STEP_TIMEOUT 30.0
#define TILE 64u /* the server's damage tile (encoder/damage.h) */

static struct kvm vm;
static struct vc client;
static struct ks_model model;
static double t0;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			LOG("FAIL: " __VA_ARGS__);                                         \
			return false;                                                      \
		}                                                                          \
	} while (0)

static bool guest(char *out, size_t len, const char *cmd)
{
	return kvm_cmd(&vm, STEP_TIMEOUT + 30, out, len, "%s", cmd);
}

#define G(...)                                                                             \
	do {                                                                               \
		char cmd_[256];                                                            \
		snprintf(cmd_, sizeof(cmd_), __VA_ARGS__);                                 \
		if (!guest(answer, sizeof(answer), cmd_))                                  \
			return false;                                                      \
	} while (0)

static unsigned field_u(const char *answer, const char *key)
{
	char v[64] = "";
	return kvm_field(answer, key, v, sizeof(v)) ? (unsigned)strtoul(v, NULL, 10) : ~0u;
}

static bool connect_client(void)
{
	return ks_connect(&client, vm.vnc_port, 60);
}

static bool last_size_is(uint32_t w, uint32_t h)
{
	if (client.n_sizes == 0)
		return false;
	const int *s = client.sizes[client.n_sizes - 1];
	return (uint32_t)s[0] == w && (uint32_t)s[1] == h;
}

static bool stop_server(void)
{
	char answer[256];
	ks_disconnect(&client);
	G("stop");
	unsigned st = field_u(answer, "status");
	CHECK(st == 0, "vgpu-vnc exit status %u after SIGTERM, want 0", st);
	LOG("ok: vgpu-vnc exited 0 on SIGTERM");
	return true;
}

/* ---- steps the script repeats ---- */

/* Start vgpu-vnc in the VM ("serve HOW"), connect the client: it must show the model. */
static bool serve_and_see(const char *how, const char *what)
{
	char answer[256];
	G("serve %s", how);
	return connect_client() && ks_expect(&client, &model, STEP_TIMEOUT, what);
}

/* The guest fills page 0 with the salt's pattern: the client must show it. */
static bool fill_and_see(uint32_t salt, const char *what)
{
	char answer[256];
	G("fill 0 %u", salt);
	ks_model_fill(&model, 0, salt);
	return ks_expect(&client, &model, STEP_TIMEOUT, what);
}

/* A dispi mode set W x H (virtual height VH) with page 0 filled with the salt's pattern
 * while the display is off: the client must show it. (Set first and filled after, the
 * screen would show the old bytes at the new stride for a while, which the server may
 * rightly send, and the model cannot predict.) */
static bool mode_and_see(uint32_t w, uint32_t h, uint32_t vh, uint32_t salt, const char *what)
{
	char answer[256];
	G("mode %u %u %u %u", w, h, vh, salt);
	ks_model_mode(&model, w, h);
	ks_model_fill(&model, 0, salt);
	return ks_expect(&client, &model, STEP_TIMEOUT, what);
}

/* The manager does VERB; the server's log must then say TEXT (within 10 s). */
static bool do_and_log(const char *verb, const char *text)
{
	char answer[256];
	G("log-mark");
	G("%s", verb);
	G("log-wait 10000 %s", text);
	return true;
}

/* The guest draws r on page 0 after a quiet moment: the client shows the new pixels and
 * nothing else changes, and the server's damage stays in the tiles drawn in. */
static bool draw_in_place(struct ks_rect r, uint32_t salt, const char *label)
{
	char answer[256], quiet[64], drawn[64], still[64], damage[64];
	snprintf(quiet, sizeof(quiet), "%s quiet before drawing", label);
	snprintf(drawn, sizeof(drawn), "%s drawing in place", label);
	snprintf(still, sizeof(still), "%s nothing else changes", label);
	snprintf(damage, sizeof(damage), "%s damage only where drawn", label);
	if (!ks_expect_still(&client, &model, 0.3, quiet))
		return false;
	ks_rects_reset();
	G("fill 0 %u %u %u %u %u", salt, r.x, r.y, r.w, r.h);
	ks_model_fill_rect(&model, 0, salt, r);
	return ks_expect(&client, &model, STEP_TIMEOUT, drawn) &&
	       ks_expect_still(&client, &model, 0.5, still) && ks_damage_within(r, TILE, damage);
}

/* ---- mbochs through socket: ---- */

static char mbochs_uuid[64];

static bool mbochs_socket(void)
{
	char answer[256];
	G("create mbochs-small");
	kvm_field(answer, "uuid", mbochs_uuid, sizeof(mbochs_uuid));
	G("open");

	/* 1: a device without a mode: the server shows its placeholder */
	ks_model_mode(&model, 640, 480);
	if (!serve_and_see("socket", "1 no display yet: black placeholder"))
		return false;

	/* 2: first mode set (two pages high, for the flips) */
	if (!mode_and_see(640, 480, 960, 1, "2 first mode set 640x480"))
		return false;

	/* 3: drawing in place */
	if (!draw_in_place((struct ks_rect){100, 80, 50, 40}, 2, "3"))
		return false;

	/* 4: page flip */
	G("planeid");
	unsigned id_a = field_u(answer, "id");
	G("fill 1 3");
	ks_model_fill(&model, 1, 3);
	G("flip 1");
	model.shown = 1;
	if (!ks_expect(&client, &model, STEP_TIMEOUT, "4 page flip to the second page"))
		return false;
	G("planeid");
	unsigned id_b = field_u(answer, "id");
	CHECK(id_b != id_a && id_b != 0, "page flip: dmabuf id %u -> %u, want a new id", id_a, id_b);

	/* 5: flip back: the first page's id returns, and the server noticed */
	G("log-mark");
	G("flip 0");
	model.shown = 0;
	if (!ks_expect(&client, &model, STEP_TIMEOUT, "5 flip back to the first page"))
		return false;
	G("planeid");
	CHECK(field_u(answer, "id") == id_a, "flip back: dmabuf id %u, want the old id %u",
	      field_u(answer, "id"), id_a);
	G("log-wait 10000 page flip: dmabuf id %u -> %u", id_b, id_a);
	LOG("ok: 5 the old dmabuf id %u came back (server log: page flip %u -> %u)", id_a, id_b,
	    id_a);

	/* 6: mode change */
	unsigned sizes_before = client.n_sizes;
	if (!mode_and_see(1024, 768, 768, 4, "6 mode change to 1024x768"))
		return false;
	CHECK(client.n_sizes > sizes_before && last_size_is(1024, 768),
	      "6: the client was not told the new size 1024x768 (DesktopSize)");

	/* 7: display disabled */
	if (!do_and_log("enable 0", "display off") ||
	    !ks_expect_still(&client, &model, 1.0, "7 display disabled: last frame kept"))
		return false;

	/* 8: re-enabled, showing what was drawn meanwhile */
	G("fill 0 5");
	ks_model_fill(&model, 0, 5);
	G("enable 1");
	if (!ks_expect(&client, &model, STEP_TIMEOUT, "8 display re-enabled"))
		return false;

	/* 9: SetDesktopSize -> EDID -> the guest's new mode */
	sizes_before = client.n_sizes;
	G("log-mark");
	CHECK(SendExtDesktopSize(client.cl, 1000, 700), "SendExtDesktopSize failed");
	G("edid-wait 20000");
	unsigned ew = field_u(answer, "w"), eh = field_u(answer, "h");
	CHECK(ew == 800 && eh == 600,
	      "9: the EDID's preferred mode is %ux%u; want 1000x700 clamped to mbochs-small's "
	      "800x600",
	      ew, eh);
	G("log-wait 5000 EDID with preferred mode 800x600");
	G("mode %u %u %u 6", ew, eh, eh);
	ks_model_mode(&model, ew, eh);
	ks_model_fill(&model, 0, 6);
	/* 1 920 000 bytes: the dma-buf maps whole pages only; the last 3072 bytes read 0 */
	model.black_from = (uint64_t)(1920000 / 4096 * 4096) / 4;
	if (!ks_expect(&client, &model, STEP_TIMEOUT, "9 EDID: the guest's new mode 800x600"))
		return false;
	CHECK(client.n_sizes > sizes_before && last_size_is(800, 600),
	      "9: the client was not told the new size 800x600 (ExtendedDesktopSize)");

	/* 10: device loss and a new hand-over */
	if (!do_and_log("withdraw", "device lost"))
		return false;
	G("log-wait 10000 display off");
	G("fill 0 7");
	ks_model_fill(&model, 0, 7);
	/* withdrawn: the server cannot see salt 7; the client keeps the salt 6 picture */
	struct ks_model before = model;
	ks_model_fill(&before, 0, 6);
	if (!ks_expect_still(&client, &before, 0.5, "10 device withdrawn: last frame kept"))
		return false;
	G("handover");
	if (!ks_expect(&client, &model, STEP_TIMEOUT, "10 new hand-over: the device is back"))
		return false;

	return stop_server();
}

/* ---- mbochs through fd:, and the refusals ---- */

static bool mbochs_fd(void)
{
	if (!serve_and_see("fd", "fd: the current picture") ||
	    !mode_and_see(640, 480, 480, 8, "fd: mode change to 640x480"))
		return false;
	CHECK(last_size_is(640, 480), "fd: the client was not told 640x480");
	return stop_server();
}

/* ---- mbochs through pid: vgpu-vnc takes the manager's device fd (pidfd_getfd) ---- */

static bool mbochs_pid(void)
{
	return serve_and_see("pid", "pid: the current picture") &&
	       fill_and_see(5, "pid: the guest draws a new picture") && stop_server();
}

static bool refusals(const char *owned_uuid)
{
	char answer[512], msg[400] = "";
	G("expect-fail mdev:%s", owned_uuid);
	kvm_field(answer, "msg", msg, sizeof(msg));
	CHECK(field_u(answer, "status") != 0 && strstr(msg, "busy") && strstr(msg, "fd:"),
	      "mdev: of a device another process owns: status %u, '%s'; want a failure that "
	      "says busy and points to fd:",
	      field_u(answer, "status"), msg);
	LOG("ok: mdev: refused while owned: %s", msg);
	G("expect-fail mdev:00000000-0000-4000-8000-000000000000");
	kvm_field(answer, "msg", msg, sizeof(msg));
	CHECK(field_u(answer, "status") != 0 && strstr(msg, "no such mediated device"),
	      "mdev: of a missing device: status %u, '%s'", field_u(answer, "status"), msg);
	LOG("ok: mdev: of a missing device refused: %s", msg);
	return true;
}

/* ---- mdpy ---- */

static bool mdpy(void)
{
	char answer[256];
	G("create mdpy-vga");
	/* vgpu-vnc opens it itself, then the same named by its sysfs path */
	ks_model_mode(&model, 640, 480);
	ks_model_fill(&model, 0, KPAT_SALT_GRADIENT);
	if (!serve_and_see("mdev", "mdpy mdev: the driver's gradient") || !stop_server() ||
	    !serve_and_see("sysfs", "mdpy sysfs: the driver's gradient") || !stop_server())
		return false;

	/* the manager owns it and hands it over */
	G("open");
	if (!serve_and_see("socket", "mdpy socket: the gradient") ||
	    !fill_and_see(9, "mdpy: a full picture") ||
	    !draw_in_place((struct ks_rect){300, 200, 40, 30}, 10, "mdpy:") || !stop_server())
		return false;
	G("close");
	G("remove");
	return true;
}

static bool script(void)
{
	double t = now_s();
	if (!mbochs_socket())
		return false;
	LOG("mbochs socket: passed in %.1f s", now_s() - t);
	t = now_s();
	/* the same device, now inherited; then the refusals while the manager owns it */
	if (!mbochs_fd() || !mbochs_pid() || !refusals(mbochs_uuid))
		return false;
	{
		char answer[64];
		G("close");
		G("remove");
	}
	LOG("mbochs fd and refusals: passed in %.1f s", now_s() - t);
	t = now_s();
	if (!mdpy())
		return false;
	LOG("mdpy: passed in %.1f s", now_s() - t);
	return true;
}

int main(int argc, char **argv)
{
	struct kvm_opts o = {.accel = "tcg"};
	static const struct option opts[] = {{"kernel", 1, 0, 'k'}, {"initrd", 1, 0, 'i'},
					     {"accel", 1, 0, 'a'},  {"workdir", 1, 0, 'w'},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o.kernel = optarg; break;
		case 'i': o.initrd = optarg; break;
		case 'a': o.accel = optarg; break;
		case 'w': o.workdir = optarg; break;
		default:
			fprintf(stderr, "usage: %s --kernel F --initrd F --accel tcg|kvm --workdir D\n",
				argv[0]);
			return 2;
		}
	}
	if (!o.kernel || !o.initrd || !o.workdir) {
		fprintf(stderr, "kernel_check: --kernel, --initrd and --workdir are required\n");
		return 2;
	}
	t0 = now_s();
	if (kvm_start(&vm, &o, 90) < 0) {
		kvm_stop(&vm, 0);
		return 1;
	}
	bool ok = script();
	if (ok) {
		char answer[64];
		ok = guest(answer, sizeof(answer), "poweroff");
	}
	if (!ok) {
		ks_disconnect(&client);
		kvm_dump_console(&vm, 80);
	}
	kvm_stop(&vm, ok ? 20 : 0);
	int problems = kvm_console_problems(&vm);
	if (problems) {
		LOG("FAIL: %d console line(s) report kernel or sanitizer problems (above)",
		    problems);
		ok = false;
	}
	LOG("%s after %.1f s", ok ? "PASS: every check passed" : "FAILED", now_s() - t0);
	return ok ? 0 : 1;
}
