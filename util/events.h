/* Events: what happened to clients and to the display, queued for whoever listens.
 *
 * The producers (the front end's client hooks, the capture thread) sit below the control
 * plane that tells the VDI manager: they call the events_* hooks here with plain values,
 * and control/ drains the queue (control_events.c turns each event into a JSON line).
 * The queue is bounded: with nobody attached the hooks do nothing; past EVENTS_QUEUE
 * events not yet taken, new ones are dropped.
 *
 * Threads: the hooks run on any thread and never block: a mutex held for O(1) time, a
 * copy of the event and a non-blocking one-byte write to the listener's wake fd.
 * events_attach, events_detach and events_pop belong to the one listener (the control
 * thread and its start/stop on main).
 */
#ifndef VGPU_EVENTS_H
#define VGPU_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

/* Events queued and not yet taken by the listener; more are dropped. */
#define EVENTS_QUEUE 1024u

enum event_type {
	EVENT_CLIENT_CONNECTED,     /* client: id, text = peer */
	EVENT_CLIENT_AUTHENTICATED, /* client: id, text = peer */
	EVENT_CLIENT_DISCONNECTED,  /* client: id, text = peer */
	EVENT_MODE_CHANGED,         /* mode: width, height, fourcc, dmabuf_id */
	EVENT_DISPLAY_OFF,
	EVENT_DEVICE_LOST,          /* text = the reason */
};

struct event {
	enum event_type type;
	double time;                /* CLOCK_REALTIME seconds when the hook ran */
	unsigned client_id;
	uint32_t width, height, fourcc, dmabuf_id;
	char text[128];             /* peer or reason, truncated, NUL-terminated */
};

/* Any thread. */
void events_client(enum event_type type, unsigned id, const char *peer);
void events_mode(uint32_t width, uint32_t height, uint32_t fourcc, uint32_t dmabuf_id);
void events_display_off(void);
void events_device_lost(const char *why);

/* The listener: from attach on, events are queued and a byte is written to wake_fd
 * (non-blocking; a full pipe already wakes the reader) for each. */
void events_attach(int wake_fd);
/* Stop queueing and forget what is queued. */
void events_detach(void);
/* The oldest queued event into *ev: true, or false when none is queued. */
bool events_pop(struct event *ev);

#endif
