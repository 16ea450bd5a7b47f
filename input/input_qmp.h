/* Client input to the VM through QEMU's QMP socket (--qmp unix:PATH).
 *
 * One I/O thread owns the QMP connection: it connects (greeting, qmp_capabilities), sends
 * input-send-event commands and reads their replies; when QEMU goes away it logs once,
 * retries every second in the background and drops input meanwhile. Client threads only
 * queue events (a bounded queue under a mutex, never blocking on QMP): buttons and keys
 * always go in order; pointer motion is coalesced, at most one motion per
 * INPUT_QMP_MOTION_MS, the latest position winning.
 *
 * Pointer positions are absolute, scaled to 0..0x7FFF over the screen size given with
 * each event. Wheel up/down (RFB buttons 4/5) are wheel-up/wheel-down presses.
 * Keys go by QKeyCode name (keymap.h) or, when the client sent one (the QEMU Extended Key
 * Event, which the front end offers because this sink takes key codes), by XT key number
 * ({"type":"number"}).
 *
 * Threads: start/stop from main; the sink's key and pointer from client threads.
 */
#ifndef VGPU_INPUT_QMP_H
#define VGPU_INPUT_QMP_H

#include "input_sink.h"

#define INPUT_QMP_MOTION_MS 10u
#define INPUT_QMP_QUEUE 512u

struct input_qmp;

/* Start the I/O thread for the QMP socket at path (connecting in the background). 0 or a
 * negative errno. */
int input_qmp_start(const char *path, struct input_qmp **out);

/* Join the thread, log what was sent ("N commands, M accepted, K refused"), free. Only
 * after the front end that was given its sink has stopped. */
void input_qmp_stop(struct input_qmp *q);

/* The sink that queues client input for q. */
struct input_sink input_qmp_sink(struct input_qmp *q);

#endif
