/* Opening VFIO sources without VFIO hardware: every refusal names the spec and says what
 * is wrong; and the hand-over socket (vfio_handover.h) end to end with a fake owner:
 * offers, answers, the owner going away, a new owner replacing the old one, stale and
 * busy socket paths. The accepted-device path runs in the kernel test (tests/kernel). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "plane_source.h"
#include "plane_source_open.h"
#include "vfio_handover.h"
#include "vfio_probe.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_vfio_device.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_open_error(const char *spec, int err, const char *needle)
{
	struct plane_source *s = (void *)1;
	char msg[600] = "";
	int r = plane_source_open(spec, &s, msg, sizeof(msg));
	if (r != err || !strstr(msg, needle))
		fail_msg("%s: got %d '%s', want %d and '%s'", spec, r, msg, err, needle);
	assert_null(s);
}

static void test_open_errors(void **state)
{
	(void)state;
	expect_open_error("fd:", -EINVAL, "expected fd:N");
	expect_open_error("fd:abc", -EINVAL, "expected fd:N");
	expect_open_error("fd:-3", -EINVAL, "expected fd:N");
	expect_open_error("fd:987", -EBADF, "fd 987 is not open");
	int null_fd = open("/dev/null", O_RDWR);
	char spec[160];
	snprintf(spec, sizeof(spec), "fd:%d", null_fd);
	expect_open_error(spec, -ENOTTY, "is not a VFIO device");
	close(null_fd);
	expect_open_error("mdev:", -EINVAL, "expected mdev:UUID");
	expect_open_error("mdev:../../etc", -EINVAL, "expected mdev:UUID");
	expect_open_error("mdev:11111111-2222-3333-4444-555555555555", -ENOENT,
			  "no such mediated device");
	expect_open_error("sysfs:/nonexistent/mdev", -ENOENT, "no such mediated device");
	/* a directory without an iommu_group link */
	snprintf(spec, sizeof(spec), "sysfs:%s", dir);
	expect_open_error(spec, -ENODEV, "has no IOMMU group");
	expect_open_error("socket:", -ENAMETOOLONG, "empty or too long");
	expect_open_error("vfio:3", -EINVAL, "unknown kind");
}

static void test_socket_source_waits(void **state)
{
	(void)state;
	char path[100], spec[160], msg[600] = "";
	snprintf(path, sizeof(path), "%s/wait.sock", dir);
	snprintf(spec, sizeof(spec), "socket:%s", path);
	struct plane_source *s = NULL;
	assert_int_equal(plane_source_open(spec, &s, msg, sizeof(msg)), 0);
	/* nothing handed over yet: no plane, not an error */
	struct plane_info p;
	assert_int_equal(plane_source_query(s, PLANE_PRIMARY, &p), 0);
	assert_int_equal(p.dmabuf_id, 0);
	assert_false(p.is_region);
	assert_int_equal(plane_source_get_dmabuf(s, 1), -ENODEV);
	assert_int_equal(s->ops->request_size(s, 800, 600), -ENODEV);
	/* a second server on the same path is refused, the first keeps it */
	struct plane_source *s2 = (void *)1;
	assert_int_equal(plane_source_open(spec, &s2, msg, sizeof(msg)), -EADDRINUSE);
	assert_non_null(strstr(msg, "another process is listening"));
	/* an fd that is not a VFIO device is refused with a reason the owner reads */
	int null_fd = open("/dev/null", O_RDWR);
	char reply[256];
	int c = vfio_handover_send(path, null_fd, reply, sizeof(reply));
	assert_int_equal(c, -EPERM);
	assert_non_null(strstr(reply, "error: "));
	assert_non_null(strstr(reply, "not a VFIO device"));
	close(null_fd);
	assert_int_equal(plane_source_query(s, PLANE_PRIMARY, &p), 0);
	assert_int_equal(p.dmabuf_id, 0);
	plane_source_destroy(s);
	struct stat st;
	assert_int_equal(stat(path, &st), -1); /* the socket file is removed */
}

static void test_socket_paths(void **state)
{
	(void)state;
	char path[100], spec[160], msg[600] = "";
	struct plane_source *s = (void *)1;
	/* a regular file is never replaced */
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	snprintf(spec, sizeof(spec), "socket:%s", path);
	assert_int_equal(plane_source_open(spec, &s, msg, sizeof(msg)), -EEXIST);
	assert_non_null(strstr(msg, "not a socket"));
	/* a stale socket (nobody listening) is */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	close(l);
	snprintf(spec, sizeof(spec), "socket:%s", path);
	assert_int_equal(plane_source_open(spec, &s, msg, sizeof(msg)), 0);
	plane_source_destroy(s);
}

/* ---- a region plane against its REGION_INFO (what mdpy's guest could lie about) ---- */

static void expect_region(struct vfio_region_info ri, struct plane_info p, int want,
			  size_t want_len, const char *needle)
{
	char why[200] = "";
	size_t len = 12345;
	int r = vfio_probe_check_region(&ri, &p, 4096, &len, why, sizeof(why));
	if (r != want || (want == 0 && len != want_len) || (needle && !strstr(why, needle)))
		fail_msg("got %d len %zu '%s', want %d len %zu '%s'", r, len, why, want, want_len,
			 needle ? needle : "");
}

static void test_region_checks(void **state)
{
	(void)state;
	/* mdpy-vga: region 16 at 0x1000, 2 MiB; plane 640x480 XR24 stride 2560, size 2 MiB */
	struct vfio_region_info ri = {
		.argsz = sizeof(ri), .index = 16, .offset = 0x1000, .size = 2u << 20,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
	};
	struct plane_info p = {
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888, .width = 640,
		.height = 480, .stride = 2560, .size = 2u << 20, .is_region = true,
		.region_index = 16,
	};
	expect_region(ri, p, 0, 1228800, NULL); /* 300 whole pages: what the picture needs */
	/* a guest that claims more than the region holds */
	struct plane_info q = p;
	q.size = (2u << 20) + 1;
	expect_region(ri, q, -EINVAL, 0, "does not fit region 16");
	q = p;
	q.height = 900; /* stride * height beyond the region */
	q.size = 2u << 20;
	expect_region(ri, q, -EINVAL, 0, "does not fit");
	/* a region that cannot be mapped, or is not readable */
	struct vfio_region_info bad = ri;
	bad.flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
	expect_region(bad, p, -EINVAL, 0, "cannot be mapped");
	bad = ri;
	bad.flags &= ~VFIO_REGION_INFO_FLAG_READ;
	expect_region(bad, p, -EINVAL, 0, "cannot be mapped");
	bad = ri;
	bad.offset = 0x1800;
	expect_region(bad, p, -EINVAL, 0, "not page aligned");
	bad = ri;
	bad.offset = UINT64_MAX & ~0xfffull;
	expect_region(bad, p, -EINVAL, 0, "offset");
	/* the mapping never runs past the region's end */
	q = p;
	q.width = 641;
	q.stride = 2564; /* 1230720 bytes needed: 300.5 pages, rounded up to 301 */
	ri.size = q.size = 1232384; /* but the region ends at 300.875 pages */
	expect_region(ri, q, 0, 1232384, NULL);
}

/* ---- the hand-over module with fake callbacks ---- */

struct events {
	pthread_mutex_t lock;
	uint64_t offered[8];
	int offer_fds[8];
	int n_offered;
	uint64_t gone[8];
	int n_gone;
	int refuse;
};

static int ev_offer(void *opaque, int fd, uint64_t conn, char *why, size_t why_len)
{
	struct events *e = opaque;
	pthread_mutex_lock(&e->lock);
	int r = 0;
	if (e->refuse) {
		snprintf(why, why_len, "refused by the test");
		r = -EINVAL;
	} else if (e->n_offered < 8) {
		e->offer_fds[e->n_offered] = fd;
		e->offered[e->n_offered++] = conn;
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

static void ev_gone(void *opaque, uint64_t conn)
{
	struct events *e = opaque;
	pthread_mutex_lock(&e->lock);
	if (e->n_gone < 8)
		e->gone[e->n_gone++] = conn;
	pthread_mutex_unlock(&e->lock);
}

static const struct vfio_handover_ops ev_ops = {.offer = ev_offer, .gone = ev_gone};

static int wait_count(struct events *e, const int *count, int want)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&e->lock);
		int n = *count;
		pthread_mutex_unlock(&e->lock);
		if (n >= want)
			return n;
		usleep(10000);
	}
	return -1;
}

static void test_handover_protocol(void **state)
{
	(void)state;
	char path[100], err[300] = "", reply[128];
	snprintf(path, sizeof(path), "%s/h.sock", dir);
	struct events e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct vfio_handover *h = NULL;
	assert_int_equal(vfio_handover_start(path, &ev_ops, &e, &h, err, sizeof(err)), 0);

	int pipe_fds[2];
	assert_int_equal(pipe(pipe_fds), 0);
	int c1 = vfio_handover_send(path, pipe_fds[0], reply, sizeof(reply));
	assert_true(c1 >= 0);
	assert_string_equal(reply, "ok\n");
	assert_int_equal(wait_count(&e, &e.n_offered, 1), 1);
	/* the fd that arrived is the same pipe */
	assert_int_equal(write(pipe_fds[1], "z", 1), 1);
	char ch = 0;
	assert_int_equal(read(e.offer_fds[0], &ch, 1), 1);
	assert_int_equal(ch, 'z');
	assert_true(fcntl(e.offer_fds[0], F_GETFD) & FD_CLOEXEC);

	/* a second owner replaces the first: no "gone" for the replaced connection */
	int c2 = vfio_handover_send(path, pipe_fds[0], reply, sizeof(reply));
	assert_true(c2 >= 0);
	assert_int_equal(wait_count(&e, &e.n_offered, 2), 2);
	assert_true(e.offered[1] != e.offered[0]);
	/* the first connection was closed by the server */
	struct pollfd pf = {.fd = c1, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_int_equal(read(c1, &ch, 1), 0);
	close(c1);
	assert_int_equal(e.n_gone, 0);

	/* the current owner goes away */
	close(c2);
	assert_int_equal(wait_count(&e, &e.n_gone, 1), 1);
	assert_int_equal(e.gone[0], e.offered[1]);

	/* a refused fd: the owner reads why, and nothing is taken */
	e.refuse = 1;
	int c3 = vfio_handover_send(path, pipe_fds[0], reply, sizeof(reply));
	assert_int_equal(c3, -EPERM);
	assert_string_equal(reply, "error: refused by the test\n");
	assert_int_equal(e.n_offered, 2);

	vfio_handover_stop(h);
	for (int i = 0; i < e.n_offered; i++)
		close(e.offer_fds[i]);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void test_handover_needs_one_fd(void **state)
{
	(void)state;
	char path[100], err[300] = "";
	snprintf(path, sizeof(path), "%s/n.sock", dir);
	struct events e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct vfio_handover *h = NULL;
	assert_int_equal(vfio_handover_start(path, &ev_ops, &e, &h, err, sizeof(err)), 0);
	/* two fds in one message */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	int fds[2] = {0, 1};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	char data[] = "x";
	struct iovec iov = {.iov_base = data, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(s, &msg, 0), 1);
	char reply[128] = "";
	struct pollfd pf = {.fd = s, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 2000), 1);
	ssize_t n = read(s, reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "expected exactly one fd, got 2"));
	close(s);
	assert_int_equal(e.n_offered, 0);
	vfio_handover_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_socket_source_waits),
		cmocka_unit_test(test_socket_paths),
		cmocka_unit_test(test_region_checks),
		cmocka_unit_test(test_handover_protocol),
		cmocka_unit_test(test_handover_needs_one_fd),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
