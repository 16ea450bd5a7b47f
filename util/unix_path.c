/* Unix socket files. See unix_path.h. */
#include "unix_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int unix_path_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int unix_path_clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	if (unix_path_addr(path, &sa) < 0)
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server whose backlog is full answers EAGAIN, not a hang. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	int r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(s);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return -EADDRINUSE;
	if (e != ECONNREFUSED)
		return -e;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int unix_path_bind(int fd, const char *path, unsigned mode)
{
	struct sockaddr_un sa;
	if (unix_path_addr(path, &sa) < 0)
		return -ENAMETOOLONG;
	/* Linux creates the file with the socket inode's mode less the umask. */
	if (fchmod(fd, (mode_t)mode) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (chmod(path, (mode_t)mode) < 0) {
		int e = errno;
		unlink(path);
		return -e;
	}
	return 0;
}
