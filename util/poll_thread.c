/* A poll() loop's thread, stop flag and wake pipe. See poll_thread.h. */
#include "poll_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void poll_thread_init(struct poll_thread *t)
{
	atomic_init(&t->stop, false);
	t->running = false;
	t->wake_fd = t->signal_fd = -1;
}

int poll_thread_open(struct poll_thread *t)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	t->wake_fd = p[0];
	t->signal_fd = p[1];
	return 0;
}

int poll_thread_start(struct poll_thread *t, void *(*fn)(void *), void *arg)
{
	int r = pthread_create(&t->thread, NULL, fn, arg);
	t->running = r == 0;
	return -r;
}

bool poll_thread_stopping(struct poll_thread *t)
{
	return atomic_load(&t->stop);
}

void poll_thread_wake(const struct poll_thread *t)
{
	char b = 0;
	/* EAGAIN: the pipe is full, so the loop is woken already. */
	(void)!write(t->signal_fd, &b, 1);
}

void poll_thread_drain(const struct poll_thread *t)
{
	char drain[256];
	while (read(t->wake_fd, drain, sizeof(drain)) > 0)
		;
}

void poll_thread_stop(struct poll_thread *t)
{
	atomic_store(&t->stop, true);
	if (t->running) {
		poll_thread_wake(t);
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	if (t->wake_fd >= 0) {
		close(t->wake_fd);
		close(t->signal_fd);
	}
	t->wake_fd = t->signal_fd = -1;
}
