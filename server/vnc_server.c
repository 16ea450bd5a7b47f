/* The libvncserver screen: creation, client hooks, input, resize and damage. */
#include "vnc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "client_encoding.h"
#include "input_qmp.h"
#include "control.h"
#include "fd_budget.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "security.h"
#include "tight_jpeg.h"
#include "tls.h"
#include "vnc_server_private.h"
#include "ws_guard.h"

/* How long a new connection on a TLS listener may take to show its first byte before it
 * counts as an RFB client (which waits for the server to speak first). A browser sends
 * its ClientHello right after connecting. */
#define TLS_PEEK_MS 250
/* After TLS: how long to wait for the client's first bytes (wss: its HTTP upgrade). */
#define TLS_FIRST_DATA_MS 1000

/* ---- libvncserver's log, routed into ours ---------------------------------------- */

/* libvncserver's last message on this thread: a client's input thread (or its handshake
 * thread) is the one that hits a bad message and then ends the client, so the line that
 * says the client is gone can say why ("too big cut text length requested ..."). */
static _Thread_local char last_lib_msg[160];

static void keep_last(const char *msg)
{
	size_t n = strcspn(msg, "\n");
	if (n >= sizeof(last_lib_msg))
		n = sizeof(last_lib_msg) - 1;
	/* "Client 127.0.0.1 gone" and statistics say nothing about why. */
	if (n && strncmp(msg, "Client ", 7) != 0 && strncmp(msg, " ", 1) != 0 &&
	    strncmp(msg, "Statistics", 10) != 0) {
		memcpy(last_lib_msg, msg, n);
		last_lib_msg[n] = '\0';
	}
}

/* Set by handshake() on its thread while rfbNewClient() runs, when ws_guard_check() saw no
 * HTTP request: the client's socket. A WebSocket request libvncserver finds now came
 * inside its own wait for a "GET ", after ours gave up (ws_guard.h), and nobody checked
 * it: libvncserver would read up to 4095 bytes of it, keeping a lost copy of every "GET "
 * line. */
static _Thread_local int unchecked_fd = -1;
static _Thread_local const char *unchecked_peer;

/* libvncserver has just said "Got 'ws' WebSockets handshake" and is about to read the
 * request from fd: put an empty socket whose peer is gone under that fd number, so that
 * its first read finds the end of the stream and it gives the client up, having read
 * nothing. The client's own socket stays open through the handshake slot's dup
 * (auth.c) until the handshake thread releases it. */
static void cut_unchecked_websocket(void)
{
	static struct log_ratelimit rl;
	log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: its WebSocket request came "
			"more than %d ms after connecting", unchecked_peer ? unchecked_peer : "?",
			WS_GUARD_FIRST_MS);
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
		close(sp[1]);
		if (dup3(sp[0], unchecked_fd, O_CLOEXEC) < 0)
			shutdown(unchecked_fd, SHUT_RDWR);
		close(sp[0]);
	} else {
		shutdown(unchecked_fd, SHUT_RDWR);
	}
	unchecked_fd = -1;
}

static void lib_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	keep_last(buf);
	log_debug("libvncserver: %s", buf);
	/* 'ws' only: behind TLS ('wss') the request is not readable here anyway. */
	if (unchecked_fd >= 0 && strncmp(buf, "Got 'ws' WebSockets handshake", 29) == 0)
		cut_unchecked_websocket();
}

static void lib_err(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	keep_last(buf);
	log_warn("libvncserver: %s", buf);
}

/* ---- clients ----------------------------------------------------------------------- */

/* The peer of the socket being handed to libvncserver on this thread: newClientHook
 * runs inside rfbNewClient, on the same thread, and has no other way to learn it. */
static _Thread_local const char *handshake_peer;

struct client_info {
	unsigned id;
	char peer[128];
	uint64_t connected_ms;
	int sock_dup;           /* the client's socket, for shutdown() from another thread:
				 * through a dup it can never hit a reused fd number */
	atomic_bool authenticated; /* set by the handshake thread once auth_handshake_run()
				    * let the client in; until then nothing it sends acts */
	ClientFramebufferUpdateRequestHookPtr next_request_hook; /* set before ours */
	/* vnc_server_list_clients(): the last sample, for fps (control thread only). */
	uint64_t sample_ms;
	int sample_updates;
	/* SetDesktopSize budget (the client's input thread only): on_set_desktop_size. */
	unsigned resize_used;
	uint64_t resize_ms;
};

static void on_client_gone(rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	struct client_info *ci = cl->clientData;
	/* libvncserver 0.9.14 never frees a WebSocket client's context (one calloc'ed
	 * block); nothing reads it after this hook, the socket is already closed. */
	free(cl->wsctx);
	cl->wsctx = NULL;
	client_encoding_client_gone(cl);
	input_qmp_client_gone(cl);
	if (!ci)
		return; /* refused in on_new_client: never counted */
	metrics_add_gone_bytes((uint64_t)rfbStatGetSentBytes(cl));
	control_event_client("client-disconnected", ci->id, ci->peer);
	if (ci->sock_dup >= 0)
		close(ci->sock_dup);
	log_info("client %u (%s) disconnected after %.1f s%s%s", ci->id, ci->peer,
		 (double)(clock_now_ms() - ci->connected_ms) / 1000.0, last_lib_msg[0] ? ": " : "",
		 last_lib_msg);
	last_lib_msg[0] = '\0';
	free(ci);
	cl->clientData = NULL;
	pthread_mutex_lock(&srv->lock);
	/* libvncserver 0.9.14 starts each client's input thread joinable and joins it only
	 * at shutdown: every client that leaves before would keep its thread's stack (12 KiB
	 * of RSS and 8 MiB of address space a client, found by the churn test). Here, on that
	 * thread's way out, it detaches itself, unless vnc_server_stop() is about to join
	 * it (decided under the same lock). */
	if (!srv->joining && pthread_equal(pthread_self(), cl->client_thread))
		pthread_detach(pthread_self());
	if (srv->n_clients > 0)
		srv->n_clients--;
	if (srv->n_clients == 0)
		srv->idle_since_ms = clock_now_ms();
	pthread_mutex_unlock(&srv->lock);
}

/* The client's input thread, for every FramebufferUpdateRequest, after libvncserver
 * clipped it and before it adds it to the requested region. libvncserver 0.9.14 keeps a
 * zero-width or zero-height request as a degenerate rectangle, and its zlib and ultra
 * encoders then divide by that width (ZLIB_MAX_SIZE(w) / w) while counting rectangles:
 * one message (SetEncodings zlib and a cursor encoding, a request 0 pixels wide) killed
 * the server with SIGFPE (found by tests/fuzz's client target). An empty request asks for
 * nothing: it becomes a request for one pixel inside the screen, which costs a few bytes
 * and keeps the request answered. The other hooks (client_encoding.c) see the request
 * after this and may change it, so it is checked again after them. */
static void clamp_empty_request(rfbClientPtr cl, rfbFramebufferUpdateRequestMsg *fur)
{
	if (fur->w == 0 || fur->h == 0) {
		fur->w = fur->h = 1;
		if (fur->x >= cl->screen->width)
			fur->x = (uint16_t)(cl->screen->width - 1);
		if (fur->y >= cl->screen->height)
			fur->y = (uint16_t)(cl->screen->height - 1);
	}
}

static void guard_request(rfbClientPtr cl, rfbFramebufferUpdateRequestMsg *fur)
{
	clamp_empty_request(cl, fur);
	struct client_info *ci = cl->clientData;
	if (ci && ci->next_request_hook) {
		ci->next_request_hook(cl, fur);
		clamp_empty_request(cl, fur);
	}
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	cl->clientGoneHook = on_client_gone; /* also for refused clients: see there */
	/* libvncserver 0.9.14 keeps the WebSocket request's path in cl->wspath and frees it
	 * in every rfbCloseClient() without clearing it; a client closed twice (a bad message
	 * and another one after it in the same frame) freed it twice: a heap double free,
	 * before or after authentication. We never use the path: gone from here on, and
	 * free(NULL) is harmless however often it is closed. */
	free(cl->wspath);
	cl->wspath = NULL;
	struct client_info *ci = calloc(1, sizeof(*ci));
	if (!ci) {
		log_error("client %s refused: out of memory", handshake_peer ? handshake_peer : "?");
		return RFB_CLIENT_REFUSE;
	}
	ci->id = atomic_fetch_add(&srv->next_client_id, 1) + 1;
	ci->connected_ms = clock_now_ms();
	ci->sock_dup = -1;
	snprintf(ci->peer, sizeof(ci->peer), "%s", handshake_peer ? handshake_peer : "?");

	pthread_mutex_lock(&srv->lock);
	bool full = srv->n_clients >= srv->cfg->max_clients;
	if (!full) {
		srv->n_clients++;
		pthread_cond_broadcast(&srv->cond);
	}
	pthread_mutex_unlock(&srv->lock);
	if (full) {
		/* Rate-limited: a connection flood must not become a log flood. */
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_WARN,
				"client %s refused: %u clients connected (--max-clients)", ci->peer,
				srv->cfg->max_clients);
		free(ci);
		return RFB_CLIENT_REFUSE;
	}
	/* Above FD_SETSIZE: select()-able fds below it are for sockets and pipes (fd_budget.h). */
	ci->sock_dup = fd_budget_dup_high(cl->sock);
	/* Extensions set their hook before this one runs (client_encoding.c): ours goes
	 * around it. */
	ci->next_request_hook = cl->clientFramebufferUpdateRequestHook;
	cl->clientFramebufferUpdateRequestHook = guard_request;
	cl->clientData = ci;
	log_info("client %u (%s) connected%s", ci->id, ci->peer,
		 cl->wsctx ? " over WebSocket" : "");
	control_event_client("client-connected", ci->id, ci->peer);
	/* On hold: the handshake thread drives the handshake under a deadline and starts
	 * the client's own threads once it is done (auth.h). */
	return RFB_CLIENT_ON_HOLD;
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
	control_event_client("client-authenticated", ci->id, ci->peer);
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
	if (g != WS_GUARD_HTTP) {
		unchecked_fd = h->fd;
		unchecked_peer = h->peer;
	}
	/* rfbNewClient closes the socket itself when the client is refused or the
	 * WebSocket handshake fails. */
	rfbClientPtr cl = rfbNewClient(srv->screen, h->fd);
	handshake_peer = NULL;
	unchecked_fd = -1;
	unchecked_peer = NULL;
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
static void on_accept(void *opaque, int fd, const char *peer, const struct listener *from)
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
static void on_tick(void *opaque)
{
	(void)opaque;
	auth_expire();
}

/* screen->setTranslateFunction, on the client's input thread right after SetPixelFormat.
 * libvncserver 0.9.14 writes the new format into the client while its output thread may
 * be encoding an update with the old translation function and buffer sizes: from 8 to 32
 * bpp mid-update the raw encoder writes 4 bytes a pixel into room for 1 (a heap overflow
 * of cl->updateBuf), and the old lookup table is freed under it. Swapping the
 * translation while holding sendMutex (which the output thread holds for a whole update)
 * keeps each update consistent. Formats it cannot serve (0 or 64 bpp) would make the
 * next raw rectangle divide by zero: the client goes, with a line that says why. */
static rfbBool set_translate(rfbClientPtr cl)
{
	int bpp = cl->format.bitsPerPixel;
	bool may = vnc_server_client_may_act(cl, "SetPixelFormat");
	if (!may || (bpp != 8 && bpp != 16 && bpp != 32)) {
		struct client_info *ci = cl->clientData;
		if (may)
			log_warn("client %u (%s): SetPixelFormat with %d bits per pixel; "
				 "disconnecting", ci ? ci->id : 0, ci ? ci->peer : "?", bpp);
		LOCK(cl->sendMutex);
		cl->format = cl->screen->serverFormat;
		cl->translateFn = rfbTranslateNone;
		UNLOCK(cl->sendMutex);
		rfbCloseClient(cl);
		return FALSE;
	}
	LOCK(cl->sendMutex);
	rfbBool ok = rfbSetTranslateFunction(cl);
	UNLOCK(cl->sendMutex);
	return ok;
}

/* ---- input ------------------------------------------------------------------------- */

bool vnc_server_client_may_act(rfbClientPtr cl, const char *what)
{
	struct client_info *ci = cl->clientData;
	if (ci && atomic_load(&ci->authenticated) && cl->state == RFB_NORMAL)
		return true;
	/* Cannot happen while auth.c stops at the first failed step: if it does, a log line
	 * (rate-limited: a client can send many) and nothing reaches the VM. */
	static struct log_ratelimit rl;
	log_ratelimited(&rl, 5000, LOG_WARN, "client %u (%s): %s ignored: %s", ci ? ci->id : 0,
			ci ? ci->peer : "?", what,
			ci && atomic_load(&ci->authenticated) ? "the client is being closed"
							      : "not authenticated");
	return false;
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	if (!vnc_server_client_may_act(cl, "a key event"))
		return;
	if (srv->qmp) {
		input_qmp_key(srv->qmp, (uint32_t)keysym, down != 0);
		return;
	}
	if (srv->input && srv->input->ops->key)
		srv->input->ops->key(srv->input, (uint32_t)keysym, down != 0);
}

static void on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	if (!vnc_server_client_may_act(cl, "a pointer event"))
		return;
	/* libvncserver does not clip pointer coordinates to the screen. */
	if (x < 0 || y < 0 || x >= cl->screen->width || y >= cl->screen->height) {
		x = x < 0 ? 0 : (x >= cl->screen->width ? cl->screen->width - 1 : x);
		y = y < 0 ? 0 : (y >= cl->screen->height ? cl->screen->height - 1 : y);
	}
	if (srv->qmp) {
		input_qmp_pointer(srv->qmp, x, y, cl->screen->width, cl->screen->height,
				  (uint32_t)buttons & 0xff);
		return;
	}
	if (srv->input && srv->input->ops->pointer)
		srv->input->ops->pointer(srv->input, x, y, (uint32_t)buttons & 0xff);
}

/* A client's SetDesktopSize. Each size the source is asked for rewrites the guest's EDID
 * and takes its link down, so a client must not be able to do that at its own rate: the
 * request is only recorded here (the latest wins) and the capture thread applies it, at
 * most once a second (vnc_server_take_size_request). The mode change that follows reaches
 * every client as ExtendedDesktopSize. A request for the size the screen has already,
 * with none waiting, changes nothing and is answered at once. */
static int on_set_desktop_size(int width, int height, int n_screens,
			       struct rfbExtDesktopScreen *screens, rfbClientPtr cl)
{
	(void)screens;
	struct vnc_server *srv = cl->screen->screenData;
	struct client_info *ci = cl->clientData;
	if (!vnc_server_client_may_act(cl, "SetDesktopSize"))
		return rfbExtDesktopSize_ResizeProhibited;
	if (!srv->input || !srv->input->ops->request_size)
		return rfbExtDesktopSize_ResizeProhibited;
	if (n_screens != 1 || width <= 0 || height <= 0 || (uint32_t)width > PLANE_MAX_WIDTH ||
	    (uint32_t)height > PLANE_MAX_HEIGHT)
		return rfbExtDesktopSize_InvalidScreenLayout;
	/* libvncserver 0.9.14 leaks a client iterator (24 bytes) on every SetDesktopSize
	 * answered with success: a client that sends them without end is disconnected.
	 * The budget refills over time; viewers send one per window resize. */
	if (ci) {
		uint64_t now = clock_now_ms();
		unsigned back = (unsigned)((now - ci->resize_ms) / VNC_RESIZE_REFILL_MS);
		if (back) {
			ci->resize_used = back >= ci->resize_used ? 0 : ci->resize_used - back;
			ci->resize_ms = now;
		}
		if (++ci->resize_used > VNC_RESIZE_BUDGET) {
			log_warn("client %u (%s): more than %u SetDesktopSize messages in a row; "
				 "disconnecting", ci->id, ci->peer, VNC_RESIZE_BUDGET);
			rfbCloseClient(cl);
			return rfbExtDesktopSize_ResizeProhibited;
		}
	}
	uint64_t want = (uint64_t)width << 32 | (uint32_t)height;
	uint64_t before = atomic_load(&srv->size_request);
	bool same = before == want ||
		    (before == 0 && width == cl->screen->width && height == cl->screen->height);
	if (!same)
		atomic_store(&srv->size_request, want);
	log_debug("client %u asked for a %dx%d display%s", ci ? ci->id : 0, width, height,
		  same ? " (already asked for or shown: nothing to do)" : "");
	if (same && before == 0) {
		/* No mode change will answer it: send ExtendedDesktopSize (reason: this
		 * client, status: success) with the next update. */
		LOCK(cl->updateMutex);
		cl->newFBSizePending = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	return rfbExtDesktopSize_Success;
}

bool vnc_server_take_size_request(struct vnc_server *srv, uint32_t *width, uint32_t *height)
{
	uint64_t v = atomic_exchange(&srv->size_request, 0);
	*width = (uint32_t)(v >> 32);
	*height = (uint32_t)v;
	return v != 0;
}

/* ---- life cycle -------------------------------------------------------------------- */

/* XRGB8888 (bytes B,G,R,X), the layout of the planes we read most. */
static void set_server_format(rfbScreenInfoPtr s)
{
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	s->serverFormat.depth = 24;
	s->depth = 24;
}

int vnc_server_create(const struct config *cfg, struct plane_source *input, uint32_t width,
		      uint32_t height, struct vnc_server **out, char *err, size_t err_len)
{
	*out = NULL;
	struct vnc_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	srv->cfg = cfg;
	srv->input = input;
	srv->listeners.count = 0;
	pthread_mutex_init(&srv->lock, NULL);
	srv->idle_since_ms = clock_now_ms();
	pthread_cond_init(&srv->cond, NULL);
	frame_store_init(&srv->frames);
	tight_jpeg_set_frame_store(&srv->frames);

	int r = auth_init(cfg, err, err_len);
	if (r < 0) {
		vnc_server_destroy(srv);
		return r;
	}

	rfbLog = lib_log;
	rfbErr = lib_err;
	int argc = 1;
	char *argv[] = {(char *)"vgpu-vnc", NULL};
	srv->fb = calloc((size_t)width * height, 4);
	srv->screen = srv->fb ? rfbGetScreen(&argc, argv, (int)width, (int)height, 8, 3, 4) : NULL;
	if (!srv->screen) {
		snprintf(err, err_len, "cannot create a %ux%u screen: out of memory", width, height);
		vnc_server_destroy(srv);
		return -ENOMEM;
	}
	srv->width = width;
	srv->height = height;
	rfbScreenInfoPtr s = srv->screen;
	set_server_format(s);
	s->frameBuffer = (char *)srv->fb;
	s->screenData = srv;
	s->desktopName = cfg->desktop_name;
	s->alwaysShared = TRUE;
	/* We listen ourselves (several addresses, unix sockets) and hand sockets in. */
	s->autoPort = FALSE;
	s->port = 0;
	s->ipv6port = 0;
	s->httpPort = 0;
	/* Damage arrives once a tick, whole; waiting for more only adds latency. */
	s->deferUpdateTime = 0;
	s->newClientHook = on_new_client;
	s->kbdAddEvent = on_key;
	s->ptrAddEvent = on_pointer;
	s->setDesktopSizeHook = on_set_desktop_size;
	s->displayHook = client_encoding_display_hook;
	client_encoding_register();
	s->setTranslateFunction = set_translate;
	if (auth_enabled()) {
		/* libvncserver offers VNC authentication when this is set; auth.c keeps the
		 * password (re-read on SIGHUP) and checks it. */
		s->authPasswdData = (void *)&auth_password_check;
		s->passwordCheck = auth_password_check;
	}
	/* Until the guest shows a cursor plane: no cursor (not libvncserver's default arrow). */
	s->cursor = NULL;
	vnc_server_set_cursor(srv, NULL, 0, 0, 0, 0, 0);
	rfbInitServer(s);
	*out = srv;
	return 0;
}

int vnc_server_start(struct vnc_server *srv, char *err, size_t err_len)
{
	int r = listeners_open(&srv->listeners, srv->cfg->listen, srv->cfg->n_listen, err, err_len);
	if (r < 0)
		return r;
	bool warned = false;
	for (unsigned i = 0; i < srv->listeners.count; i++) {
		security_classify(srv->listeners.items[i].fd, &srv->listen_tcp[i],
				  &srv->listen_remote[i]);
		if (srv->listen_remote[i] && !tls_enabled() && !warned) {
			char text[CONFIG_LISTEN_STR_MAX];
			log_warn("%s is not a loopback address and TLS is off: VNC passwords (a DES "
				 "challenge) and the screen cross the network in the clear; give "
				 "--tls-cert and --tls-key to encrypt them",
				 config_listen_str(&srv->listeners.items[i].addr, text, sizeof(text)));
			warned = true;
		}
	}
	/* Background mode: a thread pair per client. The library's own listener thread has
	 * no socket to watch; it only exists because its shutdown path expects it. */
	rfbRunEventLoop(srv->screen, -1, TRUE);
	srv->started = true;
	srv->listeners.on_tick = on_tick;
	r = listeners_start(&srv->listeners, on_accept, srv);
	if (r < 0) {
		snprintf(err, err_len, "cannot start the accept thread: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* rfbShutdownServer(screen, TRUE) in 0.9.14 joins each client's thread after its
 * iterator has let go of the client, so a client whose thread ends at that moment is read
 * after it was freed (a crash at exit under load: sigterm-busy, 4 runs in 12 at -j2).
 * Instead: close every client and note its thread while the iterator holds it (its
 * thread cannot free it then), and join the threads after letting go. */
/* Exported by libvncserver 0.9.14 but missing from its headers: an iterator that also
 * yields clients already closed whose threads have not finished. */
rfbClientIteratorPtr rfbGetClientIteratorWithClosed(rfbScreenInfoPtr rfbScreen);

static void close_and_join_clients(struct vnc_server *srv)
{
	rfbScreenInfoPtr s = srv->screen;
	pthread_mutex_lock(&srv->lock);
	srv->joining = true; /* from now on no client thread detaches itself */
	pthread_mutex_unlock(&srv->lock);
	pthread_t *threads = NULL;
	size_t n = 0, cap = 0;
	rfbClientIteratorPtr it = rfbGetClientIteratorWithClosed(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		if (cl->sock != RFB_INVALID_SOCKET)
			rfbCloseClient(cl);
		if (cl->onHold)
			continue; /* no thread (cannot happen: handshakes have ended) */
		if (n == cap) {
			pthread_t *t = realloc(threads, (cap = cap ? 2 * cap : 16) * sizeof(*t));
			if (!t)
				break; /* rfbShutdownServer joins the rest */
			threads = t;
		}
		threads[n++] = cl->client_thread;
	}
	rfbReleaseClientIterator(it);
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	free(threads);
}

void vnc_server_stop(struct vnc_server *srv)
{
	auth_shutdown(); /* handshakes and delayed answers end now */
	listeners_stop(&srv->listeners);
	/* Handshake threads finish within libvncserver's read timeouts; wait for them so
	 * none adds a client to a screen that is going away. */
	for (int i = 0; i < 500 && atomic_load(&srv->handshakes) > 0; i++)
		usleep(10 * 1000);
	if (srv->started) {
		close_and_join_clients(srv);
		rfbShutdownServer(srv->screen, TRUE);
		srv->started = false;
	}
}

void vnc_server_destroy(struct vnc_server *srv)
{
	if (!srv)
		return;
	vnc_server_stop(srv);
	if (srv->screen) {
		cursor_free_all(srv);
		srv->screen->frameBuffer = NULL;
		rfbScreenCleanup(srv->screen);
	}
	free(srv->fb);
	frame_store_destroy(&srv->frames);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv);
}

/* ---- capture side ------------------------------------------------------------------ */

bool vnc_server_wait_for_viewers(struct vnc_server *srv, unsigned timeout_ms)
{
	struct timespec deadline;
	clock_deadline(&deadline, CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&srv->lock);
	while (srv->n_clients == 0 && !srv->woken) {
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline) == ETIMEDOUT)
			break;
	}
	bool viewers = srv->n_clients > 0;
	srv->woken = false;
	pthread_mutex_unlock(&srv->lock);
	return viewers;
}

void vnc_server_wake(struct vnc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->woken = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

uint8_t *vnc_server_framebuffer(struct vnc_server *srv, size_t *stride)
{
	*stride = (size_t)srv->width * 4;
	return srv->fb;
}

void vnc_server_size(struct vnc_server *srv, uint32_t *width, uint32_t *height)
{
	*width = srv->width;
	*height = srv->height;
}

/* rfbNewFramebuffer() would also reset the pixel format to libvncserver's default (bytes
 * R,G,B,X), so this does the same steps but keeps ours. Like it, it waits for each
 * client's send in progress (sendMutex), so no client reads the old buffer after it is
 * freed. */
/* Take a client's sendMutex for a resize. A client that does not read holds it in a
 * blocked write for up to libvncserver's rfbMaxClientWait (20 s), and the display of
 * every other client would freeze that long (measured: 11 s without a frame): after
 * RESIZE_WAIT_MS its connection is shut down, which ends the write at once. */
#define RESIZE_WAIT_MS 1000

static void lock_for_resize(rfbClientPtr cl)
{
	struct timespec until;
	clock_deadline(&until, CLOCK_REALTIME, RESIZE_WAIT_MS);
	if (pthread_mutex_timedlock(&cl->sendMutex, &until) == 0)
		return;
	struct client_info *ci = cl->clientData;
	log_warn("client %u (%s): its last update has not gone out for %u ms (it does not "
		 "read); disconnecting it so that the display can change size",
		 ci ? ci->id : 0, ci ? ci->peer : "?", RESIZE_WAIT_MS);
	if (ci && ci->sock_dup >= 0)
		shutdown(ci->sock_dup, SHUT_RDWR);
	LOCK(cl->sendMutex);
}

int vnc_server_resize(struct vnc_server *srv, uint32_t width, uint32_t height)
{
	uint8_t *fb = calloc((size_t)width * height, 4);
	if (!fb)
		return -ENOMEM;
	rfbScreenInfoPtr s = srv->screen;
	/* The clients locked here, and only those, are unlocked below (one that connects
	 * meanwhile reads the new size at its ServerInit); each is referenced so that it
	 * cannot be freed in between. */
	rfbClientPtr *locked = NULL;
	size_t n = 0, cap = 0;
	rfbClientIteratorPtr it = rfbGetClientIterator(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		if (n == cap) {
			rfbClientPtr *grown = realloc(locked, (cap = cap ? 2 * cap : 16) * sizeof(*grown));
			if (!grown) {
				rfbReleaseClientIterator(it);
				for (size_t i = 0; i < n; i++) {
					UNLOCK(locked[i]->sendMutex);
					rfbDecrClientRef(locked[i]);
				}
				free(locked);
				free(fb);
				return -ENOMEM;
			}
			locked = grown;
		}
		rfbIncrClientRef(cl);
		lock_for_resize(cl);
		locked[n++] = cl;
	}
	rfbReleaseClientIterator(it);
	LOCK(s->cursorMutex);

	uint8_t *old = srv->fb;
	s->width = (int)width;
	s->height = (int)height;
	s->paddedWidthInBytes = (int)width * 4;
	s->frameBuffer = (char *)fb;
	if (s->cursorX >= s->width)
		s->cursorX = s->width - 1;
	if (s->cursorY >= s->height)
		s->cursorY = s->height - 1;
	srv->fb = fb;
	srv->width = width;
	srv->height = height;

	for (size_t i = 0; i < n; i++) {
		cl = locked[i];
		LOCK(cl->updateMutex);
		sraRgnDestroy(cl->modifiedRegion);
		cl->modifiedRegion = sraRgnCreateRect(0, 0, (int)width, (int)height);
		sraRgnMakeEmpty(cl->copyRegion);
		cl->copyDX = cl->copyDY = 0;
		if (cl->useNewFBSize)
			cl->newFBSizePending = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
		UNLOCK(cl->sendMutex);
		rfbDecrClientRef(cl);
	}
	free(locked);
	UNLOCK(s->cursorMutex);
	free(old);
	return 0;
}

void vnc_server_mark_modified(struct vnc_server *srv, const uint32_t *rects, size_t n_rects)
{
	if (n_rects == 0)
		return;
	sraRegionPtr region = sraRgnCreate();
	for (size_t i = 0; i < n_rects; i++) {
		const uint32_t *r = rects + 4 * i;
		sraRegionPtr rect = sraRgnCreateRect((int)r[0], (int)r[1], (int)(r[0] + r[2]),
						     (int)(r[1] + r[3]));
		sraRgnOr(region, rect);
		sraRgnDestroy(rect);
	}
	/* One call for the whole tick, so each client's output thread wakes once. */
	rfbMarkRegionAsModified(srv->screen, region);
	sraRgnDestroy(region);
}

struct frame_store *vnc_server_frame_store(struct vnc_server *srv)
{
	return &srv->frames;
}

struct _rfbScreenInfo *vnc_server_screen(struct vnc_server *srv)
{
	return srv->screen;
}

/* ---- manager hooks ------------------------------------------------------------------ */

void vnc_server_add_client_fd(struct vnc_server *srv, int fd, const char *peer_name)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	on_accept(srv, fd, peer_name && peer_name[0] ? peer_name : "added client", NULL);
}

uint64_t vnc_server_idle_ms(struct vnc_server *srv)
{
	uint64_t idle = 0;
	pthread_mutex_lock(&srv->lock);
	if (srv->n_clients == 0 && atomic_load(&srv->handshakes) == 0)
		idle = clock_now_ms() - srv->idle_since_ms;
	pthread_mutex_unlock(&srv->lock);
	return idle;
}

/* ---- control socket and metrics ------------------------------------------------------ */

static const char *path_name(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (!ce)
		return "library";
	switch (ce->path) {
	case CLIENT_PATH_TIGHT_JPEG:
		return "tight-jpeg";
	case CLIENT_PATH_H264:
		return "h264";
	default:
		return "library";
	}
}

size_t vnc_server_list_clients(struct vnc_server *srv, struct vnc_client_stat *out, size_t max)
{
	size_t n = 0;
	uint64_t now = clock_now_ms();
	rfbClientIteratorPtr it = rfbGetClientIterator(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		struct client_info *ci = cl->clientData;
		if (!ci || cl->sock == RFB_INVALID_SOCKET)
			continue;
		if (n < max) {
			struct vnc_client_stat *st = &out[n];
			memset(st, 0, sizeof(*st));
			st->id = ci->id;
			snprintf(st->peer, sizeof(st->peer), "%s", ci->peer);
			st->encoding = cl->onHold ? "handshake" : path_name(cl);
			st->bytes_sent = (uint64_t)rfbStatGetSentBytes(cl);
			st->connected_s = (double)(now - ci->connected_ms) / 1000.0;
			int updates = rfbStatGetMessageCountSent(cl, rfbFramebufferUpdate);
			uint64_t since = ci->sample_ms ? ci->sample_ms : ci->connected_ms;
			int base = ci->sample_ms ? ci->sample_updates : 0;
			st->fps = now > since ? (double)(updates - base) * 1000.0 / (double)(now - since)
					      : 0.0;
			ci->sample_ms = now;
			ci->sample_updates = updates;
		}
		n++;
	}
	rfbReleaseClientIterator(it);
	return n;
}

void vnc_server_client_totals(struct vnc_server *srv, unsigned *clients, uint64_t *bytes)
{
	unsigned n = 0;
	uint64_t b = 0;
	rfbClientIteratorPtr it = rfbGetClientIterator(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		if (!cl->clientData || cl->sock == RFB_INVALID_SOCKET)
			continue;
		n++;
		b += (uint64_t)rfbStatGetSentBytes(cl);
	}
	rfbReleaseClientIterator(it);
	*clients = n;
	*bytes = b;
}

int vnc_server_disconnect(struct vnc_server *srv, unsigned id)
{
	int r = -ENOENT;
	rfbClientIteratorPtr it = rfbGetClientIterator(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		struct client_info *ci = cl->clientData;
		if (ci && ci->id == id && cl->sock != RFB_INVALID_SOCKET) {
			log_info("client %u (%s): disconnected by the control socket", ci->id,
				 ci->peer);
			/* Like a peer that hangs up: the client's own threads end it. */
			shutdown(cl->sock, SHUT_RDWR);
			r = 0;
			break;
		}
	}
	rfbReleaseClientIterator(it);
	return r;
}

void vnc_server_set_qmp(struct vnc_server *srv, struct input_qmp *qmp)
{
	srv->qmp = qmp;
}
