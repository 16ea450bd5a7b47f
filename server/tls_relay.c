/* The TLS relay: one thread per TLS client pumps bytes between the real socket (through
 * the GnuTLS session) and a socketpair whose other end libvncserver holds as cl->sock.
 * libvncserver's own I/O (rfbReadExact, rfbWriteExact, its WebSocket code) stays as it
 * is; it never sees TLS. See tls.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tls_private.h"

/* One TLS record's worth of plaintext each way. */
#define RELAY_BUF 16384

struct relay {
	struct tls_conn *conn;
	int net; /* the real socket (non-blocking) */
	int app; /* our end of the socketpair (non-blocking) */
	/* net -> app: decrypted bytes not yet written to app */
	uint8_t up[RELAY_BUF];
	size_t up_off, up_len;
	/* app -> net: plaintext not yet taken by gnutls_record_send */
	uint8_t down[RELAY_BUF];
	size_t down_len;
};

static bool again(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Pump until either side is done. Never blocks except in poll. */
static void pump(struct relay *r)
{
	gnutls_session_t s = r->conn->session;
	bool net_eof = false, app_eof = false;
	const char *why = NULL;
	for (;;) {
		bool progress = false;
		/* net -> app */
		if (r->up_len == 0 && !net_eof) {
			ssize_t n = gnutls_record_recv(s, r->up, sizeof(r->up));
			if (n > 0) {
				r->up_off = 0;
				r->up_len = (size_t)n;
				progress = true;
			} else if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
				net_eof = true; /* close_notify, or a client that just hung up */
				progress = true;
			} else if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED) {
				if (gnutls_error_is_fatal((int)n)) {
					why = gnutls_strerror((int)n);
					break;
				}
				progress = true; /* a warning alert: go on */
			}
		}
		if (r->up_len) {
			ssize_t w = send(r->app, r->up + r->up_off, r->up_len, MSG_NOSIGNAL);
			if (w > 0) {
				r->up_off += (size_t)w;
				r->up_len -= (size_t)w;
				progress = true;
			} else if (w < 0 && !again(errno)) {
				break; /* libvncserver closed the client */
			}
		}
		if (net_eof && r->up_len == 0)
			break; /* the client is gone and everything it sent was passed on */
		/* app -> net */
		if (r->down_len == 0 && !app_eof) {
			ssize_t n = recv(r->app, r->down, sizeof(r->down), 0);
			if (n > 0) {
				r->down_len = (size_t)n;
				progress = true;
			} else if (n == 0 || !again(errno)) {
				app_eof = true;
				progress = true;
			}
		}
		if (r->down_len) {
			ssize_t w = gnutls_record_send(s, r->down, r->down_len);
			if (w > 0) {
				memmove(r->down, r->down + w, r->down_len - (size_t)w);
				r->down_len -= (size_t)w;
				progress = true;
			} else if (w != GNUTLS_E_AGAIN && w != GNUTLS_E_INTERRUPTED) {
				why = gnutls_strerror((int)w);
				break;
			}
		}
		if (app_eof && r->down_len == 0) {
			/* libvncserver closed the client: say so to the peer, briefly. */
			for (int i = 0; i < 10 && gnutls_bye(s, GNUTLS_SHUT_WR) == GNUTLS_E_AGAIN; i++) {
				struct pollfd p = {.fd = r->net, .events = POLLOUT};
				poll(&p, 1, 100);
			}
			break;
		}
		if (progress)
			continue;
		/* Bytes GnuTLS already decrypted do not show in poll. */
		if (r->up_len == 0 && !net_eof && gnutls_record_check_pending(s) > 0)
			continue;
		struct pollfd pfd[2] = {{.fd = r->net}, {.fd = r->app}};
		if (r->up_len == 0 && !net_eof)
			pfd[0].events |= POLLIN;
		if (r->down_len)
			pfd[0].events |= POLLOUT;
		if (r->up_len)
			pfd[1].events |= POLLOUT;
		if (r->down_len == 0 && !app_eof)
			pfd[1].events |= POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			why = strerror(errno);
			break;
		}
	}
	if (why)
		log_debug("client %s: TLS connection ends: %s", r->conn->peer, why);
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	pump(r);
	/* Other dups of the real socket exist (for deadlines and resizes): shut it down so the
	 * peer sees the end now, and libvncserver sees EOF on its side. */
	shutdown(r->net, SHUT_RDWR);
	shutdown(r->app, SHUT_RDWR);
	close(r->net);
	close(r->app);
	tls_conn_free(r->conn);
	free(r);
	atomic_fetch_sub(&tls_relay_count, 1);
	return NULL;
}

int tls_relay_start(struct tls_conn *c, int net_fd, int app_fd)
{
	int sp[2];
	struct relay *r = calloc(1, sizeof(*r));
	if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0) {
		int e = r ? errno : ENOMEM;
		free(r);
		close(net_fd);
		tls_conn_free(c);
		return -e;
	}
	r->conn = c;
	r->net = net_fd;
	r->app = sp[1];
	/* From here on app_fd's number is the plaintext end: every reference libvncserver
	 * (or we) keep to it stays valid. */
	if (dup3(sp[0], app_fd, O_CLOEXEC) < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		close(net_fd);
		tls_conn_free(c);
		free(r);
		return -e;
	}
	close(sp[0]);
	fcntl(app_fd, F_SETFL, fcntl(app_fd, F_GETFL) | O_NONBLOCK);

	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&tls_relay_count, 1);
	int e = pthread_create(&t, &attr, relay_thread, r);
	pthread_attr_destroy(&attr);
	if (e) {
		atomic_fetch_sub(&tls_relay_count, 1);
		/* app_fd is the socketpair end now: closing ours makes its reader see EOF. */
		close(r->app);
		close(net_fd);
		tls_conn_free(c);
		free(r);
		return -e;
	}
	return 0;
}
