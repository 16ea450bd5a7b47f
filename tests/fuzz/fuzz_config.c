/* Fuzz target: the configuration parsers, which read what an operator (or a unit file a
 * tenant can edit) writes: the command line, the INI file, listen addresses and the
 * synthetic vGPU's spec.
 *
 * The first byte picks the parser: 0 INI text (through config_load --config, from a
 * memfd), 1 an argv (the rest split at NUL bytes, at most 32 arguments), 2 one listen
 * address, 3 one source spec (plane_source_open: the synthetic parser, and for other
 * kinds their spec checks; buffers are made but never drawn). Whatever it returns, ASan and
 * UBSan judge; a configuration it accepts must satisfy the documented bounds. One thread;
 * config_load's getopt state is reset by config_load itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "plane_source.h"
#include "plane_source_open.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull(void)
{
	static FILE *f;
	if (!f)
		f = fopen("/dev/null", "we");
	return f;
}

/* Bounds config.h promises for an accepted configuration. */
static void check(const struct config *c)
{
	if (c->fps < 1 || c->fps > 240 || c->max_clients < 1 || c->max_clients > 1024 ||
	    c->n_listen > CONFIG_MAX_LISTEN || c->handshake_timeout < 1 ||
	    c->handshake_timeout > 600 || !memchr(c->source, 0, sizeof(c->source)) ||
	    !memchr(c->password_file, 0, sizeof(c->password_file)) ||
	    !memchr(c->desktop_name, 0, sizeof(c->desktop_name)))
		abort();
	for (unsigned i = 0; i < c->n_listen; i++) {
		const struct listen_addr *a = &c->listen[i];
		if (a->kind == LISTEN_TCP && (a->port < 0 || a->port > 65535 || !a->host[0]))
			abort();
		char text[CONFIG_LISTEN_STR_MAX];
		config_listen_str(a, text, sizeof(text));
	}
}

static void ini(const uint8_t *d, size_t n)
{
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, d, n) == (ssize_t)n) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		char *argv[] = {"vgpu-vnc", "--config", path, NULL};
		struct config cfg;
		if (config_load(&cfg, 3, argv, devnull(), devnull()) == CONFIG_OK)
			check(&cfg);
	}
	close(fd);
}

static void args(const uint8_t *d, size_t n)
{
	char *copy = malloc(n + 1);
	char *argv[34] = {"vgpu-vnc"};
	int argc = 1;
	if (!copy)
		return;
	memcpy(copy, d, n);
	copy[n] = '\0';
	for (char *p = copy; argc < 33 && p <= copy + n; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	struct config cfg;
	if (config_load(&cfg, argc, argv, devnull(), devnull()) == CONFIG_OK)
		check(&cfg);
	free(copy);
}

static char *text(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, d, n);
		s[n] = '\0';
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	char *s;
	switch (d[0] & 3) {
	case 0:
		ini(d + 1, size - 1);
		break;
	case 1:
		args(d + 1, size - 1);
		break;
	case 2:
		if ((s = text(d + 1, size - 1))) {
			struct listen_addr a;
			if (config_parse_listen(s, &a) == 0 && a.kind == LISTEN_TCP &&
			    (a.port < 0 || a.port > 65535))
				abort();
			free(s);
		}
		break;
	case 3:
		/* Real devices only by way of their spec checks: never a real path or fd. */
		if ((s = text(d + 1, size - 1)) && !strncmp(s, "synthetic", 9)) {
			struct plane_source *src = NULL;
			char err[512];
			if (plane_source_open(s, &src, err, sizeof(err)) == 0)
				plane_source_destroy(src);
		}
		free(s);
		break;
	}
	return 0;
}
