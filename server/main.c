/* vgpu-vnc: serve a vGPU's display over VNC.
 *
 * main() parses the configuration, opens the plane source, creates the server at the
 * first mode's size, starts the capture thread and the listeners, and then waits for
 * SIGINT or SIGTERM, on which it closes every client and exits 0. SIGHUP re-reads the
 * password file (auth.h). Signals are blocked in
 * every thread and taken here with sigwait(), so no handler runs inside library code.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "capture.h"
#include "config.h"
#include "log.h"
#include "open_h264.h"
#include "plane_source.h"
#include "vnc_server.h"

/* The screen size while the device shows no plane yet. */
#define PLACEHOLDER_WIDTH 640u
#define PLACEHOLDER_HEIGHT 480u

static int run(const struct config *cfg, const sigset_t *signals)
{
	char err[512] = "";
	struct plane_source *src = NULL;
	struct capture *cap = NULL;
	struct vnc_server *srv = NULL;
	int status = 1, r;

	r = auth_check_policy(cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return 2;
	}
	/* The H.264 back end is chosen once, before any client: --encoder vpl where VPL
	 * cannot run is a runtime failure. It also registers its protocol extension, which
	 * must come before the server creates client state. */
	r = open_h264_init(cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return 1;
	}
	r = plane_source_open(cfg->source, &src, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r == -EINVAL ? 2 : 1;
	}
	log_info("source %s (%s)", cfg->source, src->ops->name);
	if (capture_create(src, cfg->fps, &cap) < 0) {
		log_error("out of memory");
		goto out;
	}
	uint32_t w, h;
	capture_initial_size(cap, &w, &h);
	if (w == 0) {
		log_info("the device shows no display yet; starting at %ux%u", PLACEHOLDER_WIDTH,
			 PLACEHOLDER_HEIGHT);
		w = PLACEHOLDER_WIDTH;
		h = PLACEHOLDER_HEIGHT;
	}
	r = vnc_server_create(cfg, src, w, h, &srv, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	/* Fill the framebuffer before the first client can ask for it. */
	capture_tick(cap, srv);
	r = vnc_server_start(srv, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	if (capture_start(cap, srv) < 0) {
		log_error("cannot start the capture thread");
		goto out;
	}
	log_info("serving %s as \"%s\"%s", cfg->source, cfg->desktop_name,
		 cfg->password_file[0] ? " with VNC password authentication" : " without authentication");

	int sig = 0;
	while (sigwait(signals, &sig) == 0 && sig != SIGINT && sig != SIGTERM) {
		if (sig != SIGHUP)
			continue;
		/* The password file again; a broken one keeps the password we have. */
		r = auth_reload(err, sizeof(err));
		if (r < 0)
			log_error("SIGHUP: %s; keeping the password read before", err);
		else if (!cfg->password_file[0])
			log_info("SIGHUP: no password file to read again");
	}
	log_info("%s: closing clients and exiting", strsignal(sig));
	status = 0;
out:
	if (cap)
		capture_stop(cap);
	vnc_server_destroy(srv);
	capture_destroy(cap);
	plane_source_destroy(src);
	open_h264_shutdown();
	return status;
}

int main(int argc, char **argv)
{
	struct config cfg;
	switch (config_load(&cfg, argc, argv, stdout, stderr)) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT_OK:
		return 0;
	default:
		return 2;
	}
	log_set_level(cfg.log_level);

	/* Before any thread exists, so that every thread inherits the mask. SIGPIPE is
	 * blocked too: a client that goes away must not kill the server. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	sigset_t blocked = signals;
	sigaddset(&blocked, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	return run(&cfg, &signals);
}
