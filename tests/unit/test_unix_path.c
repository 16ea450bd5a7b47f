/* unix_path.c and fd_budget.c without a server: a stale socket file is replaced, a live
 * one, a full backlog and a regular file are not; bind() with a mode gives exactly that
 * mode under umask 000 and 077; copies for shutdown() go above FD_SETSIZE; --max-clients
 * past what fits below FD_SETSIZE is refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd_budget.h"
#include "unix_path.h"

static char dir[64], path[96];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_unix_path.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static int bound(int backlog)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(unix_path_bind(fd, path, 0600), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static void test_clear_stale(void **state)
{
	(void)state;
	assert_int_equal(unix_path_clear_stale(path), 0); /* nothing there */
	int fd = bound(4);
	assert_int_equal(unix_path_clear_stale(path), -EADDRINUSE);
	assert_int_equal(access(path, F_OK), 0);
	close(fd); /* the file stays, nobody listens: stale */
	assert_int_equal(unix_path_clear_stale(path), 0);
	assert_int_equal(access(path, F_OK), -1);

	/* A live server whose backlog is full: still live, and no hang. */
	fd = bound(0);
	int held[4], n = 0;
	for (; n < 4; n++) {
		held[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (connect(held[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(held[n]);
			break;
		}
	}
	assert_int_equal(unix_path_clear_stale(path), -EADDRINUSE);
	while (n--)
		close(held[n]);
	close(fd);
	unlink(path);

	int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(f);
	assert_int_equal(unix_path_clear_stale(path), -EEXIST);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_bind_mode(void **state)
{
	(void)state;
	static const mode_t masks[] = {0, 077, 022};
	static const unsigned modes[] = {0600, 0660, 0666};
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			mode_t old = umask(masks[i]);
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			assert_int_equal(unix_path_bind(fd, path, modes[j]), 0);
			umask(old);
			struct stat st;
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(st.st_mode & 07777, modes[j]);
			close(fd);
			unlink(path);
		}
	}
}

static void test_fd_budget(void **state)
{
	(void)state;
	char err[512] = "";
	assert_int_equal(fd_budget_setup(FD_BUDGET_MAX_CLIENTS + 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most"));
	assert_int_equal(fd_budget_setup(64, err, sizeof(err)), 0);
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur > FD_SETSIZE) {
		int copy = fd_budget_dup_high(0);
		assert_true(copy >= FD_SETSIZE);
		assert_true(fcntl(copy, F_GETFD) & FD_CLOEXEC);
		close(copy);
	}
	assert_true(fd_budget_fits(5));
	assert_false(fd_budget_fits(FD_SETSIZE - 2));
	assert_false(fd_budget_fits(FD_SETSIZE));
	assert_false(fd_budget_fits(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clear_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_mode, setup, teardown),
		cmocka_unit_test(test_fd_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
