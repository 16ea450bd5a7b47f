/* control_events.c: the queue of event lines from the control_event_* hooks (control.h,
 * any thread) to the control thread. Private to control.c and control_events.c. */
#ifndef VGPU_CONTROL_EVENTS_H
#define VGPU_CONTROL_EVENTS_H

#include <stdbool.h>

/* Events queued and not yet taken by the control thread; more are dropped (counted). */
#define CONTROL_EVENT_QUEUE 1024u

/* Control thread start: queue events and write a byte to wake_fd (non-blocking) for each. */
void control_events_attach(int wake_fd);
/* Control thread stop: stop queueing, free what is queued. */
void control_events_detach(void);
/* Control thread: the oldest queued line (malloc'ed JSON text, no newline) or NULL. */
char *control_events_pop(void);

#endif
