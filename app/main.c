/* vgpu-vnc: serve a vGPU's display over VNC.
 *
 * main() parses the configuration, opens the plane source, creates the server at the
 * first mode's size, starts the capture thread and the listeners, and then waits for
 * SIGINT or SIGTERM, on which it closes every client and exits 0. SIGHUP re-reads the
 * password file (auth.h) and the TLS certificate, key and CA (tls.h). Signals are blocked in
 * every thread and taken here with sigwait(), so no handler runs inside library code.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "capture.h"
#include "config.h"
#include "fd_budget.h"
#include "frame_store.h"
#include "dbus_source.h"
#include "input_dbus.h"
#include "input_qmp.h"
#include "input_source.h"
#include "control.h"
#include "listeners.h"
#include "log.h"
#include "metrics_http.h"
#include "open_h264.h"
#include "plane_source.h"
#include "plane_source_open.h"
#include "selftest.h"
#include "render_node.h"
#include "vfio_handover.h"
#include "tls.h"
#include "vnc_server.h"

/* The screen size while the device shows no plane yet. */
#define PLACEHOLDER_WIDTH 640u
#define PLACEHOLDER_HEIGHT 480u

/* The next signal; with --exit-when-idle, 0 in *sig once no client has been connected
 * for that long. */
static int next_signal(const sigset_t *signals, const struct config *cfg,
		       struct vnc_server *srv, int *sig)
{
	if (!cfg->exit_when_idle)
		return sigwait(signals, sig);
	for (;;) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 250 * 1000 * 1000};
		int r = sigtimedwait(signals, NULL, &ts);
		if (r > 0) {
			*sig = r;
			return 0;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return errno;
		if (vnc_server_idle_ms(srv) >= (uint64_t)cfg->exit_when_idle * 1000u) {
			*sig = 0;
			return 0;
		}
	}
}

/* The password systemd hands in (LoadCredential=vnc-password:...), when no
 * --password-file names one. */
static void password_from_credentials(struct config *cfg)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (cfg->password_file[0] || !dir || !dir[0])
		return;
	char path[sizeof(cfg->password_file)];
	int n = snprintf(path, sizeof(path), "%s/vnc-password", dir);
	if (n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0)
		memcpy(cfg->password_file, path, (size_t)n + 1);
}

static int run(const struct config *cfg, const sigset_t *signals)
{
	char err[512] = "";
	struct plane_source *src = NULL;
	struct capture *cap = NULL;
	struct vnc_server *srv = NULL;
	struct input_qmp *qmp = NULL;
	struct input_dbus *dbus_in = NULL;
	struct control *ctl = NULL;
	struct metrics_http *mhttp = NULL;
	int status = 1, r;

	r = auth_check_policy(cfg, err, sizeof(err));
	if (r == 0)
		r = metrics_http_check_policy(cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return 2;
	}
	/* The certificate and key are checked now: a missing file or a key that does not
	 * belong to the certificate is a configuration error, before anything starts. */
	r = tls_init(cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return 2;
	}
	/* The frame store: what the screen shows now. The capture thread publishes to it;
	 * the encoders that import the plane read it. Ours, until everyone is stopped. */
	struct frame_store frames;
	frame_store_init(&frames);
	/* The GPU whose buffers the source shows: the VA readback and the VPL encoder
	 * open its render node (render_node.h). */
	struct render_node_choice rn;
	render_node_choose("/sys", cfg->source, &rn);
	render_node_set(rn.node);
	if (rn.warn)
		log_warn("%s", rn.reason);
	else
		log_info("%s", rn.reason);
	/* The H.264 back end is chosen once, before any client: --encoder vpl where VPL
	 * cannot run is a runtime failure. */
	r = open_h264_init(cfg, &frames, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		frame_store_destroy(&frames);
		return 1;
	}
	dbus_source_set_console(cfg->dbus_console);
	r = plane_source_open(cfg->source, &src, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		open_h264_shutdown();
		frame_store_destroy(&frames);
		return r == -EINVAL ? 2 : 1;
	}
	log_info("source %s (%s)", cfg->source, src->ops->name);
	if (capture_create(src, cfg->fps, &frames, &cap) < 0) {
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
	/* With a control socket the manager sets the password: until it does, none works. */
	if (cfg->control_path[0])
		auth_require_password();
	r = vnc_server_create(cfg, src, &frames, w, h, &srv, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	/* Client input: to QEMU's QMP socket with --qmp, else to the source's own input. */
	if (cfg->qmp[0]) {
		r = input_qmp_start(cfg->qmp, &qmp);
		if (r < 0) {
			log_error("--qmp: %s", strerror(-r));
			goto out;
		}
	}
	/* A D-Bus source takes input through QEMU's D-Bus display, unless --qmp says. */
	if (!qmp && dbus_source_is(src) && input_dbus_start(src, &dbus_in) < 0) {
		log_error("out of memory");
		goto out;
	}
	struct input_sink sink = qmp ? input_qmp_sink(qmp)
			       : dbus_in ? input_dbus_sink(dbus_in) : input_source_sink(src);
	vnc_server_set_input(srv, &sink);
	/* Fill the framebuffer before the first client can ask for it. */
	capture_tick(cap, srv);
	size_t fb_stride;
	const uint8_t *fb = vnc_server_framebuffer(srv, &fb_stride);
	if (open_h264_probe(fb, fb_stride, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	r = vnc_server_start(srv, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	if (capture_start(cap, srv) < 0) {
		log_error("cannot start the capture thread");
		goto out;
	}
	if (cfg->control_path[0] && control_start(cfg, srv, cap, &ctl, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (cfg->has_metrics && metrics_http_start(cfg, &mhttp, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	log_info("serving %s as \"%s\"%s", cfg->source, cfg->desktop_name,
		 auth_enabled() ? " with VNC password authentication" : " without authentication");
	if (tls_enabled())
		log_info("TLS on every TCP address: VeNCrypt %s for VNC clients, wss:// for "
			 "browsers%s", auth_enabled() ? "X509Vnc" : "X509None",
			 tls_verifies_clients() ? "; client certificates required (--tls-ca)" : "");

	int sig = 0;
	while (next_signal(signals, cfg, srv, &sig) == 0 && sig != SIGINT && sig != SIGTERM &&
	       sig != 0) {
		if (sig != SIGHUP)
			continue;
		/* The password file again; a broken one keeps the password we have. */
		r = auth_reload(err, sizeof(err));
		if (r < 0)
			log_error("SIGHUP: %s; keeping the password read before", err);
		else if (!cfg->password_file[0])
			log_info("SIGHUP: no password file to read again");
		if (tls_reload(err, sizeof(err)) < 0)
			log_error("SIGHUP: %s; keeping the TLS certificate read before", err);
	}
	if (sig == 0)
		log_info("no client for %u s (--exit-when-idle): exiting", cfg->exit_when_idle);
	else
		log_info("%s: closing clients and exiting", strsignal(sig));
	status = 0;
out:
	control_stop(ctl);
	metrics_http_stop(mhttp);
	if (cap)
		capture_stop(cap);
	vnc_server_destroy(srv);
	input_qmp_stop(qmp); /* after the clients: they queue into it */
	input_dbus_stop(dbus_in);
	tls_shutdown();      /* after the clients: their relays end with them */
	capture_destroy(cap);
	plane_source_destroy(src);
	open_h264_shutdown();
	frame_store_destroy(&frames);
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
	if (cfg.selftest)
		return selftest_run(&cfg, stdout);
	char err[512];
	if (listeners_socket_activation(&cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 2;
	}
	/* Before any thread and any client socket: how many clients fit below FD_SETSIZE. */
	if (fd_budget_setup(cfg.max_clients, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 2;
	}
	password_from_credentials(&cfg);
	vfio_handover_set_access(cfg.handover_mode, cfg.handover_uids, cfg.n_handover_uids,
				 cfg.handover_gids, cfg.n_handover_gids);
	/* --device picks among the fds of --source pid:PID (vfio_pid.h). */
	if (cfg.device[0] && !strncmp(cfg.source, "pid:", 4) && !strchr(cfg.source + 4, ':') &&
	    strlen(cfg.source) + 1 + strlen(cfg.device) < sizeof(cfg.source)) {
		size_t n = strlen(cfg.source);
		cfg.source[n] = ':';
		memcpy(cfg.source + n + 1, cfg.device, strlen(cfg.device) + 1);
	}

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
