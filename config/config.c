/* Configuration: the option table, getopt_long, the INI file and --help. See config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#ifndef VGPU_VERSION
#define VGPU_VERSION "0.1.0"
#endif

#define PROG "vgpu-vnc"
#define INI_SECTION "vgpu-vnc"
#define STR_(x) #x
#define STR(x) STR_(x)

/* Room for "key = " and the longest value (a PATH_MAX path) on one line. */
#define FILE_LINE_MAX (PATH_MAX + 256)
#define WHY_MAX 1024
#define HELP_WIDTH 79

static const char *const log_level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};

static const char *const source_prefixes[] = {"mdev:", "sysfs:", "fd:", "socket:", "pid:"};

#define SOURCE_FORMS                                                                         \
	"synthetic[:WxH[:SCENE[:OPTIONS]]], mdev:UUID, sysfs:PATH, fd:N, socket:PATH or pid:PID"

/* ---- values -------------------------------------------------------------------------- */

/* Digits only: no sign, no blanks, no base prefix, nothing after; bounded while reading so
 * that a long string of digits cannot wrap around into range. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned long d = (unsigned long)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

static bool is_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* "fe80::1%eth0": hex digits, colons and dots, then an optional zone (an interface name). */
static bool is_ipv6_text(const char *s, size_t len)
{
	size_t i = 0;
	bool colon = false;
	for (; i < len && s[i] != '%'; i++) {
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return false;
		colon |= s[i] == ':';
	}
	if (i < len) {
		if (++i == len)
			return false;
		for (; i < len; i++)
			if (!is_host_char(s[i]))
				return false;
	}
	return colon;
}

#define LISTEN_FORMS "use tcp:HOST:PORT, tcp:[IPV6]:PORT, unix:PATH or fd:N"

static int parse_listen(const char *text, struct listen_addr *out, char *why, size_t why_len)
{
	struct listen_addr a;
	memset(&a, 0, sizeof(a));

	if (!strncmp(text, "fd:", 3)) {
		unsigned long fd;
		if (parse_uint(text + 3, 0, INT_MAX, &fd)) {
			snprintf(why, why_len, "'%s': expected fd:N, N a listening socket's fd number",
				 text);
			return -EINVAL;
		}
		a.kind = LISTEN_FD;
		a.fd = (int)fd;
		*out = a;
		return 0;
	}
	if (!strncmp(text, "unix:", 5)) {
		const char *path = text + 5;
		if (!*path) {
			snprintf(why, why_len, "'%s' has no socket path (" LISTEN_FORMS ")", text);
			return -EINVAL;
		}
		if (strlen(path) >= sizeof(a.path)) {
			snprintf(why, why_len, "'%s': the socket path is longer than %zu bytes", text,
				 sizeof(a.path) - 1);
			return -EINVAL;
		}
		a.kind = LISTEN_UNIX;
		strcpy(a.path, path);
		*out = a;
		return 0;
	}
	if (strncmp(text, "tcp:", 4)) {
		snprintf(why, why_len, "'%s' is not a listen address (" LISTEN_FORMS ")", text);
		return -EINVAL;
	}

	const char *host = text + 4, *rest;
	size_t host_len;
	bool ipv6 = *host == '[';
	if (ipv6) {
		const char *close = strchr(host, ']');
		if (!close) {
			snprintf(why, why_len, "'%s' has no ']' after the IPv6 address", text);
			return -EINVAL;
		}
		host++;
		host_len = (size_t)(close - host);
		rest = close + 1;
	} else {
		host_len = strcspn(host, ":");
		rest = host + host_len;
	}
	if (*rest != ':') {
		snprintf(why, why_len, "'%s' has no port (" LISTEN_FORMS ")", text);
		return -EINVAL;
	}
	const char *port = rest + 1;
	if (!ipv6 && strchr(port, ':')) {
		snprintf(why, why_len, "'%s': an IPv6 HOST goes in brackets, as in tcp:[::1]:5900",
			 text);
		return -EINVAL;
	}
	if (host_len == 0) {
		snprintf(why, why_len, "'%s' has no host (0.0.0.0 or [::] for all addresses)", text);
		return -EINVAL;
	}
	if (host_len >= sizeof(a.host)) {
		snprintf(why, why_len, "'%s': the host is longer than %zu bytes", text,
			 sizeof(a.host) - 1);
		return -EINVAL;
	}
	bool host_ok = true;
	if (ipv6) {
		host_ok = is_ipv6_text(host, host_len);
	} else {
		for (size_t i = 0; i < host_len; i++)
			host_ok &= is_host_char(host[i]);
	}
	if (!host_ok) {
		snprintf(why, why_len, "'%s': '%.*s' is not an %s", text, (int)host_len, host,
			 ipv6 ? "IPv6 address" : "IPv4 address or host name");
		return -EINVAL;
	}
	unsigned long port_num;
	if (parse_uint(port, 0, 65535, &port_num)) {
		snprintf(why, why_len, "'%s': port '%s' is not a number from 0 to 65535", text,
			 port);
		return -EINVAL;
	}
	a.kind = LISTEN_TCP;
	memcpy(a.host, host, host_len);
	a.port = (int)port_num;
	*out = a;
	return 0;
}

int config_parse_listen(const char *text, struct listen_addr *out)
{
	char why[WHY_MAX];
	return parse_listen(text, out, why, sizeof(why));
}

const char *config_listen_str(const struct listen_addr *a, char *buf, size_t len)
{
	if (a->kind == LISTEN_UNIX)
		snprintf(buf, len, "unix:%s", a->path);
	else if (a->kind == LISTEN_FD)
		snprintf(buf, len, "fd:%d", a->fd);
	else if (strchr(a->host, ':'))
		snprintf(buf, len, "tcp:[%s]:%d", a->host, a->port);
	else
		snprintf(buf, len, "tcp:%s:%d", a->host, a->port);
	return buf;
}

/* ---- setters: parse and validate one value; on error say why, without the option name */

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
	bool ok = !strcmp(arg, "synthetic") || !strncmp(arg, "synthetic:", 10);
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

static int set_fps(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 1, 240, &v)) {
		snprintf(why, why_len, "'%s' is not a number from 1 to 240", arg);
		return -1;
	}
	cfg->fps = (unsigned)v;
	return 0;
}

static int set_listen(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	struct listen_addr a;
	if (parse_listen(arg, &a, why, why_len))
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

static int set_password_file(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->password_file, sizeof(cfg->password_file), arg, why, why_len);
}

/* A flag: no value on the command line, a boolean in the file. */
static int set_insecure_no_auth(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	bool v = true;
	if (arg && parse_bool(arg, &v)) {
		snprintf(why, why_len, "'%s' is not true or false (or yes, no, 1, 0)", arg);
		return -1;
	}
	cfg->insecure_no_auth = v;
	return 0;
}

static int set_control(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	struct listen_addr a;
	if (config_parse_listen(arg, &a) < 0 || a.kind != LISTEN_UNIX) {
		snprintf(why, why_len, "'%s' is not unix:PATH", arg);
		return -1;
	}
	return set_string(cfg->control_path, sizeof(cfg->control_path), a.path, why, why_len);
}

static int set_metrics(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	if (config_parse_listen(arg, &cfg->metrics) < 0 || cfg->metrics.kind != LISTEN_TCP) {
		snprintf(why, why_len, "'%s' is not tcp:HOST:PORT", arg);
		return -1;
	}
	cfg->has_metrics = true;
	return 0;
}

/* A flag like insecure-no-auth, and separate from it: opening the VNC port to the network
 * must not also open the metrics. */
static int set_metrics_public(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	bool v = true;
	if (arg && parse_bool(arg, &v)) {
		snprintf(why, why_len, "'%s' is not true or false (or yes, no, 1, 0)", arg);
		return -1;
	}
	cfg->metrics_public = v;
	return 0;
}

static int set_desktop_name(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->desktop_name, sizeof(cfg->desktop_name), arg, why, why_len);
}

static int set_max_clients(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 1, 1024, &v)) {
		snprintf(why, why_len, "'%s' is not a number from 1 to 1024", arg);
		return -1;
	}
	cfg->max_clients = (unsigned)v;
	return 0;
}

static int set_handshake_timeout(struct config *cfg, const char *arg, char *why,
				 size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 1, 600, &v)) {
		snprintf(why, why_len, "'%s' is not a number of seconds from 1 to 600", arg);
		return -1;
	}
	cfg->handshake_timeout = (unsigned)v;
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

static int set_idr_interval(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 0, 3600, &v)) {
		snprintf(why, why_len, "'%s' is not a number of seconds from 0 to 3600", arg);
		return -1;
	}
	cfg->idr_interval = (unsigned)v;
	return 0;
}

static int set_x264_threads(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 1, 64, &v)) {
		snprintf(why, why_len, "'%s' is not a number from 1 to 64", arg);
		return -1;
	}
	cfg->x264_threads = (unsigned)v;
	return 0;
}

static int set_unix_mode(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v = 0;
	bool ok = *arg != '\0' && strlen(arg) <= 4;
	for (const char *p = arg; ok && *p; p++) {
		ok = *p >= '0' && *p <= '7';
		v = v * 8 + (unsigned long)(*p - '0');
	}
	if (!ok || v == 0) {
		snprintf(why, why_len, "'%s' is not an octal file mode such as 0660", arg);
		return -1;
	}
	cfg->unix_mode = (unsigned)v;
	return 0;
}

static int set_control_idle_timeout(struct config *cfg, const char *arg, char *why,
				    size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 1, 86400, &v)) {
		snprintf(why, why_len, "'%s' is not a number of seconds from 1 to 86400", arg);
		return -1;
	}
	cfg->control_idle_timeout = (unsigned)v;
	return 0;
}

static int set_handover_mode(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v = 0;
	bool ok = *arg != '\0' && strlen(arg) <= 4;
	for (const char *p = arg; ok && *p; p++) {
		ok = *p >= '0' && *p <= '7';
		v = v * 8 + (unsigned long)(*p - '0');
	}
	if (!ok || v == 0 || v > 0777) {
		snprintf(why, why_len, "'%s' is not an octal file mode such as 0600 or 0660", arg);
		return -1;
	}
	cfg->handover_mode = (unsigned)v;
	return 0;
}

/* "NAME,1001,...": users (or groups) by name or number. */
static int parse_id_list(const char *arg, bool groups, unsigned *ids, unsigned *n, char *why,
			 size_t why_len)
{
	char buf[1024];
	if (strlen(arg) >= sizeof(buf) || !*arg) {
		snprintf(why, why_len, "'%.64s' is not a list of %s names or numbers", arg,
			 groups ? "group" : "user");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	*n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned long v;
		if (*n == CONFIG_MAX_ALLOW) {
			snprintf(why, why_len, "more than %d entries", CONFIG_MAX_ALLOW);
			return -1;
		}
		if (parse_uint(t, 0, 0xfffffffeUL, &v) == 0) {
			ids[(*n)++] = (unsigned)v;
			continue;
		}
		struct passwd *pw = groups ? NULL : getpwnam(t);
		struct group *gr = groups ? getgrnam(t) : NULL;
		if (!pw && !gr) {
			snprintf(why, why_len, "no such %s '%s'", groups ? "group" : "user", t);
			return -1;
		}
		ids[(*n)++] = pw ? (unsigned)pw->pw_uid : (unsigned)gr->gr_gid;
	}
	if (!*n) {
		snprintf(why, why_len, "'%s' names no %s", arg, groups ? "group" : "user");
		return -1;
	}
	return 0;
}

static int set_handover_allow_uid(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return parse_id_list(arg, false, cfg->handover_uids, &cfg->n_handover_uids, why, why_len);
}

static int set_handover_allow_gid(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return parse_id_list(arg, true, cfg->handover_gids, &cfg->n_handover_gids, why, why_len);
}

static int set_unix_owner(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->unix_owner, sizeof(cfg->unix_owner), arg, why, why_len);
}

static int set_device(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->device, sizeof(cfg->device), arg, why, why_len);
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

static int set_exit_when_idle(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	unsigned long v;
	if (parse_uint(arg, 0, 86400, &v)) {
		snprintf(why, why_len, "'%s' is not a number from 0 to 86400", arg);
		return -1;
	}
	cfg->exit_when_idle = (unsigned)v;
	return 0;
}

static int set_tls_cert(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->tls_cert, sizeof(cfg->tls_cert), arg, why, why_len);
}

static int set_tls_key(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->tls_key, sizeof(cfg->tls_key), arg, why, why_len);
}

static int set_tls_ca(struct config *cfg, const char *arg, char *why, size_t why_len)
{
	return set_string(cfg->tls_ca, sizeof(cfg->tls_ca), arg, why, why_len);
}

/* ---- the table ----------------------------------------------------------------------- */

enum option_id {
	OPT_SOURCE,
	OPT_LISTEN,
	OPT_FPS,
	OPT_PASSWORD_FILE,
	OPT_INSECURE_NO_AUTH,
	OPT_DESKTOP_NAME,
	OPT_MAX_CLIENTS,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_ENCODER,
	OPT_IDR_INTERVAL,
	OPT_X264_THREADS,
	OPT_CONTROL,
	OPT_METRICS,
	OPT_METRICS_PUBLIC,
	OPT_UNIX_MODE,
	OPT_UNIX_OWNER,
	OPT_DEVICE,
	OPT_QMP,
	OPT_EXIT_WHEN_IDLE,
	OPT_CONTROL_IDLE_TIMEOUT,
	OPT_HANDOVER_MODE,
	OPT_HANDOVER_ALLOW_UID,
	OPT_HANDOVER_ALLOW_GID,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_CONFIG,
	OPT_HELP,
	OPT_VERSION,
	N_OPTIONS
};

struct option_spec {
	const char *name;         /* the long option and the INI key */
	char short_name;          /* 0: none */
	const char *arg;          /* NULL: a flag */
	const char *help;
	const char *default_text; /* put through set() before anything else, so --help is true */
	/* NULL: command line only, handled by config_load() itself */
	int (*set)(struct config *cfg, const char *arg, char *why, size_t why_len);
	/* Repeatable: the first value from a later origin replaces the list, not extends it */
	void (*clear)(struct config *cfg);
};

static const struct option_spec options[N_OPTIONS] = {
	[OPT_SOURCE] = {"source", 0, "SPEC",
			"The vGPU to serve: " SOURCE_FORMS " (see SOURCES).",
			CONFIG_DEFAULT_SOURCE, set_source, NULL},
	[OPT_LISTEN] = {"listen", 0, "ADDR",
			"Listen on tcp:HOST:PORT or unix:PATH. HOST is an IPv4 address or a name, or "
			"an IPv6 address in brackets (tcp:[::1]:5900); PORT 0 takes any free port. "
			"Repeat for several addresses, up to " STR(CONFIG_MAX_LISTEN) ". VNC "
			"clients and browsers (noVNC, WebSockets) share each address. fd:N takes "
			"an inherited listening socket. Under systemd socket activation "
			"(LISTEN_FDS) the sockets systemd passes replace the default address.",
			CONFIG_DEFAULT_LISTEN, set_listen, clear_listen},
	[OPT_FPS] = {"fps", 0, "N",
		     "Capture and send at most N frames a second, 1 to 240. Nothing is captured "
		     "while no client wants updates.",
		     "30", set_fps, NULL},
	[OPT_PASSWORD_FILE] = {"password-file", 0, "FILE",
			       "Ask clients for the VNC password on the first line of FILE (VNC "
			       "authentication uses its first 8 bytes). Without it, "
			       "$CREDENTIALS_DIRECTORY/vnc-password is used if it exists (systemd "
			       "LoadCredential=vnc-password:...); with neither, clients connect "
			       "without a password; see SECURITY.",
			       NULL, set_password_file, NULL},
	[OPT_INSECURE_NO_AUTH] = {"insecure-no-auth", 0, NULL,
				  "Allow clients without a password on TCP addresses other than "
				  "loopback, for when another layer (a firewall, an authenticating "
				  "proxy) protects them.",
				  NULL, set_insecure_no_auth, NULL},
	[OPT_DESKTOP_NAME] = {"desktop-name", 0, "NAME",
			      "The desktop name that clients show, 1 to 255 bytes.", "vgpu-vnc",
			      set_desktop_name, NULL},
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
			     set_max_clients, NULL},
	[OPT_HANDSHAKE_TIMEOUT] = {"handshake-timeout", 0, "SECONDS",
				   "Disconnect a client that has not finished the RFB handshake "
				   "(version, security type, password, ClientInit) within SECONDS, "
				   "1 to 600, so that silent connections cannot hold the slots of "
				   "--max-clients. Viewers ask for the password in the middle of the "
				   "handshake, so this is also how long a person has to type it. "
				   "Time spent waiting out a wrong-password delay does not count.",
				   "60", set_handshake_timeout, NULL},
	[OPT_LOG_LEVEL] = {"log-level", 0, "LEVEL",
			   "Log messages up to LEVEL: error, warn, info or debug. The log goes to "
			   "standard error.",
			   "info", set_log_level, NULL},
	[OPT_ENCODER] = {"encoder", 0, "NAME",
			 "The H.264 encoder for clients that ask for H.264 (noVNC 1.6 and later, "
			 "TigerVNC 1.13 and later): vpl (Intel hardware through oneVPL, reading "
			 "the guest's buffer without a copy), x264 (software) or auto, which takes "
			 "vpl when an Intel GPU and its VPL runtime are there and x264 otherwise. "
			 "The log says which one runs and why. With vpl, the server does not start "
			 "where VPL cannot run.",
			 "auto", set_encoder, NULL},
	[OPT_IDR_INTERVAL] = {"idr-interval", 0, "SECONDS",
			      "Send an H.264 key frame (IDR) at least every SECONDS, 0 to 3600, "
			      "while the screen changes, so that a client recovers from a lost or "
			      "undecodable frame. 0 sends one only when a client needs it (on "
			      "connect, resize or a full update request).",
			      "2", set_idr_interval, NULL},
	[OPT_X264_THREADS] = {"x264-threads", 0, "N",
			      "Threads for each x264 encoder, 1 to 64. More threads split every "
			      "picture into N slices, which noVNC cannot decode (it shows nothing "
			      "or stripes); only raise it for clients that decode several slices, "
			      "such as TigerVNC.",
			      "1", set_x264_threads, NULL},
	[OPT_CONTROL] = {"control", 0, "ADDR",
			 "Accept control commands (newline-delimited JSON: set-password, "
			 "list-clients, disconnect, add-client, query-source, metrics, subscribe) "
			 "on the unix socket unix:PATH, made with mode 0600. With it, clients "
			 "always need the VNC password, which the manager sets with set-password "
			 "(or --password-file); see vgpu-vncctl --help and docs/deploying.md.",
			 NULL, set_control, NULL},
	[OPT_METRICS] = {"metrics", 0, "ADDR",
			 "Serve Prometheus metrics at http://HOST:PORT/metrics on tcp:HOST:PORT. "
			 "HOST must be loopback unless --metrics-public is given.",
			 NULL, set_metrics, NULL},
	[OPT_METRICS_PUBLIC] = {"metrics-public", 0, NULL,
				"Allow --metrics on an address other than loopback. The metrics "
				"need no password and show who is connected and how busy the "
				"server is; --insecure-no-auth does not allow this.",
				NULL, set_metrics_public, NULL},
	[OPT_UNIX_MODE] = {"unix-mode", 0, "MODE",
			   "Give every unix:PATH listener the octal file MODE (e.g. 0660, so that "
			   "the group, such as a websockify proxy's, may connect). Without it the "
			   "umask decides.",
			   NULL, set_unix_mode, NULL},
	[OPT_UNIX_OWNER] = {"unix-owner", 0, "USER[:GROUP]",
			    "Give every unix:PATH listener this owner and group (names or "
			    "numbers; changing the user needs root).",
			    NULL, set_unix_owner, NULL},
	[OPT_DEVICE] = {"device", 0, "SYSFS_PATH",
			"With --source pid:PID whose process holds several VFIO devices: take the "
			"one at SYSFS_PATH (/sys/bus/mdev/devices/UUID). Without it, the first that "
			"answers the display probe.",
			NULL, set_device, NULL},
	[OPT_QMP] = {"qmp", 0, "unix:PATH",
		     "Send client keyboard and pointer input to the VM through QEMU's QMP socket "
		     "at PATH (QEMU: -qmp unix:PATH,server=on,wait=off), reconnecting when QEMU "
		     "restarts.",
		     NULL, set_qmp, NULL},
	[OPT_EXIT_WHEN_IDLE] = {"exit-when-idle", 0, "SECONDS",
				"Exit with status 0 once no client has been connected for SECONDS "
				"(0 = never), for socket-activated instances: systemd starts the "
				"server again on the next connection.",
				"0", set_exit_when_idle, NULL},
	[OPT_CONTROL_IDLE_TIMEOUT] = {"control-idle-timeout", 0, "SECONDS",
				      "Close a --control connection that has sent nothing for "
				      "SECONDS, 1 to 86400, so that forgotten connections do not "
				      "hold its 16 slots. Connections that subscribed to events stay.",
				      "60", set_control_idle_timeout, NULL},
	[OPT_HANDOVER_MODE] = {"handover-mode", 0, "MODE",
			       "With --source socket:PATH: make the hand-over socket with the "
			       "octal file MODE. Whoever may connect to it may also replace the "
			       "device, so the default lets only the server's user connect; 0660 "
			       "lets the socket's group (the directory's, or set with chgrp after "
			       "start) connect too. The peer check of --handover-allow-uid applies "
			       "as well.",
			       "0600", set_handover_mode, NULL},
	[OPT_HANDOVER_ALLOW_UID] = {"handover-allow-uid", 0, "USERS",
				    "With --source socket:PATH: besides root and the server's own "
				    "user, accept device fds from these users (comma-separated "
				    "names or numbers; the peer's credentials, SO_PEERCRED, are "
				    "checked on every connection).",
				    NULL, set_handover_allow_uid, NULL},
	[OPT_HANDOVER_ALLOW_GID] = {"handover-allow-gid", 0, "GROUPS",
				    "With --source socket:PATH: also accept device fds from "
				    "processes whose primary group is one of these (comma-separated "
				    "names or numbers).",
				    NULL, set_handover_allow_gid, NULL},
	[OPT_TLS_CERT] = {"tls-cert", 0, "FILE",
			  "Turn on TLS for every TCP address with the server certificate in the PEM "
			  "file FILE (the leaf first, then any intermediate certificates); needs "
			  "--tls-key. VNC clients get VeNCrypt (X509Vnc with a password, X509None "
			  "without), and browsers connect with wss:// to the same port. A TCP address "
			  "other than loopback then offers nothing else. SIGHUP reads the files "
			  "again; see SECURITY.",
			  NULL, set_tls_cert, NULL},
	[OPT_TLS_KEY] = {"tls-key", 0, "FILE",
			 "The private key of --tls-cert, a PEM file (unencrypted; keep it readable "
			 "by the server's user only).",
			 NULL, set_tls_key, NULL},
	[OPT_TLS_CA] = {"tls-ca", 0, "FILE",
			"Ask every TLS client for a certificate and accept only those that the CA "
			"certificates in the PEM file FILE signed. With it, a client certificate "
			"counts as authentication: no password is needed on other than loopback "
			"addresses.",
			NULL, set_tls_ca, NULL},
	[OPT_CONFIG] = {"config", 0, "FILE",
			"Read options from the INI file FILE first; the command line wins (see "
			"CONFIG FILE).",
			NULL, NULL, NULL},
	[OPT_HELP] = {"help", 'h', NULL, "Print this help and exit.", NULL, NULL, NULL},
	[OPT_VERSION] = {"version", 'V', NULL, "Print the version and exit.", NULL, NULL, NULL},
};

/* getopt_long returns the short name, or this for options that have none. */
static int option_val(int id)
{
	return options[id].short_name ? options[id].short_name : 256 + id;
}

static int option_by_val(int val)
{
	for (int id = 0; id < N_OPTIONS; id++)
		if (option_val(id) == val)
			return id;
	return -1;
}

static int option_by_name(const char *name)
{
	for (int id = 0; id < N_OPTIONS; id++)
		if (!strcmp(options[id].name, name))
			return id;
	return -1;
}

/* ---- --help: a man page generated around the table ----------------------------------- */

/* Words wrap at HELP_WIDTH; a tab is a space that does not break ("Default:\t30."). With
 * col > 0 the text goes on from there on a line already begun. */
static void put_wrapped_at(FILE *out, int indent, int col, const char *text)
{
	bool line_start = true;
	while (*text) {
		while (*text == ' ')
			text++;
		int w = (int)strcspn(text, " ");
		if (!w)
			break;
		if (!line_start && col + 1 + w > HELP_WIDTH) {
			fputc('\n', out);
			col = 0;
			line_start = true;
		}
		if (col < indent) {
			col += fprintf(out, "%*s", indent - col, "");
		} else if (!line_start) {
			fputc(' ', out);
			col++;
		}
		for (int i = 0; i < w; i++)
			fputc(text[i] == '\t' ? ' ' : text[i], out);
		col += w;
		text += w;
		line_start = false;
	}
	if (col)
		fputc('\n', out);
}

/* The same text as a man page (config_print_man()): set only while that runs, by the
 * one thread there is then; every put_* below writes roff instead of columns. */
static bool help_roff;
static bool roff_paragraph_open; /* right after .SH, text needs no .PP of its own */

/* TEXT with roff's special characters escaped: a backslash, '-' (a hyphen, not a minus
 * sign, in option names), a '.' or '\'' that would start a request, the non-breaking tab;
 * an escaped newline ("\\\n" and the next line's indent, in EXAMPLES) joins the lines. */
static void put_roff(FILE *out, const char *text)
{
	bool line_start = true;
	for (const char *c = text; *c; c++) {
		if (line_start && (*c == '.' || *c == '\''))
			fputs("\\&", out);
		line_start = false;
		if (c[0] == '\\' && c[1] == '\n') {
			c++;
			while (c[1] == ' ')
				c++;
			continue;
		}
		if (*c == '\\')
			fputs("\\e", out);
		else if (*c == '-')
			fputs("\\-", out);
		else if (*c == '\t')
			fputs("\\ ", out);
		else
			fputc(*c, out);
		line_start = *c == '\n';
	}
}

static void put_wrapped(FILE *out, int indent, const char *text)
{
	if (help_roff) {
		if (!roff_paragraph_open)
			fputs(".PP\n", out);
		roff_paragraph_open = false;
		put_roff(out, text);
		fputc('\n', out);
		return;
	}
	put_wrapped_at(out, indent, 0, text);
}

static void put_section(FILE *out, const char *title)
{
	if (help_roff) {
		fprintf(out, ".SH %s\n", title);
		roff_paragraph_open = true;
		return;
	}
	fprintf(out, "\n%s\n", title);
}

/* A term and its description, the description on the term's line if the term is short. */
static void put_item(FILE *out, const char *term, const char *text)
{
	if (help_roff) {
		fputs(".TP\n\\fB", out);
		put_roff(out, term);
		fputs("\\fR\n", out);
		put_roff(out, text);
		fputc('\n', out);
		roff_paragraph_open = false;
		return;
	}
	if (strlen(term) < 6) {
		put_wrapped_at(out, 14, fprintf(out, "       %-7s", term), text);
		return;
	}
	fprintf(out, "       %s\n", term);
	put_wrapped(out, 14, text);
}

/* Lines shown as they are (a file's contents), indented under the paragraph before. */
static void put_verbatim(FILE *out, const char *lines)
{
	if (help_roff) {
		fputs(".PP\n.RS\n.nf\n", out);
		put_roff(out, lines);
		fputs(".fi\n.RE\n", out);
		roff_paragraph_open = false;
		return;
	}
	fputc('\n', out);
	for (const char *l = lines; *l;) {
		size_t n = strcspn(l, "\n");
		fprintf(out, "              %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

static void print_help(FILE *out)
{
	if (help_roff)
		put_section(out, "NAME");
	else
		fputs("NAME\n", out);
	put_wrapped(out, 7, PROG " - serve the display of a virtual GPU to VNC clients and browsers");

	put_section(out, "SYNOPSIS");
	put_wrapped(out, 7, PROG " [--config FILE] [OPTION]...");

	put_section(out, "DESCRIPTION");
	put_wrapped(out, 7,
		    PROG " serves the display of a VFIO mediated vGPU (Intel GVT-g, or the kernel's "
		    "mbochs and mdpy samples), or of its built-in synthetic vGPU, to VNC clients, "
		    "and to web browsers through noVNC on the same port. It reads the guest's "
		    "display planes, works out which parts of the screen changed and sends only "
		    "those, as H.264, Tight/JPEG or the classic VNC encodings, whichever each "
		    "client asks for.");

	put_section(out, "OPTIONS");
	for (int id = 0; id < N_OPTIONS; id++) {
		const struct option_spec *o = &options[id];
		char term[128], text[1024];
		int n = 0;
		if (o->short_name)
			n = snprintf(term, sizeof(term), "-%c, ", o->short_name);
		snprintf(term + n, sizeof(term) - (size_t)n, "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		if (o->default_text)
			snprintf(text, sizeof(text), "%s Default:\t%s.", o->help, o->default_text);
		else
			snprintf(text, sizeof(text), "%s", o->help);
		put_item(out, term, text);
	}

	put_section(out, "SOURCES");
	put_item(out, "synthetic[:WxH[:SCENE[:OPTIONS]]]",
		 "The built-in synthetic vGPU, for demos, tests and benchmarks: it behaves like a "
		 "real device (page flips, mode changes, a cursor plane) without one. WxH is the "
		 "screen size (default 1280x720). SCENE is one of static, desktop (the default), "
		 "typing, scroll, drag, video, flip, modes or hostile (a guest whose planes lie, "
		 "for tests). OPTIONS is a comma-separated list of format=XR24|XB24 (the pixel "
		 "format), frames=N (hold still after N ticks), rate=N (ticks a second, default "
		 "30), cursor=on|off and, for tests, fail=enodev@A[-B] (the device is gone from "
		 "tick A, until tick B).");
	put_item(out, "mdev:UUID",
		 "A mediated device by its UUID, opened through VFIO (/dev/vfio/N); the server "
		 "owns the device.");
	put_item(out, "sysfs:PATH", "A mediated device by its sysfs path, opened the same way.");
	put_item(out, "fd:N",
		 "A VFIO device file descriptor N inherited from the process that owns the vGPU, "
		 "such as the VM manager.");
	put_item(out, "socket:PATH",
		 "A VFIO device file descriptor received over the unix socket PATH (SCM_RIGHTS) "
		 "from the VM manager.");
	put_wrapped(out, 7,
		    "mdev, sysfs, fd and socket are the real-device sources; they need a VM with a "
		    "mediated vGPU and access to its VFIO device.");

	put_section(out, "CONFIG FILE");
	put_wrapped(out, 7,
		    "--config FILE reads an INI file before the command line. Its keys are the "
		    "long option names, one \"key = value\" a line, before any section or in a "
		    "[" INI_SECTION "] section; any other section is an error. Lines starting with "
		    "# or ; are comments. insecure-no-auth and metrics-public take true or false (or "
		    "yes, no, 1, 0); listen may be given several times. The command line wins: an option "
		    "given there replaces the file's value, and --listen replaces the file's whole "
		    "list of addresses. An unknown key or a bad value is an error that names the "
		    "file and the line. For example:");
	put_verbatim(out, "[" INI_SECTION "]\n"
			  "source = mdev:4b20d080-1b54-4048-85b3-a6a62d165c01\n"
			  "listen = tcp:0.0.0.0:5900\n"
			  "listen = unix:/run/vgpu-vnc/vm1.sock\n"
			  "password-file = /etc/vgpu-vnc/vm1.passwd\n"
			  "fps = 60\n");

	put_section(out, "SECURITY");
	put_wrapped(out, 7,
		    "Without --password-file anyone who can reach an address sees the VM's screen "
		    "and controls it. So, with no password file, the server refuses to listen on "
		    "a TCP address other than loopback unless --insecure-no-auth is given (or "
		    "--tls-ca, when client certificates authenticate). Unix "
		    "sockets and loopback addresses (127.0.0.0/8, ::1, or a name that resolves "
		    "only to them) are allowed without a password. A wrong password is answered "
		    "after a delay that doubles with each wrong one in a row from the same "
		    "address range, an IPv4 address or an IPv6 /64 (0.5 s, 1 s, 2 s ... up to "
		    "16 s), and at most 4 handshakes from one range (half of --max-clients, if "
		    "that is less) run at once. A password whose first 8 bytes make a weak DES key "
		    "is refused: no client could log in with it. SIGHUP makes the server read the password file again: "
		    "connections from then on need the new password. VNC authentication protects "
		    "the password but not the session: without --tls-cert, passwords (as a DES "
		    "challenge) and pixels cross the network in the clear, and the server says so "
		    "when it starts. With --tls-cert and --tls-key, every TCP address speaks "
		    "TLS (1.2 or 1.3, GnuTLS): VNC clients get VeNCrypt X509Vnc (X509None without a "
		    "password) and browsers wss:// on the same port; an address other than "
		    "loopback offers nothing unencrypted, loopback offers both. --tls-ca asks "
		    "every TLS client for a certificate signed by that CA; such a certificate is "
		    "enough to let a client in without a password. Unix sockets stay without TLS "
		    "(file permissions guard them). SIGHUP also reads the certificate, key and CA "
		    "again: new connections use them, running sessions go on; if they cannot be "
		    "read the old ones stay, with an error in the log.");

	put_section(out, "EXIT STATUS");
	put_item(out, "0", "Stopped by SIGINT or SIGTERM, or --help or --version was printed.");
	put_item(out, "1",
		 "A runtime failure, such as a source that cannot be opened or an address that "
		 "cannot be bound.");
	put_item(out, "2", "A usage or configuration error.");

	put_section(out, "EXAMPLES");
	put_item(out, PROG,
		 "Serve the synthetic desktop on 127.0.0.1:5900, for any VNC viewer or noVNC on "
		 "the same host.");
	put_item(out, PROG " --source synthetic:1920x1080:video --fps 60",
		 "Full-HD video from the synthetic vGPU at 60 frames a second.");
	put_item(out,
		 PROG " --source mdev:4b20d080-1b54-4048-85b3-a6a62d165c01 \\\n"
		      "                --listen tcp:0.0.0.0:5900 --password-file /etc/vgpu-vnc/pw",
		 "Serve a GVT-g or mbochs vGPU to the network, behind a password.");
	put_item(out,
		 PROG " --listen tcp:0.0.0.0:5900 --password-file /etc/vgpu-vnc/pw \\\n"
		      "                --tls-cert /etc/vgpu-vnc/tls.crt --tls-key /etc/vgpu-vnc/tls.key",
		 "The same over TLS only: VeNCrypt X509Vnc for VNC viewers (TigerVNC -X509CA, "
		 "virt-viewer and gtk-vnc with ~/.pki/CA/cacert.pem), wss://HOST:5900 for noVNC.");
	put_item(out, PROG " --config /etc/vgpu-vnc/vm1.ini --log-level debug",
		 "Take the options from a file, and log more than it says.");
}

void config_print_man(FILE *out)
{
	fputs(".\\\" Generated from config/config.c's option table by vgpu-vnc-man; do not edit.\n"
	      ".TH VGPU\\-VNC 1 \"\" \"" PROG " " VGPU_VERSION "\" \"User Commands\"\n",
	      out);
	help_roff = true;
	print_help(out);
	help_roff = false;
}

/* ---- loading ------------------------------------------------------------------------- */

enum origin { FROM_DEFAULT, FROM_FILE, FROM_CLI };

struct loader {
	struct config *cfg;
	enum origin origin[N_OPTIONS]; /* where each option's value came from */
};

static int loader_set(struct loader *ld, int id, enum origin from, const char *arg, char *why,
		      size_t why_len)
{
	const struct option_spec *o = &options[id];
	if (o->clear && ld->origin[id] != from)
		o->clear(ld->cfg);
	ld->origin[id] = from;
	return o->set(ld->cfg, arg, why, why_len);
}

static void fail(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(FILE *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", err);
	vfprintf(err, fmt, ap);
	fputc('\n', err);
	va_end(ap);
}

struct file_reader {
	struct loader *ld;
	FILE *f;
	int lineno;    /* of the line inih is looking at */
	int read_errno;
	int fail_line; /* 0: no error yet */
	char msg[WHY_MAX + 64];
};

static void file_fail(struct file_reader *fr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void file_fail(struct file_reader *fr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fr->fail_line = fr->lineno;
	vsnprintf(fr->msg, sizeof(fr->msg), fmt, ap);
	va_end(ap);
}

static bool section_ok(const char *name, size_t len)
{
	return len == strlen(INI_SECTION) && !strncmp(name, INI_SECTION, len);
}

/* inih as built here does not pass line numbers to the handler and reads a long line as
 * several; the reader counts lines itself, refuses long ones, and stops at the first error
 * so that the message is about the first bad line. */
static char *file_read_line(char *buf, int size, void *stream)
{
	struct file_reader *fr = stream;
	if (fr->fail_line)
		return NULL;
	errno = 0;
	if (!fgets(buf, size, fr->f)) {
		if (ferror(fr->f))
			fr->read_errno = errno ? errno : EIO;
		return NULL;
	}
	fr->lineno++;
	size_t n = strlen(buf);
	if (n == (size_t)size - 1 && buf[n - 1] != '\n') {
		int c = getc(fr->f);
		if (c != EOF && c != '\n') {
			file_fail(fr, "line is longer than %d bytes", size - 2);
			return NULL;
		}
	}
	/* A UTF-8 byte order mark goes here rather than in inih, so that the section check
	 * below sees a section on the first line. */
	size_t skip = fr->lineno == 1 && !strncmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
	/* inih takes an indented line for the continuation of the previous value: an indented
	 * key would silently become part of the value above it. */
	skip += strspn(buf + skip, " \t");
	memmove(buf, buf + skip, n - skip + 1);
	/* The handler never hears of a section with no keys in it. */
	if (buf[0] == '[') {
		const char *close = strchr(buf, ']');
		if (close && !section_ok(buf + 1, (size_t)(close - buf - 1))) {
			file_fail(fr, "unknown section '%.*s' (use [" INI_SECTION "] or none)",
				  (int)(close - buf + 1), buf);
			return NULL;
		}
	}
	return buf;
}

static int file_handle(void *user, const char *section, const char *name, const char *value)
{
	struct file_reader *fr = user;
	char why[WHY_MAX];
	if (*section && !section_ok(section, strlen(section))) {
		file_fail(fr, "unknown section '[%s]' (use [" INI_SECTION "] or none)", section);
		return 0;
	}
	int id = option_by_name(name);
	if (id < 0) {
		file_fail(fr, "unknown key '%s'", name);
		return 0;
	}
	if (!options[id].set) {
		file_fail(fr, "'%s' can only be given on the command line", name);
		return 0;
	}
	if (loader_set(fr->ld, id, FROM_FILE, value, why, sizeof(why))) {
		file_fail(fr, "%s: %s", name, why);
		return 0;
	}
	return 1;
}

static int load_file(struct loader *ld, const char *path, FILE *err)
{
	struct file_reader fr = {.ld = ld};
	fr.f = fopen(path, "re");
	if (!fr.f) {
		fail(err, "--config: cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* Debian's inih exposes its line limit (default 200 bytes) at run time; a path value
	 * needs more. config_load() runs before any thread, so the global is ours for now. */
	int saved_max_line = ini_max_line;
	ini_max_line = FILE_LINE_MAX;
	int rc = ini_parse_stream(file_read_line, &fr, file_handle, &fr);
	ini_max_line = saved_max_line;
	fclose(fr.f);

	/* inih goes on after a line it cannot parse; the first error is the one to report. */
	if (rc > 0 && (!fr.fail_line || rc < fr.fail_line)) {
		fail(err, "%s:%d: expected 'key = value' or '[" INI_SECTION "]'", path, rc);
		return -1;
	}
	if (fr.fail_line) {
		fail(err, "%s:%d: %s", path, fr.fail_line, fr.msg);
		return -1;
	}
	if (fr.read_errno) {
		fail(err, "--config: cannot read '%s': %s", path, strerror(fr.read_errno));
		return -1;
	}
	if (rc < 0) {
		fail(err, "--config: cannot read '%s': %s", path, strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* "+": stop at the first non-option rather than move it, so that a stray argument is an
 * error and argv is left as it came. ":": report a missing value apart from an unknown
 * option. */
static void build_getopt(struct option *longopts, char *optstring)
{
	char *p = optstring;
	*p++ = '+';
	*p++ = ':';
	for (int id = 0; id < N_OPTIONS; id++) {
		const struct option_spec *o = &options[id];
		longopts[id] = (struct option){o->name, o->arg ? required_argument : no_argument,
					       NULL, option_val(id)};
		if (o->short_name) {
			*p++ = o->short_name;
			if (o->arg)
				*p++ = ':';
		}
	}
	longopts[N_OPTIONS] = (struct option){0};
	*p = '\0';
}

static void report_getopt_error(int c, char **argv, FILE *err)
{
	int id = option_by_val(optopt);
	if (c == ':' && id >= 0) {
		fail(err, "--%s needs a value: --%s %s (see --help)", options[id].name,
		     options[id].name, options[id].arg);
		return;
	}
	if (id >= 0) {
		fail(err, "--%s takes no value (see --help)", options[id].name);
		return;
	}
	if (optopt) {
		fail(err, "unknown option '-%c' (see --help)", optopt);
		return;
	}
	/* An unknown or ambiguous long option: getopt has stepped past it. */
	const char *arg = argv[optind - 1];
	int len = (int)strcspn(arg, "=");
	int matches = 0;
	for (int i = 0; i < N_OPTIONS; i++)
		matches += len > 2 && !strncmp(options[i].name, arg + 2, (size_t)len - 2);
	fail(err, "%s option '%.*s' (see --help)", matches > 1 ? "ambiguous" : "unknown", len,
	     arg);
}

enum config_result config_load(struct config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
	struct loader ld = {.cfg = cfg};
	struct option longopts[N_OPTIONS + 1];
	char optstring[3 + 2 * N_OPTIONS];
	char why[WHY_MAX];
	int saved_opterr = opterr;
	enum config_result result = CONFIG_ERROR;

	memset(cfg, 0, sizeof(*cfg));
	for (int id = 0; id < N_OPTIONS; id++) {
		if (!options[id].default_text)
			continue;
		if (loader_set(&ld, id, FROM_DEFAULT, options[id].default_text, why, sizeof(why))) {
			fail(err, "built-in default --%s: %s", options[id].name, why);
			return CONFIG_ERROR;
		}
	}
	cfg->listen_default = true; /* until --listen replaces it */
	build_getopt(longopts, optstring);
	opterr = 0;

	/* First pass: --help, --version and --config, which act before anything else. */
	const char *config_path = NULL;
	bool help = false, version = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		int id = option_by_val(c);
		if (id == OPT_CONFIG)
			config_path = optarg;
		help |= id == OPT_HELP;
		version |= id == OPT_VERSION;
	}
	if (help) {
		print_help(out);
		result = CONFIG_EXIT_OK;
		goto done;
	}
	if (version) {
		fprintf(out, PROG " %s\n", VGPU_VERSION);
		result = CONFIG_EXIT_OK;
		goto done;
	}
	if (config_path && load_file(&ld, config_path, err))
		goto done;

	/* Second pass: everything else, over the file's values. */
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			report_getopt_error(c, argv, err);
			goto done;
		}
		int id = option_by_val(c);
		if (id < 0 || !options[id].set)
			continue;
		if (loader_set(&ld, id, FROM_CLI, optarg, why, sizeof(why))) {
			fail(err, "--%s: %s", options[id].name, why);
			goto done;
		}
	}
	if (optind < argc) {
		fail(err, "unexpected argument '%s' (options start with --; see --help)",
		     argv[optind]);
		goto done;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		if (cfg->listen[i].kind != LISTEN_UNIX)
			continue;
		cfg->listen[i].mode = cfg->unix_mode;
		snprintf(cfg->listen[i].owner, sizeof(cfg->listen[i].owner), "%s", cfg->unix_owner);
	}
	if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
		fail(err, "--%s needs --%s too (the certificate and its private key)",
		     cfg->tls_cert[0] ? "tls-cert" : "tls-key", cfg->tls_cert[0] ? "tls-key" : "tls-cert");
		goto done;
	}
	if (cfg->tls_ca[0] && !cfg->tls_cert[0]) {
		fail(err, "--tls-ca needs --tls-cert and --tls-key (client certificates are asked "
			  "for in TLS)");
		goto done;
	}
	result = CONFIG_OK;
done:
	opterr = saved_opterr;
	return result;
}
