/* QEMU and the control line. See kernel_vm.h. */
#include "kernel_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel_patterns.h"
#include "util.h"

#define LOG(...) (fprintf(stderr, "kernel_check: " __VA_ARGS__), fputc('\n', stderr))

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int port = -1;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static pid_t spawn_qemu(const struct kvm_opts *o, const char *ctl_path, const char *console,
			int port, const char *qemu_log)
{
	char serial0[600], chardev[600], netdev[200];
	snprintf(serial0, sizeof(serial0), "file:%s", console);
	snprintf(chardev, sizeof(chardev), "socket,id=ctl,path=%s,server=on,wait=off", ctl_path);
	snprintf(netdev, sizeof(netdev), "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:5900",
		 port);
	bool kvm = strcmp(o->accel, "kvm") == 0;
	const char *argv[] = {
		"qemu-system-x86_64", "-accel", kvm ? "kvm" : "tcg", "-cpu",
		kvm ? "host,-arch-capabilities" : "max", "-m", "512", "-smp", "2", "-nodefaults",
		"-display", "none", "-no-reboot", "-kernel", o->kernel, "-initrd", o->initrd,
		"-append", "console=ttyS0 quiet loglevel=4 panic=-1", "-serial", serial0,
		"-chardev", chardev, "-serial", "chardev:ctl", "-netdev", netdev, "-device",
		"e1000,netdev=n0", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(qemu_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

/* One line from the control socket (without the newline). 1, 0 on timeout, -1 closed. */
static int read_line(struct kvm *vm, char *line, size_t len, double deadline)
{
	for (;;) {
		char *nl = memchr(vm->rbuf, '\n', vm->rlen);
		if (nl) {
			size_t n = (size_t)(nl - vm->rbuf);
			size_t c = n < len - 1 ? n : len - 1;
			memcpy(line, vm->rbuf, c);
			line[c] = '\0';
			if (c && line[c - 1] == '\r')
				line[c - 1] = '\0';
			memmove(vm->rbuf, nl + 1, vm->rlen - n - 1);
			vm->rlen -= n + 1;
			return 1;
		}
		double left = deadline - now_s();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = vm->ctl, .events = POLLIN};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		if (vm->rlen == sizeof(vm->rbuf))
			vm->rlen = 0; /* a line too long to be ours: drop it */
		ssize_t n = read(vm->ctl, vm->rbuf + vm->rlen, sizeof(vm->rbuf) - vm->rlen);
		if (n <= 0)
			return -1;
		vm->rlen += (size_t)n;
	}
}

int kvm_start(struct kvm *vm, const struct kvm_opts *o, double boot_timeout)
{
	memset(vm, 0, sizeof(*vm));
	vm->ctl = -1;
	char ctl_path[512], qemu_log[512];
	snprintf(ctl_path, sizeof(ctl_path), "%s/ctl.sock", o->workdir);
	snprintf(qemu_log, sizeof(qemu_log), "%s/qemu.log", o->workdir);
	snprintf(vm->console, sizeof(vm->console), "%s/console.log", o->workdir);
	unlink(ctl_path);
	vm->vnc_port = free_port();
	if (vm->vnc_port < 0) {
		LOG("no free loopback port");
		return -1;
	}
	vm->qemu = spawn_qemu(o, ctl_path, vm->console, vm->vnc_port, qemu_log);
	if (vm->qemu < 0) {
		LOG("cannot fork: %s", strerror(errno));
		return -1;
	}
	LOG("QEMU (%s) pid %d, guest :5900 at 127.0.0.1:%d, console %s", o->accel, (int)vm->qemu,
	    vm->vnc_port, vm->console);
	double start = now_s(), deadline = start + boot_timeout;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(ctl_path) >= sizeof(a.sun_path)) {
		LOG("work directory path too long for a unix socket: %s", ctl_path);
		return -1;
	}
	memcpy(a.sun_path, ctl_path, strlen(ctl_path) + 1);
	while (vm->ctl < 0) {
		int st;
		if (waitpid(vm->qemu, &st, WNOHANG) == vm->qemu) {
			LOG("QEMU exited at once (status 0x%x); see %s", st, qemu_log);
			vm->qemu = -1;
			return -1;
		}
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
			vm->ctl = s;
			break;
		}
		close(s);
		if (now_s() > start + 20) {
			LOG("QEMU's control socket %s never appeared", ctl_path);
			return -1;
		}
		sleep_s(0.05);
	}
	char line[KPAT_CTL_MAX_LINE];
	for (;;) {
		int r = read_line(vm, line, sizeof(line), deadline);
		if (r <= 0) {
			LOG("the VM manager did not start within %.0f s", boot_timeout);
			kvm_dump_console(vm, 40);
			return -1;
		}
		if (strcmp(line, "0 ready") == 0)
			break;
	}
	LOG("VM manager ready %.1f s after QEMU started", now_s() - start);
	return 0;
}

bool kvm_cmd(struct kvm *vm, double timeout, char *out, size_t out_len, const char *fmt, ...)
{
	char body[KPAT_CTL_MAX_LINE - 32], cmd[KPAT_CTL_MAX_LINE], line[KPAT_CTL_MAX_LINE];
	long seq = ++vm->seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	LOG("guest: %s", body);
	int n = snprintf(cmd, sizeof(cmd), "%ld %s\n", seq, body);
	if (write(vm->ctl, cmd, (size_t)n) != n) {
		LOG("control line write failed: %s", strerror(errno));
		return false;
	}
	double deadline = now_s() + timeout;
	for (;;) {
		int r = read_line(vm, line, sizeof(line), deadline);
		if (r <= 0) {
			LOG("no answer to '%s' within %.0f s%s", body, timeout,
			    r < 0 ? " (control line closed)" : "");
			return false;
		}
		char *rest;
		long got = strtol(line, &rest, 10);
		if (got != seq)
			continue;
		while (*rest == ' ')
			rest++;
		if (strncmp(rest, "ok", 2) == 0) {
			if (out && out_len)
				snprintf(out, out_len, "%s", rest[2] ? rest + 3 : "");
			return true;
		}
		LOG("guest refused '%s': %s", body, rest);
		return false;
	}
}

bool kvm_field(const char *answer, const char *key, char *val, size_t len)
{
	size_t k = strlen(key);
	for (const char *p = answer; (p = strstr(p, key)); p++) {
		if ((p != answer && p[-1] != ' ') || p[k] != '=')
			continue;
		const char *v = p + k + 1;
		size_t n = strcmp(key, "msg") == 0 ? strlen(v) : strcspn(v, " ");
		snprintf(val, len, "%.*s", (int)n, v);
		return true;
	}
	return false;
}

int kvm_console_problems(const struct kvm *vm)
{
	static const char *const needles[] = {
		"BUG:", "WARNING:", "Oops", "Call Trace", "general protection", "Kernel panic",
		"AddressSanitizer", "LeakSanitizer", "runtime error", "insmod",
	};
	FILE *f = fopen(vm->console, "r");
	if (!f) {
		LOG("cannot read the console log %s", vm->console);
		return 1;
	}
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
			if (strstr(line, needles[i])) {
				if (n++ < 20)
					fprintf(stderr, "console: %s", line);
				break;
			}
	fclose(f);
	return n;
}

void kvm_dump_console(const struct kvm *vm, int lines)
{
	FILE *f = fopen(vm->console, "r");
	if (!f)
		return;
	static char ring[200][256];
	int n = 0;
	while (fgets(ring[n % 200], sizeof(ring[0]), f))
		n++;
	fclose(f);
	if (lines > 200)
		lines = 200;
	fprintf(stderr, "---- last console lines (%s) ----\n", vm->console);
	for (int i = n > lines ? n - lines : 0; i < n; i++)
		fputs(ring[i % 200], stderr);
	fprintf(stderr, "---- end of console ----\n");
}

void kvm_stop(struct kvm *vm, double timeout)
{
	if (vm->ctl >= 0)
		close(vm->ctl);
	vm->ctl = -1;
	if (vm->qemu <= 0)
		return;
	double end = now_s() + timeout;
	int st;
	while (waitpid(vm->qemu, &st, WNOHANG) != vm->qemu) {
		if (now_s() > end) {
			kill(vm->qemu, SIGKILL);
			waitpid(vm->qemu, &st, 0);
			break;
		}
		sleep_s(0.05);
	}
	vm->qemu = -1;
}
