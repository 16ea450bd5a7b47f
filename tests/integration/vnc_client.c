/* A libvncclient client with bookkeeping for the checks. See vnc_client.h. */
#include "vnc_client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "util.h"

static int vc_tag; /* the address is the rfbClientData tag */

static struct vc *vc_of(rfbClient *cl)
{
	return rfbClientGetClientData(cl, &vc_tag);
}

/* libvncclient's chatter ("Using tight encoding...") only with VNC_CHECK_VERBOSE set. */
static void quiet_log(const char *fmt, ...)
{
	va_list ap;

	if (!getenv("VNC_CHECK_VERBOSE"))
		return;
	va_start(ap, fmt);
	fputs("libvncclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static rfbBool on_malloc_fb(rfbClient *cl)
{
	struct vc *c = vc_of(cl);
	size_t bytes = (size_t)cl->width * (size_t)cl->height * (size_t)(cl->format.bitsPerPixel / 8);

	free(cl->frameBuffer);
	/* zeroed: what the server never sent compares as black, deterministically */
	cl->frameBuffer = calloc(bytes ? bytes : 1, 1);
	if (c && c->n_sizes < VC_MAX_SIZES) {
		c->sizes[c->n_sizes][0] = cl->width;
		c->sizes[c->n_sizes][1] = cl->height;
		c->n_sizes++;
	}
	return cl->frameBuffer != NULL;
}

static void on_rect(rfbClient *cl, int x, int y, int w, int h)
{
	(void)x, (void)y, (void)w, (void)h;
	vc_of(cl)->pixel_rects++;
}

static void on_update_done(rfbClient *cl)
{
	struct vc *c = vc_of(cl);

	c->updates++;
	c->last_update = now_s();
	if (getenv("VNC_CHECK_VERBOSE"))
		say("%s: update %u at +%.3f s, %u pixel rects so far, %dx%d", c->label, c->updates,
		    c->last_update - c->connected_at, c->pixel_rects, cl->width, cl->height);
}

/* Keep a copy of the shape and take rcSource/rcMask away from libvncclient, which would
 * leak rcMask on the next shape and never frees either. */
static void on_cursor(rfbClient *cl, int xhot, int yhot, int w, int h, int bpp)
{
	struct vc *c = vc_of(cl);
	size_t n = (size_t)w * (size_t)h;

	free(c->cur_px);
	free(c->cur_mask);
	c->cur_px = malloc(n * (size_t)bpp + 1);
	c->cur_mask = malloc(n + 1);
	if (c->cur_px && c->cur_mask) {
		memcpy(c->cur_px, cl->rcSource, n * (size_t)bpp);
		memcpy(c->cur_mask, cl->rcMask, n);
	}
	c->cur_w = w, c->cur_h = h, c->cur_xhot = xhot, c->cur_yhot = yhot;
	c->cursor_shapes++;
	free(cl->rcSource);
	free(cl->rcMask);
	cl->rcSource = NULL;
	cl->rcMask = NULL;
}

/* libvncclient frees what this returns. */
static char *on_password(rfbClient *cl)
{
	const char *pw = vc_of(cl)->password;

	return strdup(pw ? pw : "");
}

static bool format_ok(const rfbPixelFormat *f, char *err, size_t err_len)
{
	if (f->bitsPerPixel == 32 && f->trueColour && f->redMax == 255 && f->greenMax == 255 &&
	    f->blueMax == 255 && f->redShift % 8 == 0 && f->greenShift % 8 == 0 &&
	    f->blueShift % 8 == 0)
		return true;
	snprintf(err, err_len,
		 "unexpected client pixel format: %d bpp, true colour %d, max %d/%d/%d, shifts %d/%d/%d",
		 f->bitsPerPixel, f->trueColour, f->redMax, f->greenMax, f->blueMax, f->redShift,
		 f->greenShift, f->blueShift);
	return false;
}

static void setup(rfbClient *cl, const char *host, int port, const struct vc_opts *o)
{
	cl->appData.encodingsString = o->encodings;
	cl->appData.compressLevel = o->compress;
	cl->appData.enableJPEG = o->quality >= 0;
	cl->appData.qualityLevel = o->quality;
	cl->appData.useRemoteCursor = o->remote_cursor;
	cl->canHandleNewFBSize = TRUE;
	cl->connectTimeout = 10;
	cl->MallocFrameBuffer = on_malloc_fb;
	cl->GotFrameBufferUpdate = on_rect;
	cl->FinishedFrameBufferUpdate = on_update_done;
	cl->GotCursorShape = on_cursor;
	cl->GetPassword = on_password;
	free(cl->serverHost);
	cl->serverHost = strdup(host);
	cl->serverPort = port;
}

int vc_connect(struct vc *c, const char *label, int port, const struct vc_opts *o, char *err,
	       size_t err_len)
{
	return vc_connect_to(c, label, "127.0.0.1", port, o, err, err_len);
}

int vc_connect_to(struct vc *c, const char *label, const char *host, int port,
		  const struct vc_opts *o, char *err, size_t err_len)
{
	char prog[] = "vnc_check";
	char *argv[] = {prog, NULL};
	int argc = 1;
	rfbClient *cl;

	memset(c, 0, sizeof(*c));
	c->label = label;
	rfbClientLog = quiet_log;
	cl = rfbGetClient(8, 3, 4);
	if (!cl) {
		snprintf(err, err_len, "%s: rfbGetClient failed", label);
		return -1;
	}
	setup(cl, host, port, o);
	c->password = o->password;
	rfbClientSetClientData(cl, &vc_tag, c);
	c->connected_at = now_s();
	if (!rfbInitClient(cl, &argc, argv)) {
		/* rfbInitClient has already freed cl. (A framebuffer exists only after a
		 * successful handshake, so a refused password leaks nothing.) */
		snprintf(err, err_len, "%s: rfbInitClient failed (connect or handshake refused)",
			 label);
		return -1;
	}
	c->cl = cl;
	c->connected_at = now_s();
	if (!format_ok(&cl->format, err, err_len)) {
		vc_close(c);
		return -1;
	}
	return 0;
}

void vc_close(struct vc *c)
{
	rfbClient *cl = c->cl;

	free(c->cur_px);
	free(c->cur_mask);
	c->cur_px = c->cur_mask = NULL;
	if (!cl)
		return;
	free(cl->frameBuffer);
	free(cl->rcSource);
	free(cl->rcMask);
	cl->frameBuffer = NULL;
	if (cl->tjhnd) /* rfbClientCleanup does not free the JPEG decoder in 0.9.14 */
		tjDestroy(cl->tjhnd);
	cl->tjhnd = NULL;
	rfbClientCleanup(cl);
	c->cl = NULL;
}

/* Handle one message and whatever libvncclient already has buffered. */
static int handle_ready(struct vc *c)
{
	do {
		if (!HandleRFBServerMessage(c->cl)) {
			say("%s: connection to the server failed (HandleRFBServerMessage)", c->label);
			c->dead = true;
			return -1;
		}
	} while (c->cl->buffered > 0);
	return 0;
}

int vc_pump(struct vc **cs, size_t n, double seconds)
{
	double end = now_s() + seconds;
	struct pollfd pfd[16];

	if (n > 16)
		n = 16;
	do {
		double left = end - now_s();
		int rc;

		for (size_t i = 0; i < n; i++) {
			pfd[i].fd = cs[i]->cl && !cs[i]->dead ? cs[i]->cl->sock : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			if (pfd[i].fd >= 0 && cs[i]->cl->buffered > 0 && handle_ready(cs[i]) < 0)
				return -1;
		}
		rc = poll(pfd, n, left > 0 ? (int)(left * 1000) + 1 : 0);
		if (rc < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; rc > 0 && i < n; i++)
			if (pfd[i].revents && handle_ready(cs[i]) < 0)
				return -1;
	} while (now_s() < end);
	return 0;
}

static void pixel_rgb(const rfbPixelFormat *f, const uint8_t *p, uint8_t rgb[3])
{
	uint32_t v;

	memcpy(&v, p, 4);
	if (f->bigEndian)
		v = __builtin_bswap32(v);
	rgb[0] = (uint8_t)(v >> f->redShift);
	rgb[1] = (uint8_t)(v >> f->greenShift);
	rgb[2] = (uint8_t)(v >> f->blueShift);
}

void vc_fb_rgb(const struct vc *c, int x, int y, uint8_t rgb[3])
{
	pixel_rgb(&c->cl->format, c->cl->frameBuffer + ((size_t)y * c->cl->width + x) * 4, rgb);
}

void vc_cursor_rgb(const struct vc *c, int x, int y, uint8_t rgb[3])
{
	pixel_rgb(&c->cl->format, c->cur_px + ((size_t)y * c->cur_w + x) * 4, rgb);
}

int vc_snapshot(const struct vc *c, struct ref_frame *out)
{
	out->width = (uint32_t)c->cl->width;
	out->height = (uint32_t)c->cl->height;
	out->rgb = malloc((size_t)out->width * out->height * 3 + 1);
	if (!out->rgb)
		return -1;
	for (int y = 0; y < c->cl->height; y++)
		for (int x = 0; x < c->cl->width; x++)
			vc_fb_rgb(c, x, y, out->rgb + ((size_t)y * out->width + x) * 3);
	return 0;
}

bool vc_send(struct vc *c, const struct ref_event *e)
{
	if (e->kind == REF_POINTER)
		return SendPointerEvent(c->cl, e->x, e->y, (int)e->buttons);
	return SendKeyEvent(c->cl, e->keysym, e->down ? TRUE : FALSE);
}
