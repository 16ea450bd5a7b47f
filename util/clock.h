/* The project's clock: monotonic milliseconds and the deadlines threads wait on.
 *
 * Any thread; no state. Deadlines for pthread_cond_timedwait() and
 * pthread_mutex_timedlock() are absolute times on a given clock (CLOCK_REALTIME unless the
 * condition variable was made with another), built here so that nanosecond carry is
 * written once.
 */
#ifndef VGPU_CLOCK_H
#define VGPU_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds since an arbitrary start: for rate limits, pacing, timeouts. */
uint64_t clock_now_ms(void);

/* Monotonic seconds, for timing encodes. */
double clock_now_s(void);

/* Monotonic nanoseconds, for pacing at a frame rate without carrying timespecs around. */
uint64_t clock_now_ns(void);

/* A clock_now_ns() time as a timespec on CLOCK_MONOTONIC. */
struct timespec clock_timespec_ns(uint64_t ns);

/* Sleep until clock_now_ns() reaches ns; a signal does not cut it short. */
void clock_sleep_until_ns(uint64_t ns);

/* Add ns (>= 0) to t, carrying whole seconds. */
void clock_add_ns(struct timespec *t, long ns);

/* The time ms milliseconds from now on clock `clock`: an absolute deadline. */
void clock_deadline(struct timespec *t, clockid_t clock, unsigned ms);

#endif
