/* A new connection's way in: from the accept thread (or a socket handed in) to a thread of
 * its own that does TLS for a browser's wss://, checks the first bytes, gives the socket to
 * libvncserver and runs the security phase and the rest of the handshake under a deadline;
 * then the client's own threads start.
 *
 * Threads: vnc_server_on_accept and vnc_server_on_tick on the accept thread (listeners.h),
 * vnc_server_add_client_fd on the control thread; handshake_thread, one a connection,
 * short-lived and detached; vnc_server_handshake_now on its caller's thread.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "events.h"
#include "fd_budget.h"
#include "log.h"
#include "security.h"
#include "tls.h"
#include "vnc_server_private.h"
#include "ws_guard.h"

/* How long a new connection on a TLS listener may take to show its first byte before it
 * counts as an RFB client (which waits for the server to speak first). A browser sends
 * its ClientHello right after connecting. */
#define TLS_PEEK_MS 250
/* After TLS: how long to wait for the client's first bytes (wss: its HTTP upgrade). */
#define TLS_FIRST_DATA_MS 1000

/* The peer of the socket being handed to libvncserver on this thread: newClientHook
 * runs inside rfbNewClient, on the same thread, and has no other way to learn it. */
static _Thread_local const char *handshake_peer;

const char *vnc_server_handshake_peer(void)
{
	return handshake_peer;
}

struct handshake {
	struct vnc_server *srv;
	int fd;
	char peer[128];
	struct auth_pending *pending;
	bool tcp, remote; /* its listener's kind (security.h) */
};

/* The client passed our handshake: from now on what it sends may act (on_key ...). Normal
 * messages that came in the same WebSocket frame as its ClientInit are still in
 * libvncserver's buffer, where the client's input thread would not look until more
 * bytes arrive: they are processed here. False if one of them closed the client. */
static bool let_in(rfbClientPtr cl)
{
	struct client_info *ci = cl->clientData;
	if (!ci)
		return false;
	atomic_store(&ci->authenticated, true);
	events_client(EVENT_CLIENT_AUTHENTICATED, ci->id, ci->peer);
	while (cl->sock != RFB_INVALID_SOCKET && cl->state == RFB_NORMAL &&
	       webSocketsHasDataInBuffer(cl))
		rfbProcessClientMessage(cl);
	return cl->sock != RFB_INVALID_SOCKET && cl->state == RFB_NORMAL;
}

/* The first bytes, before libvncserver reads them (ws_guard.h). False: fd is closed. */
static bool first_bytes_ok(struct handshake *h, enum ws_guard_result *g)
{
	char why[160];
	*g = ws_guard_check(h->fd, auth_handshake_deadline(h->pending), why, sizeof(why));
	if (*g == WS_GUARD_PLAIN || *g == WS_GUARD_HTTP)
		return true;
	static struct log_ratelimit rl[WS_GUARD_N_RESULTS];
	log_ratelimited(&rl[*g], 5000, *g == WS_GUARD_CLOSED ? LOG_DEBUG : LOG_WARN,
			"client %s refused: %s", h->peer, why);
	close(h->fd);
	return false;
}

/* A browser's wss:// begins with a TLS ClientHello: do TLS here and give libvncserver the
 * plaintext end of a relay in place of the socket, so that it sees a plain WebSocket
 * upgrade. false: the socket is closed (the log says why). */
static bool outer_tls(struct handshake *h, uint64_t deadline_ms)
{
	int net = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	struct tls_conn *conn = NULL;
	if (net < 0 || tls_accept(net, h->peer, deadline_ms, &conn) < 0) {
		if (net >= 0)
			close(net);
		close(h->fd);
		return false;
	}
	int r = tls_relay_start(conn, net, h->fd);
	if (r < 0) {
		log_warn("client %s refused: cannot start its TLS relay: %s", h->peer, strerror(-r));
		close(h->fd);
		return false;
	}
	/* libvncserver gives the WebSocket upgrade only 100 ms to show up: wait for the first
	 * plaintext bytes here (a browser sends its GET right after the handshake). A client
	 * that sends nothing (RFB straight over TLS, as through stunnel) goes on as RFB. */
	struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
	poll(&pfd, 1, TLS_FIRST_DATA_MS);
	return true;
}

/* The handshake of one connection on the calling thread: TLS for a browser's wss://, its
 * first bytes, libvncserver's client, the security phase (ours, per listener), the rest
 * of the handshake. The client, let in and still on hold, or NULL (closed; the log says
 * why). */
static rfbClientPtr handshake(struct handshake *h)
{
	struct vnc_server *srv = h->srv;
	struct security_link link = {
		.peer = h->peer,
		.deadline_ms = auth_handshake_deadline(h->pending),
		.timeout_s = srv->cfg->handshake_timeout,
		.tcp = h->tcp,
		.remote = h->remote,
	};
	if (h->tcp && tls_enabled() && security_peek_tls(h->fd, TLS_PEEK_MS)) {
		if (!outer_tls(h, link.deadline_ms))
			return NULL;
		link.tls_outer = true;
	}
	enum ws_guard_result g;
	if (!first_bytes_ok(h, &g))
		return NULL;
	handshake_peer = h->peer;
	if (g != WS_GUARD_HTTP)
		vnc_server_liblog_watch_websocket(h->fd, h->peer);
	/* rfbNewClient closes the socket itself when the client is refused or the
	 * WebSocket handshake fails. */
	rfbClientPtr cl = rfbNewClient(srv->screen, h->fd);
	handshake_peer = NULL;
	vnc_server_liblog_watch_websocket(-1, NULL);
	if (!cl)
		return NULL;
	if (cl->wsctx && g != WS_GUARD_HTTP) {
		/* A WebSocket that cut_unchecked_websocket() did not see (libvncserver's log
		 * line changed): refused all the same. */
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: its WebSocket request "
				"came more than %d ms after connecting", h->peer, WS_GUARD_FIRST_MS);
	} else if (security_run(cl, &link) == 0 && auth_handshake_run(h->pending, cl) == 0 &&
		   let_in(cl)) {
		/* The security phase is ours (per listener, VeNCrypt); libvncserver takes the
		 * rest (the VNC authentication answer, ClientInit) in auth_handshake_run. */
		return cl;
	}
	if (cl->sock != RFB_INVALID_SOCKET && cl->state != RFB_SHUTDOWN)
		rfbCloseClient(cl);
	rfbClientConnectionGone(cl); /* never started: its threads are not there */
	return NULL;
}


/* rfbNewClient reads the first bytes (WebSocket upgrade or not) with timeouts, and the
 * handshake after it may wait for a password delay, so both run on a short-lived thread
 * of their own: a slow, silent or guessing peer cannot hold up accepts or other clients. */
static void *handshake_thread(void *arg)
{
	struct handshake *h = arg;
	struct vnc_server *srv = h->srv;
	rfbClientPtr cl = handshake(h);
	/* Its own threads, if the pipe libvncserver makes for them fits below FD_SETSIZE. */
	if (cl && fd_budget_start_client(cl) != 0) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: no file descriptor "
				"below %d left for it (see --max-clients)", h->peer, FD_SETSIZE);
		rfbCloseClient(cl);
		rfbClientConnectionGone(cl);
	}
	auth_handshake_end(h->pending);
	free(h);
	atomic_fetch_sub(&srv->handshakes, 1);
	return NULL;
}

struct _rfbClientRec *vnc_server_handshake_now(struct vnc_server *srv, int fd, const char *peer)
{
	struct handshake h = {.srv = srv, .fd = fd};
	snprintf(h.peer, sizeof(h.peer), "%s", peer);
	h.pending = auth_handshake_begin(peer, fd);
	if (!h.pending) {
		close(fd);
		return NULL;
	}
	rfbClientPtr cl = handshake(&h);
	auth_handshake_end(h.pending);
	return cl;
}

/* Accept thread: a connected socket for libvncserver. from: its listener, or NULL for a
 * socket handed in (then the address it is bound to decides its kind). */
void vnc_server_on_accept(void *opaque, int fd, const char *peer, const struct listener *from)
{
	struct vnc_server *srv = opaque;
	if (atomic_load(&srv->handshakes) >= srv->cfg->max_clients) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: too many handshakes", peer);
		close(fd);
		return;
	}
	struct handshake *h = malloc(sizeof(*h));
	pthread_attr_t attr;
	pthread_t t;
	if (!h) {
		close(fd);
		return;
	}
	h->pending = auth_handshake_begin(peer, fd);
	if (!h->pending) {
		close(fd);
		free(h);
		return;
	}
	h->srv = srv;
	h->fd = fd;
	snprintf(h->peer, sizeof(h->peer), "%s", peer);
	if (from) {
		size_t i = (size_t)(from - srv->listeners.items);
		h->tcp = srv->listen_tcp[i];
		h->remote = srv->listen_remote[i];
	} else {
		security_classify(fd, &h->tcp, &h->remote);
	}
	atomic_fetch_add(&srv->handshakes, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, handshake_thread, h) != 0) {
		atomic_fetch_sub(&srv->handshakes, 1);
		log_warn("client %s refused: cannot start a thread", peer);
		auth_handshake_end(h->pending);
		close(fd);
		free(h);
	}
	pthread_attr_destroy(&attr);
}

/* Accept thread, about once a second. */
void vnc_server_on_tick(void *opaque)
{
	(void)opaque;
	auth_expire();
}

void vnc_server_add_client_fd(struct vnc_server *srv, int fd, const char *peer_name)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	vnc_server_on_accept(srv, fd, peer_name && peer_name[0] ? peer_name : "added client", NULL);
}
