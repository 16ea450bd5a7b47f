/* Configuration: config_load() on top of the option table, the INI file and --help; the
 * public listen-address helpers. See config.h.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "config_help.h"
#include "config_ini.h"
#include "config_options.h"
#include "config_value.h"

int config_parse_listen(const char *text, struct listen_addr *out)
{
	char why[WHY_MAX];
	return value_parse_listen(text, out, why, sizeof(why));
}

const char *config_listen_str(const struct listen_addr *a, char *buf, size_t len)
{
	if (a->kind == LISTEN_UNIX)
		snprintf(buf, len, "unix:%s", a->path);
	else if (a->kind == LISTEN_FD)
		snprintf(buf, len, "fd:%d", a->fd);
	else if (strchr(a->host, ':'))
		snprintf(buf, len, "tcp:[%s]:%d", a->host, a->port);
	else
		snprintf(buf, len, "tcp:%s:%d", a->host, a->port);
	return buf;
}

void config_print_man(FILE *out)
{
	config_help_write(out, true);
}

/* ---- the command line ---------------------------------------------------------------- */

/* "+": stop at the first non-option rather than move it, so that a stray argument is an
 * error and argv is left as it came. ":": report a missing value apart from an unknown
 * option. */
static void build_getopt(struct option *longopts, char *optstring)
{
	char *p = optstring;
	*p++ = '+';
	*p++ = ':';
	for (int id = 0; id < N_OPTIONS; id++) {
		const struct option_spec *o = &config_options[id];
		longopts[id] = (struct option){o->name, o->arg ? required_argument : no_argument,
					       NULL, option_val(id)};
		if (o->short_name) {
			*p++ = o->short_name;
			if (o->arg)
				*p++ = ':';
		}
	}
	longopts[N_OPTIONS] = (struct option){0};
	*p = '\0';
}

static void report_getopt_error(int c, char **argv, FILE *err)
{
	int id = option_by_val(optopt);
	if (c == ':' && id >= 0) {
		config_fail(err, "--%s needs a value: --%s %s (see --help)", config_options[id].name,
		     config_options[id].name, config_options[id].arg);
		return;
	}
	if (id >= 0) {
		config_fail(err, "--%s takes no value (see --help)", config_options[id].name);
		return;
	}
	if (optopt) {
		config_fail(err, "unknown option '-%c' (see --help)", optopt);
		return;
	}
	/* An unknown or ambiguous long option: getopt has stepped past it. */
	const char *arg = argv[optind - 1];
	int len = (int)strcspn(arg, "=");
	int matches = 0;
	for (int i = 0; i < N_OPTIONS; i++)
		matches += len > 2 && !strncmp(config_options[i].name, arg + 2, (size_t)len - 2);
	config_fail(err, "%s option '%.*s' (see --help)", matches > 1 ? "ambiguous" : "unknown", len,
	     arg);
}

enum config_result config_load(struct config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
	struct option_loader ld = {.cfg = cfg};
	struct option longopts[N_OPTIONS + 1];
	char optstring[3 + 2 * N_OPTIONS];
	char why[WHY_MAX];
	int saved_opterr = opterr;
	enum config_result result = CONFIG_ERROR;

	memset(cfg, 0, sizeof(*cfg));
	for (int id = 0; id < N_OPTIONS; id++) {
		if (!config_options[id].default_text)
			continue;
		if (option_apply(&ld, id, FROM_DEFAULT, config_options[id].default_text, why, sizeof(why))) {
			config_fail(err, "built-in default --%s: %s", config_options[id].name, why);
			return CONFIG_ERROR;
		}
	}
	cfg->listen_default = true; /* until --listen replaces it */
	build_getopt(longopts, optstring);
	opterr = 0;

	/* First pass: --help, --version and --config, which act before anything else. */
	const char *config_path = NULL;
	bool help = false, version = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		int id = option_by_val(c);
		if (id == OPT_CONFIG)
			config_path = optarg;
		help |= id == OPT_HELP;
		version |= id == OPT_VERSION;
	}
	if (help) {
		config_help_write(out, false);
		result = CONFIG_EXIT_OK;
		goto done;
	}
	if (version) {
		fprintf(out, PROG " %s\n", VGPU_VERSION);
		result = CONFIG_EXIT_OK;
		goto done;
	}
	if (config_path && config_ini_load(&ld, config_path, err))
		goto done;

	/* Second pass: everything else, over the file's values. */
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			report_getopt_error(c, argv, err);
			goto done;
		}
		int id = option_by_val(c);
		if (id < 0 || !option_in_file(id))
			continue;
		if (option_apply(&ld, id, FROM_CLI, optarg, why, sizeof(why))) {
			config_fail(err, "--%s: %s", config_options[id].name, why);
			goto done;
		}
	}
	if (optind < argc) {
		config_fail(err, "unexpected argument '%s' (options start with --; see --help)",
		     argv[optind]);
		goto done;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		if (cfg->listen[i].kind != LISTEN_UNIX)
			continue;
		cfg->listen[i].mode = cfg->unix_mode;
		snprintf(cfg->listen[i].owner, sizeof(cfg->listen[i].owner), "%s", cfg->unix_owner);
	}
	if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
		config_fail(err, "--%s needs --%s too (the certificate and its private key)",
		     cfg->tls_cert[0] ? "tls-cert" : "tls-key", cfg->tls_cert[0] ? "tls-key" : "tls-cert");
		goto done;
	}
	if (cfg->tls_ca[0] && !cfg->tls_cert[0]) {
		config_fail(err, "--tls-ca needs --tls-cert and --tls-key (client certificates are asked "
			  "for in TLS)");
		goto done;
	}
	result = CONFIG_OK;
done:
	opterr = saved_opterr;
	return result;
}
