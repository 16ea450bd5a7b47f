/* The hand-over socket: listen, receive one fd per connection, watch the connection. */
#include "vfio_handover.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "unix_path.h"

#define HANDOVER_MSG_TIMEOUT_MS 5000
#define HANDOVER_MAX_FDS 8

struct vfio_handover {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int wake[2];
	int conn_fd;          /* the connection whose fd is in use, -1 none */
	uint64_t conn_id;     /* its number */
	uint64_t next_id;
	const struct vfio_handover_ops *ops;
	void *opaque;
	pthread_t thread;
	bool running;
};

/* Who may hand a device over (vfio_handover_set_access); root and our own user always. */
static struct {
	unsigned mode;
	unsigned uids[VFIO_HANDOVER_MAX_ALLOW], n_uids;
	unsigned gids[VFIO_HANDOVER_MAX_ALLOW], n_gids;
} access_ = {.mode = VFIO_HANDOVER_DEFAULT_MODE};

void vfio_handover_set_access(unsigned mode, const unsigned *uids, unsigned n_uids,
			      const unsigned *gids, unsigned n_gids)
{
	access_.mode = mode ? mode : VFIO_HANDOVER_DEFAULT_MODE;
	access_.n_uids = n_uids < VFIO_HANDOVER_MAX_ALLOW ? n_uids : VFIO_HANDOVER_MAX_ALLOW;
	access_.n_gids = n_gids < VFIO_HANDOVER_MAX_ALLOW ? n_gids : VFIO_HANDOVER_MAX_ALLOW;
	if (access_.n_uids)
		memcpy(access_.uids, uids, access_.n_uids * sizeof(*uids));
	if (access_.n_gids)
		memcpy(access_.gids, gids, access_.n_gids * sizeof(*gids));
}

static bool peer_allowed(const struct ucred *c)
{
	if (c->uid == 0 || c->uid == geteuid())
		return true;
	for (unsigned i = 0; i < access_.n_uids; i++)
		if (c->uid == access_.uids[i])
			return true;
	for (unsigned i = 0; i < access_.n_gids; i++)
		if (c->gid == access_.gids[i])
			return true;
	return false;
}

static int clear_stale(const char *path, char *err, size_t err_len)
{
	int r = unix_path_clear_stale(path);
	if (r == -EEXIST)
		snprintf(err, err_len, "source 'socket:%s': the path exists and is not a socket",
			 path);
	else if (r == -EADDRINUSE)
		snprintf(err, err_len,
			 "source 'socket:%s': another process is listening on this socket", path);
	else if (r < 0)
		snprintf(err, err_len, "source 'socket:%s': cannot check the old socket: %s", path,
			 strerror(-r));
	return r;
}

static void reply(int conn, const char *line)
{
	(void)!send(conn, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Receive one message; fds go to fds[] (count in *n_fds). Returns bytes of data, 0 at
 * end of stream, or a negative errno. */
static ssize_t recv_fds(int conn, int *fds, int *n_fds, bool *truncated)
{
	char data[256];
	union {
		char buf[CMSG_SPACE(HANDOVER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	*n_fds = 0;
	ssize_t n;
	do {
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && *n_fds < HANDOVER_MAX_FDS; i++)
			memcpy(&fds[(*n_fds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

static void log_peer(struct vfio_handover *h, int conn)
{
	struct ucred cred = {.pid = -1, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		log_info("socket %s: device fd offered by pid %d (uid %u)", h->path, (int)cred.pid,
			 (unsigned)cred.uid);
}

/* A message arrived on conn. Returns 1 if an fd was taken, 0 if nothing happened, -1 if
 * the connection is finished (closed by the peer, or refused). */
static int handle_message(struct vfio_handover *h, int conn)
{
	int fds[HANDOVER_MAX_FDS], n_fds = 0;
	bool truncated = false;
	ssize_t n = recv_fds(conn, fds, &n_fds, &truncated);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0 && n_fds == 0)
		return -1;
	if (n_fds == 0)
		return 0; /* chatter without an fd: ignored */
	char why[200] = "";
	int r = -EINVAL;
	if (truncated || n_fds != 1) {
		snprintf(why, sizeof(why), "expected exactly one fd, got %d%s", n_fds,
			 truncated ? " or more" : "");
	} else {
		log_peer(h, conn);
		uint64_t id = ++h->next_id;
		r = h->ops->offer(h->opaque, fds[0], id, why, sizeof(why));
		if (r == 0) {
			reply(conn, "ok\n");
			if (h->conn_fd >= 0 && h->conn_fd != conn)
				close(h->conn_fd); /* replaced: its device is gone already */
			h->conn_fd = conn;
			h->conn_id = id;
			return 1;
		}
	}
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	char line[256];
	snprintf(line, sizeof(line), "error: %s\n", why);
	reply(conn, line);
	log_warn("socket %s: refused a device fd: %s", h->path, why);
	return -1;
}

/* A new connection: wait (bounded) for its message. */
static void handle_new(struct vfio_handover *h)
{
	int conn = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	/* Whoever hands a device over replaces the one in use: only trusted peers. */
	struct ucred cred = {.pid = -1, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !peer_allowed(&cred)) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_WARN,
				"socket %s: refused a connection from pid %d, uid %u, gid %u: not "
				"root, our user or --handover-allow-uid/--handover-allow-gid",
				h->path, (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
		reply(conn, "error: this user may not hand over a device\n");
		close(conn);
		return;
	}
	struct pollfd p[2] = {{.fd = conn, .events = POLLIN}, {.fd = h->wake[0], .events = POLLIN}};
	int r = poll(p, 2, HANDOVER_MSG_TIMEOUT_MS);
	if (r <= 0 || p[1].revents || handle_message(h, conn) != 1) {
		if (r == 0)
			log_warn("socket %s: a connection sent no device fd within %d ms", h->path,
				 HANDOVER_MSG_TIMEOUT_MS);
		close(conn);
	}
}

static void *handover_thread(void *arg)
{
	struct vfio_handover *h = arg;
	for (;;) {
		struct pollfd p[3] = {{.fd = h->wake[0], .events = POLLIN},
				      {.fd = h->listen_fd, .events = POLLIN},
				      {.fd = h->conn_fd, .events = POLLIN}};
		int r = poll(p, h->conn_fd >= 0 ? 3 : 2, -1);
		if (r < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (h->conn_fd >= 0 && p[2].revents) {
			int conn = h->conn_fd;
			if (handle_message(h, conn) < 0 && h->conn_fd == conn) {
				uint64_t id = h->conn_id;
				close(conn);
				h->conn_fd = -1;
				log_info("socket %s: the owner closed its connection", h->path);
				h->ops->gone(h->opaque, id);
			}
		}
		if (p[1].revents & POLLIN)
			handle_new(h);
	}
	return NULL;
}

int vfio_handover_start(const char *path, const struct vfio_handover_ops *ops, void *opaque,
			struct vfio_handover **out, char *err, size_t err_len)
{
	struct sockaddr_un a;
	if (unix_path_addr(path, &a) < 0) {
		snprintf(err, err_len, "source 'socket:%s': the path is empty or too long", path);
		return -ENAMETOOLONG;
	}
	struct vfio_handover *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	memcpy(h->path, a.sun_path, sizeof(h->path));
	h->ops = ops;
	h->opaque = opaque;
	h->conn_fd = -1;
	h->wake[0] = h->wake[1] = -1;
	int r = clear_stale(path, err, err_len);
	if (r < 0) {
		if (!err[0])
			snprintf(err, err_len, "source 'socket:%s': %s", path, strerror(-r));
		free(h);
		return r;
	}
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = h->listen_fd < 0 ? -errno : unix_path_bind(h->listen_fd, path, access_.mode);
	if (r == 0 && (listen(h->listen_fd, 4) < 0 || pipe2(h->wake, O_CLOEXEC) < 0))
		r = -errno;
	if (r < 0) {
		snprintf(err, err_len, "source 'socket:%s': cannot listen: %s", path, strerror(-r));
		goto fail;
	}
	log_info("socket %s: waiting for a device fd (mode %04o; root, uid %u%s may hand it "
		 "over)", path, access_.mode, (unsigned)geteuid(),
		 access_.n_uids || access_.n_gids ? " and --handover-allow-uid/gid" : "");
	r = -pthread_create(&h->thread, NULL, handover_thread, h);
	if (r < 0) {
		snprintf(err, err_len, "source 'socket:%s': cannot start a thread", path);
		goto fail;
	}
	h->running = true;
	*out = h;
	return 0;
fail:
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		unlink(path);
	}
	if (h->wake[0] >= 0) {
		close(h->wake[0]);
		close(h->wake[1]);
	}
	free(h);
	return r;
}

void vfio_handover_stop(struct vfio_handover *h)
{
	if (!h)
		return;
	if (h->running) {
		(void)!write(h->wake[1], "x", 1);
		pthread_join(h->thread, NULL);
	}
	if (h->conn_fd >= 0)
		close(h->conn_fd);
	close(h->listen_fd);
	unlink(h->path);
	close(h->wake[0]);
	close(h->wake[1]);
	free(h);
}

int vfio_handover_send(const char *path, int fd, char *reply_buf, size_t reply_len)
{
	struct sockaddr_un a;
	if (reply_len)
		reply_buf[0] = '\0';
	if (unix_path_addr(path, &a) < 0)
		return -ENAMETOOLONG;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(s);
		return -e;
	}
	char data[] = "vfio-device\n";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	/* A server that refuses us answers and closes at once, maybe before our message
	 * arrived: its answer is still there to read. */
	bool sent = sendmsg(s, &msg, MSG_NOSIGNAL) >= 0;
	int send_errno = errno;
	size_t got = 0;
	while (got + 1 < reply_len) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = read(s, reply_buf + got, 1);
		if (n <= 0)
			break;
		got++;
		if (reply_buf[got - 1] == '\n')
			break;
	}
	if (reply_len)
		reply_buf[got < reply_len ? got : reply_len - 1] = '\0';
	if (!sent && !got) {
		close(s);
		return -send_errno;
	}
	if (!sent || strncmp(reply_buf, "ok", 2) != 0) {
		close(s);
		return -EPERM;
	}
	return s;
}
