/* The D-Bus display test's guest: /init of a tiny initramfs under Debian's stock kernel.
 *
 * It loads the modules it is given (/lib/modules, in the order that /lib/modules/order lists),
 * takes the VESA framebuffer (/dev/fb0) from the console, and then obeys the host over
 * the serial line (ttyS0):
 *   "P N"  draw pattern N (a function of N, x and y) and answer "DRAWN N WxH"
 * while it reports every input event of every /dev/input/event* device as
 *   "EV TYPE CODE VALUE"
 * Everything it says starts a line with "GUEST: " so that kernel messages do not mix in.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/input.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEV 8

static int serial = 1;

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	char line[300];
	int m = snprintf(line, sizeof(line), "GUEST: %.*s", n, buf);
	if (write(serial, line, (size_t)m) < 0)
		return;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			say("cannot write %s", path);
		close(fd);
	}
}

static void load_modules(void)
{
	FILE *f = fopen("/lib/modules/order", "r");
	char name[128];
	while (f && fscanf(f, "%127s", name) == 1) {
		char path[200];
		snprintf(path, sizeof(path), "/lib/modules/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
			say("insmod %s failed", name);
		if (fd >= 0)
			close(fd);
	}
	if (f)
		fclose(f);
}

static uint32_t pixel(int n, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	uint32_t r = (x * 255 / w) ^ (uint32_t)(n * 37);
	uint32_t g = (y * 255 / h) + (uint32_t)n * 16;
	uint32_t b = ((x / 32 + y / 32 + (uint32_t)n) & 1) ? 0xe0 : 0x20;
	if (x / 64 == (uint32_t)n % 8 && y < h / 2)
		r = g = b = 0xff; /* a white bar that moves with n */
	return (r & 0xff) << 16 | (g & 0xff) << 8 | (b & 0xff);
}

int main(void)
{
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	serial = open("/dev/ttyS0", O_RDWR | O_NOCTTY);
	if (serial < 0)
		serial = 1;
	/* Raw serial input: commands arrive as whole lines all the same. */
	load_modules();
	/* Take the framebuffer from the text console: no cursor blinking over the pattern. */
	write_file("/sys/class/graphics/fbcon/cursor_blink", "0");
	write_file("/sys/class/vtconsole/vtcon1/bind", "0");
	int fb = open("/dev/fb0", O_RDWR);
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	if (fb < 0 || ioctl(fb, FBIOGET_VSCREENINFO, &var) < 0 || ioctl(fb, FBIOGET_FSCREENINFO, &fix) < 0) {
		say("FAIL no framebuffer");
		reboot(RB_POWER_OFF);
	}
	uint8_t *mem = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
	if (mem == MAP_FAILED || var.bits_per_pixel != 32) {
		say("FAIL framebuffer %ux%u %u bpp not usable", var.xres, var.yres, var.bits_per_pixel);
		reboot(RB_POWER_OFF);
	}
	struct pollfd fds[1 + MAX_DEV] = {{.fd = serial, .events = POLLIN}};
	int nfds = 1;
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	while (d && (e = readdir(d)) && nfds < 1 + MAX_DEV) {
		if (strncmp(e->d_name, "event", 5))
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		char name[64] = "?";
		int fd = open(path, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			continue;
		ioctl(fd, EVIOCGNAME(sizeof(name)), name);
		say("input %s: %s", e->d_name, name);
		fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	say("READY %ux%u stride %u", var.xres, var.yres, fix.line_length);
	char line[128];
	size_t len = 0;
	for (;;) {
		if (poll(fds, (nfds_t)nfds, -1) < 0)
			continue;
		for (int i = 1; i < nfds; i++) {
			struct input_event ev;
			while (fds[i].revents && read(fds[i].fd, &ev, sizeof(ev)) == sizeof(ev))
				if (ev.type != EV_SYN && ev.type != EV_MSC)
					say("EV %u %u %d", ev.type, ev.code, ev.value);
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		ssize_t got = read(serial, line + len, sizeof(line) - 1 - len);
		if (got <= 0)
			continue;
		len += (size_t)got;
		char *nl;
		while ((nl = memchr(line, '\n', len)) || (nl = memchr(line, '\r', len))) {
			*nl = '\0';
			int n;
			if (sscanf(line, "P %d", &n) == 1) {
				for (uint32_t y = 0; y < var.yres; y++) {
					uint32_t *row = (uint32_t *)(mem + (size_t)y * fix.line_length);
					for (uint32_t x = 0; x < var.xres; x++)
						row[x] = pixel(n, x, y, var.xres, var.yres);
				}
				msync(mem, fix.smem_len, MS_SYNC);
				say("DRAWN %d %ux%u", n, var.xres, var.yres);
			}
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len);
		}
		if (len == sizeof(line) - 1)
			len = 0;
	}
}
