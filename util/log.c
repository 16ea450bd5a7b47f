#include "log.h"

#include "clock.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_ERROR: return "error";
	case LOG_WARN: return "warning";
	case LOG_INFO: return "info";
	case LOG_DEBUG: return "debug";
	}
	return "?";
}

static void log_vmsg(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "vgpu-vnc: %s: ", level_name(level));
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	if (suffix) {
		size_t s = strlen(suffix);
		if (len + s > sizeof(line) - 2)
			s = sizeof(line) - 2 - len;
		memcpy(line + len, suffix, s);
		len += s;
	}
	while (len > 0 && line[len - 1] == '\n')
		len--;
	line[len++] = '\n';
	/* One write per line: lines from different threads stay whole. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

void log_ratelimited(struct log_ratelimit *rl, unsigned interval_ms, enum log_level level,
		     const char *fmt, ...)
{
	if (level > current_level)
		return;
	uint64_t now = clock_now_ms();
	unsigned suppressed;
	pthread_mutex_lock(&ratelimit_lock);
	if (rl->initialised && now - rl->last_ms < interval_ms) {
		rl->suppressed++;
		pthread_mutex_unlock(&ratelimit_lock);
		return;
	}
	rl->initialised = 1;
	rl->last_ms = now;
	suppressed = rl->suppressed;
	rl->suppressed = 0;
	pthread_mutex_unlock(&ratelimit_lock);

	char suffix[64] = "";
	if (suppressed)
		snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", suppressed);
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, suppressed ? suffix : NULL, fmt, ap);
	va_end(ap);
}
