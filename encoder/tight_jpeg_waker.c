/* The refresh timer thread. See tight_jpeg_waker.h. */
#include "tight_jpeg_waker.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond; /* CLOCK_MONOTONIC; set up once */
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static struct tight_waker_entry *head;
static unsigned count;
/* Each thread serves one generation; removing the last entry ends the generation, so a
 * thread that has not noticed yet never serves entries added after that. */
static uint64_t generation;
static bool running;

static void cond_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void *timer_thread(void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;

	pthread_mutex_lock(&lock);
	while (generation == gen) {
		uint64_t now = clock_now_ms(), next = TIGHT_WAKER_NEVER;

		for (struct tight_waker_entry *e = head; e; e = e->next) {
			if (e->deadline <= now)
				e->deadline = e->fire(e, now);
			if (e->deadline < next)
				next = e->deadline;
		}
		if (next == TIGHT_WAKER_NEVER) {
			pthread_cond_wait(&cond, &lock);
		} else {
			struct timespec at = {.tv_sec = (time_t)(next / 1000),
					      .tv_nsec = (long)(next % 1000) * 1000000L};
			pthread_cond_timedwait(&cond, &lock, &at);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int tight_waker_add(struct tight_waker_entry *e)
{
	pthread_once(&cond_once, cond_init);
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_t t;
		pthread_attr_t attr;
		int r;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, timer_thread, (void *)(uintptr_t)generation);
		pthread_attr_destroy(&attr);
		if (r != 0) {
			pthread_mutex_unlock(&lock);
			return -EAGAIN;
		}
		running = true;
	}
	e->deadline = TIGHT_WAKER_NEVER;
	e->prev = NULL;
	e->next = head;
	if (head)
		head->prev = e;
	head = e;
	e->linked = true;
	count++;
	pthread_mutex_unlock(&lock);
	return 0;
}

void tight_waker_remove(struct tight_waker_entry *e)
{
	pthread_mutex_lock(&lock);
	if (e->linked) {
		if (e->prev)
			e->prev->next = e->next;
		else
			head = e->next;
		if (e->next)
			e->next->prev = e->prev;
		e->linked = false;
		e->prev = e->next = NULL;
		if (--count == 0) {
			generation++;
			running = false;
			pthread_cond_broadcast(&cond);
		}
	}
	pthread_mutex_unlock(&lock);
}

void tight_waker_schedule(struct tight_waker_entry *e, uint64_t deadline_ms)
{
	pthread_mutex_lock(&lock);
	if (e->linked) {
		bool earlier = deadline_ms < e->deadline;

		e->deadline = deadline_ms;
		if (earlier)
			pthread_cond_broadcast(&cond);
	}
	pthread_mutex_unlock(&lock);
}

unsigned tight_waker_count(bool *thread_running)
{
	pthread_mutex_lock(&lock);
	unsigned n = count;
	if (thread_running)
		*thread_running = running;
	pthread_mutex_unlock(&lock);
	return n;
}
