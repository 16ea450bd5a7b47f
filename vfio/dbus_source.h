/* QEMU's D-Bus display as a plane source (--source dbus[:ADDRESS], qmp-dbus:PATH).
 *
 * Stock QEMU (7.0 and later, -display dbus; libvirt <graphics type='dbus'/>) exports each
 * console as /org/qemu/Display1/Console_N. vgpu-vnc registers an org.qemu.Display1.Listener
 * there and QEMU pushes the display to it: Scanout/Update with pixels and damage
 * rectangles, ScanoutDMABUF/UpdateDMABUF with a dma-buf when QEMU renders with GL, and
 * the cursor (CursorDefine/MouseSet). Input goes back through the console's Keyboard and
 * Mouse interfaces. No device fd and no ptrace rights are needed: only access to the bus
 * (or to QEMU's QMP socket, for the peer-to-peer mode that libvirt uses).
 *
 * Spec forms:
 *   dbus                  the session bus (DBUS_SESSION_BUS_ADDRESS)
 *   dbus:ADDRESS          a D-Bus address (unix:path=/run/...)
 *   qmp-dbus:PATH         QEMU's QMP socket: a socketpair end is passed with getfd and
 *                         add_client protocol=@dbus-display (QEMU: -display dbus,p2p=yes);
 *                         D-Bus is spoken peer to peer on the other end, no bus daemon.
 * The console is chosen with dbus_source_set_console() before opening (--dbus-console).
 *
 * Threads: one GLib thread owns every GDBus object (connections, the exported listener,
 * reconnection). The capture thread calls the plane_source ops; client threads call the
 * input functions below, which queue and never block on QEMU. When QEMU goes away the
 * source shows "no plane" (the server keeps the last frame) and reconnects every second.
 */
#ifndef VGPU_DBUS_SOURCE_H
#define VGPU_DBUS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plane_source.h"

/* QEMU's InputButton numbering, which org.qemu.Display1.Mouse.Press/Release take. */
enum dbus_button {
	DBUS_BUTTON_LEFT = 0,
	DBUS_BUTTON_MIDDLE = 1,
	DBUS_BUTTON_RIGHT = 2,
	DBUS_BUTTON_WHEEL_UP = 3,
	DBUS_BUTTON_WHEEL_DOWN = 4,
};

/* Pending input calls beyond this are dropped (counted, logged at stop). */
#define DBUS_INPUT_QUEUE 512u

/* The console index for sources opened afterwards (default 0). */
void dbus_source_set_console(unsigned index);

/* kind "dbus" or "qmp-dbus", arg what follows the colon ("" for plain dbus). Starts the
 * GLib thread, which connects in the background. 0 or a negative errno with err. */
int dbus_source_open(const char *kind, const char *arg, struct plane_source **out, char *err,
		     size_t err_len);

/* True if src is a D-Bus source (its input goes through the functions below). */
bool dbus_source_is(const struct plane_source *src);

/* Client input, any thread, queued for the GLib thread (dropped while QEMU is away).
 * key: a QEMU key number (XT scan code, 0xE0-prefixed keys as 0x80 | code).
 * pointer: an absolute position on the current scanout (clipped to it); consecutive
 * motions are coalesced. button: enum dbus_button. */
void dbus_source_key(struct plane_source *src, uint32_t qnum, bool down);
void dbus_source_motion(struct plane_source *src, int x, int y);
void dbus_source_button(struct plane_source *src, unsigned button, bool down);

#endif
