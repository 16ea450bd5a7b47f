/* Client input to the VM through QEMU's D-Bus display (the dbus and qmp-dbus sources,
 * dbus_source.h): keys to the console's Keyboard as QEMU key numbers, the pointer to its
 * Mouse as an absolute position (or relative motion, when the guest's pointer is
 * relative) and button presses.
 *
 * Keys: a QEMU Extended Key Event's key number as it is (the front end offers the
 * pseudo-encoding: this sink takes key codes); otherwise the keysym through the keymap
 * (keymap.h), with shift pressed around a shifted character whose client did not press
 * it, as the QMP sink does. Buttons: RFB bits 0..2 press and release left, middle and
 * right; the wheel bits 3/4 are a press and a release each.
 *
 * The sink keeps the shift and button state under its own mutex and queues through the
 * source (never blocking on QEMU); any client thread. The source must outlive the front
 * end that was given the sink.
 */
#ifndef VGPU_INPUT_DBUS_H
#define VGPU_INPUT_DBUS_H

#include "input_sink.h"
#include "plane_source.h"

struct input_dbus;

/* A sink for the D-Bus source src (dbus_source_is(src)). 0 or -ENOMEM. */
int input_dbus_start(struct plane_source *src, struct input_dbus **out);
void input_dbus_stop(struct input_dbus *d);
struct input_sink input_dbus_sink(struct input_dbus *d);

#endif
