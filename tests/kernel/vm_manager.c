/* vm_manager: the kernel test's stand-in for QEMU, inside the VM.
 *
 * It owns the mediated device the way a VM manager does: creates the mdev, opens it
 * through VFIO, plays the guest driver (bochs dispi registers through pwrite on BAR2, pixels
 * through an mmap of BAR0 / mdpy's display region: the samples' pread/pwrite paths for
 * framebuffers are broken, pitfall P8), and starts the real vgpu-vnc with the device:
 * inherited (fd:), handed over on a unix socket (socket:), or not at all (mdev:, the
 * server opens it). It obeys the host's checker, one command at a time, over /dev/ttyS1
 * (protocol: kernel_patterns.h). The server's log is forwarded to the console.
 *
 * Verbs (answers "ok" unless said otherwise):
 *   create TYPE            mdev of TYPE (mbochs-small, mdpy-vga); ok uuid=U
 *   open | close           VFIO group/container/device as owner, or release them
 *   remove                 remove the mdev
 *   serve fd|pid|socket|mdev|sysfs start vgpu-vnc (waits for "listening on"; socket:
 *                          hands the device over; mdev: and sysfs: let it open the mdev)
 *   handover | withdraw    socket: send the device fd again / close the connection
 *   stop                   SIGTERM the server; ok status=EXITCODE
 *   mode W H VH [SALT]     dispi modeset W x H, virtual height VH, enabled; with SALT,
 *                          page 0 is filled with it at the new mode before the display is
 *                          enabled again: the server never sees the old bytes at the new
 *                          stride (a picture between the two that no model predicts)
 *   fill PAGE SALT [X Y W H]  draw kpat_pixel(SALT) into page PAGE (rows PAGE*H..)
 *   flip PAGE              Y offset = PAGE * H
 *   enable 0|1             dispi ENABLE
 *   planeid                our own QUERY_GFX_PLANE; ok id=N w=W h=H
 *   edid-wait MS           wait for a new EDID on BAR2 (link up); ok w=W h=H
 *   log-mark | log-wait MS TEXT   server log since the mark contains TEXT
 *   expect-fail SPEC       run vgpu-vnc --source SPEC; ok status=N msg=FIRST ERROR LINE
 *   poweroff               answer, then exit (init powers the VM off)
 *
 * Build: gcc -static -D_GNU_SOURCE (mkinitramfs.sh), with the project's vfio_handover.c
 * and the util/ files it needs: no dependencies but libc and the kernel headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kernel_patterns.h"
#include "vfio_handover.h"

#define SERVER "/bin/vgpu-vnc"
#define SOCK_PATH "/tmp/vgpu-vnc.sock"
#define DISPI 0x500
enum { VBE_XRES = 1, VBE_YRES = 2, VBE_BPP = 3, VBE_ENABLE = 4, VBE_VIRT_W = 6,
       VBE_VIRT_H = 7, VBE_X_OFF = 8, VBE_Y_OFF = 9 };

static int ctl = -1;
static char uuid[40], mtype[40];
static int container = -1, group = -1, dev = -1;
static bool is_mdpy;
static struct vfio_region_info bar0, bar2, fbreg;
static uint8_t *vram;
static size_t vram_len;
static unsigned mode_w = 640, mode_h = 480;
static uint8_t last_edid[128];

static pid_t server_pid = -1;
static int server_log = -1;         /* read end of the server's stderr */
static char logbuf[1 << 18];        /* server output since the mark */
static size_t loglen;
static char linebuf[1024];          /* partial console line */
static size_t linelen;
static int handover_conn = -1;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("vm_manager: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* ---- the server's log: to the console, and kept for log-wait ---- */

static void drain_server_log(int timeout_ms)
{
	if (server_log < 0) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms);
		return;
	}
	struct pollfd p = {.fd = server_log, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	char buf[4096];
	ssize_t n = read(server_log, buf, sizeof(buf));
	if (n <= 0) {
		close(server_log);
		server_log = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (loglen + 1 < sizeof(logbuf))
			logbuf[loglen++] = buf[i];
		if (buf[i] == '\n' || linelen + 1 >= sizeof(linebuf)) {
			linebuf[linelen] = '\0';
			printf("server| %s\n", linebuf);
			linelen = 0;
		} else {
			linebuf[linelen++] = buf[i];
		}
	}
	logbuf[loglen] = '\0';
	fflush(stdout);
}

static bool log_wait(const char *text, double ms)
{
	double end = now_ms() + ms;
	while (!strstr(logbuf, text)) {
		if (now_ms() > end)
			return false;
		drain_server_log(50);
	}
	return true;
}

/* ---- control channel ---- */

static void reply(long seq, const char *fmt, ...)
{
	char line[KPAT_CTL_MAX_LINE];
	int n = snprintf(line, sizeof(line), "%ld ", seq);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	say("-> %.*s", n - 1, line);
	for (int off = 0; off < n;) {
		ssize_t w = write(ctl, line + off, (size_t)(n - off));
		if (w <= 0)
			break;
		off += (int)w;
	}
}

static bool read_command(char *line, size_t len)
{
	size_t got = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = ctl, .events = POLLIN},
				      {.fd = server_log, .events = POLLIN}};
		int r = poll(p, server_log >= 0 ? 2 : 1, -1);
		if (r < 0 && errno != EINTR)
			return false;
		if (server_log >= 0 && p[1].revents)
			drain_server_log(0);
		if (!p[0].revents)
			continue;
		char c;
		ssize_t n = read(ctl, &c, 1);
		if (n <= 0)
			return false;
		if (c == '\r')
			continue;
		if (c == '\n') {
			line[got] = '\0';
			if (got)
				return true;
			continue;
		}
		if (got + 1 < len)
			line[got++] = c;
	}
}

/* ---- the device ---- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int region_info(unsigned idx, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = idx;
	return ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, ri);
}

static int dispi(unsigned idx, uint16_t v)
{
	return pwrite(dev, &v, 2, (off_t)(bar2.offset + DISPI + idx * 2)) == 2 ? 0 : -1;
}

static const char *do_create(const char *type)
{
	static char err[PATH_MAX + 64];
	char pat[PATH_MAX], path[PATH_MAX];
	glob_t g;
	snprintf(pat, sizeof(pat), "/sys/class/mdev_bus/*/mdev_supported_types/%s", type);
	if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0)
		return "no such mdev type";
	snprintf(path, sizeof(path), "%s/create", g.gl_pathv[0]);
	globfree(&g);
	static unsigned n;
	n++;
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", 0x5eed0000u + n, 0x42u + n);
	int r = write_file(path, uuid);
	if (r < 0) {
		snprintf(err, sizeof(err), "create %s: %s", path, strerror(-r));
		return err;
	}
	snprintf(mtype, sizeof(mtype), "%s", type);
	is_mdpy = strncmp(type, "mdpy", 4) == 0;
	return NULL;
}

static const char *do_open(void)
{
	static char err[256];
	char link[PATH_MAX], target[PATH_MAX];
	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return "no iommu_group link";
	target[n] = '\0';
	char gpath[64];
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%s", basename(target));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(gpath, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0) {
		snprintf(err, sizeof(err), "open %s: %s", gpath, strerror(errno));
		return err;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		snprintf(err, sizeof(err), "container: %s", strerror(errno));
		return err;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev < 0) {
		snprintf(err, sizeof(err), "GET_DEVICE_FD: %s", strerror(errno));
		return err;
	}
	fcntl(dev, F_SETFD, FD_CLOEXEC);
	if (is_mdpy) {
		/* the display region: index 16 on mdpy (what QUERY_GFX_PLANE reports) */
		struct vfio_device_gfx_plane_info p = {.argsz = sizeof(p),
						       .flags = VFIO_GFX_PLANE_TYPE_REGION};
		if (ioctl(dev, VFIO_DEVICE_QUERY_GFX_PLANE, &p) < 0 ||
		    region_info(p.region_index, &fbreg) < 0)
			return "mdpy display region";
		vram_len = fbreg.size;
		vram = mmap(NULL, vram_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
			    (off_t)fbreg.offset);
		mode_w = p.width;
		mode_h = p.height;
	} else {
		if (region_info(VFIO_PCI_BAR0_REGION_INDEX, &bar0) < 0 ||
		    region_info(VFIO_PCI_BAR2_REGION_INDEX, &bar2) < 0)
			return "BAR region info";
		vram_len = bar0.size;
		vram = mmap(NULL, vram_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
			    (off_t)bar0.offset);
	}
	if (vram == MAP_FAILED) {
		vram = NULL;
		snprintf(err, sizeof(err), "mmap framebuffer: %s", strerror(errno));
		return err;
	}
	memset(last_edid, 0, sizeof(last_edid));
	return NULL;
}

static void do_close(void)
{
	if (vram)
		munmap(vram, vram_len);
	vram = NULL;
	if (dev >= 0)
		close(dev);
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	dev = group = container = -1;
}

static const char *do_fill(unsigned page, uint32_t salt, unsigned x0, unsigned y0, unsigned w,
			   unsigned h);

/* The new mode is set while the display is disabled, and with fill, page 0 drawn before
 * it is enabled again. */
static const char *do_mode(unsigned w, unsigned h, unsigned vh, bool fill, uint32_t salt)
{
	if (dev < 0 || is_mdpy)
		return "no mbochs device open";
	if ((size_t)w * 4 * vh > vram_len)
		return "mode does not fit the VRAM";
	int r = dispi(VBE_ENABLE, 0) | dispi(VBE_XRES, (uint16_t)w) | dispi(VBE_YRES, (uint16_t)h) |
		dispi(VBE_BPP, 32) | dispi(VBE_VIRT_W, (uint16_t)w) |
		dispi(VBE_VIRT_H, (uint16_t)vh) | dispi(VBE_X_OFF, 0) | dispi(VBE_Y_OFF, 0);
	mode_w = w;
	mode_h = h;
	const char *e = fill ? do_fill(0, salt, 0, 0, w, h) : NULL;
	r |= dispi(VBE_ENABLE, 0x41);
	return e ? e : r ? "dispi pwrite failed" : NULL;
}

static const char *do_fill(unsigned page, uint32_t salt, unsigned x0, unsigned y0, unsigned w,
			   unsigned h)
{
	if (!vram)
		return "no framebuffer mapped";
	if (x0 + w > mode_w || y0 + h > mode_h)
		return "rectangle outside the mode";
	size_t stride = (size_t)mode_w * 4, base = (size_t)page * mode_h * stride;
	if (base + stride * mode_h > vram_len)
		return "page outside the VRAM";
	for (unsigned y = y0; y < y0 + h; y++) {
		uint32_t *row = (uint32_t *)(vram + base + y * stride);
		for (unsigned x = x0; x < x0 + w; x++)
			row[x] = kpat_pixel(x, y, salt);
	}
	__sync_synchronize();
	return NULL;
}

static int plane_id(uint32_t *id, uint32_t *w, uint32_t *h)
{
	for (int i = 0; i < 3; i++) { /* the first query after a new mode fails (P4) */
		struct vfio_device_gfx_plane_info p = {.argsz = sizeof(p),
						       .flags = VFIO_GFX_PLANE_TYPE_DMABUF,
						       .drm_plane_type = 1};
		if (ioctl(dev, VFIO_DEVICE_QUERY_GFX_PLANE, &p) == 0) {
			*id = p.dmabuf_id;
			*w = p.width;
			*h = p.height;
			return 0;
		}
		if (errno != ENOMEM)
			return -errno;
	}
	return -ENOMEM;
}

/* Wait for the host to write a new EDID and bring the link up: mbochs shows the blob at
 * BAR2 offset 0 only while the link is up. The preferred mode is the first detailed
 * timing (bytes 54..71), parsed here independently of vgpu-vnc's code. */
static const char *edid_wait(double ms, unsigned *w, unsigned *h)
{
	static const uint8_t hdr[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
	double end = now_ms() + ms;
	while (now_ms() < end) {
		uint8_t e[128];
		if (pread(dev, e, sizeof(e), (off_t)bar2.offset) == (ssize_t)sizeof(e) &&
		    memcmp(e, hdr, 8) == 0 && memcmp(e, last_edid, sizeof(e)) != 0) {
			unsigned sum = 0;
			for (int i = 0; i < 128; i++)
				sum += e[i];
			if (sum & 0xff)
				return "EDID checksum wrong";
			memcpy(last_edid, e, sizeof(e));
			*w = e[56] | (unsigned)(e[58] >> 4) << 8;
			*h = e[59] | (unsigned)(e[61] >> 4) << 8;
			return NULL;
		}
		drain_server_log(20);
	}
	return "no new EDID";
}

/* ---- the server ---- */

static pid_t spawn(const char *spec, const char *listen, int inherit_fd, int *log_fd)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (inherit_fd == 3)
			fcntl(3, F_SETFD, 0);
		else if (inherit_fd >= 0)
			dup2(inherit_fd, 3); /* the copy has FD_CLOEXEC clear */
		/* sanitizer builds: libvncserver's own leaks are not ours (lsan.supp) */
		setenv("LSAN_OPTIONS", "suppressions=/etc/lsan.supp:print_suppressions=0", 1);
		char source[128];
		snprintf(source, sizeof(source), "--source=%s", spec);
		execl(SERVER, SERVER, source, "--listen", listen, "--insecure-no-auth",
		      "--log-level", "debug", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	*log_fd = pfd[0];
	return pid;
}

/* socket: the hand-over as a VM manager does it, through the project's own owner side
 * (vfio_handover_send). The server's log waits in its pipe meanwhile; the next command's
 * drain forwards it. */
static int send_fd(void)
{
	char answer[128];
	int s = vfio_handover_send(SOCK_PATH, dev, answer, sizeof(answer));
	say("hand-over answer: %s", answer);
	return s < 0 ? -1 : s;
}

static const char *do_serve(const char *how)
{
	static char err[512];
	if (server_pid > 0)
		return "a server is running";
	char spec[128];
	int inherit = -1;
	if (strcmp(how, "fd") == 0) {
		if (dev < 0)
			return "no device open";
		snprintf(spec, sizeof(spec), "fd:3");
		inherit = dev;
	} else if (strcmp(how, "pid") == 0) {
		/* vgpu-vnc takes our device fd itself (pidfd_getfd): nothing is inherited. */
		if (dev < 0)
			return "no device open";
		snprintf(spec, sizeof(spec), "pid:%d", (int)getpid());
	} else if (strcmp(how, "socket") == 0) {
		snprintf(spec, sizeof(spec), "socket:%s", SOCK_PATH);
	} else if (strcmp(how, "mdev") == 0) {
		snprintf(spec, sizeof(spec), "mdev:%s", uuid);
	} else if (strcmp(how, "sysfs") == 0) {
		snprintf(spec, sizeof(spec), "sysfs:/sys/bus/mdev/devices/%s", uuid);
	} else {
		return "serve fd|pid|socket|mdev|sysfs";
	}
	loglen = 0;
	logbuf[0] = '\0';
	server_pid = spawn(spec, "tcp:0.0.0.0:5900", inherit, &server_log);
	if (server_pid < 0)
		return "fork failed";
	double end = now_ms() + 60000;
	while (!strstr(logbuf, "listening on")) {
		int st;
		if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
			server_pid = -1;
			drain_server_log(100);
			snprintf(err, sizeof(err), "the server exited (status 0x%x) before listening",
				 st);
			return err;
		}
		if (now_ms() > end)
			return "the server did not listen within 60 s";
		drain_server_log(50);
	}
	if (strcmp(how, "socket") == 0) {
		handover_conn = send_fd();
		if (handover_conn < 0)
			return "hand-over refused";
	}
	return NULL;
}

static int do_stop(void)
{
	if (server_pid <= 0)
		return -1;
	kill(server_pid, SIGTERM);
	int st = 0;
	double end = now_ms() + 20000;
	while (waitpid(server_pid, &st, WNOHANG) != server_pid) {
		if (now_ms() > end) {
			kill(server_pid, SIGKILL);
			waitpid(server_pid, &st, 0);
			break;
		}
		drain_server_log(20);
	}
	while (server_log >= 0)
		drain_server_log(100);
	server_pid = -1;
	if (handover_conn >= 0)
		close(handover_conn);
	handover_conn = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run a server that must fail to start; report its status and first error line. */
static void expect_fail(long seq, const char *spec)
{
	int lfd;
	pid_t pid = spawn(spec, "tcp:127.0.0.1:5999", -1, &lfd);
	char out[4096];
	size_t len = 0;
	double end = now_ms() + 30000;
	int st = 0;
	bool exited = false;
	bool eof = false;
	while (now_ms() < end && !(exited && eof)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		if (!eof && poll(&p, 1, 50) > 0) {
			ssize_t n = read(lfd, out + len, sizeof(out) - 1 - len);
			if (n > 0)
				len += (size_t)n;
			else
				eof = true; /* the server's end of the pipe closed */
		}
		if (!exited && waitpid(pid, &st, WNOHANG) == pid)
			exited = true;
		if (eof && !exited)
			poll(NULL, 0, 20);
	}
	out[len] = '\0';
	close(lfd);
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		reply(seq, "err the server with %s did not exit", spec);
		return;
	}
	printf("%s", out);
	char *e = strstr(out, "error:");
	char *nl = e ? strchr(e, '\n') : NULL;
	if (nl)
		*nl = '\0';
	reply(seq, "ok status=%d msg=%s", WIFEXITED(st) ? WEXITSTATUS(st) : 128,
	      e ? e : "(no error line)");
}

/* ---- main loop ---- */

static void command(char *line)
{
	char *save = NULL, *w[12] = {0};
	int n = 0;
	long seq = strtol(line, &line, 10);
	for (char *t = strtok_r(line, " ", &save); t && n < 12; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	const char *verb = n ? w[0] : "";
	const char *e = NULL;
	if (!strcmp(verb, "create") && n == 2) {
		if (!(e = do_create(w[1]))) {
			reply(seq, "ok uuid=%s", uuid);
			return;
		}
	} else if (!strcmp(verb, "open")) {
		e = do_open();
	} else if (!strcmp(verb, "close")) {
		do_close();
	} else if (!strcmp(verb, "remove")) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
		int r = write_file(path, "1");
		e = r ? strerror(-r) : NULL;
	} else if (!strcmp(verb, "serve") && n == 2) {
		e = do_serve(w[1]);
	} else if (!strcmp(verb, "handover")) {
		if (handover_conn >= 0)
			close(handover_conn);
		handover_conn = send_fd();
		e = handover_conn < 0 ? "hand-over refused" : NULL;
	} else if (!strcmp(verb, "withdraw")) {
		if (handover_conn >= 0)
			close(handover_conn);
		handover_conn = -1;
	} else if (!strcmp(verb, "stop")) {
		reply(seq, "ok status=%d", do_stop());
		return;
	} else if (!strcmp(verb, "mode") && (n == 4 || n == 5)) {
		e = do_mode((unsigned)atoi(w[1]), (unsigned)atoi(w[2]), (unsigned)atoi(w[3]),
			    n == 5, n == 5 ? (uint32_t)strtoul(w[4], NULL, 0) : 0);
	} else if (!strcmp(verb, "fill") && (n == 3 || n == 7)) {
		unsigned page = (unsigned)atoi(w[1]);
		uint32_t salt = (uint32_t)strtoul(w[2], NULL, 0);
		if (n == 7)
			e = do_fill(page, salt, (unsigned)atoi(w[3]), (unsigned)atoi(w[4]),
				    (unsigned)atoi(w[5]), (unsigned)atoi(w[6]));
		else
			e = do_fill(page, salt, 0, 0, mode_w, mode_h);
	} else if (!strcmp(verb, "flip") && n == 2) {
		e = dispi(VBE_Y_OFF, (uint16_t)(atoi(w[1]) * (int)mode_h)) ? "pwrite" : NULL;
	} else if (!strcmp(verb, "enable") && n == 2) {
		e = dispi(VBE_ENABLE, atoi(w[1]) ? 0x41 : 0) ? "pwrite" : NULL;
	} else if (!strcmp(verb, "planeid")) {
		uint32_t id = 0, pw = 0, ph = 0;
		int r = plane_id(&id, &pw, &ph);
		if (r == 0) {
			reply(seq, "ok id=%u w=%u h=%u", id, pw, ph);
			return;
		}
		e = strerror(-r);
	} else if (!strcmp(verb, "edid-wait") && n == 2) {
		unsigned ew = 0, eh = 0;
		if (!(e = edid_wait(atof(w[1]), &ew, &eh))) {
			reply(seq, "ok w=%u h=%u", ew, eh);
			return;
		}
	} else if (!strcmp(verb, "log-mark")) {
		drain_server_log(0);
		loglen = 0;
		logbuf[0] = '\0';
	} else if (!strcmp(verb, "log-wait") && n >= 3) {
		char text[256] = "";
		for (int i = 2; i < n; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
				 i > 2 ? " " : "", w[i]);
		e = log_wait(text, atof(w[1])) ? NULL : "not in the server log";
	} else if (!strcmp(verb, "expect-fail") && n == 2) {
		expect_fail(seq, w[1]);
		return;
	} else if (!strcmp(verb, "poweroff")) {
		reply(seq, "ok");
		do_stop();
		do_close();
		exit(0);
	} else {
		e = "unknown command";
	}
	if (e)
		reply(seq, "err %s: %s", verb, e);
	else
		reply(seq, "ok");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	const char *tty = argc > 1 ? argv[1] : "/dev/ttyS1";
	ctl = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ctl < 0) {
		say("cannot open %s: %s", tty, strerror(errno));
		return 1;
	}
	struct termios t;
	if (tcgetattr(ctl, &t) == 0) {
		cfmakeraw(&t);
		cfsetspeed(&t, B115200);
		tcsetattr(ctl, TCSANOW, &t);
	}
	reply(0, "ready");
	char line[KPAT_CTL_MAX_LINE];
	while (read_command(line, sizeof(line))) {
		say("<- %s", line);
		command(line);
	}
	say("control channel closed");
	do_stop();
	return 1;
}
