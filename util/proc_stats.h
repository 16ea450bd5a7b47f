/* What a process holds, from /proc: open fds and resident memory.
 *
 * The self-test watches its own holdings for leaks over flips and mode changes; the tests
 * watch the server's. Any thread; nothing is kept.
 */
#ifndef VGPU_PROC_STATS_H
#define VGPU_PROC_STATS_H

#include <sys/types.h>

/* Open fds of pid (0 = this process), or -1 if /proc does not show them. */
int proc_fd_count(pid_t pid);

/* Resident set size in KiB (VmRSS) of pid (0 = this process), or -1 if it is gone. */
long proc_rss_kib(pid_t pid);

#endif
