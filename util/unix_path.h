/* Unix socket files: replacing a stale one safely, and binding with a mode from birth.
 *
 * Used by every listener that owns a socket path (unix:PATH listeners, --control, the
 * socket:PATH hand-over). Main thread, at start-up; no state.
 */
#ifndef VGPU_UNIX_PATH_H
#define VGPU_UNIX_PATH_H

struct sockaddr_un;

/* Fill sa with an AF_UNIX address for path: 0, or -ENAMETOOLONG when path is empty or
 * does not fit sun_path (it is never cut short). */
int unix_path_addr(const char *path, struct sockaddr_un *sa);

/* Make path free for bind(): nothing there, or a socket nobody accepts on (left by a
 * process that is gone), which is removed. A live socket (a connect() is answered, or its
 * backlog is full) gives -EADDRINUSE and stays; anything that is not a socket -EEXIST; a
 * socket that cannot be checked (no permission) the connect() errno. */
int unix_path_clear_stale(const char *path);

/* Bind fd (an AF_UNIX socket) to path with the file mode `mode` (e.g. 0600), without
 * umask(): the socket inode gets the mode first, so the file is born with mode less the
 * umask (never more open than asked), then chmod() makes it exactly mode. 0 or -errno;
 * on failure nothing is left at path. */
int unix_path_bind(int fd, const char *path, unsigned mode);

#endif
