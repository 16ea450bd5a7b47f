/* The option table behind the command line, the INI file and --help.
 *
 * One entry per option: its long name (also the INI key), short name, value name, help
 * text and default, and what kind of value it takes: a string, a number in a range, a
 * flag, an octal file mode (each stored into its field of struct config by one generic
 * setter), or a setter of its own. option_apply() stores a value and remembers where it
 * came from, so that a repeatable option's list from a later origin replaces the earlier
 * one. Used by config.c (getopt), config_ini.c and config_help.c; called by
 * config_load() before any thread starts.
 */
#ifndef VGPU_CONFIG_OPTIONS_H
#define VGPU_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config_types.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "0.1.0"
#endif

#define PROG "vgpu-vnc"
#define INI_SECTION "vgpu-vnc"
#define STR_(x) #x
#define STR(x) STR_(x)
#define WHY_MAX 1024

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
	OPT_DBUS_CONSOLE,
	OPT_EXIT_WHEN_IDLE,
	OPT_SELFTEST,
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

enum value_kind {
	VAL_CLI_ONLY, /* command line only, handled by config_load() itself */
	VAL_CUSTOM,   /* set() parses and stores it */
	VAL_STRING,   /* 1 to size - 1 bytes, into the char array at field */
	VAL_UINT,     /* decimal, min to max, into the unsigned at field */
	VAL_FLAG,     /* no value on the command line, a boolean in the file; bool at field */
	VAL_MODE,     /* an octal file mode, 1 to max, into the unsigned at field */
};

struct option_spec {
	const char *name;         /* the long option and the INI key */
	char short_name;          /* 0: none */
	const char *arg;          /* NULL: a flag */
	const char *help;
	const char *default_text; /* put through the setter before anything else, so --help
				   * is true */
	enum value_kind kind;
	size_t field;             /* offsetof(struct config, ...) */
	size_t size;              /* VAL_STRING: the field's size */
	unsigned long min, max;   /* VAL_UINT: the range; VAL_MODE: the largest mode */
	const char *what;         /* VAL_UINT: "a number" ...; VAL_MODE: example modes */
	int (*set)(struct config *cfg, const char *arg, char *why, size_t why_len);
	/* Repeatable: the first value from a later origin replaces the list, not extends it */
	void (*clear)(struct config *cfg);
};

extern const struct option_spec config_options[N_OPTIONS];

/* getopt_long returns the short name, or this for options that have none. */
int option_val(int id);
/* The option of a getopt value or an INI key; -1 if none. */
int option_by_val(int val);
int option_by_name(const char *name);

/* Whether the INI file may set it (all but --config, --help and --version). */
bool option_in_file(int id);

enum option_origin { FROM_DEFAULT, FROM_FILE, FROM_CLI };

struct option_loader {
	struct config *cfg;
	enum option_origin origin[N_OPTIONS]; /* where each option's value came from */
};

/* Parse and store one value of option id; 0, or -1 with why (without the option name). */
int option_apply(struct option_loader *ld, int id, enum option_origin from, const char *arg,
		 char *why, size_t why_len);

/* "vgpu-vnc: " and the message, a line on err. */
void config_fail(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
