/* TCP and unix listeners, and one accept thread that polls them all. */
#include "listeners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd_budget.h"
#include "clock.h"
#include "log.h"
#include "unix_path.h"

bool listeners_host_is_loopback(const char *host)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	bool all = res != NULL;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)a->ai_addr;
			all &= (ntohl(s->sin_addr.s_addr) >> 24) == 127;
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)a->ai_addr;
			all &= IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
		} else {
			all = false;
		}
	}
	freeaddrinfo(res);
	return all;
}

static int open_tcp(struct listener *li, char *err, size_t err_len)
{
	char port[8], text[300];
	snprintf(port, sizeof(port), "%d", li->addr.port);
	config_listen_str(&li->addr, text, sizeof(text));
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(li->addr.host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, err_len, "listen %s: %s", text, gai_strerror(gai));
		return -EINVAL;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 32) < 0) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, err_len, "listen %s: %s", text, strerror(e ? e : EADDRNOTAVAIL));
		return -(e ? e : EADDRNOTAVAIL);
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		li->addr.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							       : ((struct sockaddr_in *)&ss)->sin_port);
	li->fd = fd;
	return 0;
}

/* A stale socket file from a crashed run is replaced; a live one (someone accepts on it)
 * or any other kind of file is left alone and reported. */
static int clear_stale_unix(const char *path, char *err, size_t err_len)
{
	int r = unix_path_clear_stale(path);
	if (r == -EEXIST)
		snprintf(err, err_len, "listen unix:%s: exists and is not a socket", path);
	else if (r == -EADDRINUSE)
		snprintf(err, err_len, "listen unix:%s: another server is listening there", path);
	return r;
}

static int set_unix_perms(const struct listen_addr *a, char *err, size_t err_len);

static int open_unix(struct listener *li, char *err, size_t err_len)
{
	const char *path = li->addr.path;
	int r = clear_stale_unix(path, err, err_len);
	if (r < 0) {
		if (r != -EEXIST && r != -EADDRINUSE)
			snprintf(err, err_len, "listen unix:%s: %s", path, strerror(-r));
		return r;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* With --unix-mode, the socket is born with at most that mode (the inode's mode, less
	 * the umask), so that nobody else can connect between bind() and chmod(). */
	if (fd >= 0 && li->addr.mode)
		(void)fchmod(fd, li->addr.mode);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, err_len, "listen unix:%s: %s", path, strerror(e));
		return -e;
	}
	/* Mode and owner before listen(): nobody connects under the umask's mode. */
	r = set_unix_perms(&li->addr, err, err_len);
	if (r == 0 && listen(fd, 32) < 0) {
		r = -errno;
		snprintf(err, err_len, "listen unix:%s: %s", path, strerror(-r));
	}
	if (r < 0) {
		close(fd);
		unlink(path);
		return r;
	}
	li->fd = fd;
	li->unlink_on_close = true;
	return 0;
}

/* A user or group: its name first, else a number. The user's primary group comes back
 * in *primary_gid. 0, or -ENOENT for a name that does not exist. */
static int resolve_id(const char *text, bool is_group, unsigned *id, gid_t *primary_gid)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (is_group) {
		struct group *gr = getgrnam(text);
		if (gr) {
			*id = gr->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(text);
		if (pw) {
			*id = pw->pw_uid;
			*primary_gid = pw->pw_gid;
			return 0;
		}
	}
	if (*end != '\0')
		return -ENOENT;
	*id = (unsigned)v;
	return 0;
}

/* "USER[:GROUP]", names or numbers; -1 leaves that part alone. A user given by name
 * brings its primary group, unless GROUP is given. */
static int resolve_owner(const char *text, uid_t *uid, gid_t *gid)
{
	char user[64], *group;
	snprintf(user, sizeof(user), "%s", text);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	unsigned id;
	gid_t primary = (gid_t)-1;
	if (user[0]) {
		if (resolve_id(user, false, &id, &primary) < 0)
			return -ENOENT;
		*uid = (uid_t)id;
		if (!group)
			*gid = primary;
	}
	if (group && group[0]) {
		if (resolve_id(group, true, &id, NULL) < 0)
			return -ENOENT;
		*gid = (gid_t)id;
	}
	return 0;
}

/* --unix-mode and --unix-owner on a socket file just bound. */
static int set_unix_perms(const struct listen_addr *a, char *err, size_t err_len)
{
	if (a->owner[0]) {
		uid_t uid;
		gid_t gid;
		if (resolve_owner(a->owner, &uid, &gid) < 0) {
			snprintf(err, err_len, "listen unix:%s: --unix-owner %s: no such user or group",
				 a->path, a->owner);
			return -ENOENT;
		}
		if (chown(a->path, uid, gid) < 0) {
			int e = errno;
			snprintf(err, err_len, "listen unix:%s: --unix-owner %s: %s", a->path,
				 a->owner, strerror(e));
			return -e;
		}
	}
	if (a->mode && chmod(a->path, a->mode) < 0) {
		int e = errno;
		snprintf(err, err_len, "listen unix:%s: --unix-mode %04o: %s", a->path, a->mode,
			 strerror(e));
		return -e;
	}
	return 0;
}

/* An inherited socket (--listen fd:N, socket activation): it must be a listening stream
 * socket; from now on it is ours to close. */
static int open_fd(struct listener *li, char *err, size_t err_len)
{
	int fd = li->addr.fd, on = 0;
	socklen_t sl = sizeof(on);
	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(err, err_len, "listen fd:%d: not an open file descriptor", fd);
		return -EBADF;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &sl) < 0) {
		int e = errno;
		snprintf(err, err_len, "listen fd:%d: not a socket (%s)", fd, strerror(e));
		return e == ENOTSOCK ? -ENOTSOCK : -e;
	}
	if (!on) {
		snprintf(err, err_len, "listen fd:%d: the socket is not listening (call listen() "
				       "on it before handing it over)", fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Non-blocking: when another process accepts on the same socket, or a client gives
	 * up between poll() and accept(), accept() must not block the thread that
	 * listeners_stop() waits for. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	li->fd = fd;
	return 0;
}

/* The same socket given twice (systemd's LISTEN_FDS and --listen fd:3, two fds of one
 * socket, an address repeated) is listened on once. Returns the earlier listener or NULL. */
static const struct listener *find_same(const struct listeners *l, const struct listen_addr *a)
{
	struct stat st, other;
	bool have_st = a->kind == LISTEN_FD && fstat(a->fd, &st) == 0;
	char text[CONFIG_LISTEN_STR_MAX], other_text[CONFIG_LISTEN_STR_MAX];
	config_listen_str(a, text, sizeof(text));
	for (unsigned i = 0; i < l->count; i++) {
		const struct listener *li = &l->items[i];
		if (li->addr.kind != a->kind)
			continue;
		if (a->kind != LISTEN_FD) {
			/* A TCP port 0 gets a port each time: only equal if it was asked for. */
			if (!(a->kind == LISTEN_TCP && a->port == 0) &&
			    !strcmp(text, config_listen_str(&li->addr, other_text, sizeof(other_text))))
				return li;
			continue;
		}
		if (li->fd == a->fd)
			return li;
		if (have_st && fstat(li->fd, &other) == 0 && st.st_dev == other.st_dev &&
		    st.st_ino == other.st_ino)
			return li;
	}
	return NULL;
}

static void close_all(struct listeners *l)
{
	for (unsigned i = 0; i < l->count; i++) {
		struct listener *li = &l->items[i];
		if (li->fd >= 0)
			close(li->fd);
		if (li->unlink_on_close)
			unlink(li->addr.path);
		li->fd = -1;
	}
	l->count = 0;
}

int listeners_open(struct listeners *l, const struct listen_addr *addrs, unsigned n, char *err,
		   size_t err_len)
{
	memset(l, 0, sizeof(*l));
	l->wake[0] = l->wake[1] = -1;
	for (unsigned i = 0; i < n && i < CONFIG_MAX_LISTEN; i++) {
		char text[CONFIG_LISTEN_STR_MAX], first[CONFIG_LISTEN_STR_MAX];
		const struct listener *same = find_same(l, &addrs[i]);
		if (same) {
			log_warn("%s is the same socket as %s: listening on it once",
				 config_listen_str(&addrs[i], text, sizeof(text)),
				 config_listen_str(&same->addr, first, sizeof(first)));
			/* Another fd of a socket we listen on already: ours to close. */
			if (addrs[i].kind == LISTEN_FD && addrs[i].fd != same->fd)
				close(addrs[i].fd);
			continue;
		}
		struct listener *li = &l->items[l->count++];
		li->fd = -1;
		li->addr = addrs[i];
		int r = li->addr.kind == LISTEN_TCP ? open_tcp(li, err, err_len)
			: li->addr.kind == LISTEN_FD ? open_fd(li, err, err_len)
						     : open_unix(li, err, err_len);
		if (r < 0) {
			l->count--;
			close_all(l);
			return r;
		}
		log_info("listening on %s", config_listen_str(&li->addr, text, sizeof(text)));
	}
	return 0;
}

static void peer_name(int fd, const struct listener *li, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	if (li->addr.kind == LISTEN_UNIX || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(buf, len, "unix:%s", li->addr.path);
		return;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		snprintf(buf, len, "fd:%d", li->addr.fd);
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&ss;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s->sin6_port));
	} else {
		const struct sockaddr_in *s = (const void *)&ss;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s->sin_port));
	}
}

/* Who is on the other end of a unix connection: the log says, since no address does. */
static void log_unix_peer(int fd, const char *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != AF_UNIX)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		log_info("connection on %s from pid %d, uid %u, gid %u", peer, (int)cred.pid,
			 (unsigned)cred.uid, (unsigned)cred.gid);
}

static void *accept_thread(void *arg)
{
	struct listeners *l = arg;
	struct pollfd pfd[CONFIG_MAX_LISTEN + 1];
	uint64_t last_tick = clock_now_ms();
	for (;;) {
		unsigned n = 0;
		pfd[n++] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
		for (unsigned i = 0; i < l->count; i++)
			pfd[n++] = (struct pollfd){.fd = l->items[i].fd, .events = POLLIN};
		if (l->on_tick && clock_now_ms() - last_tick >= 1000) {
			last_tick = clock_now_ms();
			l->on_tick(l->opaque);
		}
		if (poll(pfd, n, l->on_tick ? 1000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("accept: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[0].revents)
			return NULL;
		for (unsigned i = 0; i < l->count; i++) {
			if (!(pfd[i + 1].revents & POLLIN))
				continue;
			int fd = fd_budget_accept(l->items[i].fd);
			if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
				       errno == ECONNABORTED))
				continue; /* taken by someone else, or gone already */
			if (fd < 0) {
				/* EMFILE and friends: say so, back off, keep serving. */
				static struct log_ratelimit rl;
				log_ratelimited(&rl, 5000, LOG_WARN, "accept: %s", strerror(errno));
				if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
				    errno == ENOMEM)
					usleep(100 * 1000);
				continue;
			}
			if (l->items[i].addr.kind != LISTEN_UNIX) { /* fails harmlessly on unix */
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			}
			char peer[128];
			peer_name(fd, &l->items[i], peer, sizeof(peer));
			if (!fd_budget_fits(fd)) {
				/* libvncserver's select() would abort the process on this fd. */
				static struct log_ratelimit rl_fd;
				log_ratelimited(&rl_fd, 5000, LOG_WARN,
						"client %s refused: its socket is fd %d, and libvncserver's "
						"select() only takes fds below %d, with room for the "
						"client's wake pipe (too many files open; see "
						"--max-clients)", peer, fd, FD_SETSIZE);
				close(fd);
				continue;
			}
			log_unix_peer(fd, peer);
			l->on_accept(l->opaque, fd, peer, &l->items[i]);
		}
	}
}

int listeners_start(struct listeners *l, listeners_accept_fn fn, void *opaque)
{
	if (pipe2(l->wake, O_CLOEXEC) < 0)
		return -errno;
	l->on_accept = fn;
	l->opaque = opaque;
	int r = pthread_create(&l->thread, NULL, accept_thread, l);
	if (r != 0)
		return -r;
	l->running = true;
	return 0;
}

void listeners_stop(struct listeners *l)
{
	if (l->running) {
		ssize_t w = write(l->wake[1], "x", 1);
		(void)w;
		pthread_join(l->thread, NULL);
		l->running = false;
	}
	for (int i = 0; i < 2; i++)
		if (l->wake[i] >= 0)
			close(l->wake[i]);
	l->wake[0] = l->wake[1] = -1;
	close_all(l);
}

int listeners_socket_activation(struct config *cfg, char *err, size_t err_len)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	if (!fds || !pid)
		return 0;
	char *end;
	unsigned long n = strtoul(fds, &end, 10);
	bool fds_ok = *fds && *end == '\0';
	unsigned long p = strtoul(pid, &end, 10);
	bool ours = *pid && *end == '\0' && p == (unsigned long)getpid();
	/* Not for our children, whatever happens next. */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (!ours)
		return 0;
	if (!fds_ok || n == 0) {
		snprintf(err, err_len, "socket activation: LISTEN_FDS='%s' is not a count", fds);
		return -EINVAL;
	}
	/* The inherited sockets replace the default address; --listen adds to them. */
	if (cfg->listen_default)
		cfg->n_listen = 0;
	if (n > CONFIG_MAX_LISTEN - cfg->n_listen) {
		snprintf(err, err_len, "socket activation: %lu sockets, at most %u fit", n,
			 CONFIG_MAX_LISTEN - cfg->n_listen);
		return -EINVAL;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct listen_addr *a = &cfg->listen[cfg->n_listen++];
		memset(a, 0, sizeof(*a));
		a->kind = LISTEN_FD;
		a->fd = 3 + (int)i; /* SD_LISTEN_FDS_START */
	}
	cfg->listen_default = false;
	return (int)n;
}
