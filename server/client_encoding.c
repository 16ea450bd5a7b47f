/* The protocol extension that carries per-client encoding state, and the dispatch. */
#include "client_encoding.h"

#include <rfb/rfbregion.h>
#include <stdlib.h>

#include "cursor.h"
#include "log.h"
#include "rfb_extension.h"

/* The paths in priority order (client_encoding_register), and the pseudo-encodings they
 * take from SetEncodings, 0-terminated for libvncserver. */
static struct {
	const struct client_encoding_ops *const *paths;
	size_t n;
	int pseudo_encodings[CLIENT_PATH_COUNT + 1];
} g;

static bool library_applies(rfbClientPtr cl, struct client_encoding *ce)
{
	(void)cl;
	(void)ce;
	return true;
}

const struct client_encoding_ops client_encoding_library = {
	.name = "library",
	.title = "libvncserver",
	.path = CLIENT_PATH_LIBRARY,
	.applies = library_applies,
};

/* The client's input thread: every FramebufferUpdateRequest, after libvncserver clipped
 * it to the screen and vnc_server_clients.c's guard made it non-empty, before libvncserver
 * adds it to the requested region (outside any lock the output thread holds). The paths
 * that serve updates themselves order the request after the update in progress. */
static void on_request(rfbClientPtr cl, rfbFramebufferUpdateRequestMsg *msg)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (!ce)
		return;
	if (ce->next_request_hook)
		ce->next_request_hook(cl, msg);
	bool registered = false;
	for (size_t i = 0; i < g.n; i++)
		if (g.paths[i]->on_request && g.paths[i]->on_request(cl, ce, msg))
			registered = true;
	if (registered) {
		/* Registered already, between updates. libvncserver adds what is left here
		 * outside that order, so leave it what can never be sent: one pixel just
		 * outside the screen, incremental. The modified and copy regions lie inside
		 * the screen, so libvncserver's own encoders never answer it (a pixel inside,
		 * added while an update was on its way, went out raw to an H.264 client under
		 * load). Never an empty rectangle: libvncserver 0.9.14 keeps a 0x0 request as a
		 * degenerate rectangle that stays in the modified region, and then answered
		 * every later request with an update on a still screen. (The screen is at most
		 * PLANE_MAX_WIDTH x PLANE_MAX_HEIGHT: the coordinates fit in 16 bits.) */
		msg->incremental = 1;
		msg->x = (uint16_t)cl->screen->width;
		msg->y = (uint16_t)cl->screen->height;
		msg->w = msg->h = 1;
	}
}

static void free_state(rfbClientPtr cl, struct client_encoding *ce)
{
	if (!ce)
		return;
	drawn_cursor_free(cl, &ce->drawn_cursor);
	cursor_release(ce->cursor);
	for (size_t i = 0; i < g.n; i++) {
		const struct client_encoding_ops *p = g.paths[i];
		if (p->free_state && ce->state[p->path])
			p->free_state(ce->state[p->path]);
	}
	free(ce);
}

/* The handshake thread, before the client's threads start: the client's state and each
 * path's, so that its threads find them made and never write the pointers. */
static rfbBool ext_new_client(rfbClientPtr cl, void **data)
{
	struct client_encoding *ce = calloc(1, sizeof(*ce));
	*data = ce;
	if (!ce)
		return FALSE;
	atomic_init(&ce->served_by, &client_encoding_library);
	for (size_t i = 0; i < g.n; i++) {
		const struct client_encoding_ops *p = g.paths[i];
		if (p->new_state)
			ce->state[p->path] = p->new_state(cl);
	}
	ce->next_request_hook = cl->clientFramebufferUpdateRequestHook;
	cl->clientFramebufferUpdateRequestHook = on_request;
	return TRUE;
}

/* The input thread, for SetEncodings. */
static rfbBool ext_enable_pseudo_encoding(rfbClientPtr cl, void **data, int encoding)
{
	(void)cl;
	struct client_encoding *ce = *data;
	if (!ce || encoding == 0)
		return FALSE;
	for (size_t i = 0; i < g.n; i++)
		if (g.paths[i]->pseudo_encoding == encoding) {
			ce->listed[g.paths[i]->path] = true;
			return TRUE;
		}
	return FALSE;
}

/* No close(): libvncserver 0.9.14 calls it from rfbCloseClient, on whichever thread
 * notices the end (perhaps several times), while the client's output thread may still be
 * sending with this state; and it never frees the per-client record. The server's
 * clientGoneHook calls client_encoding_client_gone() instead, after both client threads
 * have ended. */
static rfbProtocolExtension extension = {
	.newClient = ext_new_client,
	.pseudoEncodings = g.pseudo_encodings,
	.enablePseudoEncoding = ext_enable_pseudo_encoding,
};

void client_encoding_client_gone(rfbClientPtr cl)
{
	void *state;
	while (rfb_extension_take(cl, &extension, &state))
		free_state(cl, state);
}

void client_encoding_register(const struct client_encoding_ops *const *paths, size_t n)
{
	static bool registered;
	if (n > CLIENT_PATH_COUNT)
		n = CLIENT_PATH_COUNT;
	g.paths = paths;
	g.n = n;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (paths[i]->pseudo_encoding)
			g.pseudo_encodings[k++] = paths[i]->pseudo_encoding;
	g.pseudo_encodings[k] = 0;
	if (!registered)
		rfbRegisterProtocolExtension(&extension);
	registered = true;
}

struct client_encoding *client_encoding_get(rfbClientPtr cl)
{
	return rfbGetExtensionClientData(cl, &extension);
}

const char *client_encoding_served_by(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	return ce ? atomic_load(&ce->served_by)->name : client_encoding_library.name;
}

sraRegionPtr client_encoding_take_update(rfbClientPtr cl)
{
	LOCK(cl->updateMutex);
	sraRegionPtr region = sraRgnCreateRgn(cl->modifiedRegion);
	if (!sraRgnAnd(region, cl->requestedRegion)) {
		UNLOCK(cl->updateMutex);
		sraRgnDestroy(region);
		return NULL;
	}
	sraRgnSubtract(cl->modifiedRegion, region);
	sraRgnMakeEmpty(cl->requestedRegion);
	UNLOCK(cl->updateMutex);
	/* Only now, with the region out of the modified one, are its pixels copied for a
	 * drawn cursor: a mark after this stays for the next update. */
	struct client_encoding *ce = client_encoding_get(cl);
	if (ce)
		drawn_cursor_refresh(cl, &ce->drawn_cursor, region);
	return region;
}

void client_encoding_give_back(rfbClientPtr cl, sraRegionPtr region)
{
	LOCK(cl->updateMutex);
	sraRgnOr(cl->modifiedRegion, region);
	sraRgnOr(cl->requestedRegion, region);
	UNLOCK(cl->updateMutex);
}

void client_encoding_display_hook(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (!ce)
		return;
	/* First, so that a DesktopSize message below already sees the client's copy. */
	drawn_cursor_prepare(cl, &ce->drawn_cursor, &ce->takes_cursor);
	/* A size change goes first, as the library's own DesktopSize update; our frame at
	 * the new size follows on the client's next request. */
	if (cl->useNewFBSize && cl->newFBSizePending)
		return;
	const struct client_encoding_ops *path = &client_encoding_library;
	for (size_t i = 0; i < g.n; i++)
		if (g.paths[i]->applies(cl, ce)) {
			path = g.paths[i];
			break;
		}
	if (path != atomic_load(&ce->served_by)) {
		log_debug("client %p: updates now through %s", (void *)cl, path->title);
		atomic_store(&ce->served_by, path);
	}
	/* False: the path left the update to libvncserver, which goes on with it, from the
	 * copy with the cursor drawn in over what is modified now. (A path that sends took
	 * its region first and had the copy refreshed over it: client_encoding_take_update.) */
	if (!path->send_update || !path->send_update(cl, ce))
		drawn_cursor_refresh_for_library(cl, &ce->drawn_cursor);
}

void client_encoding_update_sent(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (ce)
		drawn_cursor_library_sent(cl, &ce->drawn_cursor);
}

void client_encoding_mark_locked(rfbClientPtr cl, sraRegionPtr region)
{
	struct client_encoding *ce = client_encoding_get(cl);
	sraRgnOr(cl->modifiedRegion, region);
	if (ce)
		drawn_cursor_marked_locked(&ce->drawn_cursor, region);
}
