/* The D-Bus source's shared state: the frame side (dbus_source.c: the plane ops, the
 * scanout and cursor buffers, their checks) and the D-Bus side (dbus_listener.c: the GLib
 * thread, the connections, the exported listener, input calls) meet here.
 *
 * Locking: `lock` guards the frame, damage, cursor and input-queue fields; the GLib
 * thread writes pixels into the scanout memfd under it (a memcpy, no I/O), the capture
 * thread takes damage under it and reads the pixels after (a write racing the read adds
 * its damage after the take, so the next tick reads it again). The fields marked "GLib
 * thread" are that thread's alone.
 */
#ifndef VGPU_DBUS_SOURCE_PRIVATE_H
#define VGPU_DBUS_SOURCE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbus_source.h"

#define DBUS_DAMAGE_MAX 64u /* rects kept between ticks; more collapse to "everything" */

/* One buffer: a memfd of ours (pixels converted to XRGB8888 / ARGB8888) or QEMU's
 * dma-buf (ScanoutDMABUF, shown as QEMU describes it). */
struct dbus_buffer {
	int fd;                  /* -1: none */
	uint8_t *map;            /* memfd mapping, NULL for a dma-buf */
	size_t len;
	uint32_t id;             /* 0: none */
	uint32_t width, height, stride, fourcc;
	uint64_t modifier;
	bool dmabuf;
};

struct dbus_event {
	uint8_t kind;            /* enum dbus_event_kind (dbus_listener.c) */
	bool down;
	int32_t a, b;
};

struct dbus_glib;            /* the GLib side, dbus_listener.c */

struct dbus_src {
	struct plane_source base;
	char kind[16];           /* "dbus" or "qmp-dbus" */
	char arg[256];           /* bus address or QMP path */
	unsigned console;

	pthread_mutex_t lock;
	/* Under lock. */
	struct dbus_buffer prim;
	uint32_t next_id;
	uint32_t dmg[DBUS_DAMAGE_MAX][4];
	unsigned ndmg;
	bool dmg_all;            /* the next damage query reports the whole scanout */
	struct dbus_buffer cursor;
	int32_t hot_x, hot_y, mouse_x, mouse_y;
	bool cursor_on;
	struct dbus_event *queue;
	unsigned head, count, dropped;
	bool flush_scheduled;
	bool connected;          /* a listener is registered: input goes to QEMU */
	uint64_t updates, scanouts, rejected;

	struct dbus_glib *glib;
};

/* dbus_source.c, called by the GLib thread with the checked-or-not values QEMU sent.
 * Each checks every value and returns 0 or -EINVAL with the reason in why. */
int dbus_frame_scanout(struct dbus_src *s, uint32_t w, uint32_t h, uint32_t stride,
		       uint32_t pixman, const void *data, size_t len, char *why, size_t why_len);
int dbus_frame_update(struct dbus_src *s, int32_t x, int32_t y, int32_t w, int32_t h,
		      uint32_t stride, uint32_t pixman, const void *data, size_t len, char *why,
		      size_t why_len);
/* -ERANGE from dbus_frame_update: the rectangle lies outside the scanout (QEMU 7.2 sends
 * no Scanout when its surface changes size, only Updates). dbus_frame_resize() then makes
 * a black scanout of the console's new size, for the Updates to fill. */
int dbus_frame_resize(struct dbus_src *s, uint32_t w, uint32_t h, char *why, size_t why_len);
/* Takes fd (closed on failure too). */
int dbus_frame_scanout_dmabuf(struct dbus_src *s, int fd, uint32_t w, uint32_t h,
			      uint32_t stride, uint32_t fourcc, uint64_t modifier, bool y0_top,
			      char *why, size_t why_len);
int dbus_frame_update_dmabuf(struct dbus_src *s, int32_t x, int32_t y, int32_t w, int32_t h,
			     char *why, size_t why_len);
/* No scanout now (Disable, QEMU gone). */
void dbus_frame_disable(struct dbus_src *s);
int dbus_cursor_define(struct dbus_src *s, int32_t w, int32_t h, int32_t hot_x, int32_t hot_y,
		       const void *data, size_t len, char *why, size_t why_len);
int dbus_mouse_set(struct dbus_src *s, int32_t x, int32_t y, int32_t on, char *why,
		   size_t why_len);

/* dbus_listener.c: start the GLib thread (connecting in the background) / stop it. */
int dbus_glib_start(struct dbus_src *s, char *err, size_t err_len);
void dbus_glib_stop(struct dbus_src *s);
/* The request_size op: a client's size goes to the console's SetUIInfo (QEMU passes it
 * on to guests whose display device follows it, such as virtio-gpu; -vga std refuses,
 * logged). 0, -EINVAL (out of range) or -ENODEV (QEMU is away). Any thread. */
int dbus_source_request_size(struct plane_source *src, uint32_t width, uint32_t height);
/* Lock held: make sure the GLib thread will drain the input queue. */
void dbus_glib_schedule_flush(struct dbus_src *s);

#endif
