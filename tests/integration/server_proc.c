/* The server under test as a child process: start, read its log, stop. See server_proc.h. */
#include "server_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_ARGS 64

/* Lines that mean a sanitizer found something, even if the exit status hides it. */
static const char *const sanitizer_marks[] = {
	"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
	"WARNING: ThreadSanitizer",
};

static void log_append(struct server_proc *s, const char *data, size_t n)
{
	pthread_mutex_lock(&s->lock);
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *p;

		while (cap < s->len + n + 1)
			cap *= 2;
		p = realloc(s->log, cap);
		if (!p) {
			pthread_mutex_unlock(&s->lock);
			return; /* keep what we have; the test will still see the status */
		}
		s->log = p;
		s->cap = cap;
	}
	memcpy(s->log + s->len, data, n);
	s->len += n;
	s->log[s->len] = '\0';
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *reader_main(void *arg)
{
	struct server_proc *s = arg;
	char buf[4096];

	for (;;) {
		ssize_t n = read(s->log_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		log_append(s, buf, (size_t)n);
		if (getenv("VNC_CHECK_ECHO_SERVER"))
			(void)!write(STDERR_FILENO, buf, (size_t)n);
	}
	pthread_mutex_lock(&s->lock);
	s->eof = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* In the child: only async-signal-safe calls until exec. */
static void exec_child(int log_w, pid_t parent, const char *bin, char *const argv[])
{
	static const char msg[] = "vnc_check: exec of the server failed\n";
	int null_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(log_w, STDOUT_FILENO);
	dup2(log_w, STDERR_FILENO);
	execv(bin, argv);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(127);
}

int server_start(struct server_proc *s, const char *bin, const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	int fds[2];
	size_t n = 0;
	pid_t parent = getpid();

	memset(s, 0, sizeof(*s));
	s->log_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);

	argv[n++] = (char *)bin;
	for (; args && *args && n <= MAX_ARGS; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		say("pipe2: %s", strerror(errno));
		return -1;
	}
	s->pid = fork();
	if (s->pid < 0) {
		say("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		s->pid = 0;
		return -1;
	}
	if (s->pid == 0)
		exec_child(fds[1], parent, bin, argv);
	close(fds[1]);
	s->log_fd = fds[0];
	if (pthread_create(&s->reader, NULL, reader_main, s) != 0) {
		say("pthread_create failed");
		return -1;
	}
	s->reader_running = true;
	return 0;
}

/* Reap the child if it has exited. True if it is gone. */
static bool reap(struct server_proc *s)
{
	pid_t r;

	if (s->pid == 0)
		return true;
	r = waitpid(s->pid, &s->status, WNOHANG);
	if (r == s->pid) {
		s->pid = 0;
		return true;
	}
	return false;
}

/* The address of the first complete "listening on PREFIX..." line, into addr. Caller holds
 * the lock. */
static bool find_listen_locked(const struct server_proc *s, const char *prefix, char *addr,
			       size_t len)
{
	static const char mark[] = "listening on ";
	const char *p = s->log;

	while (p && (p = strstr(p, mark))) {
		const char *eol;

		p += sizeof(mark) - 1;
		eol = strchr(p, '\n');
		if (!eol)
			return false; /* the line is not complete yet */
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(addr, len, "%.*s", (int)(eol - p), p);
			return true;
		}
	}
	return false;
}

bool server_wait_listen(struct server_proc *s, const char *prefix, char *addr, size_t len,
			double timeout_s)
{
	double deadline = now_s() + (timeout_s < SERVER_WAIT_MIN_S ? SERVER_WAIT_MIN_S : timeout_s);

	for (;;) {
		bool found, gone;

		pthread_mutex_lock(&s->lock);
		found = find_listen_locked(s, prefix, addr, len);
		pthread_mutex_unlock(&s->lock);
		if (found)
			return true;
		gone = reap(s);
		if (now_s() > deadline || (gone && s->eof))
			return false;
		sleep_s(0.005);
	}
}

int server_wait_port(struct server_proc *s, double timeout_s)
{
	char addr[300];
	const char *colon;

	if (!server_wait_listen(s, "tcp:", addr, sizeof(addr), timeout_s))
		return -1;
	colon = strrchr(addr, ':');
	return colon ? atoi(colon + 1) : -1;
}

bool server_wait_exit(struct server_proc *s, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	while (!reap(s)) {
		if (now_s() > deadline)
			return false;
		sleep_s(0.005);
	}
	return true;
}

static void join_reader(struct server_proc *s)
{
	if (s->reader_running) {
		pthread_join(s->reader, NULL);
		s->reader_running = false;
	}
}

void server_join_log(struct server_proc *s)
{
	if (server_wait_exit(s, 0))
		join_reader(s);
}

static bool log_has_sanitizer_report(struct server_proc *s)
{
	for (size_t i = 0; i < sizeof(sanitizer_marks) / sizeof(sanitizer_marks[0]); i++)
		if (server_log_contains(s, sanitizer_marks[i]))
			return true;
	return false;
}

bool server_stop(struct server_proc *s, double timeout_s)
{
	char buf[64];
	bool killed = false;

	if (timeout_s < SERVER_WAIT_MIN_S)
		timeout_s = SERVER_WAIT_MIN_S;

	if (s->pid) {
		kill(s->pid, SIGTERM);
		if (!server_wait_exit(s, timeout_s)) {
			say("server did not exit within %.1f s of SIGTERM: SIGKILL", timeout_s);
			kill(s->pid, SIGKILL);
			server_wait_exit(s, 5);
			killed = true;
		}
	}
	join_reader(s);
	if (killed)
		return false;
	if (!WIFEXITED(s->status) || WEXITSTATUS(s->status) != 0) {
		say("server after SIGTERM: %s (want exit status 0)",
		    server_status_str(s, buf, sizeof(buf)));
		return false;
	}
	if (log_has_sanitizer_report(s)) {
		say("server log has a sanitizer report");
		return false;
	}
	return true;
}

void server_free(struct server_proc *s)
{
	if (s->pid) {
		kill(s->pid, SIGKILL);
		server_wait_exit(s, 5);
	}
	join_reader(s);
	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = -1;
	free(s->log);
	s->log = NULL;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

bool server_log_contains(struct server_proc *s, const char *needle)
{
	bool found;

	pthread_mutex_lock(&s->lock);
	found = s->log && strstr(s->log, needle);
	pthread_mutex_unlock(&s->lock);
	return found;
}

void server_print_log_tail(struct server_proc *s, int lines)
{
	const char *start;

	pthread_mutex_lock(&s->lock);
	start = s->log ? s->log + s->len : NULL;
	if (start) {
		int seen = 0;

		if (start > s->log && start[-1] == '\n')
			start--;
		while (start > s->log && seen < lines) {
			start--;
			if (*start == '\n')
				seen++;
		}
		if (*start == '\n')
			start++;
	}
	fprintf(stderr, "---- server log (last %d lines) ----\n%s%s---- end of server log ----\n",
		lines, start ? start : "(empty)\n",
		start && s->len && s->log[s->len - 1] != '\n' ? "\n" : "");
	pthread_mutex_unlock(&s->lock);
}

const char *server_status_str(const struct server_proc *s, char *buf, size_t len)
{
	if (s->pid)
		snprintf(buf, len, "running");
	else if (WIFEXITED(s->status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(s->status));
	else if (WIFSIGNALED(s->status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(s->status),
			 strsignal(WTERMSIG(s->status)));
	else
		snprintf(buf, len, "status 0x%x", s->status);
	return buf;
}
