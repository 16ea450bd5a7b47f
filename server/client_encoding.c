/* The protocol extension that carries per-client encoding state, and the dispatch. */
#include "client_encoding.h"

#include <rfb/rfbregion.h>
#include <stdlib.h>

#include "cursor.h"
#include "log.h"
#include "open_h264.h"
#include "tight_jpeg.h"

static int pseudo_encodings[] = {RFB_ENCODING_OPEN_H264, 0};

/* The client's input thread: every FramebufferUpdateRequest, after libvncserver clipped
 * it to the screen and vnc_server.c's guard made it non-empty, before libvncserver adds
 * it to the requested region (outside any lock the output thread holds). The paths
 * that serve updates themselves order the request after the update in progress. */
static void on_request(rfbClientPtr cl, rfbFramebufferUpdateRequestMsg *msg)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (!ce)
		return;
	if (ce->next_request_hook)
		ce->next_request_hook(cl, msg);
	tight_jpeg_on_request(cl, ce->tjpeg);
	if (open_h264_on_request(cl, ce, msg)) {
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

/* The handshake thread, before the client's threads start. */
static rfbBool ext_new_client(rfbClientPtr cl, void **data)
{
	struct client_encoding *ce = calloc(1, sizeof(*ce));
	*data = ce;
	if (!ce)
		return FALSE;
	ce->next_request_hook = cl->clientFramebufferUpdateRequestHook;
	cl->clientFramebufferUpdateRequestHook = on_request;
	return TRUE;
}

static rfbBool ext_enable_pseudo_encoding(rfbClientPtr cl, void **data, int encoding)
{
	(void)cl;
	struct client_encoding *ce = *data;
	if (encoding != RFB_ENCODING_OPEN_H264 || !ce)
		return FALSE;
	ce->lists_h264 = true;
	return TRUE;
}

static void free_state(rfbClientPtr cl, struct client_encoding *ce)
{
	if (!ce)
		return;
	drawn_cursor_free(cl, &ce->drawn_cursor);
	cursor_release(ce->cursor);
	if (ce->h264)
		open_h264_client_free(ce->h264);
	if (ce->tjpeg)
		tight_jpeg_client_free(ce->tjpeg);
	free(ce);
}

/* No close(): libvncserver 0.9.14 calls it from rfbCloseClient, on whichever thread
 * notices the end (perhaps several times), while the client's output thread may still be
 * sending with this state; and it never frees the per-client record. The server's
 * clientGoneHook calls client_encoding_client_gone() instead, after both client threads
 * have ended. */
static rfbProtocolExtension extension = {
	.newClient = ext_new_client,
	.pseudoEncodings = pseudo_encodings,
	.enablePseudoEncoding = ext_enable_pseudo_encoding,
};

void client_encoding_client_gone(rfbClientPtr cl)
{
	rfbExtensionData **link = &cl->extensions;
	while (*link) {
		rfbExtensionData *e = *link;
		if (e->extension != &extension) {
			link = &e->next;
			continue;
		}
		*link = e->next;
		free_state(cl, e->data);
		free(e);
	}
}

void client_encoding_register(void)
{
	static bool registered;
	if (!registered) {
		tight_jpeg_register(); /* before ours: its newClient runs after ours */
		rfbRegisterProtocolExtension(&extension);
	}
	registered = true;
}

struct client_encoding *client_encoding_get(rfbClientPtr cl)
{
	return rfbGetExtensionClientData(cl, &extension);
}

enum client_path client_encoding_choose(rfbClientPtr cl, const struct client_encoding *ce)
{
	if (ce && ce->lists_h264 && open_h264_available())
		return CLIENT_PATH_H264;
	if (tight_jpeg_applies(cl))
		return CLIENT_PATH_TIGHT_JPEG;
	return CLIENT_PATH_LIBRARY;
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
	return region;
}

void client_encoding_display_hook(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	if (!ce)
		return;
	/* First, so that a DesktopSize message below already sees the client's copy. */
	drawn_cursor_prepare(cl, ce);
	/* A size change goes first, as the library's own DesktopSize update; our frame at
	 * the new size follows on the client's next request. */
	if (cl->useNewFBSize && cl->newFBSizePending)
		return;
	enum client_path path = client_encoding_choose(cl, ce);
	if (path != ce->path) {
		static const char *const names[] = {"libvncserver", "Tight-JPEG", "Open H.264"};
		log_debug("client %p: updates now through %s", (void *)cl, names[path]);
		ce->path = path;
	}
	switch (path) {
	case CLIENT_PATH_H264:
		open_h264_send_update(cl, ce);
		break;
	case CLIENT_PATH_TIGHT_JPEG:
		tight_jpeg_send_update(cl, ce);
		break;
	case CLIENT_PATH_LIBRARY:
		break;
	}
}
