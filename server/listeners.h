/* Listening sockets (TCP, unix, inherited fds) and the thread that accepts on them.
 *
 * The accept thread owns the listening fds. Each accepted socket goes to the callback,
 * which hands it to libvncserver; an optional tick callback runs on the same thread about
 * once a second. Nothing else touches the listeners; listeners_stop()
 * wakes the thread through a pipe, joins it and closes every fd (and unlinks unix paths
 * it created). Listening sockets are non-blocking, so the thread only ever blocks in
 * poll(), where the pipe wakes it; a socket named twice (same fd, another fd of the same
 * socket, the same address) is listened on once. A connection whose fd would not fit
 * libvncserver's select() (fd_budget.h) is closed at once with a rate-limited log line;
 * the peer of a unix connection (pid, uid, gid) is logged.
 */
#ifndef VGPU_LISTENERS_H
#define VGPU_LISTENERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct listener;

/* Called on the accept thread with a connected socket it now owns, a printable peer
 * ("127.0.0.1:41234", "unix:/run/vgpu.sock") and the listener that accepted it. */
typedef void (*listeners_accept_fn)(void *opaque, int fd, const char *peer,
				    const struct listener *from);

struct listener {
	int fd;
	struct listen_addr addr; /* as configured; port filled in when it was 0 */
	bool unlink_on_close;
};

struct listeners {
	struct listener items[CONFIG_MAX_LISTEN];
	unsigned count;
	int wake[2];
	pthread_t thread;
	bool running;
	listeners_accept_fn on_accept;
	void *opaque;
	/* Optional, set before listeners_start(): called on the accept thread about once a
	 * second (housekeeping such as handshake deadlines), with the same opaque. */
	void (*on_tick)(void *opaque);
};

/* Bind and listen on every address. On failure nothing stays open; err names the
 * address and the reason. */
int listeners_open(struct listeners *l, const struct listen_addr *addrs, unsigned n, char *err,
		   size_t err_len);

int listeners_start(struct listeners *l, listeners_accept_fn fn, void *opaque);
void listeners_stop(struct listeners *l);

/* main, before any thread: systemd socket activation. When LISTEN_PID is our pid, the
 * LISTEN_FDS sockets from fd 3 on become fd: listeners (replacing the default address,
 * added to any --listen); the variables are unset either way. Returns how many were
 * added (0 without activation), or -EINVAL with a message in err. */
int listeners_socket_activation(struct config *cfg, char *err, size_t err_len);

/* True if every address the host resolves to is loopback (127/8, ::1). */
bool listeners_host_is_loopback(const char *host);

#endif
