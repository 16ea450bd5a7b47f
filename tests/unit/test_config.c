/* Unit tests for config/: the command line, the INI file, listen addresses and --help. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "0.1.0"
#endif

/* What the last load printed; freed by the teardown and by the next load. */
static char *out_text, *err_text;
static char temp_paths[4][64];
static int n_temp_paths;

static int teardown(void **state)
{
	(void)state;
	free(out_text);
	free(err_text);
	out_text = err_text = NULL;
	for (int i = 0; i < n_temp_paths; i++)
		unlink(temp_paths[i]);
	n_temp_paths = 0;
	return 0;
}

static enum config_result load_argv(struct config *cfg, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	free(out_text);
	free(err_text);
	out_text = err_text = NULL;
	size_t out_len, err_len;
	FILE *out = open_memstream(&out_text, &out_len);
	FILE *err = open_memstream(&err_text, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	enum config_result rc = config_load(cfg, argc, argv, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

#define LOAD_NONE(cfg) load_argv((cfg), (char *[]){"vgpu-vnc", NULL})
#define LOAD(cfg, ...) load_argv((cfg), (char *[]){"vgpu-vnc", __VA_ARGS__, NULL})

static const char *write_temp(const char *text)
{
	assert_true(n_temp_paths < 4);
	char *path = temp_paths[n_temp_paths];
	strcpy(path, "/tmp/test_config_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	n_temp_paths++;
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* config_load with a file of that text as the only argument. */
static enum config_result load_file(struct config *cfg, const char *text)
{
	const char *path = write_temp(text);
	return LOAD(cfg, "--config", (char *)path);
}

/* The message expected on err for a failed load, and nothing on out. */
static void assert_err(const char *want)
{
	assert_string_equal(err_text, want);
	assert_string_equal(out_text, "");
}

/* That command line (after the program name) does not load, with that message on err and
 * nothing on out. A macro, so that a failed check names the line of the case. */
#define EXPECT_CLI_ERROR(want, ...)                                                          \
	do {                                                                                 \
		struct config cfg_;                                                          \
		assert_int_equal(LOAD(&cfg_, __VA_ARGS__), CONFIG_ERROR);                    \
		assert_err(want);                                                            \
	} while (0)

/* A config file with that text does not load, with that message (%s: the file's path). */
static void expect_file_error(const char *text, const char *msg_fmt)
{
	struct config cfg;
	char want[8192];
	const char *path = write_temp(text);
	assert_int_equal(LOAD(&cfg, "--config", (char *)path), CONFIG_ERROR);
	snprintf(want, sizeof(want), msg_fmt, path);
	assert_err(want);
}

static void assert_defaults_except_listen(const struct config *cfg)
{
	assert_string_equal(cfg->source, CONFIG_DEFAULT_SOURCE);
	assert_int_equal(cfg->fps, 30);
	assert_string_equal(cfg->password_file, "");
	assert_false(cfg->insecure_no_auth);
	assert_string_equal(cfg->desktop_name, "vgpu-vnc");
	assert_int_equal(cfg->max_clients, 64);
	assert_int_equal(cfg->handshake_timeout, 60);
	assert_int_equal(cfg->log_level, LOG_INFO);
}

static void assert_tcp(const struct listen_addr *a, const char *host, int port)
{
	assert_int_equal(a->kind, LISTEN_TCP);
	assert_string_equal(a->host, host);
	assert_int_equal(a->port, port);
}

static void assert_unix(const struct listen_addr *a, const char *path)
{
	assert_int_equal(a->kind, LISTEN_UNIX);
	assert_string_equal(a->path, path);
}

/* ---- command line -------------------------------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(LOAD_NONE(&cfg), CONFIG_OK);
	assert_string_equal(out_text, "");
	assert_string_equal(err_text, "");
	assert_defaults_except_listen(&cfg);
	assert_int_equal(cfg.n_listen, 1);
	assert_tcp(&cfg.listen[0], "127.0.0.1", 5900);
	struct listen_addr def;
	assert_int_equal(config_parse_listen(CONFIG_DEFAULT_LISTEN, &def), 0);
	assert_tcp(&def, "127.0.0.1", 5900);
}

static void test_every_option_on_cli(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD(&cfg, "--source", "mdev:4b20d080-1b54-4048-85b3-a6a62d165c01",
			      "--fps", "60", "--listen", "tcp:0.0.0.0:5901", "--listen",
			      "unix:/run/vgpu-vnc.sock", "--password-file", "/etc/vgpu-vnc/pw",
			      "--insecure-no-auth", "--desktop-name", "Lab VM 3", "--max-clients",
			      "1024", "--log-level", "debug"),
			 CONFIG_OK);
	assert_string_equal(err_text, "");
	assert_string_equal(cfg.source, "mdev:4b20d080-1b54-4048-85b3-a6a62d165c01");
	assert_int_equal(cfg.fps, 60);
	assert_int_equal(cfg.n_listen, 2);
	assert_tcp(&cfg.listen[0], "0.0.0.0", 5901);
	assert_unix(&cfg.listen[1], "/run/vgpu-vnc.sock");
	assert_string_equal(cfg.password_file, "/etc/vgpu-vnc/pw");
	assert_true(cfg.insecure_no_auth);
	assert_string_equal(cfg.desktop_name, "Lab VM 3");
	assert_int_equal(cfg.max_clients, 1024);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
}

static void test_cli_bounds_and_forms(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD(&cfg, "--fps=1", "--max-clients=1", "--handshake-timeout", "600"),
			 CONFIG_OK);
	assert_int_equal(cfg.fps, 1);
	assert_int_equal(cfg.max_clients, 1);
	assert_int_equal(cfg.handshake_timeout, 600);
	assert_int_equal(LOAD(&cfg, "--fps", "240", "--fps", "0240"), CONFIG_OK);
	assert_int_equal(cfg.fps, 240);
	/* getopt_long takes an unambiguous prefix. */
	assert_int_equal(LOAD(&cfg, "--fp", "50"), CONFIG_OK);
	assert_int_equal(cfg.fps, 50);

	static const char *const levels[] = {"error", "warn", "info", "debug"};
	static const enum log_level want_level[] = {LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(LOAD(&cfg, "--log-level", (char *)levels[i]), CONFIG_OK);
		assert_int_equal(cfg.log_level, want_level[i]);
	}

	static const char *const sources[] = {"synthetic",      "synthetic:1920x1080:video",
					      "mdev:1234",      "sysfs:/sys/bus/mdev/devices/x",
					      "fd:3",           "socket:/run/vm1/vgpu.sock"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(LOAD(&cfg, "--source", (char *)sources[i]), CONFIG_OK);
		assert_string_equal(cfg.source, sources[i]);
	}

	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	assert_int_equal(LOAD(&cfg, "--desktop-name", name), CONFIG_OK);
	assert_string_equal(cfg.desktop_name, name);
}

static void test_cli_leaves_argv_alone(void **state)
{
	(void)state;
	struct config cfg;
	char *argv[] = {"vgpu-vnc", "--fps", "20", "--insecure-no-auth", NULL};
	assert_int_equal(config_load(&cfg, 4, argv, stdout, stderr), CONFIG_OK);
	assert_string_equal(argv[1], "--fps");
	assert_string_equal(argv[2], "20");
	assert_string_equal(argv[3], "--insecure-no-auth");
	assert_int_equal(cfg.fps, 20);
	/* A second load in the same process starts getopt afresh. */
	assert_int_equal(config_load(&cfg, 4, argv, stdout, stderr), CONFIG_OK);
	assert_int_equal(cfg.fps, 20);
	assert_true(cfg.insecure_no_auth);
	/* getopt_long would move "extra" behind the options unless told not to. */
	char *stray[] = {"vgpu-vnc", "extra", "--fps", "20", NULL};
	assert_int_equal(load_argv(&cfg, stray), CONFIG_ERROR);
	assert_string_equal(stray[1], "extra");
	assert_string_equal(stray[2], "--fps");
}

struct bad_value {
	const char *option, *value, *reason;
};

static void test_bad_values(void **state)
{
	(void)state;
	static const char range_fps[] = "is not a number from 1 to 240";
	static const char range_clients[] = "is not a number from 1 to 1024";
	static const char not_source[] =
		"is not a source (use synthetic[:WxH[:SCENE[:OPTIONS]]], mdev:UUID, sysfs:PATH, "
		"fd:N, socket:PATH, pid:PID, dbus[:ADDRESS] or qmp-dbus:PATH)";
	static const char not_level[] = "is not one of error, warn, info, debug";
	static const char not_listen[] = "is not a listen address (use tcp:HOST:PORT, "
					 "tcp:[IPV6]:PORT, unix:PATH or fd:N)";
	char long_name[257];
	memset(long_name, 'x', 256);
	long_name[256] = '\0';
	const struct bad_value cases[] = {
		{"fps", "0", range_fps},
		{"fps", "241", range_fps},
		{"fps", "60x", range_fps},
		{"fps", "", range_fps},
		{"fps", "-1", range_fps},
		{"fps", "+5", range_fps},
		{"fps", " 5", range_fps},
		{"fps", "0x10", range_fps},
		{"fps", "99999999999999999999", range_fps},
		{"fps", "4294967326", range_fps}, /* 30 after a 32-bit wrap */
		{"max-clients", "0", range_clients},
		{"max-clients", "1025", range_clients},
		{"max-clients", "64 ", range_clients},
		{"max-clients", "-64", range_clients},
		{"max-clients", "99999999999999999999", range_clients},
		{"handshake-timeout", "0", "is not a number of seconds from 1 to 600"},
		{"handshake-timeout", "601", "is not a number of seconds from 1 to 600"},
		{"handshake-timeout", "1.5", "is not a number of seconds from 1 to 600"},
		{"log-level", "verbose", not_level},
		{"log-level", "", not_level},
		{"log-level", "INFO", not_level},
		{"source", "", not_source},
		{"source", "vnc:foo", not_source},
		{"source", "synthetics", not_source},
		{"source", "mdev:", not_source},
		{"source", "fd:", not_source},
		{"listen", "udp:1.2.3.4:5900", not_listen},
		{"listen", "", not_listen},
		{"listen", "tcp:host:65536", "is not a number from 0 to 65535"},
		{"listen", "tcp:host", "has no port"},
		{"listen", "unix:", "has no socket path"},
		{"desktop-name", "", "is empty"},
		{"desktop-name", long_name, "is longer than 255 bytes"},
		{"password-file", "", "is empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		char opt[64], head[512];
		snprintf(opt, sizeof(opt), "--%s", cases[i].option);
		int n = snprintf(head, sizeof(head), "vgpu-vnc: %s: '%s'", opt, cases[i].value);
		assert_true(n > 0 && (size_t)n < sizeof(head));
		if (LOAD(&cfg, opt, (char *)cases[i].value) != CONFIG_ERROR)
			fail_msg("%s '%s' was accepted", opt, cases[i].value);
		assert_string_equal(out_text, "");
		if (strncmp(err_text, head, strlen(head)) || !strstr(err_text, cases[i].reason))
			fail_msg("%s '%s': want \"%s...%s\", got \"%s\"", opt, cases[i].value, head,
				 cases[i].reason, err_text);
		/* One line. */
		assert_ptr_equal(strchr(err_text, '\n'), err_text + strlen(err_text) - 1);
	}
}

static void test_bad_value_exact_messages(void **state)
{
	(void)state;
	EXPECT_CLI_ERROR("vgpu-vnc: --fps: '0' is not a number from 1 to 240\n", "--fps", "0");
	EXPECT_CLI_ERROR("vgpu-vnc: --fps: '99999999999999999999' is not a number from 1 to 240\n",
			 "--fps=99999999999999999999");
	EXPECT_CLI_ERROR("vgpu-vnc: --source: 'vnc:foo' is not a source (use "
			 "synthetic[:WxH[:SCENE[:OPTIONS]]], mdev:UUID, sysfs:PATH, fd:N, "
			 "socket:PATH, pid:PID, dbus[:ADDRESS] or qmp-dbus:PATH)\n",
			 "--source", "vnc:foo");
	EXPECT_CLI_ERROR("vgpu-vnc: --listen: 'tcp:host' has no port (use tcp:HOST:PORT, "
			 "tcp:[IPV6]:PORT, unix:PATH or fd:N)\n",
			 "--listen", "tcp:host");
}

static void test_too_many_listen_on_cli(void **state)
{
	(void)state;
	struct config cfg;
	char *argv[2 + 2 * (CONFIG_MAX_LISTEN + 1)];
	char addr[CONFIG_MAX_LISTEN + 1][32];
	int argc = 0;
	argv[argc++] = "vgpu-vnc";
	for (int i = 0; i < CONFIG_MAX_LISTEN + 1; i++) {
		snprintf(addr[i], sizeof(addr[i]), "tcp:127.0.0.1:%d", 5900 + i);
		argv[argc++] = "--listen";
		argv[argc++] = addr[i];
	}
	argv[argc] = NULL;
	/* Exactly the maximum is fine. */
	argv[argc - 2] = NULL;
	assert_int_equal(load_argv(&cfg, argv), CONFIG_OK);
	assert_int_equal(cfg.n_listen, CONFIG_MAX_LISTEN);
	assert_tcp(&cfg.listen[CONFIG_MAX_LISTEN - 1], "127.0.0.1", 5900 + CONFIG_MAX_LISTEN - 1);
	argv[argc - 2] = "--listen";
	assert_int_equal(load_argv(&cfg, argv), CONFIG_ERROR);
	assert_err("vgpu-vnc: --listen: 'tcp:127.0.0.1:5916' is one address too many (at most "
		   "16)\n");
}

static void test_getopt_errors(void **state)
{
	(void)state;
	EXPECT_CLI_ERROR("vgpu-vnc: unknown option '--bogus' (see --help)\n", "--bogus");
	EXPECT_CLI_ERROR("vgpu-vnc: unknown option '--bogus' (see --help)\n",
			 "--fps", "30", "--bogus=3");
	EXPECT_CLI_ERROR("vgpu-vnc: unknown option '-x' (see --help)\n", "-x");
	EXPECT_CLI_ERROR("vgpu-vnc: ambiguous option '--l' (see --help)\n", "--l", "x");
	EXPECT_CLI_ERROR("vgpu-vnc: --fps needs a value: --fps N (see --help)\n", "--fps");
	EXPECT_CLI_ERROR("vgpu-vnc: --insecure-no-auth takes no value (see --help)\n",
			 "--insecure-no-auth=yes");
}

static void test_stray_arguments(void **state)
{
	(void)state;
	struct config cfg;
	EXPECT_CLI_ERROR("vgpu-vnc: unexpected argument 'extra' (options start with --; "
			 "see --help)\n",
			 "extra");
	EXPECT_CLI_ERROR("vgpu-vnc: unexpected argument '60' (options start with --; "
			 "see --help)\n",
			 "--fps", "30", "60");
	EXPECT_CLI_ERROR("vgpu-vnc: unexpected argument 'extra' (options start with --; "
			 "see --help)\n",
			 "extra", "--fps", "30");
	EXPECT_CLI_ERROR("vgpu-vnc: unexpected argument '--fps' (options start with --; "
			 "see --help)\n",
			 "--", "--fps");
	assert_int_equal(LOAD(&cfg, "--fps", "31", "--"), CONFIG_OK);
	assert_int_equal(cfg.fps, 31);
}

/* ---- the INI file -------------------------------------------------------------------- */

static const char good_file[] = "# all keys, no section\n"
				"; another comment\n"
				"source = synthetic:1920x1080:video\n"
				"listen = tcp:0.0.0.0:5900\n"
				"fps = 60\r\n"
				"\n"
				"password-file = /etc/vgpu-vnc/pw\n"
				"insecure-no-auth = yes\n"
				"desktop-name = Lab VM 3 ; an inline comment\n"
				"max-clients = 8\n"
				"log-level = warn\n";

static void assert_good_file(const struct config *cfg)
{
	assert_string_equal(cfg->source, "synthetic:1920x1080:video");
	assert_int_equal(cfg->n_listen, 1);
	assert_tcp(&cfg->listen[0], "0.0.0.0", 5900);
	assert_int_equal(cfg->fps, 60);
	assert_string_equal(cfg->password_file, "/etc/vgpu-vnc/pw");
	assert_true(cfg->insecure_no_auth);
	assert_string_equal(cfg->desktop_name, "Lab VM 3");
	assert_int_equal(cfg->max_clients, 8);
	assert_int_equal(cfg->log_level, LOG_WARN);
}

/* A file with that text loads, silently, into good_file's settings. */
static void expect_good_file(const char *text)
{
	struct config cfg;
	assert_int_equal(load_file(&cfg, text), CONFIG_OK);
	assert_string_equal(err_text, "");
	assert_good_file(&cfg);
}

static void test_file_without_section(void **state)
{
	(void)state;
	expect_good_file(good_file);
}

/* --tls-cert, --tls-key and --tls-ca: on the command line and as INI keys; the pairs that
 * make no sense alone are errors that say what is missing. */
static void test_tls_options(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD(&cfg, "--tls-cert", "/etc/c.pem", "--tls-key", "/etc/k.pem",
			      "--tls-ca", "/etc/ca.pem"),
			 CONFIG_OK);
	assert_string_equal(cfg.tls_cert, "/etc/c.pem");
	assert_string_equal(cfg.tls_key, "/etc/k.pem");
	assert_string_equal(cfg.tls_ca, "/etc/ca.pem");
	assert_int_equal(load_file(&cfg, "tls-cert = /f/c.pem\ntls-key = /f/k.pem\n"), CONFIG_OK);
	assert_string_equal(cfg.tls_cert, "/f/c.pem");
	assert_string_equal(cfg.tls_key, "/f/k.pem");
	assert_string_equal(cfg.tls_ca, "");
	EXPECT_CLI_ERROR("vgpu-vnc: --tls-cert needs --tls-key too (the certificate and its "
			 "private key)\n",
			 "--tls-cert", "/etc/c.pem");
	EXPECT_CLI_ERROR("vgpu-vnc: --tls-key needs --tls-cert too (the certificate and its "
			 "private key)\n",
			 "--tls-key", "/etc/k.pem");
	EXPECT_CLI_ERROR("vgpu-vnc: --tls-ca needs --tls-cert and --tls-key (client certificates "
			 "are asked for in TLS)\n",
			 "--tls-ca", "/etc/ca.pem");
}

static void test_file_with_section(void **state)
{
	(void)state;
	char text[1024];
	/* Indented keys are keys: inih alone would append "max-clients = 8" to log-level. */
	snprintf(text, sizeof(text), "[vgpu-vnc]\n%s\n\tmax-clients = 8\n", good_file);
	expect_good_file(text);
}

static void test_file_partial_keeps_defaults(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load_file(&cfg, "[vgpu-vnc]\nfps = 15\n"), CONFIG_OK);
	assert_int_equal(cfg.fps, 15);
	cfg.fps = 30;
	assert_defaults_except_listen(&cfg);
	assert_int_equal(cfg.n_listen, 1);
	assert_tcp(&cfg.listen[0], "127.0.0.1", 5900);
}

static void test_file_booleans(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool value;
	} cases[] = {{"true", true}, {"yes", true},  {"1", true},    {"TRUE", true},
		     {"false", false}, {"no", false}, {"0", false}, {"No", false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		char text[64];
		snprintf(text, sizeof(text), "insecure-no-auth = %s\n", cases[i].text);
		assert_int_equal(load_file(&cfg, text), CONFIG_OK);
		assert_int_equal(cfg.insecure_no_auth, cases[i].value);
		teardown(NULL);
	}
	struct config cfg;
	expect_file_error("insecure-no-auth = maybe\n",
			  "vgpu-vnc: %s:1: insecure-no-auth: 'maybe' is not true or false (or yes, no, "
			  "1, 0)\n");
	/* The flag on the command line beats false in the file. */
	const char *path = write_temp("insecure-no-auth = false\n");
	assert_int_equal(LOAD(&cfg, "--config", (char *)path, "--insecure-no-auth"), CONFIG_OK);
	assert_true(cfg.insecure_no_auth);
}

static void test_file_unknown_key(void **state)
{
	(void)state;
	expect_file_error("fps = 30\n\n# comment\nfpss = 5\nfps = 7\n",
			  "vgpu-vnc: %s:4: unknown key 'fpss'\n");
	expect_file_error("config = /etc/other.ini\n",
			  "vgpu-vnc: %s:1: 'config' can only be given on the command line\n");
}

static void test_file_bad_value(void **state)
{
	(void)state;
	expect_file_error("[vgpu-vnc]\nfps = abc\nmax-clients = 0\n",
			  "vgpu-vnc: %s:2: fps: 'abc' is not a number from 1 to 240\n");
	expect_file_error("listen = tcp:[::1]:5900\nlisten = tcp:[::1]:99999\n",
			  "vgpu-vnc: %s:2: listen: 'tcp:[::1]:99999': port '99999' is not a number "
			  "from 0 to 65535\n");
	/* An empty value is a bad value, not "unset". */
	expect_file_error("desktop-name =\n",
			  "vgpu-vnc: %s:1: desktop-name: '' is empty\n");
}

static void test_file_unknown_section(void **state)
{
	(void)state;
	struct config cfg;
	expect_file_error("fps = 30\n[server]\nfps = 5\n",
			  "vgpu-vnc: %s:2: unknown section '[server]' (use [vgpu-vnc] or none)\n");
	/* Even with no keys under it. */
	expect_file_error("[vgpu-vnc]\nfps = 30\n\n[other]\n",
			  "vgpu-vnc: %s:4: unknown section '[other]' (use [vgpu-vnc] or none)\n");
	/* Behind a byte order mark, and with DOS line ends. */
	expect_file_error("\xef\xbb\xbf[other]\r\nfps = 5\r\n",
			  "vgpu-vnc: %s:1: unknown section '[other]' (use [vgpu-vnc] or none)\n");
	assert_int_equal(load_file(&cfg, "\xef\xbb\xbf[vgpu-vnc]\r\nfps = 5\r\n"), CONFIG_OK);
	assert_int_equal(cfg.fps, 5);
}

static void test_file_syntax_error(void **state)
{
	(void)state;
	/* The first error wins, whichever kind it is. */
	expect_file_error("fps = 30\nfps 60\nfpss = 1\n",
			  "vgpu-vnc: %s:2: expected 'key = value' or '[vgpu-vnc]'\n");
	expect_file_error("fpss = 1\nfps 60\n",
			  "vgpu-vnc: %s:1: unknown key 'fpss'\n");
	expect_file_error("[vgpu-vnc\n",
			  "vgpu-vnc: %s:1: expected 'key = value' or '[vgpu-vnc]'\n");
}

static void test_file_long_lines(void **state)
{
	(void)state;
	struct config cfg;
	/* Longer than inih's default 200-byte line, shorter than PATH_MAX. */
	static char text[2 * PATH_MAX], value[PATH_MAX + 1024];
	memset(value, 'p', 3000);
	value[0] = '/';
	value[3000] = '\0';
	snprintf(text, sizeof(text), "fps = 10\npassword-file = %s\nfps = 20\n", value);
	assert_int_equal(load_file(&cfg, text), CONFIG_OK);
	assert_string_equal(cfg.password_file, value);
	assert_int_equal(cfg.fps, 20);

	memset(value, 'p', PATH_MAX + 500 - 1);
	value[PATH_MAX + 500 - 1] = '\0';
	snprintf(text, sizeof(text), "fps = 10\npassword-file = %s\nfps = 20\n", value);
	const char *path = write_temp(text);
	assert_int_equal(LOAD(&cfg, "--config", (char *)path), CONFIG_ERROR);
	char head[128];
	snprintf(head, sizeof(head), "vgpu-vnc: %s:2: line is longer than ", path);
	assert_memory_equal(err_text, head, strlen(head));
}

static void test_file_missing_or_unreadable(void **state)
{
	(void)state;
	EXPECT_CLI_ERROR("vgpu-vnc: --config: cannot open '/nonexistent-dir/vgpu-vnc.ini': No such "
			 "file or directory\n",
			 "--config", "/nonexistent-dir/vgpu-vnc.ini");
	EXPECT_CLI_ERROR("vgpu-vnc: --config: cannot read '/': Is a directory\n", "--config", "/");
}

static void test_cli_overrides_file(void **state)
{
	(void)state;
	struct config cfg;
	const char *path = write_temp("fps = 10\n"
				      "listen = tcp:0.0.0.0:5900\n"
				      "listen = unix:/run/a.sock\n"
				      "desktop-name = from file\n");
	assert_int_equal(LOAD(&cfg, "--config", (char *)path), CONFIG_OK);
	assert_int_equal(cfg.fps, 10);
	assert_int_equal(cfg.n_listen, 2);

	assert_int_equal(LOAD(&cfg, "--config", (char *)path, "--fps", "20", "--listen",
			      "unix:/run/b.sock", "--listen", "tcp:[::1]:5901"),
			 CONFIG_OK);
	assert_int_equal(cfg.fps, 20);
	assert_int_equal(cfg.n_listen, 2);
	assert_unix(&cfg.listen[0], "/run/b.sock");
	assert_tcp(&cfg.listen[1], "::1", 5901);
	assert_string_equal(cfg.desktop_name, "from file");

	/* Wherever --config stands on the command line, the file comes first. */
	assert_int_equal(LOAD(&cfg, "--fps", "20", "--listen", "unix:/run/b.sock", "--config",
			      (char *)path),
			 CONFIG_OK);
	assert_int_equal(cfg.fps, 20);
	assert_int_equal(cfg.n_listen, 1);
	assert_unix(&cfg.listen[0], "/run/b.sock");
}

static void test_file_repeated_listen(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(load_file(&cfg, "listen = tcp:0.0.0.0:5900\n"
					 "[vgpu-vnc]\n"
					 "listen = unix:/run/a.sock\n"
					 "listen = tcp:[::]:5901\n"),
			 CONFIG_OK);
	assert_int_equal(cfg.n_listen, 3);
	assert_tcp(&cfg.listen[0], "0.0.0.0", 5900);
	assert_unix(&cfg.listen[1], "/run/a.sock");
	assert_tcp(&cfg.listen[2], "::", 5901);

	char text[2048];
	size_t n = 0;
	for (int i = 0; i < CONFIG_MAX_LISTEN + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "listen = tcp:127.0.0.1:%d\n",
				      5900 + i);
	expect_file_error(text,
			  "vgpu-vnc: %s:17: listen: 'tcp:127.0.0.1:5916' is one address too many (at "
			  "most 16)\n");
}

/* ---- listen addresses ---------------------------------------------------------------- */

static void test_parse_listen_good(void **state)
{
	(void)state;
	struct listen_addr a;
	assert_int_equal(config_parse_listen("tcp:[::1]:5900", &a), 0);
	assert_tcp(&a, "::1", 5900);
	assert_int_equal(config_parse_listen("tcp:host:0", &a), 0);
	assert_tcp(&a, "host", 0);
	assert_int_equal(config_parse_listen("tcp:vnc.example.org:65535", &a), 0);
	assert_tcp(&a, "vnc.example.org", 65535);
	assert_int_equal(config_parse_listen("tcp:[fe80::1%eth0]:5900", &a), 0);
	assert_tcp(&a, "fe80::1%eth0", 5900);
	assert_int_equal(config_parse_listen("tcp:[::ffff:127.0.0.1]:1", &a), 0);
	assert_tcp(&a, "::ffff:127.0.0.1", 1);
	assert_int_equal(config_parse_listen("unix:/run/vgpu-vnc.sock", &a), 0);
	assert_unix(&a, "/run/vgpu-vnc.sock");

	char text[8 + 108];
	strcpy(text, "unix:/");
	memset(text + 6, 'u', 106);
	text[5 + 107] = '\0';
	assert_int_equal(strlen(text + 5), 107);
	assert_int_equal(config_parse_listen(text, &a), 0);
	assert_unix(&a, text + 5);
}

static void test_parse_listen_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"tcp:host:65536", "tcp:host",         "tcp:host:",      "tcp:host:-1",
		"tcp:host:+80",   "tcp:host:80x",     "tcp:host: 80",   "tcp::5900",
		"tcp:::1:5900",   "tcp:[::1]5900",    "tcp:[::1",       "tcp:[]:5900",
		"tcp:[1.2.3.4]:5900", "tcp:[::1%]:5900", "tcp:ho st:5900", "tcp:host/x:5900",
		"unix:",          "udp:1.2.3.4:5900", "tcp",            "",
		"TCP:host:5900",  "tcp:host:99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct listen_addr a;
		memset(&a, 0x5a, sizeof(a));
		if (config_parse_listen(bad[i], &a) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}

	char text[8 + 108];
	strcpy(text, "unix:/");
	memset(text + 6, 'u', 107);
	text[5 + 108] = '\0';
	assert_int_equal(strlen(text + 5), 108);
	struct listen_addr a;
	assert_int_equal(config_parse_listen(text, &a), -EINVAL);

	char host[4 + 256 + 8];
	strcpy(host, "tcp:");
	memset(host + 4, 'h', 256);
	strcpy(host + 4 + 256, ":5900");
	assert_int_equal(config_parse_listen(host, &a), -EINVAL);
	strcpy(host + 4 + 255, ":5900"); /* 255 bytes of host fit */
	assert_int_equal(config_parse_listen(host, &a), 0);
	assert_int_equal(strlen(a.host), 255);
}

static void test_listen_str_round_trip(void **state)
{
	(void)state;
	static const char *const texts[] = {"tcp:[::1]:5900", "tcp:0.0.0.0:0",
					    "tcp:vnc.example.org:65535", "unix:/run/x.sock",
					    "tcp:[fe80::1%eth0]:5900"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct listen_addr a, b;
		char buf[CONFIG_LISTEN_STR_MAX];
		assert_int_equal(config_parse_listen(texts[i], &a), 0);
		assert_ptr_equal(config_listen_str(&a, buf, sizeof(buf)), buf);
		assert_string_equal(buf, texts[i]);
		assert_int_equal(config_parse_listen(buf, &b), 0);
		assert_int_equal(a.kind, b.kind);
		assert_string_equal(a.host, b.host);
		assert_int_equal(a.port, b.port);
		assert_string_equal(a.path, b.path);
	}

	/* The longest text fits CONFIG_LISTEN_STR_MAX exactly. */
	struct listen_addr a;
	memset(&a, 0, sizeof(a));
	a.kind = LISTEN_TCP;
	memset(a.host, ':', sizeof(a.host) - 1);
	a.port = 65535;
	char buf[CONFIG_LISTEN_STR_MAX];
	config_listen_str(&a, buf, sizeof(buf));
	assert_int_equal(strlen(buf), CONFIG_LISTEN_STR_MAX - 1);
	assert_memory_equal(buf + strlen(buf) - 7, "]:65535", 7);
}

/* ---- --help and --version ------------------------------------------------------------ */

/* The help text with every run of blanks and newlines made one space, so that a check does
 * not depend on where a line was wrapped. */
static char *squeeze(const char *s)
{
	char *r = malloc(strlen(s) + 1), *p = r;
	assert_non_null(r);
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n') {
			if (p > r && p[-1] == ' ')
				continue;
			*p++ = ' ';
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return r;
}

static void test_help(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD(&cfg, "--help"), CONFIG_EXIT_OK);
	assert_string_equal(err_text, "");
	char *help = strdup(out_text);
	assert_non_null(help);

	static const char *const sections[] = {"NAME\n",        "\nSYNOPSIS\n",   "\nDESCRIPTION\n",
					       "\nOPTIONS\n",   "\nSOURCES\n",    "\nCONFIG FILE\n",
					       "\nSECURITY\n",  "\nEXIT STATUS\n", "\nEXAMPLES\n"};
	const char *at = help;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const char *found = strstr(at, sections[i]);
		if (!found) /* or not in this order */
			fail_msg("no section %s after the previous one", sections[i]);
		at = found + 1;
	}
	assert_memory_equal(help, "NAME\n", 5);

	static const char *const options[] = {
		"\n       --source SPEC\n",     "\n       --listen ADDR\n",
		"\n       --fps N\n",           "\n       --password-file FILE\n",
		"\n       --insecure-no-auth\n", "\n       --desktop-name NAME\n",
		"\n       --max-clients N\n",   "\n       --log-level LEVEL\n",
		"\n       --handshake-timeout SECONDS\n",
		"\n       --config FILE\n",     "\n       -h, --help\n",
		"\n       -V, --version\n"};
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		if (!strstr(help, options[i]))
			fail_msg("--help lacks the item %s", options[i]);
	}

	char *flat = squeeze(help);
	static const char *const phrases[] = {
		"Default: " CONFIG_DEFAULT_SOURCE ".",
		"Default: " CONFIG_DEFAULT_LISTEN ".",
		"Default: 30.",
		"Default: 64.",
		"Default: vgpu-vnc.",
		"Default: info.",
		"Intel GVT-g",
		"mbochs",
		"mdpy",
		"noVNC on the same port",
		"synthetic[:WxH[:SCENE[:OPTIONS]]]",
		"static, desktop (the default), typing, scroll, drag, video, flip, modes or hostile",
		"fail=enodev@A[-B]",
		"Default: 60.",
		"format=XR24|XB24",
		"frames=N",
		"rate=N",
		"cursor=on|off",
		"mdev:UUID",
		"sysfs:PATH",
		"fd:N",
		"socket:PATH",
		"[vgpu-vnc]",
		"The command line wins",
		"refuses to listen on a TCP address other than loopback unless --insecure-no-auth",
		"Unix sockets and loopback addresses",
		"up to 16",
		" 0 Stopped by SIGINT or SIGTERM",
		" 1 A runtime failure",
		" 2 A usage or configuration error.",
	};
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		if (!strstr(flat, phrases[i]))
			fail_msg("--help lacks \"%s\"", phrases[i]);
	}
	free(flat);

	/* Reads in an 80-column terminal. */
	for (const char *line = help; *line;) {
		size_t len = strcspn(line, "\n");
		assert_in_range(len, 0, 80);
		line += len + (line[len] == '\n');
	}

	assert_int_equal(LOAD(&cfg, "-h"), CONFIG_EXIT_OK);
	assert_string_equal(out_text, help);
	free(help);
}

static void test_help_and_version_come_first(void **state)
{
	(void)state;
	struct config cfg;
	/* Neither a bad value nor a missing config file stands in the way of --help. */
	assert_int_equal(LOAD(&cfg, "--fps", "0", "--help"), CONFIG_EXIT_OK);
	assert_string_equal(err_text, "");
	assert_memory_equal(out_text, "NAME\n", 5);
	assert_int_equal(LOAD(&cfg, "--config", "/nonexistent-dir/x.ini", "-V"), CONFIG_EXIT_OK);
	assert_string_equal(err_text, "");
	assert_string_equal(out_text, "vgpu-vnc " VGPU_VERSION "\n");
}

static void test_version(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD(&cfg, "--version"), CONFIG_EXIT_OK);
	assert_string_equal(out_text, "vgpu-vnc " VGPU_VERSION "\n");
	assert_string_equal(err_text, "");
	assert_int_equal(LOAD(&cfg, "-V"), CONFIG_EXIT_OK);
	assert_string_equal(out_text, "vgpu-vnc " VGPU_VERSION "\n");
	EXPECT_CLI_ERROR("vgpu-vnc: --version takes no value (see --help)\n", "--version=1");
}

/* ---- H.264 options ----------------------------------------------------------------- */

/* Issue 8: --listen fd:N, --unix-mode/--unix-owner, --device, --qmp, --exit-when-idle. */
static void test_vdi_options(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD_NONE(&cfg), CONFIG_OK);
	assert_true(cfg.listen_default);
	assert_int_equal(cfg.exit_when_idle, 0);
	assert_string_equal(cfg.qmp, "");
	assert_int_equal(LOAD(&cfg, "--listen", "fd:7", "--listen", "unix:/run/v.sock",
			      "--unix-mode", "0660", "--unix-owner", "root:kvm", "--device",
			      "/sys/bus/mdev/devices/x", "--qmp", "unix:/run/qmp.sock",
			      "--exit-when-idle", "300", "--source", "pid:42"),
			 CONFIG_OK);
	assert_false(cfg.listen_default);
	assert_int_equal(cfg.n_listen, 2);
	assert_int_equal(cfg.listen[0].kind, LISTEN_FD);
	assert_int_equal(cfg.listen[0].fd, 7);
	assert_int_equal(cfg.listen[1].kind, LISTEN_UNIX);
	assert_int_equal(cfg.listen[1].mode, 0660);
	assert_string_equal(cfg.listen[1].owner, "root:kvm");
	assert_string_equal(cfg.device, "/sys/bus/mdev/devices/x");
	assert_string_equal(cfg.qmp, "/run/qmp.sock");
	assert_int_equal(cfg.exit_when_idle, 300);
	assert_string_equal(cfg.source, "pid:42");
	char buf[CONFIG_LISTEN_STR_MAX];
	assert_string_equal(config_listen_str(&cfg.listen[0], buf, sizeof(buf)), "fd:7");
	assert_int_equal(LOAD(&cfg, "--listen", "fd:-1"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--unix-mode", "0"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--unix-mode", "0668"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--qmp", "tcp:1.2.3.4:4444"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--exit-when-idle", "86401"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--source", "pid:"), CONFIG_ERROR);
}

static void test_h264_options(void **state)
{
	(void)state;
	struct config cfg;
	assert_int_equal(LOAD_NONE(&cfg), CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_AUTO);
	assert_int_equal(cfg.idr_interval, 2);
	assert_int_equal(cfg.x264_threads, 1);

	assert_int_equal(LOAD(&cfg, "--encoder", "x264", "--idr-interval", "0", "--x264-threads",
			      "4"),
			 CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_X264);
	assert_int_equal(cfg.idr_interval, 0);
	assert_int_equal(cfg.x264_threads, 4);
	assert_int_equal(LOAD(&cfg, "--encoder=vpl", "--idr-interval=3600", "--x264-threads=64"),
			 CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_VPL);
	assert_int_equal(cfg.idr_interval, 3600);
	assert_int_equal(cfg.x264_threads, 64);
	assert_int_equal(LOAD(&cfg, "--encoder", "auto"), CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_AUTO);

	/* The same keys in a file; the command line wins. */
	const char *path = write_temp("encoder = x264\nidr-interval = 10\nx264-threads = 2\n");
	assert_int_equal(LOAD(&cfg, "--config", (char *)path), CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_X264);
	assert_int_equal(cfg.idr_interval, 10);
	assert_int_equal(cfg.x264_threads, 2);
	assert_int_equal(LOAD(&cfg, "--config", (char *)path, "--encoder", "vpl"), CONFIG_OK);
	assert_int_equal(cfg.encoder, H264_BACKEND_VPL);
	assert_int_equal(cfg.idr_interval, 10);

	EXPECT_CLI_ERROR("vgpu-vnc: --encoder: 'nvenc' is not one of auto, vpl, x264\n",
			 "--encoder", "nvenc");
	assert_int_equal(LOAD(&cfg, "--encoder", "X264"), CONFIG_ERROR);
	EXPECT_CLI_ERROR("vgpu-vnc: --idr-interval: '3601' is not a number of seconds from 0 to "
			 "3600\n",
			 "--idr-interval", "3601");
	assert_int_equal(LOAD(&cfg, "--idr-interval", "-1"), CONFIG_ERROR);
	assert_int_equal(LOAD(&cfg, "--idr-interval", "1.5"), CONFIG_ERROR);
	EXPECT_CLI_ERROR("vgpu-vnc: --x264-threads: '0' is not a number from 1 to 64\n",
			 "--x264-threads", "0");
	assert_int_equal(LOAD(&cfg, "--x264-threads", "65"), CONFIG_ERROR);

	expect_file_error("[vgpu-vnc]\nencoder = hardware\n",
			  "vgpu-vnc: %s:2: encoder: 'hardware' is not one of auto, vpl, x264\n");

	/* --help warns about what more x264 threads do to noVNC. */
	assert_int_equal(LOAD(&cfg, "--help"), CONFIG_EXIT_OK);
	char *flat = strdup(out_text);
	assert_non_null(flat);
	for (char *p = flat, *q = flat; ; p++) {
		/* join the wrapped lines into one, so phrases can span them */
		if (*p == '\n' || *p == ' ') {
			if (q > flat && q[-1] != ' ')
				*q++ = ' ';
		} else {
			*q++ = *p;
		}
		if (!*p)
			break;
	}
	assert_non_null(strstr(flat, "--encoder NAME"));
	assert_non_null(strstr(flat, "Default: auto."));
	assert_non_null(strstr(flat, "--idr-interval SECONDS"));
	assert_non_null(strstr(flat, "--x264-threads N"));
	assert_non_null(strstr(flat, "N slices, which noVNC cannot decode"));
	free(flat);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_every_option_on_cli),
		T(test_cli_bounds_and_forms),
		T(test_cli_leaves_argv_alone),
		T(test_bad_values),
		T(test_bad_value_exact_messages),
		T(test_too_many_listen_on_cli),
		T(test_getopt_errors),
		T(test_stray_arguments),
		T(test_file_without_section),
		T(test_file_with_section),
		T(test_file_partial_keeps_defaults),
		T(test_file_booleans),
		T(test_file_unknown_key),
		T(test_tls_options),
		T(test_file_bad_value),
		T(test_file_unknown_section),
		T(test_file_syntax_error),
		T(test_file_long_lines),
		T(test_file_missing_or_unreadable),
		T(test_cli_overrides_file),
		T(test_file_repeated_listen),
		T(test_parse_listen_good),
		T(test_parse_listen_bad),
		T(test_listen_str_round_trip),
		T(test_help),
		T(test_help_and_version_come_first),
		T(test_version),
		T(test_vdi_options),
		T(test_h264_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
