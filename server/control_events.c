/* The event queue between the hooks (any thread) and the control thread. See control.h. */
#include "control_events.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "plane.h"

static struct {
	pthread_mutex_t lock;
	int wake_fd;             /* write end of the control thread's pipe; -1 = no control */
	char *lines[CONTROL_EVENT_QUEUE];
	unsigned head, count;
	unsigned dropped;
} Q = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1};

void control_events_attach(int wake_fd)
{
	pthread_mutex_lock(&Q.lock);
	Q.wake_fd = wake_fd;
	pthread_mutex_unlock(&Q.lock);
}

void control_events_detach(void)
{
	pthread_mutex_lock(&Q.lock);
	Q.wake_fd = -1;
	while (Q.count) {
		free(Q.lines[Q.head]);
		Q.head = (Q.head + 1) % CONTROL_EVENT_QUEUE;
		Q.count--;
	}
	pthread_mutex_unlock(&Q.lock);
}

char *control_events_pop(void)
{
	char *line = NULL;
	pthread_mutex_lock(&Q.lock);
	if (Q.count) {
		line = Q.lines[Q.head];
		Q.head = (Q.head + 1) % CONTROL_EVENT_QUEUE;
		Q.count--;
	}
	pthread_mutex_unlock(&Q.lock);
	return line;
}

/* Takes ev (a JSON object); adds "event" and "time" and queues its text. */
static void emit(const char *name, json_t *ev)
{
	pthread_mutex_lock(&Q.lock);
	bool on = Q.wake_fd >= 0;
	pthread_mutex_unlock(&Q.lock);
	if (!on || !ev) {
		json_decref(ev);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(ev, "event", json_string(name));
	json_object_set_new(ev, "time", json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	char *text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!text)
		return;
	pthread_mutex_lock(&Q.lock);
	if (Q.wake_fd < 0 || Q.count == CONTROL_EVENT_QUEUE) {
		if (Q.wake_fd >= 0)
			Q.dropped++;
		pthread_mutex_unlock(&Q.lock);
		free(text);
		return;
	}
	Q.lines[(Q.head + Q.count++) % CONTROL_EVENT_QUEUE] = text;
	char b = 1;
	/* A full pipe already wakes the thread: ignore EAGAIN. */
	if (write(Q.wake_fd, &b, 1) < 0 && errno != EAGAIN)
		Q.dropped++;
	pthread_mutex_unlock(&Q.lock);
}

void control_event_client(const char *event, unsigned id, const char *peer)
{
	emit(event, json_pack("{s:I,s:s}", "id", (json_int_t)id, "address", peer ? peer : "?"));
}

void control_event_mode(uint32_t width, uint32_t height, uint32_t fourcc, uint32_t dmabuf_id)
{
	char fcc[5];
	emit("mode-changed", json_pack("{s:I,s:I,s:s,s:I}", "width", (json_int_t)width, "height",
				       (json_int_t)height, "format", plane_fourcc_str(fourcc, fcc),
				       "dmabuf_id", (json_int_t)dmabuf_id));
}

void control_event_display_off(void)
{
	emit("display-off", json_object());
}

void control_event_device_lost(const char *why)
{
	emit("device-lost", json_pack("{s:s}", "reason", why ? why : "?"));
}
