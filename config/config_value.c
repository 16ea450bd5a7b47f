/* Values of options: numbers, booleans, file modes, listen addresses, user and group
 * lists. See config_value.h.
 */
#include "config_value.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int value_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
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

int value_parse_bool(const char *s, bool *out)
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

int value_parse_listen(const char *text, struct listen_addr *out, char *why, size_t why_len)
{
	struct listen_addr a;
	memset(&a, 0, sizeof(a));

	if (!strncmp(text, "fd:", 3)) {
		unsigned long fd;
		if (value_parse_uint(text + 3, 0, INT_MAX, &fd)) {
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
	if (value_parse_uint(port, 0, 65535, &port_num)) {
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

int value_parse_mode(const char *arg, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	bool ok = *arg != '\0' && strlen(arg) <= 4;
	for (const char *p = arg; ok && *p; p++) {
		ok = *p >= '0' && *p <= '7';
		v = v * 8 + (unsigned long)(*p - '0');
	}
	if (!ok || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int value_parse_id_list(const char *arg, bool groups, unsigned *ids, unsigned *n, char *why,
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
		if (value_parse_uint(t, 0, 0xfffffffeUL, &v) == 0) {
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
