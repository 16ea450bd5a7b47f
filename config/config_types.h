/* What a parsed configuration is: struct config and the listen addresses in it.
 *
 * The types alone, so that the parts of config/ (the option table, the value parsers)
 * can fill them in without depending on config.h, which sits on top of them. Read-only
 * once config_load() returned, from any thread.
 */
#ifndef VGPU_CONFIG_TYPES_H
#define VGPU_CONFIG_TYPES_H

#include <limits.h>
#include <stdbool.h>

#include "h264_encoder.h"
#include "log.h"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_ALLOW 16 /* --handover-allow-uid/gid entries */
#define CONFIG_DEFAULT_SOURCE "synthetic:1280x720:desktop"
#define CONFIG_DEFAULT_LISTEN "tcp:127.0.0.1:5900"

enum listen_kind { LISTEN_TCP, LISTEN_UNIX, LISTEN_FD };

struct listen_addr {
	enum listen_kind kind;
	char host[256]; /* TCP: numeric or name; "[::1]" is stored without brackets */
	int port;       /* TCP: 0..65535; 0 = any free port (the log says which) */
	char path[108]; /* UNIX: socket path (sun_path size) */
	int fd;         /* FD: an inherited listening socket (--listen fd:N, socket activation) */
	unsigned mode;  /* UNIX: file mode for the socket (--unix-mode), 0 = umask's */
	char owner[64]; /* UNIX: USER[:GROUP] for the socket (--unix-owner), "" = ours */
};


struct config {
	char source[512];                 /* --source, default CONFIG_DEFAULT_SOURCE */
	unsigned fps;                     /* --fps, 1..240, default 30 */
	struct listen_addr listen[CONFIG_MAX_LISTEN]; /* --listen, repeatable */
	unsigned n_listen;                /* default one: CONFIG_DEFAULT_LISTEN */
	char password_file[PATH_MAX];     /* --password-file, "" = none */
	bool insecure_no_auth;            /* --insecure-no-auth */
	char desktop_name[256];           /* --desktop-name, default "vgpu-vnc" */
	unsigned max_clients;             /* --max-clients, 1..1024, default 64 */
	unsigned handshake_timeout;       /* --handshake-timeout SECONDS, 1..600, default 60 */
	enum log_level log_level;         /* --log-level error|warn|info|debug, default info */
	enum h264_backend encoder;        /* --encoder auto|vpl|x264, default auto */
	unsigned idr_interval;            /* --idr-interval SECONDS, 0..3600, default 2; 0 = an
					   * IDR only when a client needs a new context */
	unsigned x264_threads;            /* --x264-threads N, 1..64, default 1 (one slice) */
	char control_path[108];           /* --control unix:PATH, "" = no control socket */
	struct listen_addr metrics;       /* --metrics tcp:HOST:PORT (when has_metrics) */
	bool has_metrics;
	bool metrics_public;              /* --metrics-public: HOST may be other than loopback */
	unsigned unix_mode;               /* --unix-mode OCTAL, 0 = leave to the umask */
	char unix_owner[64];              /* --unix-owner USER[:GROUP], "" = ours */
	char device[PATH_MAX];            /* --device SYSFS_PATH: which fd of --source pid: */
	char qmp[PATH_MAX];               /* --qmp unix:PATH, "" = input to the source */
	unsigned dbus_console;            /* --dbus-console N */
	unsigned exit_when_idle;          /* --exit-when-idle SECONDS, 0 = never */
	bool selftest;                    /* --selftest: check source and encoder, exit */
	bool listen_default;              /* listen[] is CONFIG_DEFAULT_LISTEN, not given */
	unsigned control_idle_timeout;    /* --control-idle-timeout SECONDS, 1..86400, default
					   * 60: a control connection that sends nothing (and
					   * did not subscribe) for that long is closed */
	unsigned handover_mode;           /* --handover-mode OCTAL, default 0600: socket:PATH */
	unsigned handover_uids[CONFIG_MAX_ALLOW]; /* --handover-allow-uid: besides root and us */
	unsigned n_handover_uids;
	unsigned handover_gids[CONFIG_MAX_ALLOW]; /* --handover-allow-gid */
	unsigned n_handover_gids;
	char tls_cert[PATH_MAX];          /* --tls-cert FILE (PEM chain), "" = no TLS */
	char tls_key[PATH_MAX];           /* --tls-key FILE (PEM), with --tls-cert */
	char tls_ca[PATH_MAX];            /* --tls-ca FILE: require client certificates */
};

/* A buffer this size always holds config_listen_str()'s text: "tcp:[" host "]:65535". */
#define CONFIG_LISTEN_STR_MAX \
	(sizeof("tcp:[]:65535") + sizeof(((struct listen_addr *)0)->host) - 1)

#endif
