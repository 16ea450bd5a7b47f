/* Small shared pieces of the benchmark programs: clocks, statistics, and what /proc says
 * about a process (CPU time, memory).
 *
 * Used only by the programs under bench/; nothing here is part of the server. Pure
 * functions except the /proc readers, which read files and nothing else. Any thread.
 */
#ifndef VGPU_BENCH_UTIL_H
#define VGPU_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in nanoseconds / seconds. */
uint64_t bench_now_ns(void);
double bench_now_s(void);

/* Sleep until an absolute CLOCK_MONOTONIC time in ns (EINTR is retried). */
void bench_sleep_until_ns(uint64_t t);

/* Sorts v in place and returns the p-th percentile (0..100, nearest rank); 0 if n == 0. */
double bench_percentile(double *v, size_t n, double p);

/* The median of v, sorting it in place. */
static inline double bench_median(double *v, size_t n)
{
	return bench_percentile(v, n, 50.0);
}

/* CPU time of a process as /proc/PID/stat reports it: utime + stime, converted from clock
 * ticks to seconds (resolution 1/sysconf(_SC_CLK_TCK), 10 ms on Debian). -1 on error. */
double bench_proc_cpu_s(pid_t pid);

/* The same from the scheduler's per-thread run time (/proc/PID/task/TID/schedstat, ns),
 * summed over the threads alive now: a cross-check with nanosecond resolution that misses
 * threads that already exited. -1 on error. */
double bench_proc_sched_s(pid_t pid);

struct bench_mem {
	long rss_kb, anon_kb, file_kb, shmem_kb; /* VmRSS, RssAnon, RssFile, RssShmem */
	long pss_kb;                             /* Pss from smaps_rollup, -1 if absent */
};

/* 0, or -1 if the process is gone. */
int bench_proc_mem(pid_t pid, struct bench_mem *out);

/* A deterministic PRNG (xorshift64*), so that runs draw the same sequence. */
uint64_t bench_rand(uint64_t *state);

/* "%.*f" with enough decimals for a value around v (3 significant digits, at least 0). */
void bench_fmt(char *buf, size_t len, double v);

/* The "--NAME VALUE" options the programs share the reading of: a table of names and where
 * each value goes. */
enum bench_opt_kind {
	BENCH_OPT_UNSIGNED, /* unsigned *, atoi */
	BENCH_OPT_DOUBLE,   /* double *, atof */
	BENCH_OPT_STRING,   /* const char **, the argument itself */
	BENCH_OPT_OUTPUT,   /* FILE **, bench_open_out */
};

struct bench_opt {
	const char *name; /* with the dashes: "--frames" */
	enum bench_opt_kind kind;
	void *dst;
};

/* Whether key names one of the n options; if so its value is stored. */
bool bench_opt_set(const struct bench_opt *opts, size_t n, const char *key, const char *value);

/* path opened for writing; the program exits with status 2, saying why, if it cannot be. */
FILE *bench_open_out(const char *path);

#endif
