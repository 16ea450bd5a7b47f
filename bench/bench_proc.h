/* Child processes for the benchmarks: the real vgpu-vnc binary (or the floor loop), its
 * log in a file, its TCP port read from that log, and a clean stop.
 *
 * The child gets SIGKILL if the benchmark dies (PR_SET_PDEATHSIG), so no server outlives
 * a failed run. Logging to a file rather than a pipe means the child can never block on
 * us, and nothing here needs a thread. One thread.
 */
#ifndef VGPU_BENCH_PROC_H
#define VGPU_BENCH_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Start argv[0] with argv; stdout and stderr appended to log_path. The pid, or -1. */
pid_t bench_child_start(char *const argv[], const char *log_path);

/* The port of "listening on tcp:127.0.0.1:PORT" in the log, waiting up to timeout_s; -1
 * if it does not come or the child exits first. */
int bench_child_port(pid_t pid, const char *log_path, double timeout_s);

/* SIGTERM, then SIGKILL after timeout_s; reaps it. True if it exited with status 0. */
bool bench_child_stop(pid_t pid, double timeout_s);

/* Start a vgpu-vnc at bin on `source` (e.g. "synthetic:1920x1080:static") with --fps fps,
 * listening on a free loopback port, logging to log_path. extra: more arguments, NULL-
 * terminated, or NULL. Fills *port. The pid, or -1 with a message on stderr. */
pid_t bench_server_start(const char *bin, const char *source, unsigned fps,
			 const char *const *extra, const char *log_path, int *port);

#endif
