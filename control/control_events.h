/* control_events.c: the control socket's event lines, made from the events the front end
 * and the capture thread queue (util/events.h). Control thread only. Private to control.c
 * and control_events.c. */
#ifndef VGPU_CONTROL_EVENTS_H
#define VGPU_CONTROL_EVENTS_H

/* The oldest queued event as a line: malloc'ed JSON text (no newline), {"event": NAME,
 * "time": seconds, ...its fields}, or NULL when none is queued. An event that cannot be
 * formatted (out of memory) is skipped. */
char *control_events_next(void);

#endif
