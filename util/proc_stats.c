/* Holdings from /proc: see proc_stats.h. */
#include "proc_stats.h"

#include <dirent.h>
#include <stdio.h>

static void proc_path(char *buf, size_t len, pid_t pid, const char *what)
{
	if (pid)
		snprintf(buf, len, "/proc/%d/%s", (int)pid, what);
	else
		snprintf(buf, len, "/proc/self/%s", what);
}

int proc_fd_count(pid_t pid)
{
	char path[64];
	proc_path(path, sizeof(path), pid, "fd");
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	/* Our own listing holds one fd while it counts. */
	return pid ? n : n - 1;
}

long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	proc_path(path, sizeof(path), pid, "status");
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
