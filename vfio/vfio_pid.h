/* --source pid:PID[:SYSFS_PATH]: take a duplicate of the VFIO device fd that another
 * process (QEMU, a VM manager) holds, with pidfd_open + pidfd_getfd (Linux >= 5.6).
 *
 * The owner's fds are found by their /proc/PID/fd link, "anon_inode:[vfio-device]". With
 * several, SYSFS_PATH (from --device) picks the one whose /proc/PID/fdinfo says
 * "vfio-device-syspath: SYSFS_PATH" (Linux >= 6.9 prints it); without it, the first that
 * answers the gfx-plane probe (vfio_source_open("fd", ...)) wins.
 *
 * Needs ptrace rights over PID (PTRACE_MODE_ATTACH_REALCREDS): root, or CAP_SYS_PTRACE, or
 * the same user with kernel.yama.ptrace_scope 0 (1 only lets a parent take its child's).
 *
 * Called from main (plane_source_open) before any thread starts; tests call the helpers.
 */
#ifndef VGPU_VFIO_PID_H
#define VGPU_VFIO_PID_H

#include <stddef.h>
#include <sys/types.h>

#include "plane_source.h"

#define VFIO_PID_LINK "anon_inode:[vfio-device]"
#define VFIO_PID_MAX_FDS 16

/* Open the source from "PID" or "PID:SYSFS_PATH". 0 or a negative errno with a message:
 * -EINVAL malformed, -ESRCH no such process, -EPERM/-EACCES no ptrace rights (the message
 * says which), -ENOENT no VFIO device fd (or none at SYSFS_PATH), -ENOSYS no pidfd_getfd,
 * or what the probe of the fd said. */
int vfio_pid_source_open(const char *arg, struct plane_source **out, char *err, size_t err_len);

/* The fd numbers in /proc/PID/fd whose link reads exactly `link` (VFIO_PID_LINK), in
 * ascending order, at most max. Returns how many, or -ESRCH / -EACCES / -errno with a
 * message in err. */
int vfio_pid_scan(pid_t pid, const char *link, int *fds, unsigned max, char *err,
		  size_t err_len);

/* A duplicate (close-on-exec) of fd `target` in process pid: the new fd, or a negative
 * errno with a message in err that names the missing right or kernel feature. */
int vfio_pid_getfd(pid_t pid, int target, char *err, size_t err_len);

#endif
