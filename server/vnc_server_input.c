/* What clients send that acts: keys (also QEMU extended key events), the pointer, pixel
 * formats (the translation swapped under the client's sendMutex) and SetDesktopSize, kept
 * for the capture thread to apply. Nothing acts before the client is let in.
 *
 * Threads: the hooks on each client's input thread; vnc_server_set_input on main before
 * start; vnc_server_take_size_request on the capture thread.
 */

#include "clock.h"
#include "log.h"
#include "qemu_key_event.h"
#include "vnc_server_private.h"

bool vnc_server_client_may_act(rfbClientPtr cl, const char *what)
{
	struct client_info *ci = cl->clientData;
	if (ci && atomic_load(&ci->authenticated) && cl->state == RFB_NORMAL)
		return true;
	/* Cannot happen while auth.c stops at the first failed step: if it does, a log line
	 * (rate-limited: a client can send many) and nothing reaches the VM. */
	static struct log_ratelimit rl;
	log_ratelimited(&rl, 5000, LOG_WARN, "client %u (%s): %s ignored: %s", ci ? ci->id : 0,
			ci ? ci->peer : "?", what,
			ci && atomic_load(&ci->authenticated) ? "the client is being closed"
							      : "not authenticated");
	return false;
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	if (!vnc_server_client_may_act(cl, "a key event"))
		return;
	if (srv->sink.key)
		srv->sink.key(srv->sink.opaque, (uint32_t)keysym, 0, down != 0);
	vnc_server_note_input(srv);
}

/* A QEMU Extended Key Event (qemu_key_event.h): a key with its XT key number. */
static void on_key_code(rfbClientPtr cl, uint32_t keysym, uint32_t keycode, bool down)
{
	struct vnc_server *srv = cl->screen->screenData;
	if (!vnc_server_client_may_act(cl, "a QEMU key event"))
		return;
	if (srv->sink.key)
		srv->sink.key(srv->sink.opaque, keysym, keycode, down);
	vnc_server_note_input(srv);
}

static void on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct vnc_server *srv = cl->screen->screenData;
	if (!vnc_server_client_may_act(cl, "a pointer event"))
		return;
	/* libvncserver does not clip pointer coordinates to the screen. */
	if (x < 0 || y < 0 || x >= cl->screen->width || y >= cl->screen->height) {
		x = x < 0 ? 0 : (x >= cl->screen->width ? cl->screen->width - 1 : x);
		y = y < 0 ? 0 : (y >= cl->screen->height ? cl->screen->height - 1 : y);
	}
	if (srv->sink.pointer)
		srv->sink.pointer(srv->sink.opaque, x, y, cl->screen->width, cl->screen->height,
				  (uint32_t)buttons & 0xff);
	vnc_server_note_input(srv);
}

void vnc_server_set_input(struct vnc_server *srv, const struct input_sink *sink)
{
	srv->sink = *sink;
	if (sink->takes_keycodes)
		qemu_key_event_register(on_key_code);
}

/* screen->setTranslateFunction, on the client's input thread right after SetPixelFormat.
 * libvncserver 0.9.14 writes the new format into the client while its output thread may
 * be encoding an update with the old translation function and buffer sizes: from 8 to 32
 * bpp mid-update the raw encoder writes 4 bytes a pixel into room for 1 (a heap overflow
 * of cl->updateBuf), and the old lookup table is freed under it. Swapping the
 * translation while holding sendMutex (which the output thread holds for a whole update)
 * keeps each update consistent. Formats it cannot serve (0 or 64 bpp) would make the
 * next raw rectangle divide by zero: the client goes, with a line that says why. */
static rfbBool set_translate(rfbClientPtr cl)
{
	int bpp = cl->format.bitsPerPixel;
	bool may = vnc_server_client_may_act(cl, "SetPixelFormat");
	if (!may || (bpp != 8 && bpp != 16 && bpp != 32)) {
		struct client_info *ci = cl->clientData;
		if (may)
			log_warn("client %u (%s): SetPixelFormat with %d bits per pixel; "
				 "disconnecting", ci ? ci->id : 0, ci ? ci->peer : "?", bpp);
		LOCK(cl->sendMutex);
		cl->format = cl->screen->serverFormat;
		cl->translateFn = rfbTranslateNone;
		UNLOCK(cl->sendMutex);
		rfbCloseClient(cl);
		return FALSE;
	}
	LOCK(cl->sendMutex);
	rfbBool ok = rfbSetTranslateFunction(cl);
	UNLOCK(cl->sendMutex);
	return ok;
}

/* A client's SetDesktopSize. Each size the source is asked for rewrites the guest's EDID
 * and takes its link down, so a client must not be able to do that at its own rate: the
 * request is only recorded here (the latest wins) and the capture thread applies it, at
 * most once a second (vnc_server_take_size_request). The mode change that follows reaches
 * every client as ExtendedDesktopSize. A request for the size the screen has already,
 * with none waiting, changes nothing and is answered at once. */
static int on_set_desktop_size(int width, int height, int n_screens,
			       struct rfbExtDesktopScreen *screens, rfbClientPtr cl)
{
	(void)screens;
	struct vnc_server *srv = cl->screen->screenData;
	struct client_info *ci = cl->clientData;
	if (!vnc_server_client_may_act(cl, "SetDesktopSize"))
		return rfbExtDesktopSize_ResizeProhibited;
	if (!srv->source || !srv->source->ops->request_size)
		return rfbExtDesktopSize_ResizeProhibited;
	if (n_screens != 1 || width <= 0 || height <= 0 || (uint32_t)width > PLANE_MAX_WIDTH ||
	    (uint32_t)height > PLANE_MAX_HEIGHT)
		return rfbExtDesktopSize_InvalidScreenLayout;
	/* libvncserver 0.9.14 leaks a client iterator (24 bytes) on every SetDesktopSize
	 * answered with success: a client that sends them without end is disconnected.
	 * The budget refills over time; viewers send one per window resize. */
	if (ci) {
		uint64_t now = clock_now_ms();
		unsigned back = (unsigned)((now - ci->resize_ms) / VNC_RESIZE_REFILL_MS);
		if (back) {
			ci->resize_used = back >= ci->resize_used ? 0 : ci->resize_used - back;
			ci->resize_ms = now;
		}
		if (++ci->resize_used > VNC_RESIZE_BUDGET) {
			log_warn("client %u (%s): more than %u SetDesktopSize messages in a row; "
				 "disconnecting", ci->id, ci->peer, VNC_RESIZE_BUDGET);
			rfbCloseClient(cl);
			return rfbExtDesktopSize_ResizeProhibited;
		}
	}
	uint64_t want = (uint64_t)width << 32 | (uint32_t)height;
	uint64_t before = atomic_load(&srv->size_request);
	bool same = before == want ||
		    (before == 0 && width == cl->screen->width && height == cl->screen->height);
	if (!same)
		atomic_store(&srv->size_request, want);
	log_debug("client %u asked for a %dx%d display%s", ci ? ci->id : 0, width, height,
		  same ? " (already asked for or shown: nothing to do)" : "");
	if (same && before == 0) {
		/* No mode change will answer it: send ExtendedDesktopSize (reason: this
		 * client, status: success) with the next update. */
		LOCK(cl->updateMutex);
		cl->newFBSizePending = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	return rfbExtDesktopSize_Success;
}

bool vnc_server_take_size_request(struct vnc_server *srv, uint32_t *width, uint32_t *height)
{
	uint64_t v = atomic_exchange(&srv->size_request, 0);
	*width = (uint32_t)(v >> 32);
	*height = (uint32_t)v;
	return v != 0;
}

void vnc_server_input_hooks(rfbScreenInfoPtr s)
{
	s->kbdAddEvent = on_key;
	s->ptrAddEvent = on_pointer;
	s->setDesktopSizeHook = on_set_desktop_size;
	s->setTranslateFunction = set_translate;
}
