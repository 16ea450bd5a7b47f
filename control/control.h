/* The control socket (--control unix:PATH): newline-delimited JSON for the VDI manager.
 *
 * Requests are one JSON object a line, {"command": "NAME", ...arguments, "tag": any};
 * every request gets exactly one reply line: {"ok": true, ...} or {"error": "why"}
 * (with the request's "tag" copied back). Commands: set-password, list-clients,
 * disconnect, add-client (the socket travels with the request line as SCM_RIGHTS),
 * query-source, metrics, subscribe (then event lines {"event": "NAME", ...} follow on that
 * connection). See docs/deploying.md and vgpu-vncctl --help.
 *
 * Threads: control_start/stop on main. The control thread (poll) owns the listening
 * socket and every connection; it never blocks: sockets are non-blocking, a connection
 * whose output backs up past a bound is closed. Events come from the front end and the
 * capture thread through util/events.h (any thread, never blocking: a bounded queue that
 * wakes the control thread; with no control socket they are not queued), and become
 * event lines here (control_events.c).
 */
#ifndef VGPU_CONTROL_H
#define VGPU_CONTROL_H

#include <stddef.h>

struct capture;
struct config;
struct vnc_server;

/* Requests longer than this are refused (and the connection closed). */
#define CONTROL_MAX_LINE 65536u
/* Control connections at once; more are refused with an error line. */
#define CONTROL_MAX_CONNECTIONS 16u
/* Unsent output a connection may hold (a subscriber that does not read) before it is
 * closed. */
#define CONTROL_MAX_OUTPUT (1u << 20)

struct control;

/* Bind PATH (mode 0600, a stale socket replaced) and start the control thread. 0 or a
 * negative errno with err. */
int control_start(const struct config *cfg, struct vnc_server *srv, struct capture *cap,
		  struct control **out, char *err, size_t err_len);
/* Stop the thread, close every connection, unlink PATH. NULL is fine. */
void control_stop(struct control *ctl);

#endif
