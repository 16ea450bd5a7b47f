/* The server under test as a child process.
 *
 * server_start() fork/execs the vgpu-vnc binary with its stdout and stderr on one pipe; a
 * reader thread keeps the whole log in memory (so the server never blocks on a full pipe)
 * and wakes whoever waits for a line. The child gets SIGKILL if the test process dies.
 */
#ifndef VNC_CHECK_SERVER_PROC_H
#define VNC_CHECK_SERVER_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc_stats.h" /* proc_fd_count(), proc_rss_kib(): the server's holdings */

struct server_proc {
	pid_t pid;          /* 0 once reaped */
	int status;         /* waitpid status once reaped */
	int log_fd;         /* read end of the stdout/stderr pipe */
	pthread_t reader;
	bool reader_running;
	pthread_mutex_t lock; /* guards log, len, eof */
	pthread_cond_t cond;  /* signalled on new output and on EOF */
	char *log;
	size_t len, cap;
	bool eof;
};

/* The least time server_wait_listen/server_wait_port and server_stop give the server: an
 * outer limit against a hang, generous enough for a loaded machine and sanitizers. A test
 * that wants a speed measures it in bench/. */
#define SERVER_WAIT_MIN_S 30.0

/* Start bin with args (NULL-terminated, without argv[0]). 0 or -1 with a message on stderr. */
int server_start(struct server_proc *s, const char *bin, const char *const *args);

/* Wait for "listening on tcp:HOST:PORT" in the log; the port or -1 (timeout, exit). */
int server_wait_port(struct server_proc *s, double timeout_s);

/* Wait for a "listening on PREFIX..." line ("unix:", "tcp:[::1]:"); copy the address
 * (the rest of the line after "listening on ") to addr. False on timeout (at least
 * SERVER_WAIT_MIN_S) or exit. */
bool server_wait_listen(struct server_proc *s, const char *prefix, char *addr, size_t len,
			double timeout_s);

/* Wait up to timeout_s for the server to exit by itself. True if it did (status set). */
bool server_wait_exit(struct server_proc *s, double timeout_s);

/* SIGTERM, wait up to timeout_s (at least SERVER_WAIT_MIN_S), then SIGKILL. True if the server exited with status 0
 * and its log shows no sanitizer report; otherwise says why on stderr. */
bool server_stop(struct server_proc *s, double timeout_s);

/* After the server exited by itself: wait for the rest of its log. */
void server_join_log(struct server_proc *s);

/* Free everything (kills the server if it still runs). */
void server_free(struct server_proc *s);

/* True if the log so far contains needle. */
bool server_log_contains(struct server_proc *s, const char *needle);

/* Print the last `lines` lines of the log to stderr, framed. */
void server_print_log_tail(struct server_proc *s, int lines);

/* "exited with status N" / "killed by signal N" / "running", for messages. */
const char *server_status_str(const struct server_proc *s, char *buf, size_t len);


#endif
