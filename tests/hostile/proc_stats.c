/* The hostile driver's helpers: the server's RSS and fds from /proc, its log, and raw
 * clients that settle. Test process only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

bool server_alive(struct run *r)
{
	if (!r->started || r->srv.pid == 0)
		return false;
	return !server_wait_exit(&r->srv, 0);
}

unsigned log_count(struct run *r, const char *needle, unsigned long *suppressed)
{
	unsigned n = 0;
	unsigned long sup = 0;
	pthread_mutex_lock(&r->srv.lock);
	for (const char *p = r->srv.log; p && (p = strstr(p, needle)); p++) {
		const char *eol = strchr(p, '\n');
		n++;
		const char *s = strstr(p, " similar messages suppressed)");
		if (s && (!eol || s < eol)) {
			const char *q = s;
			while (q > p && q[-1] >= '0' && q[-1] <= '9')
				q--;
			sup += strtoul(q, NULL, 10);
		}
		if (!eol)
			break;
		p = eol;
	}
	pthread_mutex_unlock(&r->srv.lock);
	if (suppressed)
		*suppressed = sup;
	return n;
}

bool start_server_env(struct run *r, const char *spec, const char *const *extra,
		      const char *env)
{
	char name[128] = "";
	if (env) {
		const char *eq = strchr(env, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - env), env);
		setenv(name, eq + 1, 1);
	}
	bool ok = start_server(r, spec, extra);
	if (env)
		unsetenv(name);
	return ok;
}

bool rr_open(struct run *r, struct rr *c, const char *label, const char *password)
{
	char err[256];
	static const int32_t enc[] = {RFB_ENC_RAW, RFB_ENC_RICH_CURSOR, RFB_ENC_DESKTOP_SIZE};
	if (rr_connect(c, label, "127.0.0.1", r->port, err, sizeof(err)) < 0 ||
	    rr_handshake(c, password, NULL, err, sizeof(err)) != RR_OK) {
		say("%s", err);
		rr_close(c);
		return false;
	}
	return rr_set_encodings(c, enc, 3);
}

bool rr_wait_picture(struct rr *c, const struct ref_frame *want, double limit_s, const char *what)
{
	double deadline = now_s() + limit_s;
	if (!rr_request(c, false, 0, 0, c->width, c->height))
		return false;
	for (;;) {
		struct ref_frame got;
		bool match = rr_snapshot(c, &got) == 0 && frames_match(&got, want, &exact);
		ref_frame_free(&got);
		if (match)
			return true;
		int m = 0;
		while (m != 1 && now_s() < deadline)
			if ((m = rr_read_message(c, 0.05)) == -1)
				return false;
		if (m != 1) {
			say("%s: not the expected picture within %.0f s; the last one:", what, limit_s);
			if (rr_snapshot(c, &got) == 0) {
				compare_frames(&got, want, &exact, what);
				ref_frame_free(&got);
			}
			return false;
		}
		if (!rr_request(c, true, 0, 0, c->width, c->height))
			return false;
	}
}

bool rr_settle(struct rr *c, double quiet_s, double deadline_s)
{
	double deadline = now_s() + deadline_s, last = now_s();
	if (!rr_request(c, false, 0, 0, c->width, c->height))
		return false;
	while (now_s() < deadline) {
		int m = rr_read_message(c, 0.05);
		if (m == -1)
			return false;
		if (m == 1) {
			last = now_s();
			if (!rr_request(c, true, 0, 0, c->width, c->height))
				return false;
		} else if (m == -2 && now_s() - last >= quiet_s) {
			return true;
		}
	}
	say("%s: no rest within %.1f s", c->label, deadline_s);
	return false;
}

bool built_with_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}

/* Read updates (asking for more) until the time `until` (now_s() clock). */
bool rr_pump_until(struct rr *c, double until)
{
	while (now_s() < until) {
		int m = rr_read_message(c, 0.02);
		if (m == -1)
			return false;
		if (m == 1 && !rr_request(c, true, 0, 0, c->width, c->height))
			return false;
	}
	return true;
}
