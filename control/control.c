/* The control socket: listening, connections, requests and replies. See control.h. */
#include "control.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "auth.h"
#include "capture.h"
#include "config.h"
#include "control_events.h"
#include "events.h"
#include "fd_budget.h"
#include "frame_store.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "unix_path.h"
#include "open_h264.h"
#include "poll_thread.h"
#include "vnc_server.h"

#define MAX_FDS_HELD 4u   /* SCM_RIGHTS fds a connection may hold for add-client */
#define MAX_LIST 1024u
/* After an error that ends a connection, how long its remaining input is read and dropped
 * before the connection is closed anyway. */
#define CONTROL_DRAIN_MS 5000u

struct conn {
	int fd;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	int fds[MAX_FDS_HELD];
	unsigned n_fds;
	bool subscribed;
	bool closing;             /* shut the write side once out is flushed */
	bool draining;            /* write side shut: read and drop until EOF, then close */
	uint64_t last_ms;         /* when it last sent something (or opened) */
	uint64_t closing_ms;      /* when closing was set: closed for good CONTROL_DRAIN_MS on */
	unsigned serial;
};

struct control {
	const struct config *cfg;
	struct vnc_server *srv;
	struct capture *cap;
	char path[108];
	int listen_fd;
	struct poll_thread pt;    /* woken by events (events.h) and to stop */
	struct conn conns[CONTROL_MAX_CONNECTIONS];
	unsigned serial;
};

/* ---- output ------------------------------------------------------------------------ */

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	for (unsigned i = 0; i < c->n_fds; i++)
		close(c->fds[i]);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue text and a newline; a connection over CONTROL_MAX_OUTPUT is closed. */
static void conn_put(struct conn *c, const char *text)
{
	if (c->fd < 0)
		return;
	size_t n = strlen(text);
	if (c->out_len + n + 1 > CONTROL_MAX_OUTPUT) {
		log_warn("control connection %u: %zu bytes unread; closing it", c->serial,
			 c->out_len);
		conn_close(c);
		return;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = (c->out_len + n + 1) * 2;
		char *p = realloc(c->out, cap);
		if (!p) {
			conn_close(c);
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
}

static void conn_flush(struct conn *c)
{
	while (c->fd >= 0 && c->out_len) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	if (c->fd >= 0 && c->closing && !c->out_len && !c->draining) {
		/* close() with unread input would reset the connection, and the client could
		 * lose the error line: end our side, then read and drop what the client still
		 * sends until it closes (or CONTROL_DRAIN_MS). */
		shutdown(c->fd, SHUT_WR);
		c->draining = true;
	}
}

/* The connection ends once what is queued for it is sent (see conn_flush). */
static void conn_end(struct conn *c)
{
	if (!c->closing) {
		c->closing = true;
		c->closing_ms = clock_now_ms();
	}
}

/* Reply with obj (taken), copying the request's tag. */
static void reply(struct conn *c, json_t *req, json_t *obj)
{
	json_t *tag = req ? json_object_get(req, "tag") : NULL;
	if (tag)
		json_object_set(obj, "tag", tag);
	char *text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	conn_put(c, text ? text : "{\"error\":\"out of memory\"}");
	free(text);
}

static void reply_error(struct conn *c, json_t *req, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_error(struct conn *c, json_t *req, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(c, req, json_pack("{s:s}", "error", msg));
}

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* ---- commands ----------------------------------------------------------------------- */

/* "now", "never", "+SECONDS" (or a number of seconds from now). */
static int parse_expires(json_t *v, uint64_t *out, char *why, size_t why_len)
{
	uint64_t now = clock_now_ms();
	if (!v || (json_is_string(v) && !strcmp(json_string_value(v), "never"))) {
		*out = 0;
		return 0;
	}
	if (json_is_string(v) && !strcmp(json_string_value(v), "now")) {
		*out = now ? now : 1;
		return 0;
	}
	long long secs = -1;
	if (json_is_integer(v)) {
		secs = json_integer_value(v);
	} else if (json_is_string(v) && json_string_value(v)[0] == '+') {
		char *end;
		const char *s = json_string_value(v) + 1;
		errno = 0;
		secs = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			secs = -1;
	}
	if (secs < 0 || secs > 10LL * 365 * 24 * 3600) {
		snprintf(why, why_len, "\"expires\" must be \"now\", \"never\" or \"+SECONDS\"");
		return -1;
	}
	*out = now + (uint64_t)secs * 1000u + (secs == 0);
	return 0;
}

static void cmd_set_password(struct control *ctl, struct conn *c, json_t *req)
{
	(void)ctl;
	json_t *pw = json_object_get(req, "password");
	char why[120];
	uint64_t expires;
	if (!json_is_string(pw) || !json_string_length(pw)) {
		reply_error(c, req, "set-password: \"password\" must be a non-empty string");
		return;
	}
	if (strlen(json_string_value(pw)) != json_string_length(pw)) {
		reply_error(c, req, "set-password: \"password\" has a NUL byte");
		return;
	}
	if (parse_expires(json_object_get(req, "expires"), &expires, why, sizeof(why)) < 0) {
		reply_error(c, req, "set-password: %s", why);
		return;
	}
	char err[300];
	if (auth_set_password(json_string_value(pw), expires, err, sizeof(err)) < 0) {
		/* The password before stays: say so, and never echo the password. */
		log_warn("control: set-password refused, the password before stays: %s", err);
		reply_error(c, req, "set-password: %s; the password before stays", err);
		return;
	}
	json_t *e = json_object_get(req, "expires");
	log_info("control: password set%s%s", e && json_is_string(e) ? ", expires " : "",
		 e && json_is_string(e) ? json_string_value(e) : "");
	json_t *r = ok();
	if (json_string_length(pw) > AUTH_VNC_PASSWORD_MAX)
		json_object_set_new(r, "warning",
				    json_string("VNC authentication uses only the first 8 bytes"));
	reply(c, req, r);
}

static void cmd_list_clients(struct control *ctl, struct conn *c, json_t *req)
{
	struct vnc_client_stat *st = calloc(MAX_LIST, sizeof(*st));
	if (!st) {
		reply_error(c, req, "out of memory");
		return;
	}
	size_t n = vnc_server_list_clients(ctl->srv, st, MAX_LIST);
	json_t *arr = json_array();
	for (size_t i = 0; i < n && i < MAX_LIST; i++)
		json_array_append_new(
			arr, json_pack("{s:I,s:s,s:s,s:f,s:I,s:f,s:n}", "id", (json_int_t)st[i].id,
				       "address", st[i].peer, "encoding", st[i].encoding, "fps",
				       st[i].fps, "bytes_sent", (json_int_t)st[i].bytes_sent,
				       "connected_seconds", st[i].connected_s, "encode_ms"));
	free(st);
	json_t *r = ok();
	json_object_set_new(r, "clients", arr);
	reply(c, req, r);
}

static void cmd_disconnect(struct control *ctl, struct conn *c, json_t *req)
{
	json_t *id = json_object_get(req, "id");
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    json_integer_value(id) > (json_int_t)UINT32_MAX) {
		reply_error(c, req, "disconnect: \"id\" must be a client id (list-clients)");
		return;
	}
	if (vnc_server_disconnect(ctl->srv, (unsigned)json_integer_value(id)) < 0) {
		reply_error(c, req, "disconnect: no client %lld", (long long)json_integer_value(id));
		return;
	}
	reply(c, req, ok());
}

static void cmd_add_client(struct control *ctl, struct conn *c, json_t *req)
{
	if (!c->n_fds) {
		reply_error(c, req, "add-client: no socket came with the request (send it as "
				    "SCM_RIGHTS with the request line)");
		return;
	}
	int fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (--c->n_fds) * sizeof(int));
	int type = 0;
	socklen_t len = sizeof(type);
	if (!fd_budget_fits(fd)) {
		close(fd);
		reply_error(c, req, "add-client: too many files open here (the socket arrived as "
				    "fd %d; libvncserver's select() only takes fds below %d, with "
				    "room for the client's wake pipe)", fd, FD_SETSIZE);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		close(fd);
		reply_error(c, req, "add-client: the fd is not a stream socket");
		return;
	}
	json_t *name = json_object_get(req, "name");
	char peer[128];
	snprintf(peer, sizeof(peer), "%s%s", json_is_string(name) ? "added:" : "added client",
		 json_is_string(name) ? json_string_value(name) : "");
	log_info("control: add-client %s", peer);
	vnc_server_add_client_fd(ctl->srv, fd, peer);
	reply(c, req, ok());
}

static void cmd_query_source(struct control *ctl, struct conn *c, json_t *req)
{
	struct frame_snapshot snap;
	json_t *r = ok();
	json_object_set_new(r, "source", json_string(ctl->cfg->source));
	if (frame_store_snapshot(capture_frame_store(ctl->cap), &snap) == 0) {
		char fcc[5], mode[32];
		if (snap.fd >= 0)
			close(snap.fd);
		snprintf(mode, sizeof(mode), "%ux%u", snap.plane.width, snap.plane.height);
		json_object_set_new(r, "mode", json_string(mode));
		json_object_set_new(r, "width", json_integer(snap.plane.width));
		json_object_set_new(r, "height", json_integer(snap.plane.height));
		json_object_set_new(r, "format",
				    json_string(plane_fourcc_str(snap.plane.fourcc, fcc)));
		json_object_set_new(r, "dmabuf_id", json_integer(snap.plane.dmabuf_id));
	} else {
		json_object_set_new(r, "mode", json_string("off"));
		json_object_set_new(r, "dmabuf_id", json_string("off"));
	}
	json_object_set_new(r, "encoder", json_string(open_h264_backend_name()));
	reply(c, req, r);
}

static void cmd_metrics(struct control *ctl, struct conn *c, json_t *req)
{
	(void)ctl;
	size_t len;
	char *text = metrics_render(&len);
	if (!text) {
		reply_error(c, req, "out of memory");
		return;
	}
	json_t *r = ok();
	json_object_set_new(r, "metrics", json_stringn(text, len));
	free(text);
	reply(c, req, r);
}

static void cmd_subscribe(struct control *ctl, struct conn *c, json_t *req)
{
	(void)ctl;
	c->subscribed = true;
	json_t *r = ok();
	json_object_set_new(r, "subscribed", json_true());
	reply(c, req, r);
}

static const struct {
	const char *name;
	void (*fn)(struct control *, struct conn *, json_t *);
} commands[] = {
	{"set-password", cmd_set_password}, {"list-clients", cmd_list_clients},
	{"disconnect", cmd_disconnect},     {"add-client", cmd_add_client},
	{"query-source", cmd_query_source}, {"metrics", cmd_metrics},
	{"subscribe", cmd_subscribe},
};

static void handle_line(struct control *ctl, struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	if (len == 0)
		return;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		reply_error(c, NULL, "bad JSON at column %d: %s", jerr.column, jerr.text);
		return;
	}
	json_t *cmd = json_object_get(req, "command");
	if (!json_is_object(req) || !json_is_string(cmd)) {
		reply_error(c, req, "a request is an object with a \"command\" string");
		json_decref(req);
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, json_string_value(cmd))) {
			commands[i].fn(ctl, c, req);
			json_decref(req);
			return;
		}
	}
	reply_error(c, req, "unknown command \"%.64s\" (set-password, list-clients, disconnect, "
			    "add-client, query-source, metrics, subscribe)",
		    json_string_value(cmd));
	json_decref(req);
}

/* ---- input ---------------------------------------------------------------------------- */

static void conn_read(struct control *ctl, struct conn *c)
{
	char buf[4096];
	union {
		char b[CMSG_SPACE(sizeof(int) * MAX_FDS_HELD)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b)};
	ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->last_ms = clock_now_ms();
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->n_fds < MAX_FDS_HELD && !c->closing)
				c->fds[c->n_fds++] = fd;
			else
				close(fd);
		}
	}
	if (n <= 0) {
		conn_close(c);
		return;
	}
	if (c->closing)
		return; /* dropped: the error is said, the connection ends */
	char *p = realloc(c->in, c->in_len + (size_t)n);
	if (!p) {
		conn_close(c);
		return;
	}
	c->in = p;
	memcpy(c->in + c->in_len, buf, (size_t)n);
	c->in_len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; c->fd >= 0 && i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		handle_line(ctl, c, c->in + start, i - start);
		start = i + 1;
	}
	if (c->fd < 0)
		return;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > CONTROL_MAX_LINE) {
		reply_error(c, NULL, "request longer than %u bytes", CONTROL_MAX_LINE);
		conn_end(c);
		c->in_len = 0;
	}
}

static void accept_conn(struct control *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++) {
		struct conn *c = &ctl->conns[i];
		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->serial = ++ctl->serial;
		c->last_ms = clock_now_ms();
		log_debug("control connection %u opened", c->serial);
		return;
	}
	static const char msg[] = "{\"error\":\"too many control connections\"}\n";
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	close(fd);
}

/* Connections silent for --control-idle-timeout (subscribers excepted: they wait for
 * events by design) and drains that take too long give their slot back. */
static void conn_expire(struct control *ctl)
{
	uint64_t now = clock_now_ms(), idle_ms = (uint64_t)ctl->cfg->control_idle_timeout * 1000u;
	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++) {
		struct conn *c = &ctl->conns[i];
		if (c->fd < 0)
			continue;
		if (c->closing) {
			/* Its error not read, or its peer still sending: enough. */
			if (now - c->closing_ms >= CONTROL_DRAIN_MS)
				conn_close(c);
		} else if (!c->subscribed && idle_ms && now - c->last_ms >= idle_ms) {
			log_info("control connection %u: nothing received for %u s "
				 "(--control-idle-timeout); closing it",
				 c->serial, ctl->cfg->control_idle_timeout);
			reply_error(c, NULL, "idle for %u s; closing the connection",
				    ctl->cfg->control_idle_timeout);
			conn_end(c);
			conn_flush(c);
		}
	}
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	struct pollfd pfd[2 + CONTROL_MAX_CONNECTIONS];
	while (!poll_thread_stopping(&ctl->pt)) {
		unsigned map[CONTROL_MAX_CONNECTIONS], n = 2;
		pfd[0] = (struct pollfd){.fd = ctl->pt.wake_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = ctl->listen_fd, .events = POLLIN};
		for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++) {
			struct conn *c = &ctl->conns[i];
			if (c->fd < 0)
				continue;
			map[n - 2] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd,
						   .events = (short)(POLLIN | (c->out_len ? POLLOUT : 0))};
		}
		if (poll(pfd, n, 1000) < 0)
			continue;
		if (pfd[0].revents & POLLIN)
			poll_thread_drain(&ctl->pt);
		char *ev;
		while ((ev = control_events_next())) {
			for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++)
				if (ctl->conns[i].fd >= 0 && ctl->conns[i].subscribed)
					conn_put(&ctl->conns[i], ev);
			free(ev);
		}
		for (unsigned k = 2; k < n; k++) {
			struct conn *c = &ctl->conns[map[k - 2]];
			if (c->fd >= 0 && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				conn_read(ctl, c);
		}
		for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++)
			conn_flush(&ctl->conns[i]);
		conn_expire(ctl);
		if (pfd[1].revents & POLLIN)
			accept_conn(ctl);
	}
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------ */

int control_start(const struct config *cfg, struct vnc_server *srv, struct capture *cap,
		  struct control **out, char *err, size_t err_len)
{
	*out = NULL;
	struct control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ctl->cfg = cfg;
	ctl->srv = srv;
	ctl->cap = cap;
	poll_thread_init(&ctl->pt);
	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++)
		ctl->conns[i].fd = -1;
	snprintf(ctl->path, sizeof(ctl->path), "%s", cfg->control_path);
	int r;
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	r = ctl->listen_fd < 0 ? -errno : poll_thread_open(&ctl->pt);
	if (r < 0) {
		snprintf(err, err_len, "control socket: %s", strerror(-r));
		goto fail;
	}
	r = unix_path_clear_stale(ctl->path);
	if (r < 0) {
		snprintf(err, err_len, "control socket %s: %s", ctl->path,
			 r == -EADDRINUSE ? "another server is listening there (a second instance "
					    "for the same vGPU?)"
			 : r == -EEXIST ? "exists and is not a socket"
					: strerror(-r));
		goto fail;
	}
	/* Mode 0600 from birth, without umask(), which would change it for every thread. */
	r = unix_path_bind(ctl->listen_fd, ctl->path, 0600);
	if (r < 0) {
		snprintf(err, err_len, "control socket %s: %s", ctl->path, strerror(-r));
		goto fail;
	}
	if (listen(ctl->listen_fd, 16) < 0) {
		r = -errno;
		unlink(ctl->path);
		snprintf(err, err_len, "control socket %s: %s", ctl->path, strerror(-r));
		goto fail;
	}
	events_attach(ctl->pt.signal_fd);
	r = poll_thread_start(&ctl->pt, control_thread, ctl);
	if (r < 0) {
		events_detach();
		unlink(ctl->path);
		snprintf(err, err_len, "cannot start the control thread: %s", strerror(-r));
		goto fail;
	}
	log_info("control socket on unix:%s", ctl->path);
	*out = ctl;
	return 0;
fail:
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	poll_thread_stop(&ctl->pt);
	free(ctl);
	return r;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	/* No more events into the pipe before it is closed. */
	events_detach();
	poll_thread_stop(&ctl->pt);
	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++)
		conn_close(&ctl->conns[i]);
	close(ctl->listen_fd);
	unlink(ctl->path);
	free(ctl);
}
