/* --source pid: without a real VFIO device: the /proc scan, pidfd_getfd on a child's
 * eventfd (the same file: what one side writes the other reads), and every error path
 * (no process, no VFIO fd, closed fd, malformed spec). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "skip_status.h"

#include "plane_source.h"
#include "plane_source_open.h"
#include "vfio_pid.h"

struct child {
	pid_t pid;
	int efd;      /* the child's eventfd number (same in both: created before fork) */
	int ready[2]; /* child -> parent: ready */
};

/* A child that holds an eventfd (and, if holding is false, closes it) and sleeps. */
static void start_child(struct child *c, bool holding)
{
	c->efd = eventfd(0, EFD_CLOEXEC);
	assert_true(c->efd >= 0);
	assert_int_equal(pipe(c->ready), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		if (!holding)
			close(c->efd);
		if (write(c->ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(c->efd); /* only the child holds it now */
	char b;
	assert_int_equal(read(c->ready[0], &b, 1), 1);
}

static void stop_child(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->ready[0]);
	close(c->ready[1]);
}

/* The tests that need a child get it from these fixtures (cmocka stops it in the teardown,
 * also after a failed assertion or a skip). */
static struct child fixture_child;

static int with_child_holding(void **state)
{
	start_child(&fixture_child, true);
	*state = &fixture_child;
	return 0;
}

static int with_child_closed(void **state)
{
	start_child(&fixture_child, false);
	*state = &fixture_child;
	return 0;
}

static int child_gone(void **state)
{
	stop_child(*state);
	return 0;
}

/* pidfd_getfd of the child's eventfd; the test is skipped where the kernel has none. */
static int child_getfd(const struct child *c, char *err, size_t err_len)
{
	int fd = vfio_pid_getfd(c->pid, c->efd, err, err_len);
	if (fd == -ENOSYS)
		SKIP_BECAUSE("pidfd_getfd is not available (kernel < 5.6 or seccomp): -ENOSYS");
	return fd;
}

static void scan_finds_the_childs_anon_fd(void **state)
{
	const struct child *c = *state;
	int fds[VFIO_PID_MAX_FDS];
	char err[512] = "";
	int n = vfio_pid_scan(c->pid, "anon_inode:[eventfd]", fds, VFIO_PID_MAX_FDS, err,
			      sizeof(err));
	assert_int_equal(n, 1);
	assert_int_equal(fds[0], c->efd);
	assert_int_equal(vfio_pid_scan(c->pid, VFIO_PID_LINK, fds, VFIO_PID_MAX_FDS, err,
				       sizeof(err)),
			 0);
}

static void getfd_duplicates_the_same_file(void **state)
{
	const struct child *c = *state;
	char err[512] = "";
	int fd = child_getfd(c, err, sizeof(err));
	assert_true(fd >= 0);
	/* A second duplicate of the child's eventfd sees what we write through the first. */
	uint64_t v = 42, got = 0;
	assert_int_equal(write(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	int fd2 = vfio_pid_getfd(c->pid, c->efd, err, sizeof(err));
	assert_true(fd2 >= 0);
	assert_int_equal(read(fd2, &got, sizeof(got)), (ssize_t)sizeof(got));
	assert_int_equal(got, 42);
	close(fd);
	close(fd2);
}

static void getfd_of_a_closed_fd_says_so(void **state)
{
	const struct child *c = *state;
	char err[512] = "";
	assert_int_equal(child_getfd(c, err, sizeof(err)), -EBADF);
	assert_non_null(strstr(err, "closed its fd"));
}

static void source_without_vfio_fd_is_enoent(void **state)
{
	const struct child *c = *state;
	char spec[64], err[512] = "";
	struct plane_source *src = NULL;
	snprintf(spec, sizeof(spec), "pid:%d", (int)c->pid);
	assert_int_equal(plane_source_open(spec, &src, err, sizeof(err)), -ENOENT);
	assert_null(src);
	assert_non_null(strstr(err, "holds no VFIO device fd"));
}

static void source_of_no_process_is_esrch(void **state)
{
	(void)state;
	/* A pid that just exited (and was reaped) is free and, very likely, unused. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	char spec[64], err[512] = "";
	struct plane_source *src = NULL;
	snprintf(spec, sizeof(spec), "pid:%d", (int)pid);
	assert_int_equal(plane_source_open(spec, &src, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "no process"));
	assert_int_equal(vfio_pid_getfd(pid, 0, err, sizeof(err)), -ESRCH);
}

static void malformed_specs_are_einval(void **state)
{
	(void)state;
	static const char *const bad[] = {"pid:", "pid:x", "pid:-1", "pid:0", "pid:12x",
					  "pid:12:", "pid:99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct plane_source *src = NULL;
		assert_int_equal(plane_source_open(bad[i], &src, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "expected pid:PID"));
	}
}

static void device_filter_without_match_is_enoent(void **state)
{
	(void)state;
	/* Our own process holds no VFIO device either; the message names the process. */
	char spec[128], err[512] = "";
	struct plane_source *src = NULL;
	snprintf(spec, sizeof(spec), "pid:%d:/sys/bus/mdev/devices/nothing", (int)getpid());
	assert_int_equal(plane_source_open(spec, &src, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no VFIO device fd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(scan_finds_the_childs_anon_fd, with_child_holding,
						child_gone),
		cmocka_unit_test_setup_teardown(getfd_duplicates_the_same_file, with_child_holding,
						child_gone),
		cmocka_unit_test_setup_teardown(getfd_of_a_closed_fd_says_so, with_child_closed,
						child_gone),
		cmocka_unit_test_setup_teardown(source_without_vfio_fd_is_enoent,
						with_child_holding, child_gone),
		cmocka_unit_test(source_of_no_process_is_esrch),
		cmocka_unit_test(malformed_specs_are_einval),
		cmocka_unit_test(device_filter_without_match_is_enoent),
	};
	return skip_status(cmocka_run_group_tests(tests, NULL, NULL));
}
