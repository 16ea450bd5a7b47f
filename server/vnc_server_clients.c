/* The clients' records (struct client_info) from libvncserver's hooks: a client counted
 * in (newClientHook) and out (clientGoneHook), its update requests guarded, its bytes sent
 * pushed to metrics; and the control side's view of them (list, disconnect, idle time).
 *
 * Threads: on_new_client on a handshake thread (inside rfbNewClient); guard_request on the
 * client's input thread; on_update_sent on its output thread; on_client_gone on whichever
 * of its threads ends it last; vnc_server_list_clients and vnc_server_disconnect on the
 * control thread; vnc_server_idle_ms on main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_encoding.h"
#include "clock.h"
#include "events.h"
#include "fd_budget.h"
#include "log.h"
#include "metrics.h"
#include "qemu_key_event.h"
#include "vnc_server_private.h"

/* Push the bytes cl was sent since the last push to metrics (metrics.h): after each
 * update (its output thread), when it goes and when the control thread lists it. Those
 * threads may race: the pushed mark only moves forward, so no byte counts twice. */
static void push_sent_bytes(rfbClientPtr cl, struct client_info *ci)
{
	uint64_t now = (uint64_t)rfbStatGetSentBytes(cl);
	uint64_t was = atomic_load(&ci->bytes_pushed);
	while (now > was && !atomic_compare_exchange_weak(&ci->bytes_pushed, &was, now))
		;
	if (now > was)
		metrics_add_bytes_sent(now - was);
}

/* displayFinishedHook: libvncserver calls it at the end of every update it was asked
 * for, whoever encoded it (client_encoding.c) and whether or not anything was sent. */
static void on_update_sent(rfbClientPtr cl, int result)
{
	(void)result;
	client_encoding_update_sent(cl);
	if (cl->clientData)
		push_sent_bytes(cl, cl->clientData);
}

/* Under srv->lock: a client thread that will end soon, for vnc_server_reap(). */
static void remember_ended(struct vnc_server *srv, pthread_t thread)
{
	if (srv->n_ended == srv->cap_ended) {
		size_t cap = srv->cap_ended ? 2 * srv->cap_ended : 8;
		pthread_t *t = realloc(srv->ended, cap * sizeof(*t));
		if (!t) {
			/* Out of memory: let it go on its own (the only case where a thread may
			 * outlive the server's wait at stop). */
			pthread_detach(thread);
			return;
		}
		srv->ended = t;
		srv->cap_ended = cap;
	}
	srv->ended[srv->n_ended++] = thread;
}

static void on_client_gone(rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	struct client_info *ci = cl->clientData;
	/* libvncserver 0.9.14 never frees a WebSocket client's context (one calloc'ed
	 * block); nothing reads it after this hook, the socket is already closed. */
	free(cl->wsctx);
	cl->wsctx = NULL;
	client_encoding_client_gone(cl);
	qemu_key_event_client_gone(cl);
	if (!ci)
		return; /* refused in on_new_client: never counted */
	push_sent_bytes(cl, ci);
	events_client(EVENT_CLIENT_DISCONNECTED, ci->id, ci->peer);
	if (ci->sock_dup >= 0)
		close(ci->sock_dup);
	log_info("client %u (%s) disconnected after %.1f s%s%s", ci->id, ci->peer,
		 (double)(clock_now_ms() - ci->connected_ms) / 1000.0,
		 vnc_server_liblog_last()[0] ? ": " : "", vnc_server_liblog_last());
	vnc_server_liblog_forget();
	free(ci);
	cl->clientData = NULL;
	pthread_mutex_lock(&srv->lock);
	/* libvncserver 0.9.14 starts each client's input thread joinable and joins it only
	 * in rfbShutdownServer: every client that leaves before would keep its thread's stack
	 * (12 KiB of RSS and 8 MiB of address space a client, found by the churn test). It is
	 * not detached either: on its way out it still reads the client and the screen, so
	 * the server joins it (vnc_server_reap) before the screen can go. */
	if (pthread_equal(pthread_self(), cl->client_thread))
		remember_ended(srv, cl->client_thread);
	if (srv->n_clients > 0)
		srv->n_clients--;
	metrics_set_clients(srv->n_clients);
	if (srv->n_clients == 0)
		srv->idle_since_ms = clock_now_ms();
	pthread_cond_broadcast(&srv->gone);
	pthread_mutex_unlock(&srv->lock);
}

void vnc_server_reap(struct vnc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	pthread_t *ended = srv->ended;
	size_t n = srv->n_ended;
	srv->ended = NULL;
	srv->n_ended = srv->cap_ended = 0;
	pthread_mutex_unlock(&srv->lock);
	/* Outside the lock: each thread is past its gone hook, so the join is short. */
	for (size_t i = 0; i < n; i++)
		pthread_join(ended[i], NULL);
	free(ended);
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
	const char *handshake_peer = vnc_server_handshake_peer();
	struct client_info *ci = calloc(1, sizeof(*ci));
	if (!ci) {
		log_error("client %s refused: out of memory", handshake_peer ? handshake_peer : "?");
		return RFB_CLIENT_REFUSE;
	}
	ci->id = atomic_fetch_add(&srv->next_client_id, 1) + 1;
	ci->connected_ms = clock_now_ms();
	ci->sock_dup = -1;
	snprintf(ci->peer, sizeof(ci->peer), "%s", handshake_peer ? handshake_peer : "?");

	vnc_server_reap(srv);
	pthread_mutex_lock(&srv->lock);
	bool full = srv->n_clients >= srv->cfg->max_clients;
	if (!full) {
		srv->n_clients++;
		metrics_set_clients(srv->n_clients);
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
	events_client(EVENT_CLIENT_CONNECTED, ci->id, ci->peer);
	/* On hold: the handshake thread drives the handshake under a deadline and starts
	 * the client's own threads once it is done (auth.h). */
	return RFB_CLIENT_ON_HOLD;
}

void vnc_server_client_hooks(rfbScreenInfoPtr s)
{
	s->newClientHook = on_new_client;
	s->displayHook = client_encoding_display_hook;
	s->displayFinishedHook = on_update_sent;
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
			st->encoding = cl->onHold ? "handshake" : client_encoding_served_by(cl);
			st->bytes_sent = (uint64_t)rfbStatGetSentBytes(cl);
			push_sent_bytes(cl, ci); /* metrics covers what is listed */
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
