/* Values of options, parsed and checked: the pieces the option setters are made of.
 *
 * Each parser takes the text as given (command line or INI file) and either fills in the
 * value or fails; those that can say why write a sentence about the value (without the
 * option's name) into why. Pure functions apart from the user and group lookups
 * (getpwnam, getgrnam); called by config_load() before any thread starts.
 */
#ifndef VGPU_CONFIG_VALUE_H
#define VGPU_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "config_types.h"

/* Digits only: no sign, no blanks, no base prefix, nothing after; bounded while reading so
 * that a long string of digits cannot wrap around into range. 0 or -1. */
int value_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* true/yes/1 or false/no/0, any case. 0 or -1. */
int value_parse_bool(const char *s, bool *out);

/* An octal file mode of 1 to 4 digits, not 0 and at most max. 0 or -1. */
int value_parse_mode(const char *arg, unsigned long max, unsigned long *out);

/* "tcp:HOST:PORT", "tcp:[IPV6]:PORT", "unix:PATH" or "fd:N". 0 or -EINVAL with why. */
int value_parse_listen(const char *text, struct listen_addr *out, char *why, size_t why_len);

/* "NAME,1001,...": users (or groups) by name or number, at most CONFIG_MAX_ALLOW. 0, or
 * -1 with why. */
int value_parse_id_list(const char *arg, bool groups, unsigned *ids, unsigned *n, char *why,
			size_t why_len);

#endif
