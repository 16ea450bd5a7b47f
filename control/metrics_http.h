/* The metrics HTTP endpoint (--metrics tcp:HOST:PORT): GET /metrics answers with
 * metrics_render()'s Prometheus text over HTTP/1.0; anything else gets 404 (or 405/400).
 *
 * Threads: start/stop on main; one thread of its own (poll) serves the connections, at
 * most METRICS_HTTP_MAX_CONN at once, each with a bounded request (METRICS_HTTP_MAX_REQ
 * bytes) and a deadline, so a slow or silent scraper cannot hold it.
 */
#ifndef VGPU_METRICS_HTTP_H
#define VGPU_METRICS_HTTP_H

#include <stddef.h>

#include "config.h"

#define METRICS_HTTP_MAX_CONN 8u
#define METRICS_HTTP_MAX_REQ 4096u
#define METRICS_HTTP_TIMEOUT_MS 5000u

struct metrics_http;

/* The metrics need no password: their address must be loopback unless
 * cfg->metrics_public (--metrics-public; --insecure-no-auth does not count). 0, or
 * -EPERM with the reason in err. Main, at start-up before anything listens. */
int metrics_http_check_policy(const struct config *cfg, char *err, size_t err_len);

/* Checks metrics_http_check_policy() too. 0 or a negative errno with err. */
int metrics_http_start(const struct config *cfg, struct metrics_http **out, char *err,
		       size_t err_len);
void metrics_http_stop(struct metrics_http *mh);

#endif
