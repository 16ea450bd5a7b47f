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
 * Keys go by QKeyCode name (keymap.h) or, from clients with the QEMU Extended Key Event
 * pseudo-encoding (-258), by XT key number ({"type":"number"}); the extension is
 * registered with libvncserver by input_qmp_start().
 *
 * Threads: start/stop from main; pointer/key/key_number from client threads.
 */
#ifndef VGPU_INPUT_QMP_H
#define VGPU_INPUT_QMP_H

#include <stdbool.h>
#include <stdint.h>

#define INPUT_QMP_MOTION_MS 10u
#define INPUT_QMP_QUEUE 512u

struct input_qmp;

/* Start the I/O thread for the QMP socket at path (connecting in the background). 0 or a
 * negative errno. Only one instance per process (the RFB extension is global). */
int input_qmp_start(const char *path, struct input_qmp **out);

/* Join the thread, log what was sent ("N commands, M accepted, K refused"), free. */
void input_qmp_stop(struct input_qmp *q);

/* Client threads. x, y within a width x height screen; buttons is the RFB mask. */
void input_qmp_pointer(struct input_qmp *q, int x, int y, int width, int height,
		       uint32_t buttons);
void input_qmp_key(struct input_qmp *q, uint32_t keysym, bool down);
/* An XT key number (QEMU numbering: 0xE0-prefixed keys as 0x80 | code), 1..0xff. */
void input_qmp_key_number(struct input_qmp *q, uint32_t keycode, bool down);

/* clientGoneHook (both client threads ended): free the client's record of the -258
 * extension, which libvncserver 0.9.14 never frees. */
struct _rfbClientRec;
void input_qmp_client_gone(struct _rfbClientRec *cl);

#endif
