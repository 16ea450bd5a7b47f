/* The QEMU Extended Key Event pseudo-encoding. See qemu_key_event.h. */
#include "qemu_key_event.h"

#include <rfb/rfb.h>
#include <stdlib.h>

#include "log.h"
#include "rfb_extension.h"

static qemu_key_event_fn *key_fn; /* set once, before any client */

static int ext_encodings[] = {QEMU_EXTENDED_KEY_EVENT, 0};

/* Client input thread (SetEncodings): acknowledge with an empty -258 rectangle, once. */
static rfbBool ext_enable(rfbClientPtr cl, void **data, int encoding)
{
	if (encoding != QEMU_EXTENDED_KEY_EVENT)
		return FALSE;
	if (*data)
		return TRUE;
	*data = (void *)1;
	/* FramebufferUpdate, one rectangle 0,0 0x0 of encoding -258 (0xfffffefe). */
	static const char msg[sz_rfbFramebufferUpdateMsg + sz_rfbFramebufferUpdateRectHeader] = {
		rfbFramebufferUpdate, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
		(char)0xff, (char)0xff, (char)0xfe, (char)0xfe};
	/* The output thread holds sendMutex for a whole update: ours goes between two. */
	LOCK(cl->sendMutex);
	int w = rfbWriteExact(cl, msg, sizeof(msg));
	UNLOCK(cl->sendMutex);
	if (w < 0)
		rfbCloseClient(cl);
	return TRUE;
}

/* Client input thread: message 255 subtype 0, the rest after the type byte. */
static rfbBool ext_message(rfbClientPtr cl, void *data, const rfbClientToServerMsg *msg)
{
	(void)data;
	if (msg->type != 255)
		return FALSE;
	uint8_t b[11];
	if (rfbReadExact(cl, (char *)b, sizeof(b)) <= 0) {
		rfbCloseClient(cl);
		return TRUE;
	}
	uint32_t down = (uint32_t)b[1] << 8 | b[2];
	uint32_t keysym = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 8 | b[6];
	uint32_t keycode = (uint32_t)b[7] << 24 | (uint32_t)b[8] << 16 | (uint32_t)b[9] << 8 | b[10];
	if (b[0] != 0 || down > 1) {
		log_warn("client sent a malformed QEMU key event (subtype %u, down %u): closing",
			 b[0], down);
		rfbCloseClient(cl);
		return TRUE;
	}
	key_fn(cl, keysym, keycode, down != 0);
	return TRUE;
}

static rfbProtocolExtension ext_key_event = {
	.pseudoEncodings = ext_encodings,
	.enablePseudoEncoding = ext_enable,
	.handleMessage = ext_message,
};

void qemu_key_event_client_gone(struct _rfbClientRec *cl)
{
	void *flag;
	while (rfb_extension_take(cl, &ext_key_event, &flag))
		; /* the data is only a flag: nothing to free */
}

void qemu_key_event_register(qemu_key_event_fn *key)
{
	if (key_fn)
		return;
	key_fn = key;
	rfbRegisterProtocolExtension(&ext_key_event);
}
