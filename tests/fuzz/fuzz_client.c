/* Fuzz target: what a client sends, through libvncserver and everything of ours that its
 * messages reach: the protocol extension and request hook (client_encoding.c, open_h264.c),
 * the pixel-format guard, the password check, and the update paths a client's choices
 * select (Open H.264 on x264, Tight-JPEG, drawn cursors, libvncserver's encoders).
 *
 * A real server (vnc_server_create, H.264 on, a 64x48 screen with a picture and a
 * cursor) is made once. Each input becomes one client on a socketpair: the input's bytes
 * are written to the peer end, which then closes its writing side, so every read either
 * finds the fuzzer's bytes or EOF and nothing blocks. The first byte says whether the
 * client starts at the RFB handshake (WebSocket or not, version, security, ClientInit:
 * libvncserver's parsers and our auth hooks) or, after a version line the harness sends
 * for it, in the normal state. The client's messages are
 * processed one by one on this thread (libvncserver's non-threaded mode), each followed by
 * a new picture and the update it asked for; what the server writes back is drained.
 * ASan, UBSan and the output checks judge. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "config.h"
#include "frame_store.h"
#include "log.h"
#include "open_h264.h"
#include "vnc_server.h"

#define W 64
#define H 48
#define MAX_MESSAGES 512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct vnc_server *srv;
static struct plane_info plane = {.drm_plane_type = PLANE_PRIMARY,
				  .fourcc = PLANE_FORMAT_XRGB8888, .width = W, .height = H,
				  .stride = W * 4, .size = W * H * 4, .dmabuf_id = 1};

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
	if (open_h264_init(&cfg, err, sizeof(err)) < 0 ||
	    vnc_server_create(&cfg, NULL, W, H, &srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_client: %s\n", err);
		abort();
	}
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
	/* Normal state: the harness says the version for the client (libvncserver's
	 * WebSocket sniffing wants "RFB " first) and then skips the rest of the handshake. */
	bool normal = d[0] & 1;
	if ((normal && write(sv[1], "RFB 003.008\n", 12) != 12) ||
	    (size > 1 && write(sv[1], d + 1, size - 1) != (ssize_t)(size - 1))) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	rfbScreenInfoPtr s = vnc_server_screen(srv);
	rfbClientPtr cl = rfbNewClient(s, sv[0]); /* owns sv[0] from here on */
	if (!cl) {
		close(sv[1]);
		return 0;
	}
	cl->onHold = FALSE; /* our server holds new clients for its handshake thread */
	if (normal) {
		rfbProcessClientMessage(cl); /* the version */
		if (cl->state != RFB_SHUTDOWN && cl->sock != RFB_INVALID_SOCKET)
			cl->state = RFB_NORMAL;
		drain(sv[1]);
	}
	struct frame_store *fs = vnc_server_frame_store(srv);
	for (int i = 0; i < MAX_MESSAGES && cl->sock != RFB_INVALID_SOCKET &&
			cl->state != RFB_SHUTDOWN; i++) {
		rfbProcessClientMessage(cl);
		drain(sv[1]);
		if (cl->sock == RFB_INVALID_SOCKET || cl->state != RFB_NORMAL)
			continue;
		/* A new picture for the encoders, and the update the client asked for. */
		frame_store_publish(fs, &plane, -1, true);
		uint32_t all[4] = {0, 0, W, H};
		vnc_server_mark_modified(srv, all, 1);
		rfbUpdateClient(cl);
		drain(sv[1]);
	}
	if (cl->sock != RFB_INVALID_SOCKET)
		rfbCloseClient(cl);
	rfbClientConnectionGone(cl);
	close(sv[1]);
	return 0;
}
