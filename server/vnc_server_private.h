/* The vnc_server structure and what its files (vnc_server*.c, one concern each) share.
 * Not for other modules: they use vnc_server.h. */
#ifndef VGPU_VNC_SERVER_PRIVATE_H
#define VGPU_VNC_SERVER_PRIVATE_H

#include <pthread.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdatomic.h>

#include "config.h"
#include "input_sink.h"
#include "listeners.h"
#include "vnc_server.h"

struct vnc_server {
	rfbScreenInfoPtr screen;
	const struct config *cfg;
	struct plane_source *source; /* its request_size takes clients' SetDesktopSize */
	struct input_sink sink;       /* client input (set before start) */
	struct listeners listeners;
	/* Per listener (same index), from vnc_server_start: TCP (TLS applies), not loopback. */
	bool listen_tcp[CONFIG_MAX_LISTEN];
	bool listen_remote[CONFIG_MAX_LISTEN];

	/* Viewers: guarded by lock; cond wakes the capture thread, gone vnc_server_stop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t gone; /* n_clients went down */
	unsigned n_clients;
	bool woken;
	/* A client's key or pointer event since the capture thread last looked (guarded by
	 * lock; input_cond, on CLOCK_MONOTONIC, wakes the capture thread's sleep). */
	pthread_cond_t input_cond;
	bool input_pending;
	uint64_t idle_since_ms; /* when n_clients last became 0 (clock_now_ms) */
	/* Client threads that have passed their gone hook, to be joined (guarded by lock).
	 * A client thread is never detached: after the hook it still reads the client and the
	 * screen in libvncserver (rfbClientConnectionGone), so the screen may be freed only
	 * once every such thread has been joined. vnc_server_reap() joins them: for each new
	 * client (so ended threads do not keep their stacks) and at stop. */
	pthread_t *ended;
	size_t n_ended, cap_ended;

	atomic_uint next_client_id;
	atomic_uint handshakes; /* sockets being handed to libvncserver right now */
	/* The latest SetDesktopSize not yet taken by the capture thread, width << 32 | height;
	 * 0 = none. Client input threads store, the capture thread exchanges. */
	atomic_uint_fast64_t size_request;

	/* Capture thread only. */
	uint8_t *fb;
	uint32_t width, height;
	bool started;
};

/* A client's record, its cl->clientData: made by on_new_client, freed by on_client_gone
 * (vnc_server_clients.c). NULL for a client refused before it was counted. */
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
	/* Bytes sent already pushed to metrics (push_sent_bytes). */
	atomic_uint_fast64_t bytes_pushed;
};

/* vnc_server_clients.c: newClientHook, displayHook, displayFinishedHook. */
void vnc_server_client_hooks(rfbScreenInfoPtr s);
/* Join the client threads that have ended (see `ended`). Not on a client thread. */
void vnc_server_reap(struct vnc_server *srv);
/* vnc_server_input.c: key, pointer, SetDesktopSize and SetPixelFormat hooks. */
void vnc_server_input_hooks(rfbScreenInfoPtr s);
/* vnc_server_frame.c, on a client's input thread: a key or pointer event went to the
 * guest; wake the capture thread (vnc_server_sleep_until_input). */
void vnc_server_note_input(struct vnc_server *srv);

/* vnc_server_handshake.c, for listeners_start (accept thread). */
void vnc_server_on_accept(void *opaque, int fd, const char *peer, const struct listener *from);
void vnc_server_on_tick(void *opaque);
/* The peer of the socket being handed to libvncserver on this thread, or NULL: for
 * newClientHook, which runs inside rfbNewClient and has no other way to learn it. */
const char *vnc_server_handshake_peer(void);

/* vnc_server_liblog.c: route rfbLog and rfbErr into our log. */
void vnc_server_liblog_install(void);
/* libvncserver's last message on this thread worth quoting ("" if none), and forgetting it
 * once quoted. */
const char *vnc_server_liblog_last(void);
void vnc_server_liblog_forget(void);
/* While rfbNewClient runs on this thread: fd (of peer) had no HTTP request when ws_guard
 * looked, so a WebSocket request libvncserver finds now is cut off. -1, NULL: none. */
void vnc_server_liblog_watch_websocket(int fd, const char *peer);

#endif
