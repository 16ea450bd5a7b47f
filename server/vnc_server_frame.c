/* The capture side of the screen: waiting for viewers and for input, the framebuffer the capture thread
 * fills, its size changes (every client's send held while the buffer is swapped) and the
 * damage marked for the clients' output threads.
 *
 * Threads: the capture thread, but vnc_server_wake from any thread and
 * vnc_server_note_input from the clients' input threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "client_encoding.h"
#include "clock.h"
#include "log.h"
#include "vnc_server_private.h"

bool vnc_server_wait_for_viewers(struct vnc_server *srv, unsigned timeout_ms)
{
	struct timespec deadline;
	clock_deadline(&deadline, CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&srv->lock);
	while (srv->n_clients == 0 && !srv->woken) {
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline) == ETIMEDOUT)
			break;
	}
	bool viewers = srv->n_clients > 0;
	srv->woken = false;
	pthread_mutex_unlock(&srv->lock);
	return viewers;
}

void vnc_server_wake(struct vnc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->woken = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_cond_broadcast(&srv->input_cond);
	pthread_mutex_unlock(&srv->lock);
}

void vnc_server_note_input(struct vnc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->input_pending = true;
	pthread_mutex_unlock(&srv->lock);
	/* After the unlock, so the woken capture thread does not block on the lock at once
	 * (the flag was set under it: the wake cannot be lost). */
	pthread_cond_signal(&srv->input_cond);
}

bool vnc_server_sleep_until_input(struct vnc_server *srv, const struct timespec *until)
{
	pthread_mutex_lock(&srv->lock);
	/* woken stays set: vnc_server_wait_for_viewers() takes it next. */
	int r = 0;
	while (!srv->input_pending && !srv->woken && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&srv->input_cond, &srv->lock, until);
	bool input = srv->input_pending;
	srv->input_pending = false;
	pthread_mutex_unlock(&srv->lock);
	return input;
}

uint8_t *vnc_server_framebuffer(struct vnc_server *srv, size_t *stride)
{
	*stride = (size_t)srv->width * 4;
	return srv->fb;
}

void vnc_server_size(struct vnc_server *srv, uint32_t *width, uint32_t *height)
{
	*width = srv->width;
	*height = srv->height;
}

/* rfbNewFramebuffer() would also reset the pixel format to libvncserver's default (bytes
 * R,G,B,X), so this does the same steps but keeps ours. Like it, it waits for each
 * client's send in progress (sendMutex), so no client reads the old buffer after it is
 * freed. */
/* Take a client's sendMutex for a resize. A client that does not read holds it in a
 * blocked write for up to libvncserver's rfbMaxClientWait (20 s), and the display of
 * every other client would freeze that long (measured: 11 s without a frame): after
 * RESIZE_WAIT_MS its connection is shut down, which ends the write at once. */
#define RESIZE_WAIT_MS 1000

static void lock_for_resize(rfbClientPtr cl)
{
	struct timespec until;
	clock_deadline(&until, CLOCK_REALTIME, RESIZE_WAIT_MS);
	if (pthread_mutex_timedlock(&cl->sendMutex, &until) == 0)
		return;
	struct client_info *ci = cl->clientData;
	log_warn("client %u (%s): its last update has not gone out for %u ms (it does not "
		 "read); disconnecting it so that the display can change size",
		 ci ? ci->id : 0, ci ? ci->peer : "?", RESIZE_WAIT_MS);
	if (ci && ci->sock_dup >= 0)
		shutdown(ci->sock_dup, SHUT_RDWR);
	LOCK(cl->sendMutex);
}

int vnc_server_resize(struct vnc_server *srv, uint32_t width, uint32_t height)
{
	uint8_t *fb = calloc((size_t)width * height, 4);
	if (!fb)
		return -ENOMEM;
	rfbScreenInfoPtr s = srv->screen;
	/* The clients locked here, and only those, are unlocked below (one that connects
	 * meanwhile reads the new size at its ServerInit); each is referenced so that it
	 * cannot be freed in between. */
	rfbClientPtr *locked = NULL;
	size_t n = 0, cap = 0;
	rfbClientIteratorPtr it = rfbGetClientIterator(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		if (n == cap) {
			rfbClientPtr *grown = realloc(locked, (cap = cap ? 2 * cap : 16) * sizeof(*grown));
			if (!grown) {
				rfbReleaseClientIterator(it);
				for (size_t i = 0; i < n; i++) {
					UNLOCK(locked[i]->sendMutex);
					rfbDecrClientRef(locked[i]);
				}
				free(locked);
				free(fb);
				return -ENOMEM;
			}
			locked = grown;
		}
		rfbIncrClientRef(cl);
		lock_for_resize(cl);
		locked[n++] = cl;
	}
	rfbReleaseClientIterator(it);
	LOCK(s->cursorMutex);

	uint8_t *old = srv->fb;
	s->width = (int)width;
	s->height = (int)height;
	s->paddedWidthInBytes = (int)width * 4;
	s->frameBuffer = (char *)fb;
	if (s->cursorX >= s->width)
		s->cursorX = s->width - 1;
	if (s->cursorY >= s->height)
		s->cursorY = s->height - 1;
	srv->fb = fb;
	srv->width = width;
	srv->height = height;

	for (size_t i = 0; i < n; i++) {
		cl = locked[i];
		LOCK(cl->updateMutex);
		sraRgnDestroy(cl->modifiedRegion);
		cl->modifiedRegion = sraRgnCreateRect(0, 0, (int)width, (int)height);
		sraRgnMakeEmpty(cl->copyRegion);
		cl->copyDX = cl->copyDY = 0;
		/* Also for a client whose SetEncodings (with DesktopSize) is not read yet: the
		 * library sends the size only once it is (every check is useNewFBSize &&
		 * newFBSizePending), instead of never telling that client. */
		cl->newFBSizePending = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
		UNLOCK(cl->sendMutex);
		rfbDecrClientRef(cl);
	}
	free(locked);
	UNLOCK(s->cursorMutex);
	free(old);
	return 0;
}

void vnc_server_mark_modified(struct vnc_server *srv, const uint32_t *rects, size_t n_rects)
{
	if (n_rects == 0)
		return;
	sraRegionPtr region = sraRgnCreate();
	for (size_t i = 0; i < n_rects; i++) {
		const uint32_t *r = rects + 4 * i;
		sraRegionPtr rect = sraRgnCreateRect((int)r[0], (int)r[1], (int)(r[0] + r[2]),
						     (int)(r[1] + r[3]));
		sraRgnOr(region, rect);
		sraRgnDestroy(rect);
	}
	/* One mark for the whole tick, so each client's output thread wakes once (what
	 * rfbMarkRegionAsModified does, through client_encoding for the drawn cursor). */
	rfbClientIteratorPtr it = rfbGetClientIterator(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		LOCK(cl->updateMutex);
		client_encoding_mark_locked(cl, region);
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
	sraRgnDestroy(region);
}

