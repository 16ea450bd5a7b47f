/* socket:PATH: the owner of a vGPU hands its VFIO device fd over at run time.
 *
 * The process that owns the device (QEMU, a VM manager) keeps owning it; vgpu-vnc only
 * needs a copy of the device fd. vgpu-vnc listens on the unix socket PATH and waits:
 *   1. The owner connects and sends one message: at least one byte of data (ignored;
 *      "vfio-device\n" reads well) with exactly one fd attached (SCM_RIGHTS): a VFIO
 *      device fd with a gfx-plane interface.
 *   2. vgpu-vnc checks the fd (PROBE) and answers one line: "ok\n", or "error: REASON\n"
 *      and closes the connection.
 *   3. The owner keeps the connection open for as long as vgpu-vnc may use the device.
 *      Closing it (or exiting) withdraws the device: vgpu-vnc closes its copy, clients see
 *      "no display", and it waits for the next hand-over.
 *   4. A new connection that hands over a new fd (the owner restarted, the VM was
 *      recreated) replaces the current device and its connection.
 * A stale socket file (nobody listening) is replaced; a live one or a non-socket at PATH
 * is an error. Whoever hands a device over replaces the one in use, so access is
 * checked twice: the socket file is made with mode 0600 (--handover-mode), and every
 * connection's peer (SO_PEERCRED) must be root, the server's own user, or one of
 * --handover-allow-uid / --handover-allow-gid; others get "error: ..." and are closed
 * before anything is read. The peer's pid and uid are logged.
 *
 * One thread per handover (started here) accepts and reads; it hands received fds to the
 * source through the callbacks, which must lock what they touch. stop() joins it.
 */
#ifndef VGPU_VFIO_HANDOVER_H
#define VGPU_VFIO_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

struct vfio_handover;

struct vfio_handover_ops {
	/* A received fd, from connection number `conn`. Return 0 to take it (the callee owns
	 * the fd from then on), or a negative errno with why (the fd is closed here and
	 * `why` is sent to the owner). Handover thread. */
	int (*offer)(void *opaque, int fd, uint64_t conn, char *why, size_t why_len);
	/* Connection number `conn`, whose fd was taken, closed. Handover thread. */
	void (*gone)(void *opaque, uint64_t conn);
};

#define VFIO_HANDOVER_DEFAULT_MODE 0600u
#define VFIO_HANDOVER_MAX_ALLOW 16u

/* Main, before vfio_handover_start(): the socket file's mode (0 = the default) and the
 * users and (primary) groups allowed besides root and our own user. */
void vfio_handover_set_access(unsigned mode, const unsigned *uids, unsigned n_uids,
			      const unsigned *gids, unsigned n_gids);

/* Bind and listen on path, start the thread. 0 or a negative errno with a message. */
int vfio_handover_start(const char *path, const struct vfio_handover_ops *ops, void *opaque,
			struct vfio_handover **out, char *err, size_t err_len);

/* Stop the thread, close every connection, remove the socket file. */
void vfio_handover_stop(struct vfio_handover *h);

/* The owner's side, for tests and VM managers: connect to path, send fd, read the answer
 * line into reply. Returns the connected socket (keep it open while the device is lent)
 * or a negative errno. */
int vfio_handover_send(const char *path, int fd, char *reply, size_t reply_len);

#endif
