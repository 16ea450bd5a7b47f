/* The option table: every option's name, value, help text and default, and how its
 * value is checked and stored. See config_options.h.
 */
#include "config_options.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "config_value.h"

static const char *const log_level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};

static const char *const source_prefixes[] = {"mdev:", "sysfs:", "fd:", "socket:", "pid:",
					     "dbus:", "qmp-dbus:"};

#define SOURCE_FORMS                                                                         \
	"synthetic[:WxH[:SCENE[:OPTIONS]]], mdev:UUID, sysfs:PATH, fd:N, socket:PATH, pid:PID, " \
	"dbus[:ADDRESS] or qmp-dbus:PATH"

/* ---- setters for values with their own rules; on error say why, without the option name */

static int set_string(char *dst, size_t size, const char *arg, char *why, size_t why_len)
{
	size_t n = strlen(arg);
	if (n == 0) {
		snprintf(why, why_len, "'' is empty");
		return -1;
	}
	if (n >= size) {
		snprintf(why, why_len, "'%s' is longer than %zu bytes", arg, size - 1);
		return -1;
	}
	memcpy(dst, arg, n + 1);
	return 0;
}

static int set_source(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	bool ok = !strcmp(arg, "synthetic") || !strncmp(arg, "synthetic:", 10) ||
		  !strcmp(arg, "dbus");
	for (size_t i = 0; !ok && i < sizeof(source_prefixes) / sizeof(source_prefixes[0]); i++) {
		size_t n = strlen(source_prefixes[i]);
		ok = !strncmp(arg, source_prefixes[i], n) && arg[n]; /* "mdev:" names nothing */
	}
	if (!ok) {
		snprintf(why, why_len, "'%s' is not a source (use " SOURCE_FORMS ")", arg);
		return -1;
	}
	return set_string(cfg->source, sizeof(cfg->source), arg, why, why_len);
}

static int set_listen(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	struct listen_addr a;
	if (value_parse_listen(arg, &a, why, why_len))
		return -1;
	if (cfg->n_listen == CONFIG_MAX_LISTEN) {
		snprintf(why, why_len, "'%s' is one address too many (at most %d)", arg,
			 CONFIG_MAX_LISTEN);
		return -1;
	}
	cfg->listen[cfg->n_listen++] = a;
	return 0;
}

static void clear_listen(struct config *cfg)
{
	cfg->n_listen = 0;
	cfg->listen_default = false;
}

static int set_control(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	struct listen_addr a;
	char scratch[WHY_MAX];
	if (value_parse_listen(arg, &a, scratch, sizeof(scratch)) < 0 || a.kind != LISTEN_UNIX) {
		snprintf(why, why_len, "'%s' is not unix:PATH", arg);
		return -1;
	}
	return set_string(cfg->control_path, sizeof(cfg->control_path), a.path, why, why_len);
}

static int set_metrics(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	char scratch[WHY_MAX];
	if (value_parse_listen(arg, &cfg->metrics, scratch, sizeof(scratch)) < 0 ||
	    cfg->metrics.kind != LISTEN_TCP) {
		snprintf(why, why_len, "'%s' is not tcp:HOST:PORT", arg);
		return -1;
	}
	cfg->has_metrics = true;
	return 0;
}

static int set_log_level(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (!strcmp(arg, log_level_names[i])) {
			cfg->log_level = (enum log_level)i;
			return 0;
		}
	}
	snprintf(why, why_len, "'%s' is not one of error, warn, info, debug", arg);
	return -1;
}

static int set_encoder(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	if (h264_backend_parse(arg, &cfg->encoder) < 0) {
		snprintf(why, why_len, "'%s' is not one of auto, vpl, x264", arg);
		return -1;
	}
	return 0;
}

static int set_handover_allow_uid(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return value_parse_id_list(arg, false, cfg->handover_uids, &cfg->n_handover_uids, why, why_len);
}

static int set_handover_allow_gid(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return value_parse_id_list(arg, true, cfg->handover_gids, &cfg->n_handover_gids, why, why_len);
}

static int set_qmp(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	if (strncmp(arg, "unix:", 5) || !arg[5] || strlen(arg + 5) >= 108) {
		snprintf(why, why_len, "'%s' is not unix:PATH (QEMU's -qmp unix:PATH,server=on)",
			 arg);
		return -1;
	}
	return set_string(cfg->qmp, sizeof(cfg->qmp), arg + 5, why, why_len);
}

/* ---- the table ----------------------------------------------------------------------- */

/* How each entry's value is stored: into a field of struct config by kind, or by a
 * setter of its own. */
#define FIELD(f) .field = offsetof(struct config, f)
#define CUSTOM(fn) .kind = VAL_CUSTOM, .set = (fn)
#define STRING(f) .kind = VAL_STRING, FIELD(f), .size = sizeof(((struct config *)0)->f)
#define UINT(f, lo, hi, w) .kind = VAL_UINT, FIELD(f), .min = (lo), .max = (hi), .what = (w)
#define FLAG(f) .kind = VAL_FLAG, FIELD(f)
#define MODE(f, hi, example) .kind = VAL_MODE, FIELD(f), .max = (hi), .what = (example)
#define CLI_ONLY .kind = VAL_CLI_ONLY

const struct option_spec config_options[N_OPTIONS] = {
	[OPT_SOURCE] = {"source", 0, "SPEC",
			"The vGPU to serve: " SOURCE_FORMS " (see SOURCES).",
			CONFIG_DEFAULT_SOURCE, CUSTOM(set_source)},
	[OPT_LISTEN] = {"listen", 0, "ADDR",
			"Listen on tcp:HOST:PORT or unix:PATH. HOST is an IPv4 address or a name, or "
			"an IPv6 address in brackets (tcp:[::1]:5900); PORT 0 takes any free port. "
			"Repeat for several addresses, up to " STR(CONFIG_MAX_LISTEN) ". VNC "
			"clients and browsers (noVNC, WebSockets) share each address. fd:N takes "
			"an inherited listening socket. Under systemd socket activation "
			"(LISTEN_FDS) the sockets systemd passes replace the default address.",
			CONFIG_DEFAULT_LISTEN, CUSTOM(set_listen), .clear = clear_listen},
	[OPT_FPS] = {"fps", 0, "N",
		     "Capture and send N frames a second, 1 to 240. A client's key or pointer "
		     "event is captured at once, then 120 frames a second (N if more) for a "
		     "quarter second. Nothing is captured while no client wants updates.",
		     "30", UINT(fps, 1, 240, "a number")},
	[OPT_PASSWORD_FILE] = {"password-file", 0, "FILE",
			       "Ask clients for the VNC password on the first line of FILE (VNC "
			       "authentication uses its first 8 bytes). Without it, "
			       "$CREDENTIALS_DIRECTORY/vnc-password is used if it exists (systemd "
			       "LoadCredential=vnc-password:...); with neither, clients connect "
			       "without a password; see SECURITY.",
			       NULL, STRING(password_file)},
	[OPT_INSECURE_NO_AUTH] = {"insecure-no-auth", 0, NULL,
				  "Allow clients without a password on TCP addresses other than "
				  "loopback, for when another layer (a firewall, an authenticating "
				  "proxy) protects them.",
				  NULL, FLAG(insecure_no_auth)},
	[OPT_DESKTOP_NAME] = {"desktop-name", 0, "NAME",
			      "The desktop name that clients show, 1 to 255 bytes.", "vgpu-vnc",
			      STRING(desktop_name)},
	[OPT_MAX_CLIENTS] = {"max-clients", 0, "N",
			     "Refuse clients beyond N connected at once. Clients still in their "
			     "handshake count too. At most 298: libvncserver watches each client "
			     "with select(), which only takes file descriptors below 1024, and a "
			     "client needs 3 of them (its socket and a wake pipe) besides the 128 "
			     "the server keeps for itself; a larger N is refused at start-up. The "
			     "server raises its soft RLIMIT_NOFILE as needed (it keeps copies of "
			     "client sockets above 1024). A connection whose socket would not fit "
			     "below 1024 (many files inherited, say) is closed at once, with a log "
			     "line.", "64",
			     UINT(max_clients, 1, 1024, "a number")},
	[OPT_HANDSHAKE_TIMEOUT] = {"handshake-timeout", 0, "SECONDS",
				   "Disconnect a client that has not finished the RFB handshake "
				   "(version, security type, password, ClientInit) within SECONDS, "
				   "1 to 600, so that silent connections cannot hold the slots of "
				   "--max-clients. Viewers ask for the password in the middle of the "
				   "handshake, so this is also how long a person has to type it. "
				   "Time spent waiting out a wrong-password delay does not count.",
				   "60", UINT(handshake_timeout, 1, 600, "a number of seconds")},
	[OPT_LOG_LEVEL] = {"log-level", 0, "LEVEL",
			   "Log messages up to LEVEL: error, warn, info or debug. The log goes to "
			   "standard error.",
			   "info", CUSTOM(set_log_level)},
	[OPT_ENCODER] = {"encoder", 0, "NAME",
			 "The H.264 encoder for clients that ask for H.264 (noVNC 1.6 and later, "
			 "TigerVNC 1.13 and later): vpl (Intel hardware through oneVPL, reading "
			 "the guest's buffer without a copy), x264 (software) or auto, which takes "
			 "vpl when an Intel GPU and its VPL runtime are there and x264 otherwise. "
			 "The log says which one runs and why. With vpl, the server does not start "
			 "where VPL cannot run.",
			 "auto", CUSTOM(set_encoder)},
	[OPT_IDR_INTERVAL] = {"idr-interval", 0, "SECONDS",
			      "Send an H.264 key frame (IDR) at least every SECONDS, 0 to 3600, "
			      "while the screen changes, so that a client recovers from a lost or "
			      "undecodable frame. 0 sends one only when a client needs it (on "
			      "connect, resize or a full update request).",
			      "2", UINT(idr_interval, 0, 3600, "a number of seconds")},
	[OPT_X264_THREADS] = {"x264-threads", 0, "N",
			      "Threads for each x264 encoder, 1 to 64. More threads split every "
			      "picture into N slices, which noVNC cannot decode (it shows nothing "
			      "or stripes); only raise it for clients that decode several slices, "
			      "such as TigerVNC.",
			      "1", UINT(x264_threads, 1, 64, "a number")},
	[OPT_CONTROL] = {"control", 0, "ADDR",
			 "Accept control commands (newline-delimited JSON: set-password, "
			 "list-clients, disconnect, add-client, query-source, metrics, subscribe) "
			 "on the unix socket unix:PATH, made with mode 0600. With it, clients "
			 "always need the VNC password, which the manager sets with set-password "
			 "(or --password-file); see vgpu-vncctl --help and docs/deploying.md.",
			 NULL, CUSTOM(set_control)},
	[OPT_METRICS] = {"metrics", 0, "ADDR",
			 "Serve Prometheus metrics at http://HOST:PORT/metrics on tcp:HOST:PORT. "
			 "HOST must be loopback unless --metrics-public is given.",
			 NULL, CUSTOM(set_metrics)},
	[OPT_METRICS_PUBLIC] = {"metrics-public", 0, NULL,
				"Allow --metrics on an address other than loopback. The metrics "
				"need no password and show who is connected and how busy the "
				"server is; --insecure-no-auth does not allow this.",
				NULL, FLAG(metrics_public)},
	[OPT_UNIX_MODE] = {"unix-mode", 0, "MODE",
			   "Give every unix:PATH listener the octal file MODE (e.g. 0660, so that "
			   "the group, such as a websockify proxy's, may connect). Without it the "
			   "umask decides.",
			   NULL, MODE(unix_mode, 07777, "0660")},
	[OPT_UNIX_OWNER] = {"unix-owner", 0, "USER[:GROUP]",
			    "Give every unix:PATH listener this owner and group (names or "
			    "numbers; changing the user needs root).",
			    NULL, STRING(unix_owner)},
	[OPT_DEVICE] = {"device", 0, "SYSFS_PATH",
			"With --source pid:PID whose process holds several VFIO devices: take the "
			"one at SYSFS_PATH (/sys/bus/mdev/devices/UUID). Without it, the first that "
			"answers the display probe.",
			NULL, STRING(device)},
	[OPT_QMP] = {"qmp", 0, "unix:PATH",
		     "Send client keyboard and pointer input to the VM through QEMU's QMP socket "
		     "at PATH (QEMU: -qmp unix:PATH,server=on,wait=off), reconnecting when QEMU "
		     "restarts.",
		     NULL, CUSTOM(set_qmp)},
	[OPT_DBUS_CONSOLE] = {"dbus-console", 0, "N",
			      "With --source dbus or qmp-dbus: serve QEMU's console N "
			      "(/org/qemu/Display1/Console_N), 0 to 63.",
			      "0", UINT(dbus_console, 0, 63, "a number")},
	[OPT_EXIT_WHEN_IDLE] = {"exit-when-idle", 0, "SECONDS",
				"Exit with status 0 once no client has been connected for SECONDS "
				"(0 = never), for socket-activated instances: systemd starts the "
				"server again on the next connection.",
				"0", UINT(exit_when_idle, 0, 86400, "a number")},
	[OPT_SELFTEST] = {"selftest", 0, NULL,
			  "Check the source and the H.264 encoder instead of serving: wait for "
			  "the guest's plane, read one frame back, encode 5 s of its frames at "
			  "--fps with --encoder, following flips and mode changes, and print a "
			  "PASS, WARN or FAIL line per check (plane, readback, IDR and slices, "
			  "encode time, fds, memory, GEM objects). Exit status 0 when nothing "
			  "failed, 1 when a check failed, 2 when the source could not be opened. "
			  "Run it first on a new host; see the README's hardware checklist.",
			  NULL, FLAG(selftest)},
	[OPT_CONTROL_IDLE_TIMEOUT] = {"control-idle-timeout", 0, "SECONDS",
				      "Close a --control connection that has sent nothing for "
				      "SECONDS, 1 to 86400, so that forgotten connections do not "
				      "hold its 16 slots. Connections that subscribed to events stay.",
				      "60", UINT(control_idle_timeout, 1, 86400, "a number of seconds")},
	[OPT_HANDOVER_MODE] = {"handover-mode", 0, "MODE",
			       "With --source socket:PATH: make the hand-over socket with the "
			       "octal file MODE. Whoever may connect to it may also replace the "
			       "device, so the default lets only the server's user connect; 0660 "
			       "lets the socket's group (the directory's, or set with chgrp after "
			       "start) connect too. The peer check of --handover-allow-uid applies "
			       "as well.",
			       "0600", MODE(handover_mode, 0777, "0600 or 0660")},
	[OPT_HANDOVER_ALLOW_UID] = {"handover-allow-uid", 0, "USERS",
				    "With --source socket:PATH: besides root and the server's own "
				    "user, accept device fds from these users (comma-separated "
				    "names or numbers; the peer's credentials, SO_PEERCRED, are "
				    "checked on every connection).",
				    NULL, CUSTOM(set_handover_allow_uid)},
	[OPT_HANDOVER_ALLOW_GID] = {"handover-allow-gid", 0, "GROUPS",
				    "With --source socket:PATH: also accept device fds from "
				    "processes whose primary group is one of these (comma-separated "
				    "names or numbers).",
				    NULL, CUSTOM(set_handover_allow_gid)},
	[OPT_TLS_CERT] = {"tls-cert", 0, "FILE",
			  "Turn on TLS for every TCP address with the server certificate in the PEM "
			  "file FILE (the leaf first, then any intermediate certificates); needs "
			  "--tls-key. VNC clients get VeNCrypt (X509Vnc with a password, X509None "
			  "without), and browsers connect with wss:// to the same port. A TCP address "
			  "other than loopback then offers nothing else. SIGHUP reads the files "
			  "again; see SECURITY.",
			  NULL, STRING(tls_cert)},
	[OPT_TLS_KEY] = {"tls-key", 0, "FILE",
			 "The private key of --tls-cert, a PEM file (unencrypted; keep it readable "
			 "by the server's user only).",
			 NULL, STRING(tls_key)},
	[OPT_TLS_CA] = {"tls-ca", 0, "FILE",
			"Ask every TLS client for a certificate and accept only those that the CA "
			"certificates in the PEM file FILE signed. With it, a client certificate "
			"counts as authentication: no password is needed on other than loopback "
			"addresses.",
			NULL, STRING(tls_ca)},
	[OPT_CONFIG] = {"config", 0, "FILE",
			"Read options from the INI file FILE first; the command line wins (see "
			"CONFIG FILE).",
			NULL, CLI_ONLY},
	[OPT_HELP] = {"help", 'h', NULL, "Print this help and exit.", NULL, CLI_ONLY},
	[OPT_VERSION] = {"version", 'V', NULL, "Print the version and exit.", NULL, CLI_ONLY},
};

int option_val(int id)
{
	return config_options[id].short_name ? config_options[id].short_name : 256 + id;
}

int option_by_val(int val)
{
	for (int id = 0; id < N_OPTIONS; id++)
		if (option_val(id) == val)
			return id;
	return -1;
}

int option_by_name(const char *name)
{
	for (int id = 0; id < N_OPTIONS; id++)
		if (!strcmp(config_options[id].name, name))
			return id;
	return -1;
}

/* ---- the kinds of value the table names ---------------------------------------------- */

static int set_value(const struct option_spec *o, struct config *cfg, const char *arg,
		     char *why, size_t why_len)
{
	char *field = (char *)cfg + o->field;
	unsigned long v;
	unsigned u;
	bool b = true;
	switch (o->kind) {
	case VAL_CUSTOM:
		return o->set(cfg, arg, why, why_len);
	case VAL_STRING:
		return set_string(field, o->size, arg, why, why_len);
	case VAL_UINT:
		if (value_parse_uint(arg, o->min, o->max, &v)) {
			snprintf(why, why_len, "'%s' is not %s from %lu to %lu", arg, o->what, o->min,
				 o->max);
			return -1;
		}
		u = (unsigned)v;
		memcpy(field, &u, sizeof(u));
		return 0;
	case VAL_FLAG: /* no value on the command line, a boolean in the file */
		if (arg && value_parse_bool(arg, &b)) {
			snprintf(why, why_len, "'%s' is not true or false (or yes, no, 1, 0)", arg);
			return -1;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	case VAL_MODE:
		if (value_parse_mode(arg, o->max, &v)) {
			snprintf(why, why_len, "'%s' is not an octal file mode such as %s", arg,
				 o->what);
			return -1;
		}
		u = (unsigned)v;
		memcpy(field, &u, sizeof(u));
		return 0;
	case VAL_CLI_ONLY:
		break;
	}
	snprintf(why, why_len, "only on the command line");
	return -1;
}

bool option_in_file(int id)
{
	return config_options[id].kind != VAL_CLI_ONLY;
}

int option_apply(struct option_loader *ld, int id, enum option_origin from, const char *arg,
		 char *why, size_t why_len)
{
	const struct option_spec *o = &config_options[id];
	if (o->clear && ld->origin[id] != from)
		o->clear(ld->cfg);
	ld->origin[id] = from;
	return set_value(o, ld->cfg, arg, why, why_len);
}

void config_fail(FILE *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", err);
	vfprintf(err, fmt, ap);
	fputc('\n', err);
	va_end(ap);
}
