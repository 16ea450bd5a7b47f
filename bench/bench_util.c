/* Clocks, percentiles and /proc readers for the benchmarks. */
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

uint64_t bench_now_ns(void)
{
	return clock_now_ns();
}

double bench_now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

void bench_sleep_until_ns(uint64_t t)
{
	clock_sleep_until_ns(t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* Nearest rank: the smallest value with at least p% of the samples at or below it. */
	double rank = ceil(p / 100.0 * (double)n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return v[i < n ? i : n - 1];
}

/* /proc/PID/NAME into buf, NUL-terminated (cut to fit); false if it cannot be read. */
static bool read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return true;
}

double bench_proc_cpu_s(pid_t pid)
{
	char buf[1024];
	if (!read_proc(pid, "stat", buf, sizeof(buf)))
		return -1;
	/* The command name (field 2) may hold spaces and parentheses: fields 3.. follow the
	 * last ')'. utime and stime are fields 14 and 15. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long utime = 0, stime = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double bench_proc_sched_s(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	unsigned long long total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[320];
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p, "r");
		unsigned long long ns = 0;
		if (f && fscanf(f, "%llu", &ns) == 1)
			total += ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return (double)total / 1e9;
}

static long status_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

int bench_proc_mem(pid_t pid, struct bench_mem *out)
{
	char buf[4096];
	if (!read_proc(pid, "status", buf, sizeof(buf)))
		return -1;
	out->rss_kb = status_kb(buf, "VmRSS:");
	out->anon_kb = status_kb(buf, "RssAnon:");
	out->file_kb = status_kb(buf, "RssFile:");
	out->shmem_kb = status_kb(buf, "RssShmem:");
	out->pss_kb = -1;
	if (read_proc(pid, "smaps_rollup", buf, sizeof(buf)))
		out->pss_kb = status_kb(buf, "\nPss:");
	return out->rss_kb < 0 ? -1 : 0;
}

uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

void bench_fmt(char *buf, size_t len, double v)
{
	double a = fabs(v);
	int dec = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.1 ? 3 : 4;
	snprintf(buf, len, "%.*f", dec, v);
}

FILE *bench_open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		exit(2);
	}
	return f;
}

bool bench_opt_set(const struct bench_opt *opts, size_t n, const char *key, const char *value)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(opts[i].name, key) != 0)
			continue;
		switch (opts[i].kind) {
		case BENCH_OPT_UNSIGNED: *(unsigned *)opts[i].dst = (unsigned)atoi(value); break;
		case BENCH_OPT_DOUBLE: *(double *)opts[i].dst = atof(value); break;
		case BENCH_OPT_STRING: *(const char **)opts[i].dst = value; break;
		case BENCH_OPT_OUTPUT: *(FILE **)opts[i].dst = bench_open_out(value); break;
		}
		return true;
	}
	return false;
}
