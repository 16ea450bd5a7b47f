/* The --config INI file, read through inih into the option table. See config_ini.h. */
#include "config_ini.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>

/* Room for "key = " and the longest value (a PATH_MAX path) on one line. */
#define FILE_LINE_MAX (PATH_MAX + 256)

struct file_reader {
	struct option_loader *ld;
	FILE *f;
	int lineno;    /* of the line inih is looking at */
	int read_errno;
	int fail_line; /* 0: no error yet */
	char msg[WHY_MAX + 64];
};

static void file_fail(struct file_reader *fr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void file_fail(struct file_reader *fr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fr->fail_line = fr->lineno;
	vsnprintf(fr->msg, sizeof(fr->msg), fmt, ap);
	va_end(ap);
}

static bool section_ok(const char *name, size_t len)
{
	return len == strlen(INI_SECTION) && !strncmp(name, INI_SECTION, len);
}

/* inih as built here does not pass line numbers to the handler and reads a long line as
 * several; the reader counts lines itself, refuses long ones, and stops at the first error
 * so that the message is about the first bad line. */
static char *file_read_line(char *buf, int size, void *stream)
{
	struct file_reader *fr = stream;
	if (fr->fail_line)
		return NULL;
	errno = 0;
	if (!fgets(buf, size, fr->f)) {
		if (ferror(fr->f))
			fr->read_errno = errno ? errno : EIO;
		return NULL;
	}
	fr->lineno++;
	size_t n = strlen(buf);
	if (n == (size_t)size - 1 && buf[n - 1] != '\n') {
		int c = getc(fr->f);
		if (c != EOF && c != '\n') {
			file_fail(fr, "line is longer than %d bytes", size - 2);
			return NULL;
		}
	}
	/* A UTF-8 byte order mark goes here rather than in inih, so that the section check
	 * below sees a section on the first line. */
	size_t skip = fr->lineno == 1 && !strncmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
	/* inih takes an indented line for the continuation of the previous value: an indented
	 * key would silently become part of the value above it. */
	skip += strspn(buf + skip, " \t");
	memmove(buf, buf + skip, n - skip + 1);
	/* The handler never hears of a section with no keys in it. */
	if (buf[0] == '[') {
		const char *close = strchr(buf, ']');
		if (close && !section_ok(buf + 1, (size_t)(close - buf - 1))) {
			file_fail(fr, "unknown section '%.*s' (use [" INI_SECTION "] or none)",
				  (int)(close - buf + 1), buf);
			return NULL;
		}
	}
	return buf;
}

static int file_handle(void *user, const char *section, const char *name, const char *value)
{
	struct file_reader *fr = user;
	char why[WHY_MAX];
	if (*section && !section_ok(section, strlen(section))) {
		file_fail(fr, "unknown section '[%s]' (use [" INI_SECTION "] or none)", section);
		return 0;
	}
	int id = option_by_name(name);
	if (id < 0) {
		file_fail(fr, "unknown key '%s'", name);
		return 0;
	}
	if (!option_in_file(id)) {
		file_fail(fr, "'%s' can only be given on the command line", name);
		return 0;
	}
	if (option_apply(fr->ld, id, FROM_FILE, value, why, sizeof(why))) {
		file_fail(fr, "%s: %s", name, why);
		return 0;
	}
	return 1;
}

int config_ini_load(struct option_loader *ld, const char *path, FILE *err)
{
	struct file_reader fr = {.ld = ld};
	fr.f = fopen(path, "re");
	if (!fr.f) {
		config_fail(err, "--config: cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* Debian's inih exposes its line limit (default 200 bytes) at run time; a path value
	 * needs more. config_load() runs before any thread, so the global is ours for now. */
	int saved_max_line = ini_max_line;
	ini_max_line = FILE_LINE_MAX;
	int rc = ini_parse_stream(file_read_line, &fr, file_handle, &fr);
	ini_max_line = saved_max_line;
	fclose(fr.f);

	/* inih goes on after a line it cannot parse; the first error is the one to report. */
	if (rc > 0 && (!fr.fail_line || rc < fr.fail_line)) {
		config_fail(err, "%s:%d: expected 'key = value' or '[" INI_SECTION "]'", path, rc);
		return -1;
	}
	if (fr.fail_line) {
		config_fail(err, "%s:%d: %s", path, fr.fail_line, fr.msg);
		return -1;
	}
	if (fr.read_errno) {
		config_fail(err, "--config: cannot read '%s': %s", path, strerror(fr.read_errno));
		return -1;
	}
	if (rc < 0) {
		config_fail(err, "--config: cannot read '%s': %s", path, strerror(ENOMEM));
		return -1;
	}
	return 0;
}
