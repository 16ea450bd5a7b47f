/* What a client sends before it is authenticated must not reach the VM.
 *
 * The server runs with a password and --qmp pointing at a fake QMP server here, which
 * answers like QEMU and records every command. Hostile clients, on every kind of listener
 * (tcp:, unix:, fd:), raw and inside one WebSocket frame, send input (keys, a click, a
 * QEMU extended key event), SetEncodings, SetPixelFormat and SetDesktopSize right after
 * a failing handshake step: a bad version, a security type that is not offered, a wrong
 * VNC authentication response, one cut short by the messages. Also bad HTTP requests (60
 * GET lines, a header over 4 KiB, a request that stops half-way, 60 GET lines sent only
 * once libvncserver waits for a WebSocket on its own) and garbage frames after
 * a handshake error ("\xee" message types, which closed a client twice: a double free).
 * Then an authenticated client presses a key: the fake QMP must see that key and nothing
 * before it. A second case does the same without a password (where the handshake ends
 * with security type None) and sends garbage frames after a complete handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

/* ---- a fake QMP server ------------------------------------------------------------------ */

struct fake_qmp {
	char path[108];
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	atomic_uint capabilities;  /* qmp_capabilities seen: the server is connected */
	pthread_mutex_t lock;
	char *inputs;              /* every input-send-event line, '\n'-separated */
	size_t len, cap;
	unsigned n_inputs;
};

static void qmp_record(struct fake_qmp *q, const char *line)
{
	size_t n = strlen(line);
	pthread_mutex_lock(&q->lock);
	if (q->len + n + 2 > q->cap) {
		size_t cap = (q->len + n + 2) * 2;
		char *p = realloc(q->inputs, cap);
		if (p) {
			q->inputs = p;
			q->cap = cap;
		}
	}
	if (q->len + n + 2 <= q->cap) {
		memcpy(q->inputs + q->len, line, n);
		q->len += n;
		q->inputs[q->len++] = '\n';
		q->inputs[q->len] = '\0';
	}
	q->n_inputs++;
	pthread_mutex_unlock(&q->lock);
}

/* One connection from the server, like QEMU: a greeting, then a reply to each command. */
static void qmp_serve(struct fake_qmp *q, int fd)
{
	static const char greeting[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
				       "\"minor\": 2, \"major\": 8}}, \"capabilities\": []}}\r\n";
	if (send(fd, greeting, strlen(greeting), MSG_NOSIGNAL) < 0)
		return;
	char buf[8192];
	size_t have = 0;
	while (!atomic_load(&q->stop)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (strstr(buf, "qmp_capabilities"))
				atomic_fetch_add(&q->capabilities, 1);
			else if (strstr(buf, "input-send-event"))
				qmp_record(q, buf);
			if (strstr(buf, "execute") &&
			    send(fd, "{\"return\": {}}\r\n", 16, MSG_NOSIGNAL) < 0)
				return;
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have - used + 1);
			have -= used;
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than any command: drop it */
	}
}

static void *qmp_main(void *arg)
{
	struct fake_qmp *q = arg;
	while (!atomic_load(&q->stop)) {
		struct pollfd p = {.fd = q->lfd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept4(q->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		qmp_serve(q, fd);
		close(fd);
	}
	return NULL;
}

static bool qmp_start(struct fake_qmp *q, const char *dir)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	snprintf(q->path, sizeof(q->path), "%s/qmp", dir);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", q->path);
	q->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->lfd < 0 || bind(q->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(q->lfd, 4) < 0 || pthread_create(&q->thread, NULL, qmp_main, q) != 0) {
		say("fake QMP at %s: %s", q->path, strerror(errno));
		return false;
	}
	return true;
}

static void qmp_stop(struct fake_qmp *q)
{
	atomic_store(&q->stop, true);
	pthread_join(q->thread, NULL);
	close(q->lfd);
	unlink(q->path);
	free(q->inputs);
	pthread_mutex_destroy(&q->lock);
}

static unsigned qmp_inputs(struct fake_qmp *q, char *copy, size_t len)
{
	pthread_mutex_lock(&q->lock);
	unsigned n = q->n_inputs;
	if (copy)
		snprintf(copy, len, "%s", q->inputs ? q->inputs : "");
	pthread_mutex_unlock(&q->lock);
	return n;
}

static bool wait_until(bool (*cond)(void *), void *arg, double timeout_s)
{
	for (double end = now_s() + timeout_s; now_s() < end; sleep_s(0.02))
		if (cond(arg))
			return true;
	return cond(arg);
}

static bool qmp_connected(void *arg)
{
	return atomic_load(&((struct fake_qmp *)arg)->capabilities) > 0;
}

/* ---- what hostile clients send ---------------------------------------------------------- */

struct bytes {
	uint8_t b[8192];
	size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
	if (o->n + n <= sizeof(o->b)) {
		memcpy(o->b + o->n, p, n);
		o->n += n;
	}
}

/* Normal messages that act on the VM, or would: none may take effect before the
 * password. Key 'a', a left click, a QEMU key event (-258), a 640x480 SetDesktopSize,
 * an 8 bpp SetPixelFormat and the SetEncodings that enables the extensions. */
static void put_input(struct bytes *o)
{
	static const uint8_t msgs[] = {
		2, 0, 0, 3, 0xff, 0xff, 0xfe, 0xfe, 0xff, 0xff, 0xfe, 0xcc, 0, 0, 0, 0,
		0, 0, 0, 0, 8, 8, 0, 1, 0, 7, 0, 7, 0, 3, 0, 3, 6, 0, 0, 0,
		4, 1, 0, 0, 0, 0, 0, 'a',
		4, 0, 0, 0, 0, 0, 0, 'a',
		5, 1, 0, 10, 0, 10,
		5, 0, 0, 10, 0, 10,
		255, 0, 0, 1, 0, 0, 0, 'b', 0, 0, 0, 0x30,
		255, 0, 0, 0, 0, 0, 0, 'b', 0, 0, 0, 0x30,
		251, 0, 2, 0x80, 1, 0xe0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x80, 1, 0xe0, 0, 0, 0, 0,
	};
	put(o, msgs, sizeof(msgs));
}

static const uint8_t zeros[16];

/* A handshake that fails at some step, then the messages above. */
struct step {
	const char *name;
	bool wrong_password;  /* the server answers after its delay for a wrong password */
	void (*fill)(struct bytes *o);
};

static void bad_version(struct bytes *o)
{
	put(o, "NOT A VERSIO", 12);
	put_input(o);
}

static void bad_version_garbage(struct bytes *o)
{
	put(o, "NOT A VERSIO\xee\xee\xee", 15);
}

static void bad_security_type(struct bytes *o)
{
	put(o, "RFB 003.008\n\x01", 13); /* None: not offered with a password */
	put_input(o);
}

static void wrong_response(struct bytes *o)
{
	put(o, "RFB 003.008\n\x02", 13);
	put(o, zeros, 16);
	put_input(o);
}

static void short_response(struct bytes *o)
{
	put(o, "RFB 003.008\n\x02", 13);
	put(o, zeros, 5); /* the messages complete the response */
	put_input(o);
}

static void wrong_response_33(struct bytes *o)
{
	put(o, "RFB 003.003\n", 12);
	put(o, zeros, 16);
	put_input(o);
	put(o, "\xee\xee", 2);
}

static const struct step steps[] = {
	{"a bad version", false, bad_version},
	{"a bad version and unknown message types", false, bad_version_garbage},
	{"a security type not offered", false, bad_security_type},
	{"a wrong VNC auth response", true, wrong_response},
	{"a VNC auth response cut short", true, short_response},
	{"a wrong RFB 3.3 auth response", true, wrong_response_33},
};

/* ---- connections -------------------------------------------------------------------------- */

enum listener { L_TCP, L_UNIX, L_FD };
static const char *const listener_names[] = {"tcp", "unix", "fd"};

struct target {
	int tcp_port, fd_port;
	char unix_path[108];
	unsigned next_source; /* 127.0.0.N: each TCP client its own source address, so the
			       * delays for wrong passwords do not add up */
	struct fake_qmp *qmp;
};

static int connect_to(struct target *t, enum listener l)
{
	if (l == L_UNIX) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", t->unix_path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000000u | (10 + t->next_source++ % 240));
	struct sockaddr_in dst = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)(l == L_TCP ? t->tcp_port : t->fd_port))};
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0 &&
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static const char ws_request[] =
	"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\n"
	"Upgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Protocol: binary\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* One masked binary frame holding payload. */
static void put_frame(struct bytes *o, const uint8_t *payload, size_t n)
{
	static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t h[4] = {0x82};
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
		put(o, h, 2);
	} else {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		put(o, h, 4);
	}
	put(o, mask, 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t b = payload[i] ^ mask[i % 4];
		put(o, &b, 1);
	}
}

/* A raw client on listener l, labelled what. */
static bool connect_raw(struct target *t, enum listener l, struct rr *c, const char *what)
{
	*c = (struct rr){.label = what};
	c->fd = connect_to(t, l);
	if (c->fd < 0)
		say("%s: cannot connect: %s", what, strerror(errno));
	return c->fd >= 0;
}

/* 60 GET lines, then the rest of a WebSocket request. */
static void put_sixty_gets(struct bytes *o)
{
	for (int i = 0; i < 60; i++)
		put(o, "GET /a-path-to-keep HTTP/1.1\r\n", 30);
	put(o, ws_request + 16, strlen(ws_request) - 16);
}

/* Send all of it at once (then, with shut, shut our sending side), then read until the
 * server closes the connection. */
static bool send_and_wait_closed_shut(struct target *t, enum listener l, const struct bytes *o,
				      const char *what, bool shut)
{
	struct rr c;
	if (!connect_raw(t, l, &c, what))
		return false;
	/* A send can fail when the server already closed: what counts is that it did. */
	rr_send(&c, o->b, o->n);
	if (shut)
		shutdown(c.fd, SHUT_WR);
	bool ok = rr_wait_closed(&c, 30);
	if (!ok)
		say("%s: the server did not close the connection within 30 s", what);
	rr_close(&c);
	return ok;
}

static bool send_and_wait_closed(struct target *t, enum listener l, const struct bytes *o,
				 const char *what)
{
	return send_and_wait_closed_shut(t, l, o, what, false);
}

static bool run_steps(struct target *t, enum listener l, bool websocket, bool with_password)
{
	bool ok = true;
	unsigned wrong = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (!with_password && steps[i].wrong_password)
			continue;
		/* All unix clients are one source: their wrong-password delays add up. */
		if (l == L_UNIX && steps[i].wrong_password && (!websocket || ++wrong > 2))
			continue;
		struct bytes rfb = {.n = 0}, o = {.n = 0};
		steps[i].fill(&rfb);
		if (websocket) {
			put(&o, ws_request, strlen(ws_request));
			put_frame(&o, rfb.b, rfb.n);
		} else {
			o = rfb;
		}
		char what[160];
		snprintf(what, sizeof(what), "%s%s: %s, then input", listener_names[l],
			 websocket ? " WebSocket" : "", steps[i].name);
		say("%s", what);
		ok = send_and_wait_closed(t, l, &o, what) && ok;
		/* Said at once, for the record: the check that counts is at the end. */
		static char got[4096];
		if (qmp_inputs(t->qmp, got, sizeof(got)) > 0) {
			say("%s: QMP got input before authentication: %.600s", what, got);
			return false;
		}
	}
	return ok;
}

/* 60 GET lines sent only once libvncserver has the socket (its "N other clients" line),
 * after our first-bytes check stopped waiting: inside libvncserver's own wait for a
 * WebSocket. Cut off before it reads a byte; under ASan a lost copy of a GET line would
 * show as a leak when the server exits. (If the request comes after libvncserver's wait
 * too, it is read as a bad RFB version: closed just the same.) */
static bool run_late_get(struct target *t, struct run *r, enum listener l)
{
	struct bytes o = {.n = 0};
	put_sixty_gets(&o);
	unsigned before = log_count(r, "other clients", NULL);
	struct rr c;
	if (!connect_raw(t, l, &c, "late GET"))
		return false;
	for (double end = now_s() + 10; now_s() < end && log_count(r, "other clients", NULL) == before;)
		sleep_s(0.005);
	rr_send(&c, o.b, o.n);
	bool ok = rr_wait_closed(&c, 30);
	if (!ok)
		say("late GET: the server did not close the connection within 30 s");
	/* For the record only (the log line may come a moment after the close). */
	for (double end = now_s() + 1; ok && now_s() < end &&
	     !server_log_contains(&r->srv, "its WebSocket request came more than");)
		sleep_s(0.01);
	if (ok)
		say("late GET on %s: %s", listener_names[l],
		    server_log_contains(&r->srv, "its WebSocket request came more than")
			    ? "cut off inside libvncserver's wait"
			    : "came after libvncserver's wait: not a WebSocket");
	rr_close(&c);
	return ok;
}

/* Bad HTTP requests: each refused (by the log line that says why). */
static bool run_http(struct target *t, struct run *r, enum listener l)
{
	struct bytes o = {.n = 0};
	put_sixty_gets(&o);
	bool ok = send_and_wait_closed(t, l, &o, "60 GET lines");
	o.n = 0;
	put(&o, "GET / HTTP/1.1\r\nX-Pad: ", 23);
	for (int i = 0; i < 5000; i++)
		put(&o, "x", 1);
	put(&o, "\r\n", 2);
	put(&o, ws_request + 16, strlen(ws_request) - 16);
	ok = send_and_wait_closed(t, l, &o, "a 5 KiB HTTP header") && ok;
	o.n = 0;
	put(&o, "GET / HT", 8);
	ok = send_and_wait_closed_shut(t, l, &o, "half an HTTP request line", true) && ok;
	return run_late_get(t, r, l) && ok;
}

struct wait_keys {
	struct fake_qmp *q;
	unsigned want;
};

static bool enough_inputs(void *arg)
{
	struct wait_keys *w = arg;
	return qmp_inputs(w->q, NULL, 0) >= w->want;
}

/* Every input the fake QMP got is key z (from the authenticated client), and it got
 * want of them. */
static bool only_key_z(struct fake_qmp *q, unsigned want)
{
	struct wait_keys w = {q, want};
	wait_until(enough_inputs, &w, 10);
	static char got[65536];
	unsigned n = qmp_inputs(q, got, sizeof(got));
	unsigned z = 0;
	for (char *line = got, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (strstr(line, "\"z\""))
			z++;
		else
			say("QMP got input that no authenticated client sent: %.300s", line);
	}
	say("QMP got %u input-send-event commands, %u of them key z (want %u)", n, z, want);
	return n == want && z == want;
}

static bool log_has(struct run *r, const char *needle)
{
	if (server_log_contains(&r->srv, needle))
		return true;
	say("no \"%s\" in the server log", needle);
	return false;
}

static bool make_dir(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, len, "%s/hostile_preauth_XXXXXX", tmp);
	return mkdtemp(dir) != NULL;
}

/* The end of both cases: client c has sent a key, which must be all QMP ever got; the
 * server must be alive, then stop with status 0; everything is cleaned up. */
static bool key_then_stop(struct run *r, struct fake_qmp *q, struct target *t, struct rr *c,
			  int lfd, const char *dir, bool ok)
{
	ok = ok && only_key_z(q, 2);
	rr_close(c);
	if (ok && !server_alive(r)) {
		say("the server is gone");
		ok = false;
	}
	if (r->started)
		ok = server_stop(&r->srv, 10) && ok;
	qmp_stop(q);
	if (lfd >= 0)
		close(lfd);
	unlink(t->unix_path);
	rmdir(dir);
	return ok;
}

/* A listening TCP socket on 127.0.0.1, inherited by the server as --listen fd:N. */
static int inherited_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0); /* no CLOEXEC: the server gets it */
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static const uint8_t key_z[] = {4, 1, 0, 0, 0, 0, 0, 'z', 4, 0, 0, 0, 0, 0, 0, 'z'};

static bool start_preauth_server(struct run *r, const char *dir, struct fake_qmp *q,
				 struct target *t, const char *pw_file, int *lfd)
{
	static char unix_arg[160], fd_arg[32], qmp_arg[160];
	memset(t, 0, sizeof(*t));
	t->qmp = q;
	*lfd = inherited_listener(&t->fd_port);
	if (*lfd < 0 || !qmp_start(q, dir))
		return false;
	snprintf(t->unix_path, sizeof(t->unix_path), "%s/vnc", dir);
	snprintf(unix_arg, sizeof(unix_arg), "unix:%s", t->unix_path);
	snprintf(fd_arg, sizeof(fd_arg), "fd:%d", *lfd);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s", q->path);
	const char *args[24] = {"--source", "synthetic:320x240:static", "--listen",
				"tcp:127.0.0.1:0", "--listen", unix_arg, "--listen", fd_arg,
				"--qmp", qmp_arg, "--log-level", "debug", "--handshake-timeout", "30"};
	size_t n = 14;
	if (pw_file) {
		args[n++] = "--password-file";
		args[n++] = pw_file;
	}
	args[n] = NULL;
	char addr[160];
	if (!start_raw(r, args) || !wait_port(r) ||
	    !server_wait_listen(&r->srv, "unix:", addr, sizeof(addr), 10))
		return false;
	t->tcp_port = r->port;
	close(*lfd); /* the server has its own copy */
	*lfd = -1;
	if (!wait_until(qmp_connected, q, 10)) {
		say("the server did not connect to the fake QMP");
		return false;
	}
	return true;
}

bool case_preauth(struct run *r)
{
	char dir[256], pw_file[300];
	struct fake_qmp q;
	struct target t;
	int lfd = -1;
	if (!make_dir(dir, sizeof(dir)))
		return false;
	snprintf(pw_file, sizeof(pw_file), "%s/pw", dir);
	FILE *f = fopen(pw_file, "we");
	if (!f || fputs("pre-auth\n", f) < 0 || fclose(f) != 0)
		return false;
	bool ok = start_preauth_server(r, dir, &q, &t, pw_file, &lfd);
	for (int l = L_TCP; ok && l <= L_FD; l++) {
		ok = run_steps(&t, (enum listener)l, false, true) && ok;
		ok = run_steps(&t, (enum listener)l, true, true) && ok;
		ok = run_http(&t, r, (enum listener)l) && ok;
	}
	if (ok) {
		ok = log_has(r, "more than one GET line") && log_has(r, "longer than 4095 bytes") &&
		     log_has(r, "incomplete HTTP request");
		/* auth.c stops at the failed step: the hooks' own check never had to act. */
		if (server_log_contains(&r->srv, "ignored: not authenticated")) {
			say("a message sent before authentication reached a hook");
			ok = false;
		}
		if (server_log_contains(&r->srv, "asked for a")) {
			say("a SetDesktopSize sent before authentication reached the display");
			ok = false;
		}
	}
	/* An authenticated client's key: it arrives, and nothing did before it. */
	struct rr c = {.fd = -1};
	if (ok && (!rr_open(r, &c, "authenticated client", "pre-auth") ||
		   !rr_send(&c, key_z, sizeof(key_z)))) {
		say("the authenticated client could not send its key");
		ok = false;
	}
	unlink(pw_file);
	return key_then_stop(r, &q, &t, &c, lfd, dir, ok);
}

/* No password: the handshake ends with security type None. A security type that is not
 * offered is still refused before anything acts; after a complete handshake, garbage in
 * one frame closes the client once (it closed it twice: a double free); and messages in
 * the same frame as ClientInit still work. */
bool case_preauth_noauth(struct run *r)
{
	char dir[256];
	struct fake_qmp q;
	struct target t;
	int lfd = -1;
	if (!make_dir(dir, sizeof(dir)))
		return false;
	bool ok = start_preauth_server(r, dir, &q, &t, NULL, &lfd);
	for (int l = L_TCP; ok && l <= L_FD; l++) {
		/* Offered None only: VNC authentication (2) is not offered here. */
		struct bytes rfb = {.n = 0}, o = {.n = 0};
		put(&rfb, "RFB 003.008\n\x02", 13);
		put_input(&rfb);
		put(&o, ws_request, strlen(ws_request));
		put_frame(&o, rfb.b, rfb.n);
		say("%s WebSocket: a security type not offered, then input", listener_names[l]);
		ok = send_and_wait_closed(&t, (enum listener)l, &o, "bad security type") && ok;
		/* A complete handshake, then unknown message types in one frame. */
		rfb.n = o.n = 0;
		put(&rfb, "RFB 003.008\n\x01\x01", 14);
		put(&o, ws_request, strlen(ws_request));
		put_frame(&o, rfb.b, rfb.n);
		put_frame(&o, (const uint8_t *)"\xee\xee\xee", 3);
		say("%s WebSocket: a complete handshake, then \\xee\\xee\\xee", listener_names[l]);
		ok = send_and_wait_closed(&t, (enum listener)l, &o, "garbage after handshake") && ok;
		ok = ok && server_alive(r);
	}
	/* Handshake and a key in one frame: the key arrives. */
	struct bytes rfb = {.n = 0}, o = {.n = 0};
	put(&rfb, "RFB 003.008\n\x01\x01", 14);
	put(&rfb, key_z, sizeof(key_z));
	put(&o, ws_request, strlen(ws_request));
	put_frame(&o, rfb.b, rfb.n);
	struct rr c = {.label = "client"};
	c.fd = ok ? connect_to(&t, L_TCP) : -1;
	if (ok && (c.fd < 0 || !rr_send(&c, o.b, o.n))) {
		say("the WebSocket client with a key could not connect");
		ok = false;
	}
	return key_then_stop(r, &q, &t, &c, lfd, dir, ok);
}
