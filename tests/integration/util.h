/* Small helpers shared by the integration driver's files. */
#ifndef VNC_CHECK_UTIL_H
#define VNC_CHECK_UTIL_H

/* Monotonic clock in seconds. */
double now_s(void);

/* Sleep for that many seconds (restarts after signals). */
void sleep_s(double seconds);

/* printf to stderr with a "vnc_check: " prefix and a newline. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
