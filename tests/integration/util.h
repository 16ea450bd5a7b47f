/* Small helpers shared by the integration driver's files. */
#ifndef VNC_CHECK_UTIL_H
#define VNC_CHECK_UTIL_H

#include <stdbool.h>

/* Monotonic clock in seconds. */
double now_s(void);

/* Sleep for that many seconds (restarts after signals). */
void sleep_s(double seconds);

/* printf to stderr with a "PREFIX: " prefix and a newline; the prefix is the program's
 * name (check_main sets it; "vnc_check" until then). */
extern const char *say_prefix;
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One requirement of a case: cond, or else say why (as say() does) and return false. For
 * "ok = ok && holds(...)", which checks nothing more once something failed. */
bool holds(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
