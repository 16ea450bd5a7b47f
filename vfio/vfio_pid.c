/* Taking a VFIO device fd from the process that owns it (vfio_pid.h). */
#include "vfio_pid.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "vfio_device.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define PTRACE_HINT                                                                          \
	"taking another process's fd needs ptrace rights over it: run as root, or give "      \
	"vgpu-vnc CAP_SYS_PTRACE, or run as the same user with kernel.yama.ptrace_scope = 0"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int vfio_pid_scan(pid_t pid, const char *link, int *fds, unsigned max, char *err,
		  size_t err_len)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	if (access(dir, F_OK) < 0) {
		snprintf(err, err_len, "no process %d", (int)pid);
		return -ESRCH;
	}
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		if (e == ENOENT) {
			snprintf(err, err_len, "no process %d", (int)pid);
			return -ESRCH;
		}
		snprintf(err, err_len, "cannot list %s: %s (%s)", dir, strerror(e), PTRACE_HINT);
		return -e;
	}
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		char *end, path[320], target[128];
		long fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || fd < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue; /* closed meanwhile */
		target[len] = '\0';
		if (strcmp(target, link) == 0)
			fds[n++] = (int)fd;
	}
	closedir(d);
	qsort(fds, n, sizeof(fds[0]), cmp_int);
	return (int)n;
}

int vfio_pid_getfd(pid_t pid, int target, char *err, size_t err_len)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;
		if (e == ENOSYS)
			snprintf(err, err_len, "pidfd_open is not supported (needs Linux 5.3; "
					       "pid: needs 5.6)");
		else if (e == ESRCH)
			snprintf(err, err_len, "no process %d", (int)pid);
		else
			snprintf(err, err_len, "pidfd_open(%d): %s", (int)pid, strerror(e));
		return -e;
	}
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
	int e = errno;
	close(pidfd);
	if (fd >= 0)
		return fd; /* pidfd_getfd sets close-on-exec itself */
	if (e == ENOSYS)
		snprintf(err, err_len, "pidfd_getfd is not supported by this kernel (needs "
				       "Linux 5.6)");
	else if (e == EPERM || e == EACCES)
		snprintf(err, err_len, "pidfd_getfd(process %d, fd %d): %s: %s", (int)pid, target,
			 strerror(e), PTRACE_HINT);
	else if (e == ESRCH)
		snprintf(err, err_len, "process %d exited", (int)pid);
	else if (e == EBADF)
		snprintf(err, err_len, "process %d closed its fd %d", (int)pid, target);
	else
		snprintf(err, err_len, "pidfd_getfd(process %d, fd %d): %s", (int)pid, target,
			 strerror(e));
	return -e;
}

/* The device's sysfs path from /proc/PID/fdinfo/FD (Linux >= 6.9), or "". */
static void fd_syspath(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64], line[512];
	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		static const char key[] = "vfio-device-syspath:";
		if (strncmp(line, key, sizeof(key) - 1))
			continue;
		const char *v = line + sizeof(key) - 1;
		v += strspn(v, " \t");
		snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
		break;
	}
	fclose(f);
}

/* "/sys/bus/mdev/devices/UUID" and "/sys/devices/.../UUID" name the same device. */
static bool same_device(const char *a, const char *b)
{
	char ra[4096], rb[4096];
	if (!realpath(a, ra))
		snprintf(ra, sizeof(ra), "%s", a);
	if (!realpath(b, rb))
		snprintf(rb, sizeof(rb), "%s", b);
	return strcmp(ra, rb) == 0;
}

int vfio_pid_source_open(const char *arg, struct plane_source **out, char *err, size_t err_len)
{
	char *end;
	errno = 0;
	long pid = strtol(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || errno || pid <= 0 || pid > 0x7fffffff ||
	    (*end && *end != ':') || (*end == ':' && !end[1])) {
		snprintf(err, err_len, "source 'pid:%s': expected pid:PID or pid:PID:SYSFS_PATH",
			 arg);
		return -EINVAL;
	}
	const char *device = *end == ':' ? end + 1 : NULL;
	int fds[VFIO_PID_MAX_FDS];
	char why[512];
	int n = vfio_pid_scan((pid_t)pid, VFIO_PID_LINK, fds, VFIO_PID_MAX_FDS, why, sizeof(why));
	if (n < 0) {
		snprintf(err, err_len, "source 'pid:%s': %s", arg, why);
		return n;
	}
	if (n == 0) {
		snprintf(err, err_len,
			 "source 'pid:%s': process %ld holds no VFIO device fd (no /proc/%ld/fd "
			 "link is " VFIO_PID_LINK "; is the vGPU assigned to it?)",
			 arg, pid, pid);
		return -ENOENT;
	}
	int r = -ENOENT;
	snprintf(why, sizeof(why), "no VFIO device fd of process %ld is %s", pid,
		 device ? device : "a display device");
	for (int i = 0; i < n; i++) {
		if (device) {
			char sys[512];
			fd_syspath((pid_t)pid, fds[i], sys, sizeof(sys));
			/* Without fdinfo's path (Linux < 6.9) only the probe can tell. */
			if (sys[0] && !same_device(sys, device))
				continue;
		}
		int fd = vfio_pid_getfd((pid_t)pid, fds[i], why, sizeof(why));
		if (fd < 0) {
			r = fd;
			if (fd == -ENOSYS || fd == -EPERM || fd == -EACCES || fd == -ESRCH)
				break; /* the same for every fd */
			continue;
		}
		char num[16];
		snprintf(num, sizeof(num), "%d", fd);
		r = vfio_source_open("fd", num, out, why, sizeof(why));
		if (r == 0) {
			log_info("source pid:%ld: took its fd %d (our fd %d)", pid, fds[i], fd);
			return 0;
		}
		close(fd);
	}
	snprintf(err, err_len, "source 'pid:%s': %s", arg, why);
	return r;
}
