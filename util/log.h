/* Logging: one line per event on stderr, "vgpu-vnc: LEVEL: message".
 *
 * Any thread. Each line is written with one write(2) so lines from several threads do not
 * interleave. log_ratelimited() keeps a hostile guest or client from flooding the log:
 * one line per key per interval, with a count of what was suppressed.
 */
#ifndef VGPU_LOG_H
#define VGPU_LOG_H

#include <stdint.h>


enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A rate limit: at most one line per interval_ms; the next line that passes says how many
 * were suppressed. Zero-initialise; one per call site (static). */
struct log_ratelimit {
	uint64_t last_ms;
	unsigned suppressed;
	int initialised;
};

void log_ratelimited(struct log_ratelimit *rl, unsigned interval_ms, enum log_level level,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
