/* File descriptors below FD_SETSIZE for libvncserver's select(). See fd_budget.h. */
#include "fd_budget.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Between the pipe check and libvncserver's own pipe(), no other client start and no
 * accept (fd_budget_accept) takes the fds the check just found free. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Open fds below FD_SETSIZE (/proc/self/fd), or 0 if it cannot be read. */
static unsigned low_fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end == '\0' && end != e->d_name && fd >= 0 && fd < FD_SETSIZE &&
		    fd != dirfd(d))
			n++;
	}
	closedir(d);
	return n;
}

int fd_budget_setup(unsigned max_clients, char *err, size_t err_len)
{
	if (max_clients > FD_BUDGET_MAX_CLIENTS) {
		snprintf(err, err_len,
			 "--max-clients %u: at most %u clients fit. libvncserver watches clients with "
			 "select(), which only takes file descriptors below %d; each client needs %u "
			 "of them and the server keeps %u for itself",
			 max_clients, FD_BUDGET_MAX_CLIENTS, FD_SETSIZE, FD_BUDGET_PER_CLIENT,
			 FD_BUDGET_SERVER);
		return -EINVAL;
	}
	/* Above FD_SETSIZE: two shutdown() copies a client (handshake and client), and room
	 * for the rest. */
	rlim_t want = (rlim_t)FD_SETSIZE + 2u * max_clients + FD_BUDGET_SERVER;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, err_len, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
		if (rl.rlim_cur > old && setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("raised the soft RLIMIT_NOFILE from %llu to %llu for --max-clients %u",
				 (unsigned long long)old, (unsigned long long)rl.rlim_cur, max_clients);
		else
			rl.rlim_cur = old;
		if (rl.rlim_cur < want) {
			/* The copies land below FD_SETSIZE too: two more a client there. */
			unsigned fit = (FD_SETSIZE - FD_BUDGET_SERVER) / (FD_BUDGET_PER_CLIENT + 2u);
			if (max_clients > fit) {
				snprintf(err, err_len,
					 "--max-clients %u: RLIMIT_NOFILE is %llu (hard limit %llu) and "
					 "%llu are needed; with this limit at most %u clients fit. Raise "
					 "the limit (systemd: LimitNOFILE=) or lower --max-clients",
					 max_clients, (unsigned long long)rl.rlim_cur,
					 (unsigned long long)rl.rlim_max, (unsigned long long)want, fit);
				return -EMFILE;
			}
		}
	}
	unsigned open_now = low_fds_open();
	if (open_now + FD_BUDGET_SERVER + FD_BUDGET_PER_CLIENT * max_clients > FD_SETSIZE)
		log_warn("%u file descriptors below %d are open at start-up (inherited from the "
			 "parent?): not all --max-clients %u may fit; a client whose socket does not "
			 "fit is refused",
			 open_now, FD_SETSIZE, max_clients);
	return 0;
}

bool fd_budget_fits(int fd)
{
	return fd >= 0 && fd < FD_SETSIZE - 2;
}

int fd_budget_dup_high(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
	if (copy < 0) /* EINVAL: the limit ends at FD_SETSIZE; EMFILE: full up there */
		copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return copy;
}

int fd_budget_accept(int listen_fd)
{
	pthread_mutex_lock(&start_lock);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int e = errno;
	pthread_mutex_unlock(&start_lock);
	errno = e;
	return fd;
}

int fd_budget_start_client(rfbClientPtr cl)
{
	/* rfbStartOnHoldClient() makes the pipe with pipe(): the two lowest free fds, or -1
	 * (which FD_SET() takes no better) when none is left. A pipe of our own finds out
	 * where it would land; the lock keeps those fds free until libvncserver takes them. */
	pthread_mutex_lock(&start_lock);
	int p[2];
	bool fits = pipe2(p, O_CLOEXEC) == 0;
	if (fits) {
		fits = p[0] < FD_SETSIZE && p[1] < FD_SETSIZE;
		close(p[0]);
		close(p[1]);
	}
	if (fits)
		rfbStartOnHoldClient(cl);
	pthread_mutex_unlock(&start_lock);
	return fits ? 0 : -EMFILE;
}
