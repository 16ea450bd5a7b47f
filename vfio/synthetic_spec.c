/* The synthetic vGPU's spec: "WIDTHxHEIGHT[:SCENE[:OPTION,...]]" (synthetic.h lists the
 * forms) parsed into a synth_config, with a message naming the bad part. See
 * synthetic_spec.h.
 */
#include "synthetic_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plane.h"
#include "synthetic_defs.h"

#define DEFAULT_W 1280
#define DEFAULT_H 720
#define DEFAULT_RATE 30u
#define MAX_RATE 1000u

int synth_spec_error(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		int n = snprintf(err, err_len, "synthetic: ");
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < err_len)
			vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal digits only, no sign or space, at most max. */
static bool parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t digit = (uint64_t)(s[i] - '0');
		if (s[i] < '0' || s[i] > '9' || v > max / 10u || v * 10u > max - digit)
			return false;
		v = v * 10u + digit;
	}
	*out = v;
	return true;
}

static int parse_dimension(const char *what, const char *s, size_t n, int *out, char *err,
			   size_t err_len)
{
	uint64_t v;

	if (n == 0)
		return synth_spec_error(err, err_len, "%s missing in size (expected WIDTHxHEIGHT, e.g. "
				  "1280x720)", what);
	if (!parse_uint(s, n, SYNTHETIC_MAX_DIM, &v) || v < SYNTHETIC_MIN_DIM)
		return synth_spec_error(err, err_len, "%s '%.*s' out of range (%d..%d)", what, (int)n, s,
				  SYNTHETIC_MIN_DIM, SYNTHETIC_MAX_DIM);
	*out = (int)v;
	return 0;
}

static int parse_size(const char *s, size_t n, struct synth_config *cfg, char *err,
		      size_t err_len)
{
	const char *x = memchr(s, 'x', n);

	if (n == 0)
		return 0;
	if (!x)
		return synth_spec_error(err, err_len,
				  "bad size '%.*s' (expected WIDTHxHEIGHT, e.g. 1280x720)", (int)n, s);
	for (size_t i = 0; i < n; i++)
		if ((s[i] < '0' || s[i] > '9') && s + i != x)
			return synth_spec_error(err, err_len,
					  "bad size '%.*s' (expected WIDTHxHEIGHT, e.g. 1280x720)",
					  (int)n, s);
	if (parse_dimension("width", s, (size_t)(x - s), &cfg->w, err, err_len) ||
	    parse_dimension("height", x + 1, n - (size_t)(x - s) - 1, &cfg->h, err, err_len))
		return -EINVAL;
	return 0;
}

static int parse_scene(const char *s, size_t n, struct synth_config *cfg, char *err,
		       size_t err_len)
{
	if (n == 0 || synth_scene_from_name(s, n, &cfg->scene))
		return 0;
	return synth_spec_error(err, err_len,
			  "unknown scene '%.*s' (valid: static, desktop, typing, scroll, drag, "
			  "video, flip, modes)", (int)n, s);
}

/* fail= is a fault-injection option for tests: documented in synthetic.h, not offered here. */
#define VALID_OPTIONS "format=XR24|XB24, frames=N, rate=N, cursor=on|off, stamp=on|off"

enum option { OPT_FORMAT, OPT_FRAMES, OPT_RATE, OPT_CURSOR, OPT_STAMP, OPT_FAIL, OPT_COUNT };

static const char *const option_names[OPT_COUNT] = { "format", "frames", "rate", "cursor",
						     "stamp", "fail" };

static bool parse_on_off(const char *v, size_t n, bool *out)
{
	if (n == 2 && memcmp(v, "on", 2) == 0)
		*out = true;
	else if (n == 3 && memcmp(v, "off", 3) == 0)
		*out = false;
	else
		return false;
	return true;
}

/* "enodev@A" (gone from tick A on) or "enodev@A-B" (gone for ticks A..B-1, then back). */
static int parse_fail(const char *v, size_t n, struct synth_config *cfg, char *err,
		      size_t err_len)
{
	static const char kind[] = "enodev@";
	size_t k = sizeof(kind) - 1;
	const char *dash = n > k ? memchr(v + k, '-', n - k) : NULL;
	uint64_t from, to = UINT64_MAX;

	if (n <= k || memcmp(v, kind, k) != 0 ||
	    !parse_uint(v + k, (size_t)((dash ? dash : v + n) - (v + k)), SYNTHETIC_TICK_MAX,
			&from) ||
	    (dash && (!parse_uint(dash + 1, (size_t)(v + n - dash - 1), SYNTHETIC_TICK_MAX, &to) ||
		      to <= from)))
		return synth_spec_error(err, err_len, "bad fail '%.*s' (valid: enodev@A or enodev@A-B, "
				  "ticks A < B)", (int)n, v);
	cfg->has_fail = true;
	cfg->fail_from = from;
	cfg->fail_to = to;
	return 0;
}

static int parse_option_value(enum option opt, const char *v, size_t n,
			      struct synth_config *cfg, char *err, size_t err_len)
{
	uint64_t num;

	switch (opt) {
	case OPT_FORMAT:
		if (n == 4 && memcmp(v, "XR24", 4) == 0)
			cfg->fourcc = PLANE_FORMAT_XRGB8888;
		else if (n == 4 && memcmp(v, "XB24", 4) == 0)
			cfg->fourcc = PLANE_FORMAT_XBGR8888;
		else
			return synth_spec_error(err, err_len, "bad format '%.*s' (valid: XR24, XB24)", (int)n, v);
		return 0;
	case OPT_FRAMES:
		if (!parse_uint(v, n, SYNTHETIC_TICK_MAX, &num))
			return synth_spec_error(err, err_len, "bad frames '%.*s' (valid: 0..%llu)", (int)n, v,
					  (unsigned long long)SYNTHETIC_TICK_MAX);
		cfg->has_frames = true;
		cfg->frames = num;
		return 0;
	case OPT_RATE:
		if (!parse_uint(v, n, MAX_RATE, &num) || num == 0)
			return synth_spec_error(err, err_len, "bad rate '%.*s' (valid: 1..%u ticks a second)",
					  (int)n, v, MAX_RATE);
		cfg->rate = (unsigned)num;
		return 0;
	case OPT_CURSOR:
		if (!parse_on_off(v, n, &cfg->cursor))
			return synth_spec_error(err, err_len, "bad cursor '%.*s' (valid: on, off)", (int)n, v);
		return 0;
	case OPT_STAMP:
		if (!parse_on_off(v, n, &cfg->stamp))
			return synth_spec_error(err, err_len, "bad stamp '%.*s' (valid: on, off)", (int)n, v);
		return 0;
	case OPT_FAIL:
		return parse_fail(v, n, cfg, err, err_len);
	case OPT_COUNT:
		break;
	}
	return -EINVAL;
}

static int parse_option(const char *s, size_t n, bool seen[OPT_COUNT], struct synth_config *cfg,
			char *err, size_t err_len)
{
	const char *eq = memchr(s, '=', n);
	size_t name_len = eq ? (size_t)(eq - s) : n;

	if (n == 0)
		return synth_spec_error(err, err_len, "empty option (valid: " VALID_OPTIONS ")");
	for (int o = 0; o < OPT_COUNT; o++) {
		if (strlen(option_names[o]) != name_len || memcmp(option_names[o], s, name_len) != 0)
			continue;
		if (!eq)
			return synth_spec_error(err, err_len, "option '%.*s' needs a value (valid: "
					  VALID_OPTIONS ")", (int)n, s);
		if (seen[o])
			return synth_spec_error(err, err_len, "option '%s' given twice", option_names[o]);
		seen[o] = true;
		return parse_option_value((enum option)o, eq + 1, n - name_len - 1, cfg, err, err_len);
	}
	return synth_spec_error(err, err_len, "unknown option '%.*s' (valid: " VALID_OPTIONS ")",
			  (int)name_len, s);
}

static int parse_options(const char *s, size_t n, struct synth_config *cfg, char *err,
			 size_t err_len)
{
	bool seen[OPT_COUNT] = { false };

	if (n == 0)
		return 0;
	if (memchr(s, ':', n))
		return synth_spec_error(err, err_len, "unexpected ':' in options '%.*s' (separate options "
				  "with ',')", (int)n, s);
	for (const char *end = s + n; s <= end;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		int rc = parse_option(s, (size_t)(stop - s), seen, cfg, err, err_len);
		if (rc)
			return rc;
		s = stop + 1;
	}
	return 0;
}

int synth_spec_parse(const char *spec, struct synth_config *cfg, char *err, size_t err_len)
{
	*cfg = (struct synth_config){ .w = DEFAULT_W, .h = DEFAULT_H, .scene = SYNTH_SCENE_DESKTOP,
				      .fourcc = PLANE_FORMAT_XRGB8888, .rate = DEFAULT_RATE,
				      .cursor = true };
	if (!spec)
		spec = "";
	size_t len = strlen(spec);
	const char *end = spec + len;
	const char *c1 = memchr(spec, ':', len);
	const char *scene = c1 ? c1 + 1 : end;
	const char *c2 = c1 ? memchr(scene, ':', (size_t)(end - scene)) : NULL;
	const char *opts = c2 ? c2 + 1 : end;

	if (parse_size(spec, (size_t)((c1 ? c1 : end) - spec), cfg, err, err_len) ||
	    parse_scene(scene, (size_t)((c2 ? c2 : end) - scene), cfg, err, err_len) ||
	    (c2 && parse_options(opts, (size_t)(end - opts), cfg, err, err_len)))
		return -EINVAL;
	return 0;
}
