/* vgpu-vncctl: send one command to a vgpu-vnc control socket and print the reply.
 *
 * Single-threaded. One request line out (with a socket as SCM_RIGHTS for add-client), one
 * reply line in, printed as it came (metrics: the Prometheus text itself); `events`
 * subscribes and prints every event line until the server closes or SIGINT. Exit status:
 * 0 on {"ok": true}, 1 on {"error": ...} or a broken connection, 2 on usage errors.
 * set-password reads the password from standard input or a file, never from argv (which
 * every user can read in ps and /proc).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
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
	"  set-password [-|--password-file FILE] [EXPIRES]\n"
	"                                    set the VNC password, read from the first line\n"
	"                                    of standard input (-, the default; a terminal\n"
	"                                    asks without echo) or of FILE, never from the\n"
	"                                    command line (every user sees that in ps);\n"
	"                                    EXPIRES is now, never (default) or +SECONDS\n"
	"  list-clients                      id, address, encoding, fps, bytes sent\n"
	"  disconnect ID                     close client ID\n"
	"  add-client FD [NAME]              hand the connected socket FD (inherited) to the\n"
	"                                    server, like QEMU's add_client\n"
	"  query-source                      mode, format, dma-buf id, H.264 encoder\n"
	"  metrics                           print the Prometheus metrics text\n"
	"  events                            subscribe and print events until interrupted\n"
	"  json REQUEST|-                    send REQUEST (one JSON object) as it is; - reads\n"
	"                                    it from standard input (for requests that hold\n"
	"                                    a password)\n";

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

/* "now", "never", "+SECONDS": what the server takes as "expires". */
static int is_expires(const char *s)
{
	if (!strcmp(s, "now") || !strcmp(s, "never"))
		return 1;
	if (s[0] != '+' || !s[1])
		return 0;
	for (const char *p = s + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* The first line of f, without its line end: a malloc'ed string, or NULL with a message
 * (empty, a NUL byte). On a terminal it asks, without echo. */
static char *read_password(FILE *f, const char *what)
{
	struct termios old, quiet;
	int tty = isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0;
	if (tty) {
		fputs("VNC password: ", stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0 || strlen(line) != (size_t)n) {
		fprintf(stderr, "vgpu-vncctl: set-password: %s: %s\n", what,
			n <= 0 ? "no password (the first line is empty)"
			       : "the first line has a NUL byte");
		if (line)
			memset(line, 0, cap);
		free(line);
		return NULL;
	}
	return line;
}

/* set-password [-|--password-file FILE] [EXPIRES]: the request, or NULL (usage error,
 * message printed). */
static json_t *set_password_request(int nargs, char **args)
{
	const char *file = NULL, *expires = "never";
	int have_expires = 0, have_source = 0;
	for (int k = 0; k < nargs; k++) {
		const char *a = args[k];
		if (!strcmp(a, "--password-file") && k + 1 < nargs) {
			file = args[++k];
			have_source++;
		} else if (!strncmp(a, "--password-file=", 16)) {
			file = a + 16;
			have_source++;
		} else if (!strcmp(a, "-")) {
			have_source++;
		} else if (is_expires(a) && !have_expires) {
			expires = a;
			have_expires = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "vgpu-vncctl: set-password: unknown option %s\n", a);
			return NULL;
		} else {
			fprintf(stderr,
				"vgpu-vncctl: set-password does not take the password on the command "
				"line, where every user can read it (ps, /proc): give it on standard "
				"input (echo ... | vgpu-vncctl set-password [EXPIRES]) or with "
				"--password-file FILE. EXPIRES is now, never or +SECONDS.\n");
			return NULL;
		}
	}
	if (have_source > 1) {
		fprintf(stderr, "vgpu-vncctl: set-password: give - or --password-file once\n");
		return NULL;
	}
	FILE *f = stdin;
	if (file && !(f = fopen(file, "re"))) {
		fprintf(stderr, "vgpu-vncctl: set-password: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	char *pw = read_password(f, file ? file : "standard input");
	if (f != stdin)
		fclose(f);
	if (!pw)
		return NULL;
	json_t *req = json_pack("{s:s,s:s,s:s}", "command", "set-password", "password", pw,
				"expires", expires);
	memset(pw, 0, strlen(pw));
	free(pw);
	return req;
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
	if (!strcmp(cmd, "set-password")) {
		req = set_password_request(nargs, args);
		if (!req)
			return 2;
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
		if (!strcmp(args[0], "-"))
			req = json_loadf(stdin, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &e);
		else
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
	int r = fd < 0 ? -1 : send_line(fd, line, pass_fd);
	memset(line, 0, strlen(line)); /* it may hold a password */
	free(line);
	if (fd < 0)
		return 1;
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
