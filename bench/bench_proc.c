/* Child processes: start, find the port in the log, stop (see bench_proc.h). */
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define LISTEN_MARK "listening on tcp:127.0.0.1:"

pid_t bench_child_start(char *const argv[], const char *log_path)
{
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "bench: %s: %s\n", log_path, strerror(errno));
		return -1;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only until exec. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(log_fd);
	if (pid < 0)
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
	return pid;
}

int bench_child_port(pid_t pid, const char *log_path, double timeout_s)
{
	double deadline = bench_now_s() + timeout_s;
	char buf[8192];
	while (bench_now_s() < deadline) {
		FILE *f = fopen(log_path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			const char *p = strstr(buf, LISTEN_MARK);
			if (p)
				return atoi(p + strlen(LISTEN_MARK));
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10000);
	}
	return -1;
}

bool bench_child_stop(pid_t pid, double timeout_s)
{
	int status = 0;
	kill(pid, SIGTERM);
	double deadline = bench_now_s() + timeout_s;
	while (bench_now_s() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0)
			return false;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

pid_t bench_server_start(const char *bin, const char *source, unsigned fps,
			 const char *const *extra, const char *log_path, int *port)
{
	char fps_s[16];
	snprintf(fps_s, sizeof(fps_s), "%u", fps);
	const char *argv[40] = {bin,     "--source",    source,  "--fps", fps_s, "--listen",
				"tcp:127.0.0.1:0", "--log-level", "info"};
	size_t n = 9;
	for (; extra && *extra && n < 39; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	unlink(log_path);
	pid_t pid = bench_child_start((char *const *)argv, log_path);
	if (pid < 0)
		return -1;
	*port = bench_child_port(pid, log_path, 10.0);
	if (*port <= 0) {
		fprintf(stderr, "bench: %s did not report a port (log: %s)\n", bin, log_path);
		bench_child_stop(pid, 2.0);
		return -1;
	}
	return pid;
}
