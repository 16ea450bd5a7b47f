/* Password file and the no-auth policy. */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "listeners.h"
#include "log.h"

int auth_read_password_file(const char *path, char **out, char *err, size_t err_len)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, err_len, "password file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0044))
		log_warn("password file %s is readable by group or others (mode %03o)", path,
			 (unsigned)(st.st_mode & 0777));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		snprintf(err, err_len, "password file %s: empty", path);
		return -EINVAL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || strlen(line) != (size_t)n) {
		free(line);
		snprintf(err, err_len, "password file %s: the first line is empty or has a NUL byte",
			 path);
		return -EINVAL;
	}
	if (n > AUTH_VNC_PASSWORD_MAX)
		log_warn("password file %s: VNC authentication uses only the first %d of its %zd "
			 "bytes",
			 path, AUTH_VNC_PASSWORD_MAX, n);
	*out = line;
	return 0;
}

int auth_check_policy(const struct config *cfg, char *err, size_t err_len)
{
	if (cfg->password_file[0] || cfg->insecure_no_auth)
		return 0;
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		const struct listen_addr *a = &cfg->listen[i];
		if (a->kind != LISTEN_TCP || listeners_host_is_loopback(a->host))
			continue;
		char text[300];
		snprintf(err, err_len,
			 "refusing to listen on %s without a password: anyone who can reach it "
			 "would see and control the VM. Give --password-file FILE, listen on a "
			 "loopback address or a unix socket, or pass --insecure-no-auth if another "
			 "layer (a firewall, an authenticating proxy) protects it",
			 config_listen_str(a, text, sizeof(text)));
		return -EPERM;
	}
	return 0;
}
