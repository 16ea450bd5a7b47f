/* The --config INI file: the same keys as the long options, in a [vgpu-vnc] section or
 * none, each value put through the option table (config_options.h) as coming from the
 * file.
 *
 * Stops at the first bad line and says which (file:line: ...): an unknown section or
 * key, a command-line-only option, a bad value, a line too long or one inih cannot
 * parse. Sets inih's global line limit while it reads, so config_load() calls it before
 * any thread starts.
 */
#ifndef VGPU_CONFIG_INI_H
#define VGPU_CONFIG_INI_H

#include <stdio.h>

#include "config_options.h"

/* 0, or -1 with a message on err. */
int config_ini_load(struct option_loader *ld, const char *path, FILE *err);

#endif
