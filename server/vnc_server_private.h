/* The vnc_server structure, for vnc_server.c.
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

struct vnc_server {
	rfbScreenInfoPtr screen;
	const struct config *cfg;
	struct plane_source *source; /* its request_size takes clients' SetDesktopSize */
	struct input_sink sink;       /* client input (set before start) */
	struct listeners listeners;
	/* Per listener (same index), from vnc_server_start: TCP (TLS applies), not loopback. */
	bool listen_tcp[CONFIG_MAX_LISTEN];
	bool listen_remote[CONFIG_MAX_LISTEN];

	/* Viewers: guarded by lock; cond wakes the capture thread. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned n_clients;
	bool woken;
	uint64_t idle_since_ms; /* when n_clients last became 0 (clock_now_ms) */
	bool joining;           /* vnc_server_stop joins client threads: none detaches now */

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

#endif
