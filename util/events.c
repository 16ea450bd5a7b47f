/* The event queue between the hooks (any thread) and its listener. See events.h. */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;
	int wake_fd;             /* write end of the listener's pipe; -1 = nobody listens */
	struct event ring[EVENTS_QUEUE];
	unsigned head, count;
} Q = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1};

void events_attach(int wake_fd)
{
	pthread_mutex_lock(&Q.lock);
	Q.wake_fd = wake_fd;
	pthread_mutex_unlock(&Q.lock);
}

void events_detach(void)
{
	pthread_mutex_lock(&Q.lock);
	Q.wake_fd = -1;
	Q.head = Q.count = 0;
	pthread_mutex_unlock(&Q.lock);
}

bool events_pop(struct event *ev)
{
	bool got = false;
	pthread_mutex_lock(&Q.lock);
	if (Q.count) {
		*ev = Q.ring[Q.head];
		Q.head = (Q.head + 1) % EVENTS_QUEUE;
		Q.count--;
		got = true;
	}
	pthread_mutex_unlock(&Q.lock);
	return got;
}

/* Stamps ev with the time and queues a copy. */
static void emit(struct event *ev)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	pthread_mutex_lock(&Q.lock);
	/* Nobody listening, or a listener that stopped reading: dropped. */
	if (Q.wake_fd >= 0 && Q.count < EVENTS_QUEUE) {
		Q.ring[(Q.head + Q.count++) % EVENTS_QUEUE] = *ev;
		char b = 1;
		/* A full pipe already wakes the listener (EAGAIN); the event stays queued. */
		(void)!write(Q.wake_fd, &b, 1);
	}
	pthread_mutex_unlock(&Q.lock);
}

void events_client(enum event_type type, unsigned id, const char *peer)
{
	struct event ev = {.type = type, .client_id = id};
	snprintf(ev.text, sizeof(ev.text), "%s", peer ? peer : "?");
	emit(&ev);
}

void events_mode(uint32_t width, uint32_t height, uint32_t fourcc, uint32_t dmabuf_id)
{
	emit(&(struct event){.type = EVENT_MODE_CHANGED, .width = width, .height = height,
			     .fourcc = fourcc, .dmabuf_id = dmabuf_id});
}

void events_display_off(void)
{
	emit(&(struct event){.type = EVENT_DISPLAY_OFF});
}

void events_device_lost(const char *why)
{
	struct event ev = {.type = EVENT_DEVICE_LOST};
	snprintf(ev.text, sizeof(ev.text), "%s", why ? why : "?");
	emit(&ev);
}
