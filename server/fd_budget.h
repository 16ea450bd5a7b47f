/* File descriptors and libvncserver's select(): which fds may reach it, and how many
 * clients fit.
 *
 * libvncserver 0.9.14 watches every client with select() and FD_SET(), which Debian builds
 * with _FORTIFY_SOURCE: an fd >= FD_SETSIZE (1024) there aborts the whole process ("bit
 * out of range 0 - FD_SETSIZE"). The fds it FD_SETs are each client's socket and the read
 * end of the wake pipe it makes in rfbStartOnHoldClient(); both take the lowest free fd.
 * So:
 *  - the copies of client sockets we keep only for shutdown() live at FD_SETSIZE and above
 *    (fd_budget_dup_high()), where they use no room below it;
 *  - a socket that lands at or past the limit is refused at accept (fd_budget_fits());
 *  - a client is started only if its wake pipe fits (fd_budget_start_client());
 *  - at start-up, fd_budget_setup() refuses a --max-clients that cannot fit below
 *    FD_SETSIZE (FD_BUDGET_PER_CLIENT a client plus FD_BUDGET_SERVER for the server's own
 *    fds) and raises the soft RLIMIT_NOFILE so that the high copies have room.
 * Threads: setup on main before any thread; the rest from any thread, no state but a
 * mutex held for O(1) time around the pipe check.
 */
#ifndef VGPU_FD_BUDGET_H
#define VGPU_FD_BUDGET_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stddef.h>

/* Below FD_SETSIZE, a connected client holds its socket and its wake pipe (two fds). */
#define FD_BUDGET_PER_CLIENT 3u
/* The server's own fds below FD_SETSIZE: standard streams, listeners (16), the control
 * socket and its 16 connections with the fds they carry, the device, its dma-bufs, VA,
 * metrics, QMP, wake pipes, and room for clients being refused. */
#define FD_BUDGET_SERVER 128u
/* The most --max-clients that fits. */
#define FD_BUDGET_MAX_CLIENTS ((FD_SETSIZE - FD_BUDGET_SERVER) / FD_BUDGET_PER_CLIENT)

/* Main, before any thread: check max_clients, raise the soft RLIMIT_NOFILE if needed (and
 * say so in the log). 0, or -EINVAL / -EMFILE with the reason in err. */
int fd_budget_setup(unsigned max_clients, char *err, size_t err_len);

/* True if a new client's socket fd leaves room for its wake pipe below FD_SETSIZE. */
bool fd_budget_fits(int fd);

/* A close-on-exec copy of fd at FD_SETSIZE or above when the limit allows, otherwise the
 * lowest free one; -1 on failure. For copies that are never given to select(). */
int fd_budget_dup_high(int fd);

/* rfbStartOnHoldClient(cl) if the pipe it makes will be below FD_SETSIZE; otherwise
 * -EMFILE and the client is not started (the caller refuses it). */
int fd_budget_start_client(rfbClientPtr cl);

/* accept4(SOCK_CLOEXEC) on a non-blocking listening socket, kept out of the way of
 * fd_budget_start_client(). */
int fd_budget_accept(int listen_fd);

#endif
