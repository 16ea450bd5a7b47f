/* The libvncserver screen's life cycle: created with its hooks (the other vnc_server_*.c
 * files own them), started (listeners, libvncserver's background mode), stopped (clients
 * closed and their threads joined) and destroyed.
 *
 * Threads: main; vnc_server_screen also on the capture thread (vnc_server_cursor.c).
 */
#include "vnc_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client_encoding.h"
#include "clock.h"
#include "cursor.h"
#include "input_source.h"
#include "log.h"
#include "open_h264.h"
#include "security.h"
#include "tight_jpeg.h"
#include "tls.h"
#include "vnc_server_private.h"

/* XRGB8888 (bytes B,G,R,X), the layout of the planes we read most. */
static void set_server_format(rfbScreenInfoPtr s)
{
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	s->serverFormat.depth = 24;
	s->depth = 24;
}

/* The update paths, in priority order (client_encoding.h). */
static const struct client_encoding_ops *const paths[] = {
	&open_h264_ops,
	&tight_jpeg_ops,
	&client_encoding_library,
};

int vnc_server_create(const struct config *cfg, struct plane_source *src,
		      struct frame_store *frames, uint32_t width, uint32_t height,
		      struct vnc_server **out, char *err, size_t err_len)
{
	*out = NULL;
	struct vnc_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	srv->cfg = cfg;
	srv->source = src;
	srv->sink = input_source_sink(src);
	srv->listeners.count = 0;
	pthread_mutex_init(&srv->lock, NULL);
	srv->idle_since_ms = clock_now_ms();
	pthread_cond_init(&srv->cond, NULL);
	pthread_cond_init(&srv->gone, NULL);
	/* The capture thread's tick schedule is on the monotonic clock. */
	pthread_condattr_t mono;
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->input_cond, &mono);
	pthread_condattr_destroy(&mono);

	int r = auth_init(cfg, err, err_len);
	if (r < 0) {
		vnc_server_destroy(srv);
		return r;
	}

	vnc_server_liblog_install();
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
	vnc_server_client_hooks(s);
	vnc_server_input_hooks(s);
	tight_jpeg_set_frame_store(frames);
	client_encoding_register(paths, sizeof(paths) / sizeof(paths[0]));
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
	srv->listeners.on_tick = vnc_server_on_tick;
	r = listeners_start(&srv->listeners, vnc_server_on_accept, srv);
	if (r < 0) {
		snprintf(err, err_len, "cannot start the accept thread: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* rfbShutdownServer(screen, TRUE) in 0.9.14 joins each client's thread after its
 * iterator has let go of the client, so a client whose thread ends at that moment is read
 * after it was freed (a crash at exit under load: sigterm-busy, 4 runs in 12 at -j2).
 * Instead: close every client, wait until each has passed its gone hook, and join their
 * threads (vnc_server_reap). A client that left by itself just before is joined the same
 * way; before, its thread had detached itself and could still be in libvncserver's
 * rfbClientConnectionGone, reading the screen, when the screen was freed (a use after
 * free at exit under load: encoder-fails, once under ASan). */
/* Exported by libvncserver 0.9.14 but missing from its headers: an iterator that also
 * yields clients already closed whose threads have not finished. */
rfbClientIteratorPtr rfbGetClientIteratorWithClosed(rfbScreenInfoPtr rfbScreen);

/* How long stop waits for the clients' threads to pass their gone hook. Each ends as soon
 * as its socket is shut down; the bound only keeps a stuck thread from hanging the exit. */
#define STOP_WAIT_MS 10000u

static void close_and_join_clients(struct vnc_server *srv)
{
	rfbClientIteratorPtr it = rfbGetClientIteratorWithClosed(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it)))
		if (cl->sock != RFB_INVALID_SOCKET)
			rfbCloseClient(cl);
	rfbReleaseClientIterator(it);

	struct timespec until;
	clock_deadline(&until, CLOCK_REALTIME, STOP_WAIT_MS);
	pthread_mutex_lock(&srv->lock);
	while (srv->n_clients > 0)
		if (pthread_cond_timedwait(&srv->gone, &srv->lock, &until) == ETIMEDOUT) {
			log_warn("%u client(s) still running %u ms after they were closed; exiting "
				 "without them", srv->n_clients, STOP_WAIT_MS);
			break;
		}
	pthread_mutex_unlock(&srv->lock);
	vnc_server_reap(srv);
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
		/* The screen's reference to its cursor (cursor.h); the clients' are gone. */
		rfbCursorPtr c = srv->screen->cursor;
		srv->screen->cursor = NULL;
		cursor_release(c);
		srv->screen->frameBuffer = NULL;
		rfbScreenCleanup(srv->screen);
	}
	free(srv->fb);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	pthread_cond_destroy(&srv->gone);
	pthread_cond_destroy(&srv->input_cond);
	free(srv->ended);
	free(srv);
}

struct _rfbScreenInfo *vnc_server_screen(struct vnc_server *srv)
{
	return srv->screen;
}
