/* Fuzz target: what a client sends, through libvncserver and everything of ours that its
 * messages reach: our handshake (the first-bytes check, the WebSocket upgrade, version,
 * security type, VNC authentication, ClientInit, driven by auth.c), the protocol
 * extension and request hook (client_encoding.c, open_h264.c), the pixel-format guard,
 * and the update paths a client's choices select (Open H.264 on x264, Tight-JPEG, drawn
 * cursors, libvncserver's encoders).
 *
 * A real server (vnc_server_create with a password, H.264 on, a 64x48 screen with a
 * picture and a cursor, a fake input device) is made once. Each input becomes one client
 * on a socketpair: the input's bytes are written to the peer end, which then closes its
 * writing side, so every read either finds the fuzzer's bytes or EOF and nothing blocks.
 * The first byte chooses:
 *   bit 0  the harness sends a complete handshake first (version 3.8, VNC authentication
 *          with an accepted response, ClientInit), so the rest are normal messages;
 *          otherwise the fuzzer's bytes are the handshake;
 *   bit 1  all of it goes in WebSocket frames after an HTTP upgrade (bit 2: the first
 *          frame holds everything, else frames of at most 7 bytes).
 * The password check is the harness's, without auth.c's delays: a response whose first
 * byte is odd is right. The handshake runs as the server's handshake thread runs it
 * (vnc_server_handshake_now, with libvncserver in its threaded mode's way of closing a
 * client: the socket stays open, its unread bytes too); then the client's messages are
 * processed one by one on this thread (libvncserver's non-threaded mode), each followed
 * by a new picture and the update it asked for; what the server writes back is drained.
 *
 * Besides ASan and UBSan, the harness checks that nothing a client sends acts before its
 * password was accepted: libvncserver's key, pointer, SetDesktopSize and SetPixelFormat
 * hooks and the fake input device abort() when called before that, and a client whose
 * password was not accepted must not come out of the handshake. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "config.h"
#include "frame_store.h"
#include "auth.h"
#include "log.h"
#include "open_h264.h"
#include "plane_source.h"
#include "vnc_server.h"

#define W 64
#define H 48
#define MAX_MESSAGES 512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct vnc_server *srv;
static struct frame_store frames; /* what the encoders read; published below */
static struct plane_info plane = {.drm_plane_type = PLANE_PRIMARY,
				  .fourcc = PLANE_FORMAT_XRGB8888, .width = W, .height = H,
				  .stride = W * 4, .size = W * H * 4, .dmabuf_id = 1};

/* Whether the current client's password was accepted: before that, nothing may act. */
static bool accepted;

static void must_be_accepted(const char *what)
{
	if (!accepted) {
		fprintf(stderr, "fuzz_client: %s before the password was accepted\n", what);
		abort();
	}
}

static rfbBool fuzz_password_check(rfbClientPtr cl, const char *response, int len)
{
	(void)cl;
	accepted = len > 0 && (response[0] & 1);
	return accepted;
}

/* libvncserver's hooks, wrapped: called for a message only when auth.c let it be read. */
static rfbKbdAddEventProcPtr real_kbd;
static rfbPtrAddEventProcPtr real_ptr;
static rfbSetDesktopSizeHookPtr real_desktop_size;
static rfbSetTranslateFunctionProcPtr real_translate;

static void fuzz_kbd(rfbBool down, rfbKeySym k, rfbClientPtr cl)
{
	must_be_accepted("a KeyEvent was read");
	real_kbd(down, k, cl);
}

static void fuzz_ptr(int buttons, int x, int y, rfbClientPtr cl)
{
	must_be_accepted("a PointerEvent was read");
	real_ptr(buttons, x, y, cl);
}

static int fuzz_desktop_size(int w, int h, int n, struct rfbExtDesktopScreen *s, rfbClientPtr cl)
{
	must_be_accepted("a SetDesktopSize was read");
	return real_desktop_size(w, h, n, s, cl);
}

static rfbBool fuzz_translate(rfbClientPtr cl)
{
	must_be_accepted("a SetPixelFormat was read");
	return real_translate(cl);
}

/* The VM's input, as the server sees it. */
static void sink_pointer(struct plane_source *src, int x, int y, uint32_t buttons)
{
	(void)src, (void)x, (void)y, (void)buttons;
	must_be_accepted("pointer input reached the VM");
}

static void sink_key(struct plane_source *src, uint32_t keysym, bool down)
{
	(void)src, (void)keysym, (void)down;
	must_be_accepted("a key reached the VM");
}

static int sink_request_size(struct plane_source *src, uint32_t width, uint32_t height)
{
	(void)src, (void)width, (void)height;
	must_be_accepted("a display size request reached the VM");
	return -EINVAL;
}

static const struct plane_source_ops sink_ops = {
	.pointer = sink_pointer, .key = sink_key, .request_size = sink_request_size};
static struct plane_source sink = {.ops = &sink_ops};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	char *args[] = {"vgpu-vnc", "--source", "synthetic:64x48:static", "--encoder", "x264",
			"--log-level", "error", NULL};
	char err[512];
	FILE *null = fopen("/dev/null", "we");
	if (config_load(&cfg, 7, args, null, null) != CONFIG_OK)
		abort();
	fclose(null);
	/* FUZZ_CLIENT_DEBUG=1 shows the server's log while reproducing an input. */
	log_set_level(getenv("FUZZ_CLIENT_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	/* A password: clients go through VNC authentication (checked by the harness). */
	frame_store_init(&frames);
	if (auth_set_password("fuzz", 0, err, sizeof(err)) < 0 ||
	    open_h264_init(&cfg, &frames, err, sizeof(err)) < 0 ||
	    vnc_server_create(&cfg, &sink, &frames, W, H, &srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_client: %s\n", err);
		abort();
	}
	rfbScreenInfoPtr s = vnc_server_screen(srv);
	s->passwordCheck = fuzz_password_check;
	real_kbd = s->kbdAddEvent, s->kbdAddEvent = fuzz_kbd;
	real_ptr = s->ptrAddEvent, s->ptrAddEvent = fuzz_ptr;
	real_desktop_size = s->setDesktopSizeHook, s->setDesktopSizeHook = fuzz_desktop_size;
	real_translate = s->setTranslateFunction, s->setTranslateFunction = fuzz_translate;
	/* A picture with edges and flat parts, and a cursor with translucent pixels. */
	size_t stride;
	uint8_t *fb = vnc_server_framebuffer(srv, &stride);
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			uint8_t *p = fb + y * stride + x * 4;
			p[0] = (uint8_t)(x * 4), p[1] = (uint8_t)(y * 5), p[2] = x < 32 ? 200 : 20;
			p[3] = 0;
		}
	uint8_t cursor[16 * 16 * 4];
	for (int i = 0; i < 16 * 16; i++)
		memcpy(cursor + 4 * i, (uint8_t[]){(uint8_t)i, 0x80, 0x20, (uint8_t)(i * 7)}, 4);
	vnc_server_set_cursor(srv, cursor, 16 * 4, 16, 16, 3, 4);
	vnc_server_move_cursor(srv, 30, 20);
	return 0;
}

static void drain(int fd)
{
	uint8_t buf[65536];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static bool put(int fd, const void *p, size_t n)
{
	return n == 0 || write(fd, p, n) == (ssize_t)n;
}

/* One masked binary frame. */
static bool put_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t f[8 + 65535];
	size_t h = 0;
	f[h++] = 0x82;
	if (n < 126) {
		f[h++] = (uint8_t)(0x80 | n);
	} else {
		f[h++] = 0x80 | 126;
		f[h++] = (uint8_t)(n >> 8);
		f[h++] = (uint8_t)n;
	}
	static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
	memcpy(f + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		f[h + i] = p[i] ^ mask[i % 4];
	return put(fd, f, h + n);
}

/* The client's bytes, framed or not. */
static bool put_client(int fd, const uint8_t *p, size_t n, bool ws, bool one_frame)
{
	if (!ws)
		return put(fd, p, n);
	size_t max = one_frame ? 65535 : 7;
	for (size_t off = 0; off < n; off += max)
		if (!put_frame(fd, p + off, n - off < max ? n - off : max))
			return false;
	return true;
}

static const char ws_request[] =
	"GET / HTTP/1.1\r\nHost: fuzz\r\nOrigin: http://fuzz\r\n"
	"Upgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Protocol: binary\r\nSec-WebSocket-Version: 13\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	bool normal = d[0] & 1, ws = d[0] & 2, one_frame = d[0] & 4;
	/* Version 3.8, VNC authentication, a response the harness accepts, ClientInit. */
	static uint8_t login[12 + 1 + 16 + 1] = "RFB 003.008\n\x02\x01";
	login[sizeof(login) - 1] = 1;
	uint8_t *all = malloc(sizeof(login) + size);
	if (!all) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	size_t n = 0;
	if (normal) {
		memcpy(all, login, sizeof(login));
		n = sizeof(login);
	}
	memcpy(all + n, d + 1, size - 1);
	n += size - 1;
	bool written = (!ws || put(sv[1], ws_request, strlen(ws_request))) &&
		       put_client(sv[1], all, n, ws, one_frame);
	free(all);
	if (!written) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	accepted = false;
	/* As in the server, where a closed client keeps its socket until its threads end
	 * (libvncserver only marks it RFB_SHUTDOWN): what it sent after is still there. */
	rfbScreenInfoPtr screen = vnc_server_screen(srv);
	screen->backgroundLoop = TRUE;
	rfbClientPtr cl = vnc_server_handshake_now(srv, sv[0], "fuzz"); /* owns sv[0] */
	screen->backgroundLoop = FALSE;
	drain(sv[1]);
	if (!cl) {
		close(sv[1]);
		return 0;
	}
	must_be_accepted("a client came out of the handshake");
	cl->onHold = FALSE; /* no threads here: its messages are processed below */
	struct frame_store *fs = &frames;
	for (int i = 0; i < MAX_MESSAGES && cl->sock != RFB_INVALID_SOCKET &&
			cl->state != RFB_SHUTDOWN; i++) {
		rfbProcessClientMessage(cl);
		drain(sv[1]);
		if (cl->sock == RFB_INVALID_SOCKET || cl->state != RFB_NORMAL)
			continue;
		/* A new picture for the encoders, and the update the client asked for. */
		frame_store_publish(fs, &plane, -1, true);
		uint32_t rect[4] = {0, 0, W, H};
		vnc_server_mark_modified(srv, rect, 1);
		rfbUpdateClient(cl);
		drain(sv[1]);
	}
	if (cl->sock != RFB_INVALID_SOCKET)
		rfbCloseClient(cl);
	rfbClientConnectionGone(cl);
	close(sv[1]);
	return 0;
}
