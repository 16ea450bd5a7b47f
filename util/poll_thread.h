/* A thread that runs a poll() loop until it is told to stop: its stop flag and the
 * self-pipe that wakes it (the control socket and the metrics endpoint each run one).
 *
 * Threads: init/open/start/stop from the owner (main); poll_thread_wake from any thread;
 * the loop itself polls wake_fd, checks poll_thread_stopping and drains the pipe.
 */
#ifndef VGPU_POLL_THREAD_H
#define VGPU_POLL_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct poll_thread {
	pthread_t thread;
	atomic_bool stop;
	bool running;
	int wake_fd;   /* the read end, in the loop's poll set; -1 = not open */
	int signal_fd; /* the write end: one byte wakes the loop (non-blocking) */
};

/* No pipe, no thread: poll_thread_stop() on it does nothing. */
void poll_thread_init(struct poll_thread *t);
/* The pipe (close-on-exec, non-blocking). 0 or a negative errno. */
int poll_thread_open(struct poll_thread *t);
/* Run fn(arg) on a new thread. 0 or a negative errno. */
int poll_thread_start(struct poll_thread *t, void *(*fn)(void *), void *arg);
/* The loop: true once poll_thread_stop() was called. */
bool poll_thread_stopping(struct poll_thread *t);
/* Any thread: wake the loop (a full pipe already does). */
void poll_thread_wake(const struct poll_thread *t);
/* The loop: empty the pipe after poll() said it is readable. */
void poll_thread_drain(const struct poll_thread *t);
/* Tell the loop to stop, wake it, join it and close the pipe. */
void poll_thread_stop(struct poll_thread *t);

#endif
