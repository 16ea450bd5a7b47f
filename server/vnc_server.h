/* The RFB front end: a libvncserver screen, its clients, and what we add on top.
 *
 * libvncserver runs every client in its own pair of threads (input, output) and encodes
 * from screen->frameBuffer, the shadow framebuffer (XRGB8888). The capture thread is the
 * only writer of that framebuffer and of the screen's size and cursor: it calls
 * vnc_server_resize(), writes changed tiles into vnc_server_framebuffer() and then
 * vnc_server_mark_modified(). Client threads call our hooks (connect, input, gone).
 *
 * Locking: `lock` guards the viewer count and wakes the capture thread; it is held for
 * O(1) time and never across I/O. libvncserver's own locks guard its client lists.
 */
#ifndef VGPU_VNC_SERVER_H
#define VGPU_VNC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "plane.h"
#include "plane_source.h"

struct vnc_server;
struct _rfbScreenInfo;

/* Create the screen at the given size (the first mode, or a placeholder when the display
 * is off) with the settings in cfg. src (may be NULL) takes clients' SetDesktopSize
 * requests and, unless vnc_server_set_input() picks another sink, their keyboard and
 * pointer input (input_source.h). frames is the caller's frame store (frame_store.h),
 * which the capture thread publishes to; the server hands it to the encodings that read
 * it, and the caller keeps it until after vnc_server_destroy(). Updates go through Open
 * H.264 (open_h264_init() before this), Tight-JPEG or libvncserver's encodings, in that
 * order of preference (client_encoding.h). Messages go to err. */
struct frame_store;
int vnc_server_create(const struct config *cfg, struct plane_source *src,
		      struct frame_store *frames, uint32_t width, uint32_t height,
		      struct vnc_server **out, char *err, size_t err_len);

/* Open the listeners and start serving. 0 or a negative errno, message in err. */
int vnc_server_start(struct vnc_server *srv, char *err, size_t err_len);

/* Close listeners and clients (each is told by its socket closing), join every thread. */
void vnc_server_stop(struct vnc_server *srv);
void vnc_server_destroy(struct vnc_server *srv);

/* Capture thread: block until at least one client is connected, or timeout_ms passes.
 * Returns true if there are clients. */
bool vnc_server_wait_for_viewers(struct vnc_server *srv, unsigned timeout_ms);

/* Capture thread: wake vnc_server_wait_for_viewers() and vnc_server_sleep_until_input()
 * (used to stop). */
void vnc_server_wake(struct vnc_server *srv);

/* Capture thread: sleep until `until` (CLOCK_MONOTONIC), until a client's key or pointer
 * event reached the guest (at once if one did since the last call), or until
 * vnc_server_wake(). True when input ended the sleep: the guest is about to answer it, so
 * the capture thread looks now rather than at its next tick. */
bool vnc_server_sleep_until_input(struct vnc_server *srv, const struct timespec *until);

/* Capture thread: the shadow framebuffer and its stride in bytes. */
uint8_t *vnc_server_framebuffer(struct vnc_server *srv, size_t *stride);
void vnc_server_size(struct vnc_server *srv, uint32_t *width, uint32_t *height);

/* Capture thread: switch to a new size; clients get DesktopSize / ExtendedDesktopSize.
 * The new framebuffer is black. 0 or -ENOMEM. */
int vnc_server_resize(struct vnc_server *srv, uint32_t width, uint32_t height);

/* Capture thread: the display size clients asked for last (SetDesktopSize), if one is
 * waiting; taking it leaves none waiting. Clients' requests only record the size (the
 * latest wins, a repeat of the waiting one or of the screen's size changes nothing); the
 * capture thread decides when to ask the source, at most once a CAPTURE_RESIZE_INTERVAL_MS
 * (capture.c), so a burst of requests costs one or two EDID writes, not one each. */
bool vnc_server_take_size_request(struct vnc_server *srv, uint32_t *width, uint32_t *height);

/* A client may send this many SetDesktopSize messages in a row, one more every
 * VNC_RESIZE_REFILL_MS; beyond that it is disconnected. */
#define VNC_RESIZE_BUDGET 64u
#define VNC_RESIZE_REFILL_MS 250u

/* Capture thread: tell clients these rectangles changed (x, y, w, h quadruples). */
void vnc_server_mark_modified(struct vnc_server *srv, const uint32_t *rects, size_t n_rects);

/* Capture thread: the cursor. Pixels are ARGB8888 (bytes B,G,R,A), stride bytes a row;
 * NULL pixels = no cursor. */
void vnc_server_set_cursor(struct vnc_server *srv, const uint8_t *pixels, size_t stride,
			   uint32_t width, uint32_t height, uint32_t x_hot, uint32_t y_hot);
/* Capture thread: where the pointer hotspot is on the screen. */
void vnc_server_move_cursor(struct vnc_server *srv, int x, int y);

/* Any thread (the control socket's add_client): serve an already-connected client socket,
 * which the server now owns, exactly like one it accepted (handshake thread, deadline,
 * --max-clients). peer_name is what the log shows ("unix:vm1", "10.0.0.5:41234"). On
 * refusal the socket is closed and the log says why. */
void vnc_server_add_client_fd(struct vnc_server *srv, int fd, const char *peer_name);

/* Client input threads, before anything a client sent acts on the VM (input, display
 * size, pixel format): true once our handshake let the client in (its password checked,
 * or none needed) and while it is not being closed. Otherwise false, with a rate-limited
 * log line naming `what`. Defence in depth: auth.c never lets such messages through. */
struct _rfbClientRec;
bool vnc_server_client_may_act(struct _rfbClientRec *cl, const char *what);

/* For the fuzz harness: what the handshake thread does for a new connection (first
 * bytes, WebSocket, version, security, password, ClientInit), on the calling thread. The
 * client, let in but still on hold (rfbStartOnHoldClient() would start its threads), or
 * NULL (fd closed, the log says why). */
struct _rfbClientRec *vnc_server_handshake_now(struct vnc_server *srv, int fd, const char *peer);

/* The control socket's view of a client. */
struct vnc_client_stat {
	unsigned id;
	char peer[128];
	const char *encoding;  /* "library", "tight-jpeg", "h264", "handshake" (static) */
	uint64_t bytes_sent;   /* libvncserver's per-client statistics */
	double fps;            /* FramebufferUpdates a second since the last list (or connect) */
	double connected_s;
};

/* Control thread: the connected clients, up to max into out; returns how many there
 * are (may exceed max). Holds libvncserver's client list lock for O(clients). */
size_t vnc_server_list_clients(struct vnc_server *srv, struct vnc_client_stat *out, size_t max);

/* Control thread: close client id (its socket is shut down; its threads end it and
 * client-disconnected follows). 0 or -ENOENT. */
int vnc_server_disconnect(struct vnc_server *srv, unsigned id);

/* Main thread (--exit-when-idle): ms since the last client went away (or since create)
 * while no client is connected or in its handshake; 0 while one is. */
uint64_t vnc_server_idle_ms(struct vnc_server *srv);

/* Main, before vnc_server_start(): where authenticated clients' keyboard and pointer input
 * goes (input_sink.h; copied). A sink that takes key codes makes the server offer the
 * QEMU Extended Key Event (qemu_key_event.h). What the sink holds must outlive
 * vnc_server_destroy(). */
struct input_sink;
void vnc_server_set_input(struct vnc_server *srv, const struct input_sink *sink);

/* The libvncserver screen, for tests and extensions. */
struct _rfbScreenInfo *vnc_server_screen(struct vnc_server *srv);

#endif
