/* The qmp-dbus hand-over (dbus_qmp.h): QMP's getfd and add_client, nothing more. */
#include "dbus_qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_TIMEOUT_MS 5000

struct qmp_conn {
	int fd;
	char buf[4096];
	size_t len;
};

/* The next line QEMU sends: 0, or -1 with why (gone, silent, a line too long). */
static int next_line(struct qmp_conn *c, char *line, size_t line_len, char *why, size_t why_len)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			snprintf(line, line_len, "%.*s", (int)n, c->buf);
			c->len -= n + 1;
			memmove(c->buf, nl + 1, c->len);
			return 0;
		}
		if (c->len == sizeof(c->buf)) {
			snprintf(why, why_len, "a QMP line longer than %zu bytes", sizeof(c->buf));
			return -1;
		}
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int r = poll(&p, 1, QMP_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		ssize_t got = r > 0 ? recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0) : -1;
		if (got <= 0) {
			snprintf(why, why_len, "%s", r == 0 ? "QMP did not answer within 5 s"
						 : got == 0 ? "QEMU closed the QMP socket"
							    : strerror(errno));
			return -1;
		}
		c->len += (size_t)got;
	}
}

/* Send cmd (with fd as SCM_RIGHTS if fd >= 0) and wait for its reply, skipping events. */
static int command(struct qmp_conn *c, const char *cmd, int fd, char *why, size_t why_len)
{
	struct iovec iov = {.iov_base = (void *)cmd, .iov_len = strlen(cmd)};
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl = {.h = {.cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
		       .cmsg_type = SCM_RIGHTS}};
	memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
	/* The fd rides along only where there is one. */
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = fd >= 0 ? ctl.space : NULL,
			     .msg_controllen = fd >= 0 ? sizeof(ctl.space) : 0};
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		snprintf(why, why_len, "sending to QMP: %s", strerror(errno));
		return -1;
	}
	char line[1024];
	for (;;) {
		if (next_line(c, line, sizeof(line), why, why_len) < 0)
			return -1;
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\"")) {
			snprintf(why, why_len, "QMP refused %.40s...: %.300s", cmd, line);
			return -1;
		}
	}
}

int dbus_qmp_add_client(const char *path, int fd, char *why, size_t why_len)
{
	struct qmp_conn c = {.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, why_len, "QMP socket path too long");
		if (c.fd >= 0)
			close(c.fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	char line[1024];
	int r = -1;
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		snprintf(why, why_len, "cannot connect to QMP: %s", strerror(errno));
	else if (next_line(&c, line, sizeof(line), why, why_len) < 0)
		;
	else if (!strstr(line, "\"QMP\""))
		snprintf(why, why_len, "no QMP greeting: %.200s", line);
	else if (command(&c, "{\"execute\":\"qmp_capabilities\"}\r\n", -1, why, why_len) == 0 &&
		 command(&c, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"vgpu-vnc-dbus\"}}\r\n",
			 fd, why, why_len) == 0 &&
		 command(&c, "{\"execute\":\"add_client\",\"arguments\":{\"protocol\":\"@dbus-display\","
			     "\"fdname\":\"vgpu-vnc-dbus\"}}\r\n", -1, why, why_len) == 0)
		r = 0;
	if (c.fd >= 0)
		close(c.fd);
	return r;
}
