/* Input to the VM through QMP (input_qmp.h). */
#include "input_qmp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "keymap.h"
#include "clock.h"
#include "log.h"

#define ITEM_MAX 448
#define REPLY_TIMEOUT_MS 2000
#define RETRY_MS 1000

struct item {
	char events[ITEM_MAX]; /* the JSON array's members */
};

struct input_qmp {
	char path[108];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock. */
	struct item *queue;
	unsigned head, count;
	bool stop, connected;
	bool motion_pending;
	int motion_x, motion_y; /* scaled */
	int last_x, last_y;     /* the position last queued or pending */
	uint32_t buttons;
	bool shift_down[2];
	unsigned dropped;
	/* I/O thread only. */
	int fd;
	char buf[8192];
	size_t buf_len;
	uint64_t last_motion_ms;
	unsigned sent, accepted, refused;
};

/* ---- client side: queueing ------------------------------------------------------------ */

/* Lock held. */
static void push(struct input_qmp *q, const char *events)
{
	if (!q->connected) {
		q->dropped++;
		return;
	}
	if (q->count == INPUT_QMP_QUEUE) {
		q->dropped++;
		return;
	}
	struct item *it = &q->queue[(q->head + q->count++) % INPUT_QMP_QUEUE];
	snprintf(it->events, sizeof(it->events), "%s", events);
	pthread_cond_signal(&q->cond);
}

static int scale(int v, int size)
{
	if (size <= 1 || v <= 0)
		return 0;
	if (v >= size - 1)
		return 0x7fff;
	return (int)(((int64_t)v * 0x7fff) / (size - 1));
}

static void qmp_pointer(void *opaque, int x, int y, int width, int height, uint32_t buttons)
{
	struct input_qmp *q = opaque;
	static const char *const names[5] = {"left", "middle", "right", "wheel-up",
					     "wheel-down"};
	int sx = scale(x, width), sy = scale(y, height);
	pthread_mutex_lock(&q->lock);
	uint32_t changed = (buttons ^ q->buttons) & 0x1f;
	bool moved = sx != q->last_x || sy != q->last_y;
	q->last_x = sx;
	q->last_y = sy;
	if (!changed) {
		q->motion_pending |= moved;
		q->motion_x = sx;
		q->motion_y = sy;
		pthread_cond_signal(&q->cond);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	/* A button change carries the position with it: the pending motion goes too. */
	char ev[ITEM_MAX];
	int n = snprintf(ev, sizeof(ev),
			 "{\"type\":\"abs\",\"data\":{\"axis\":\"x\",\"value\":%d}},"
			 "{\"type\":\"abs\",\"data\":{\"axis\":\"y\",\"value\":%d}}",
			 sx, sy);
	bool any = false;
	for (int b = 0; b < 5 && n > 0 && (size_t)n < sizeof(ev); b++) {
		if (!(changed & (1u << b)))
			continue;
		bool down = buttons & (1u << b);
		if (b >= 3 && !down)
			continue; /* the wheel: a press is a whole click */
		any = true;
		n += snprintf(ev + n, sizeof(ev) - (size_t)n,
			      ",{\"type\":\"btn\",\"data\":{\"down\":%s,\"button\":\"%s\"}}",
			      down ? "true" : "false", names[b]);
		if (b >= 3)
			n += snprintf(ev + n, sizeof(ev) - (size_t)n,
				      ",{\"type\":\"btn\",\"data\":{\"down\":false,\"button\":\"%s\"}}",
				      names[b]);
	}
	q->buttons = buttons & 0x1f;
	if (!any) { /* only a wheel "release": at most a motion as far as QEMU is concerned */
		if (moved)
			q->motion_pending = true;
		q->motion_x = sx;
		q->motion_y = sy;
		pthread_cond_signal(&q->cond);
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->motion_pending = false;
	push(q, ev);
	pthread_mutex_unlock(&q->lock);
}

static int key_event(char *buf, size_t len, const char *type, const char *value, bool down)
{
	return snprintf(buf, len,
			"{\"type\":\"key\",\"data\":{\"down\":%s,\"key\":{\"type\":\"%s\",\"data\":%s}}}",
			down ? "true" : "false", type, value);
}

static void key_by_keysym(struct input_qmp *q, uint32_t keysym, bool down)
{
	enum keymap_shift shift;
	const char *qcode = keymap_qcode(keysym, &shift);
	if (!qcode) {
		log_debug("qmp: no key for keysym 0x%x", keysym);
		return;
	}
	char name[32], ev[ITEM_MAX];
	snprintf(name, sizeof(name), "\"%s\"", qcode);
	pthread_mutex_lock(&q->lock);
	if (!strcmp(qcode, "shift") || !strcmp(qcode, "shift_r"))
		q->shift_down[qcode[5] == '_'] = down;
	bool shifted = q->shift_down[0] || q->shift_down[1];
	if (down && shift == KEYMAP_SHIFT_YES && !shifted) {
		/* A shifted character from a client that did not press shift. */
		int n = key_event(ev, sizeof(ev), "qcode", "\"shift\"", true);
		n += snprintf(ev + n, sizeof(ev) - (size_t)n, ",");
		n += key_event(ev + n, sizeof(ev) - (size_t)n, "qcode", name, true);
		n += snprintf(ev + n, sizeof(ev) - (size_t)n, ",");
		key_event(ev + n, sizeof(ev) - (size_t)n, "qcode", "\"shift\"", false);
	} else {
		key_event(ev, sizeof(ev), "qcode", name, down);
	}
	push(q, ev);
	pthread_mutex_unlock(&q->lock);
}

static void key_by_number(struct input_qmp *q, uint32_t keycode, bool down)
{
	char num[16], ev[ITEM_MAX];
	snprintf(num, sizeof(num), "%u", keycode);
	key_event(ev, sizeof(ev), "number", num, down);
	pthread_mutex_lock(&q->lock);
	push(q, ev);
	pthread_mutex_unlock(&q->lock);
}

/* An XT key number in QEMU's numbering (0xE0-prefixed keys as 0x80 | code) is 1..0xff:
 * sent as it is. Without a usable one (a plain KeyEvent, or 0 or out of range from a
 * client), the keysym goes through the keymap. */
static void qmp_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
	if (keycode >= 1 && keycode <= 0xff)
		key_by_number(opaque, keycode, down);
	else
		key_by_keysym(opaque, keysym, down);
}

struct input_sink input_qmp_sink(struct input_qmp *q)
{
	return (struct input_sink){
		.key = qmp_key, .pointer = qmp_pointer, .takes_keycodes = true, .opaque = q};
}

/* ---- the QMP connection (I/O thread) --------------------------------------------------- */

static void disconnect(struct input_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->buf_len = 0;
	pthread_mutex_lock(&q->lock);
	q->connected = false;
	q->count = 0;
	q->motion_pending = false;
	pthread_mutex_unlock(&q->lock);
}

/* The next line from QEMU into line (without CR LF): 1, 0 on timeout, -1 when gone. */
static int read_line(struct input_qmp *q, char *line, size_t len, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->buf_len);
		if (nl) {
			size_t n = (size_t)(nl - q->buf);
			snprintf(line, len, "%.*s", (int)(n && q->buf[n - 1] == '\r' ? n - 1 : n),
				 q->buf);
			memmove(q->buf, nl + 1, q->buf_len - n - 1);
			q->buf_len -= n + 1;
			return 1;
		}
		if (q->buf_len == sizeof(q->buf))
			q->buf_len = 0; /* a line longer than we care for: drop it */
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r == 0)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		ssize_t got = r < 0 ? -1 : recv(q->fd, q->buf + q->buf_len, sizeof(q->buf) - q->buf_len, 0);
		if (got <= 0)
			return -1;
		q->buf_len += (size_t)got;
	}
}

/* Wait for the reply to the command just sent, skipping asynchronous events. 1 accepted,
 * 0 refused (logged), -1 gone. */
static int read_reply(struct input_qmp *q)
{
	char line[1024];
	for (;;) {
		int r = read_line(q, line, sizeof(line), REPLY_TIMEOUT_MS);
		if (r <= 0)
			return -1;
		if (strstr(line, "\"return\""))
			return 1;
		if (strstr(line, "\"error\"")) {
			static struct log_ratelimit rl;
			log_ratelimited(&rl, 5000, LOG_WARN, "qmp %s: refused: %s", q->path, line);
			return 0;
		}
	}
}

static int send_all(struct input_qmp *q, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = send(q->fd, text + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int try_connect(struct input_qmp *q, char *why, size_t why_len)
{
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", q->path);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		disconnect(q);
		return -1;
	}
	char line[1024];
	if (read_line(q, line, sizeof(line), REPLY_TIMEOUT_MS) <= 0 || !strstr(line, "\"QMP\"")) {
		snprintf(why, why_len, "no QMP greeting");
		disconnect(q);
		return -1;
	}
	if (send_all(q, "{\"execute\":\"qmp_capabilities\"}\r\n") < 0 || read_reply(q) != 1) {
		snprintf(why, why_len, "qmp_capabilities failed");
		disconnect(q);
		return -1;
	}
	pthread_mutex_lock(&q->lock);
	q->connected = true;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static void *io_thread(void *arg)
{
	struct input_qmp *q = arg;
	bool told = false;
	char cmd[ITEM_MAX + 128], why[256];
	for (;;) {
		pthread_mutex_lock(&q->lock);
		bool stop = q->stop;
		pthread_mutex_unlock(&q->lock);
		if (stop)
			break;
		if (q->fd < 0) {
			if (try_connect(q, why, sizeof(why)) == 0) {
				log_info("qmp %s: connected; client input goes to the VM", q->path);
				told = false;
				continue;
			}
			if (!told)
				log_warn("qmp %s: %s; input is dropped until QEMU is there (retrying "
					 "every %u ms)", q->path, why, RETRY_MS);
			told = true;
			struct timespec ts;
			clock_deadline(&ts, CLOCK_MONOTONIC, RETRY_MS);
			pthread_mutex_lock(&q->lock);
			if (!q->stop)
				pthread_cond_timedwait(&q->cond, &q->lock, &ts);
			pthread_mutex_unlock(&q->lock);
			continue;
		}
		/* Next command: a queued event, or the coalesced motion once it is due. */
		bool have = false;
		pthread_mutex_lock(&q->lock);
		for (;;) {
			if (q->stop)
				break;
			if (q->count) {
				snprintf(cmd, sizeof(cmd),
					 "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":[%s]}}\r\n",
					 q->queue[q->head].events);
				q->head = (q->head + 1) % INPUT_QMP_QUEUE;
				q->count--;
				have = true;
				break;
			}
			uint64_t now = clock_now_ms();
			if (q->motion_pending && now - q->last_motion_ms >= INPUT_QMP_MOTION_MS) {
				snprintf(cmd, sizeof(cmd),
					 "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":["
					 "{\"type\":\"abs\",\"data\":{\"axis\":\"x\",\"value\":%d}},"
					 "{\"type\":\"abs\",\"data\":{\"axis\":\"y\",\"value\":%d}}]}}\r\n",
					 q->motion_x, q->motion_y);
				q->motion_pending = false;
				q->last_motion_ms = now;
				have = true;
				break;
			}
			struct timespec ts;
			clock_deadline(&ts, CLOCK_MONOTONIC, q->motion_pending
						 ? (unsigned)(INPUT_QMP_MOTION_MS - (now - q->last_motion_ms))
						 : 200u);
			if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) == ETIMEDOUT)
				break; /* look at the socket now and then */
		}
		pthread_mutex_unlock(&q->lock);
		if (!have) {
			/* Idle: swallow QEMU's asynchronous events, notice it going away. */
			char line[1024];
			int r;
			while ((r = read_line(q, line, sizeof(line), 0)) > 0)
				;
			if (r < 0) {
				log_warn("qmp %s: QEMU went away; input is dropped until it is back",
					 q->path);
				told = true;
				disconnect(q);
			}
			continue;
		}
		q->sent++;
		int r = send_all(q, cmd) < 0 ? -1 : read_reply(q);
		if (r > 0)
			q->accepted++;
		else if (r == 0)
			q->refused++;
		else {
			log_warn("qmp %s: QEMU went away; input is dropped until it is back", q->path);
			told = true;
			disconnect(q);
		}
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

int input_qmp_start(const char *path, struct input_qmp **out)
{
	struct input_qmp *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->queue = calloc(INPUT_QMP_QUEUE, sizeof(q->queue[0]));
	if (!q->queue) {
		free(q);
		return -ENOMEM;
	}
	snprintf(q->path, sizeof(q->path), "%s", path);
	q->fd = -1;
	q->last_x = q->last_y = -1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	int r = pthread_create(&q->thread, NULL, io_thread, q);
	if (r != 0) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q->queue);
		free(q);
		return -r;
	}
	*out = q;
	return 0;
}

void input_qmp_stop(struct input_qmp *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	if (q->fd >= 0)
		close(q->fd);
	log_info("qmp %s: %u commands sent, %u accepted, %u refused, %u events dropped",
		 q->path, q->sent, q->accepted, q->refused, q->dropped);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->queue);
	free(q);
}
