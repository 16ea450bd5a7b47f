/* The qmp-dbus hand-over: give QEMU one end of a socket pair through its QMP socket
 * (getfd, then add_client protocol=@dbus-display), so that it serves its D-Bus display
 * peer to peer on it, as libvirt does. Blocking with 5 s timeouts; called from the D-Bus
 * source's GLib thread only. The QMP connection is closed afterwards.
 */
#ifndef VGPU_DBUS_QMP_H
#define VGPU_DBUS_QMP_H

#include <stddef.h>

/* 0, or -1 with a one-line reason in why. fd stays the caller's (QEMU gets its own). */
int dbus_qmp_add_client(const char *path, int fd, char *why, size_t why_len);

#endif
