/* What the hostile-test driver's files share. See hostile_check.c for the cases. */
#ifndef HOSTILE_HOSTILE_H
#define HOSTILE_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "check.h"
#include "rfb_test_client.h"

/* ---- the server process (proc_stats.c) ---- */

/* True if the server still runs (not exited, not a zombie). */
bool server_alive(struct run *r);
/* Lines of the server log that contain needle, and the sum of the "(N similar messages
 * suppressed)" counts on those lines. */
unsigned log_count(struct run *r, const char *needle, unsigned long *suppressed);
/* Start the server on synthetic:SPEC with extra args and an environment variable
 * ("NAME=VALUE", or NULL) set for it alone. */
bool start_server_env(struct run *r, const char *spec, const char *const *extra,
		      const char *env);

/* A raw client connected to the server with a finished handshake (password may be NULL),
 * asking for raw pixels and cursor shapes. False (and a message) on failure. */
bool rr_open(struct run *r, struct rr *c, const char *label, const char *password);
/* Request the whole screen and read until the framebuffer has been quiet for quiet_s (or
 * deadline_s passed: false). Incremental requests follow each update. */
bool rr_settle(struct rr *c, double quiet_s, double deadline_s);
/* Ask for the whole screen, then read updates (asking for more) until the picture equals
 * want exactly; after limit_s (an outer limit, not a speed) say how it differs. */
bool rr_wait_picture(struct rr *c, const struct ref_frame *want, double limit_s, const char *what);

/* Read updates (asking for more after each) until the time `until` (now_s() clock). */
bool rr_pump_until(struct rr *c, double until);

/* Whether this test binary (and so the server next to it) runs with AddressSanitizer. */
bool built_with_asan(void);

/* ---- cases: true if the case passed (each says why not) ---- */

/* cases_guest.c */
bool case_hostile_guest(struct run *r);
bool case_device_gone(struct run *r);
bool case_oom_resize(struct run *r);
/* cases_clients.c */
bool case_hostile_messages(struct run *r);
bool case_connection_flood(struct run *r);
bool case_silent_handshakes(struct run *r);
/* cases_slow.c */
bool case_slow_reader(struct run *r);
bool case_slow_reader_long(struct run *r);
bool case_stalled_resize(struct run *r);
/* cases_churn.c */
bool case_churn(struct run *r);
/* cases_auth.c */
bool case_auth_delay(struct run *r);
bool case_auth_reload(struct run *r);
bool case_auth_websocket(struct run *r);
bool case_no_auth_policy(struct run *r);
/* cases_preauth.c */
bool case_preauth(struct run *r);
bool case_preauth_noauth(struct run *r);
/* cases_faults.c */
bool case_sigterm_heavy(struct run *r);
bool case_encoder_fails(struct run *r);
/* cases_requests.c */
bool case_request_hooks(struct run *r);
bool case_xcursor_race(struct run *r);

#endif
