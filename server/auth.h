/* VNC password authentication: the password file and the no-auth policy.
 *
 * Called by main before the server starts; pure file reading, no threads.
 */
#ifndef VGPU_AUTH_H
#define VGPU_AUTH_H

#include <stddef.h>

#include "config.h"

/* VNC authentication (DES challenge) uses at most 8 bytes of the password. */
#define AUTH_VNC_PASSWORD_MAX 8

/* Read the password: the first line of the file, without its newline. The file must not
 * be empty. A password longer than 8 bytes works, but only its first 8 bytes count, and
 * a warning says so. On success *out is a malloc'ed string. 0 or a negative errno; the
 * message in err names the file. */
int auth_read_password_file(const char *path, char **out, char *err, size_t err_len);

/* The no-auth policy: without a password, every TCP address must be loopback unless the
 * user said --insecure-no-auth. 0, or -EPERM with the reason in err. */
int auth_check_policy(const struct config *cfg, char *err, size_t err_len);

#endif
