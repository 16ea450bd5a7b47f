/* Configuration: one table of options behind the command line, the INI file and --help.
 *
 * config_load() fills a struct config from defaults, then the file named by --config
 * (inih; the same keys as the long options, in a [vgpu-vnc] section or none), then the
 * command line, which wins. Errors name the option or the key and the file and line.
 * Called once by main before any thread starts; the result is read-only afterwards.
 *
 * config.c sits on top of the parts: config_options.c (the option table and its setters),
 * config_value.c (parsing values), config_ini.c (the file) and config_help.c (--help and
 * the man page).
 */
#ifndef VGPU_CONFIG_H
#define VGPU_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "config_types.h"

/* struct config, struct listen_addr and their limits are in config_types.h. */

enum config_result {
	CONFIG_OK = 0,      /* run the server */
	CONFIG_EXIT_OK = 1, /* --help or --version was printed to out: exit 0 */
	CONFIG_ERROR = 2,   /* a message was printed to err: exit 2 */
};

/* Parse argv (and the --config file it names). Messages go to out (help) and err. */
enum config_result config_load(struct config *cfg, int argc, char **argv, FILE *out, FILE *err);

/* The --help text as a roff man page, vgpu-vnc(1): config/man_gen.c writes it at build
 * time, so the man page, --help and the INI keys come from the one option table. */
void config_print_man(FILE *out);

/* Parse one "tcp:HOST:PORT" / "unix:PATH" / "fd:N" listen address. 0 or -EINVAL. */
int config_parse_listen(const char *text, struct listen_addr *out);

/* The address as text, the way --listen takes it. */
const char *config_listen_str(const struct listen_addr *a, char *buf, size_t len);

#endif
