/* A tiny HTTP/1.0 responder for /metrics. See metrics_http.h. */
#include "metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listeners.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "poll_thread.h"

struct http_conn {
	int fd;
	uint64_t deadline_ms;
	size_t len;
	char req[METRICS_HTTP_MAX_REQ + 1];
	char *out;                /* the whole response, sent as the socket takes it */
	size_t out_len, out_off;
};

struct metrics_http {
	int listen_fd;
	struct poll_thread pt; /* woken to stop */
	struct http_conn conns[METRICS_HTTP_MAX_CONN];
};

static void hc_close(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

static void respond(struct http_conn *c, const char *status, const char *type, const char *body,
		    size_t body_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, body_len);
	c->out = malloc((size_t)n + body_len);
	if (!c->out) {
		hc_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, body_len);
	c->out_len = (size_t)n + body_len;
	c->out_off = 0;
}

static void handle_request(struct http_conn *c)
{
	char method[16] = "", target[256] = "";
	if (sscanf(c->req, "%15s %255s", method, target) != 2) {
		respond(c, "400 Bad Request", "text/plain", "bad request\n", 12);
		return;
	}
	if (strcmp(method, "GET") != 0) {
		respond(c, "405 Method Not Allowed", "text/plain", "only GET\n", 9);
		return;
	}
	if (strcmp(target, "/metrics") != 0 && strncmp(target, "/metrics?", 9) != 0) {
		respond(c, "404 Not Found", "text/plain", "not found: try /metrics\n", 24);
		return;
	}
	size_t len;
	char *text = metrics_render(&len);
	if (!text) {
		respond(c, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
		return;
	}
	respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

/* After a recv() or send() of n: true if it moved bytes; false if it would block, or the
 * connection ended (then it is closed). */
static bool hc_moved(struct http_conn *c, ssize_t n)
{
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0)
		hc_close(c);
	return n > 0;
}

static void hc_read(struct http_conn *c)
{
	ssize_t n = recv(c->fd, c->req + c->len, METRICS_HTTP_MAX_REQ - c->len, MSG_DONTWAIT);
	if (!hc_moved(c, n))
		return;
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		handle_request(c);
	} else if (c->len >= METRICS_HTTP_MAX_REQ) {
		respond(c, "431 Request Header Fields Too Large", "text/plain", "too large\n", 10);
	}
}

static void hc_write(struct http_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (!hc_moved(c, n))
		return;
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		hc_close(c);
}

static void *http_thread(void *arg)
{
	struct metrics_http *mh = arg;
	struct pollfd pfd[2 + METRICS_HTTP_MAX_CONN];
	while (!poll_thread_stopping(&mh->pt)) {
		unsigned map[METRICS_HTTP_MAX_CONN], n = 2;
		uint64_t now = clock_now_ms();
		pfd[0] = (struct pollfd){.fd = mh->pt.wake_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = mh->listen_fd, .events = POLLIN};
		for (unsigned i = 0; i < METRICS_HTTP_MAX_CONN; i++) {
			struct http_conn *c = &mh->conns[i];
			if (c->fd >= 0 && now > c->deadline_ms)
				hc_close(c);
			if (c->fd < 0)
				continue;
			map[n - 2] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
		}
		if (poll(pfd, n, 500) < 0)
			continue;
		for (unsigned k = 2; k < n; k++) {
			struct http_conn *c = &mh->conns[map[k - 2]];
			if (c->fd < 0 || !pfd[k].revents)
				continue;
			if (c->out)
				hc_write(c);
			else
				hc_read(c);
		}
		if (pfd[1].revents & POLLIN) {
			int fd = accept4(mh->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			unsigned i = 0;
			while (fd >= 0 && i < METRICS_HTTP_MAX_CONN && mh->conns[i].fd >= 0)
				i++;
			if (fd >= 0 && i == METRICS_HTTP_MAX_CONN) {
				close(fd); /* busy: the scraper retries */
			} else if (fd >= 0) {
				struct http_conn *c = &mh->conns[i];
				c->fd = fd;
				c->len = 0;
				c->out = NULL;
				c->deadline_ms = clock_now_ms() + METRICS_HTTP_TIMEOUT_MS;
			}
		}
	}
	return NULL;
}

int metrics_http_check_policy(const struct config *cfg, char *err, size_t err_len)
{
	if (!cfg->has_metrics || cfg->metrics_public || listeners_host_is_loopback(cfg->metrics.host))
		return 0;
	/* Not implied by --insecure-no-auth: whoever opens the VNC port to a network behind a
	 * proxy has not said that the metrics may be open too. */
	snprintf(err, err_len,
		 "refusing to serve metrics on %s, which is not loopback: give --metrics-public "
		 "to allow it (the metrics need no password and show who is connected and when; "
		 "--insecure-no-auth does not allow it)",
		 cfg->metrics.host);
	return -EPERM;
}

int metrics_http_start(const struct config *cfg, struct metrics_http **out, char *err,
		       size_t err_len)
{
	*out = NULL;
	const struct listen_addr *a = &cfg->metrics;
	int r = metrics_http_check_policy(cfg, err, err_len);
	if (r < 0)
		return r;
	struct metrics_http *mh = calloc(1, sizeof(*mh));
	if (!mh) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	mh->listen_fd = -1;
	poll_thread_init(&mh->pt);
	for (unsigned i = 0; i < METRICS_HTTP_MAX_CONN; i++)
		mh->conns[i].fd = -1;
	char port[16];
	snprintf(port, sizeof(port), "%d", a->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	int g = getaddrinfo(a->host, port, &hints, &ai);
	r = 0;
	if (g != 0) {
		snprintf(err, err_len, "metrics address %s: %s", a->host, gai_strerror(g));
		r = -EINVAL;
		goto fail;
	}
	mh->listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (mh->listen_fd < 0 ||
	    setsockopt(mh->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(mh->listen_fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(mh->listen_fd, 16) < 0)
		r = -errno;
	else
		r = poll_thread_open(&mh->pt);
	if (r < 0) {
		snprintf(err, err_len, "metrics on %s:%d: %s", a->host, a->port, strerror(-r));
		goto fail;
	}
	r = poll_thread_start(&mh->pt, http_thread, mh);
	if (r < 0) {
		snprintf(err, err_len, "cannot start the metrics thread: %s", strerror(-r));
		goto fail;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	char hbuf[NI_MAXHOST] = "?", pbuf[NI_MAXSERV] = "?";
	if (getsockname(mh->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
		getnameinfo((struct sockaddr *)&bound, blen, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
			    NI_NUMERICHOST | NI_NUMERICSERV);
	log_info("metrics on http://%s:%s/metrics", hbuf, pbuf);
	*out = mh;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (mh->listen_fd >= 0)
		close(mh->listen_fd);
	poll_thread_stop(&mh->pt);
	free(mh);
	return r;
}

void metrics_http_stop(struct metrics_http *mh)
{
	if (!mh)
		return;
	poll_thread_stop(&mh->pt);
	for (unsigned i = 0; i < METRICS_HTTP_MAX_CONN; i++)
		hc_close(&mh->conns[i]);
	close(mh->listen_fd);
	free(mh);
}
