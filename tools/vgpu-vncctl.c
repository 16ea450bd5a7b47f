/* vgpu-vncctl: send one command to a vgpu-vnc control socket and print the reply.
 *
 * Single-threaded. One request line out (with a socket as SCM_RIGHTS for add-client), one
 * reply line in, printed as it came (metrics: the Prometheus text itself); `events`
 * subscribes and prints every event line until the server closes or SIGINT. Exit status:
 * 0 on {"ok": true}, 1 on {"error": ...} or a broken connection, 2 on usage errors.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef VGPU_VERSION /* CMakeLists.txt passes the project's version */
#define VGPU_VERSION "unknown"
#endif

static const char usage[] =
	"Usage: vgpu-vncctl [--socket PATH] COMMAND [ARGS]\n"
	"Send one command to vgpu-vnc's control socket (--control unix:PATH) and print the\n"
	"JSON reply. Exit 0 on success, 1 when the server answers with an error.\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH   the control socket (default $VGPU_VNC_CONTROL or\n"
	"                      /run/vgpu-vnc/control.sock)\n"
	"  -h, --help          this help\n"
	"  -V, --version       print the version and exit\n"
	"\n"
	"Commands:\n"
	"  set-password PASSWORD [EXPIRES]   set the VNC password; EXPIRES is now, never\n"
	"                                    (default) or +SECONDS\n"
	""
	"  list-clients                      id, address, encoding, fps, bytes sent\n"
	"  disconnect ID                     close client ID\n"
	"  add-client FD [NAME]              hand the connected socket FD (inherited) to the\n"
	"                                    server, like QEMU's add_client\n"
	"  query-source                      mode, format, dma-buf id, H.264 encoder\n"
	"  metrics                           print the Prometheus metrics text\n"
	"  events                            subscribe and print events until interrupted\n"
	"  json REQUEST                      send REQUEST (one JSON object) as it is\n";

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vgpu-vncctl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vgpu-vncctl: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_line(int fd, const char *line, int pass_fd)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	if (!buf)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\n';
	struct iovec iov = {.iov_base = buf, .iov_len = len + 1};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (pass_fd >= 0) {
		msg.msg_control = cbuf.b;
		msg.msg_controllen = sizeof(cbuf.b);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	int r = w == (ssize_t)(len + 1) ? 0 : -1;
	free(buf);
	if (r < 0)
		fprintf(stderr, "vgpu-vncctl: cannot send: %s\n", strerror(errno));
	return r;
}

/* One line from fd (malloc'ed, no newline), or NULL at the end. */
static char *read_line(int fd)
{
	size_t len = 0, cap = 256;
	char *s = malloc(cap);
	while (s) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			free(s);
			return NULL;
		}
		if (c == '\n') {
			s[len] = '\0';
			return s;
		}
		if (len + 2 > cap) {
			char *t = realloc(s, cap *= 2);
			if (!t)
				break;
			s = t;
		}
		s[len++] = c;
	}
	free(s);
	return NULL;
}

/* Print a reply; 0 if it says ok. metrics: print the text instead of the JSON. */
static int print_reply(const char *line, int metrics_text)
{
	json_error_t e;
	json_t *r = json_loads(line, 0, &e);
	int ok = r && json_is_true(json_object_get(r, "ok"));
	json_t *m = r ? json_object_get(r, "metrics") : NULL;
	if (metrics_text && ok && json_is_string(m))
		fputs(json_string_value(m), stdout);
	else
		printf("%s\n", line);
	if (!ok && r && json_is_string(json_object_get(r, "error")))
		fprintf(stderr, "vgpu-vncctl: %s\n", json_string_value(json_object_get(r, "error")));
	json_decref(r);
	fflush(stdout);
	return ok ? 0 : 1;
}

static int parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv("VGPU_VNC_CONTROL");
	if (!path || !path[0])
		path = "/run/vgpu-vnc/control.sock";
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("vgpu-vncctl %s\n", VGPU_VERSION);
			return 0;
		}
		if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			path = argv[i] + 9;
		} else {
			fprintf(stderr, "vgpu-vncctl: unknown option %s\n%s", argv[i], usage);
			return 2;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	int nargs = argc - i, pass_fd = -1;
	char **args = argv + i;
	json_t *req = NULL;
	long long n;
	if (!strcmp(cmd, "set-password") && (nargs == 1 || nargs == 2)) {
		req = json_pack("{s:s,s:s,s:s}", "command", "set-password", "password", args[0],
				"expires", nargs == 2 ? args[1] : "never");
	} else if (!strcmp(cmd, "disconnect") && nargs == 1 && parse_int(args[0], &n) == 0) {
		req = json_pack("{s:s,s:I}", "command", "disconnect", "id", (json_int_t)n);
	} else if (!strcmp(cmd, "add-client") && (nargs == 1 || nargs == 2) &&
		   parse_int(args[0], &n) == 0 && n >= 0 && n < 1 << 20) {
		pass_fd = (int)n;
		req = json_pack("{s:s}", "command", "add-client");
		if (req && nargs == 2)
			json_object_set_new(req, "name", json_string(args[1]));
	} else if ((!strcmp(cmd, "list-clients") || !strcmp(cmd, "query-source") ||
		    !strcmp(cmd, "metrics")) && nargs == 0) {
		req = json_pack("{s:s}", "command", cmd);
	} else if (!strcmp(cmd, "events") && nargs == 0) {
		req = json_pack("{s:s}", "command", "subscribe");
	} else if (!strcmp(cmd, "json") && nargs == 1) {
		json_error_t e;
		req = json_loads(args[0], JSON_DECODE_ANY, &e);
		if (!req) {
			fprintf(stderr, "vgpu-vncctl: bad JSON: %s\n", e.text);
			return 2;
		}
	} else {
		fprintf(stderr, "vgpu-vncctl: bad command or arguments: %s\n%s", cmd, usage);
		return 2;
	}
	char *line = req ? json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(req);
	if (!line)
		return 2;
	int fd = connect_to(path);
	if (fd < 0) {
		free(line);
		return 1;
	}
	int r = send_line(fd, line, pass_fd);
	free(line);
	if (r < 0) {
		close(fd);
		return 1;
	}
	char *reply = read_line(fd);
	if (!reply) {
		fprintf(stderr, "vgpu-vncctl: the server closed the connection without a reply\n");
		close(fd);
		return 1;
	}
	int status = print_reply(reply, !strcmp(cmd, "metrics"));
	free(reply);
	if (!strcmp(cmd, "events") && status == 0) {
		char *ev;
		while ((ev = read_line(fd))) {
			printf("%s\n", ev);
			fflush(stdout);
			free(ev);
		}
	}
	close(fd);
	return status;
}
