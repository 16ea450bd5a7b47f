/* A parsing, non-decoding RFB client (see rfb_probe.h). */
#include "rfb_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define IO_TIMEOUT_MS 5000 /* the rest of a message, once it started */
#define BUF_SIZE (256u << 10)
#define TIGHT_MIN_TO_COMPRESS 12
#define TPIXEL 3 /* Tight sends 32-bpp depth-24 pixels as 3 bytes */

static bool fail(struct rfb_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct rfb_probe *p, const char *fmt, ...)
{
	if (!p->dead) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->why, sizeof(p->why), fmt, ap);
		va_end(ap);
		p->dead = true;
	}
	return false;
}

/* Refill the buffer with what the socket has, waiting up to IO_TIMEOUT_MS for something. */
static bool fill(struct rfb_probe *p)
{
	if (p->pos == p->len)
		p->pos = p->len = 0;
	if (p->len == p->cap) {
		memmove(p->buf, p->buf + p->pos, p->len - p->pos);
		p->len -= p->pos;
		p->pos = 0;
	}
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	int r = poll(&pfd, 1, IO_TIMEOUT_MS);
	if (r == 0)
		return fail(p, "timed out in the middle of a message");
	ssize_t got = r > 0 ? recv(p->fd, p->buf + p->len, p->cap - p->len, 0) : -1;
	if (got < 0 && errno == EINTR)
		return true;
	if (got <= 0)
		return fail(p, "connection closed (%s)", got < 0 ? strerror(errno) : "EOF");
	p->len += (size_t)got;
	p->bytes += (uint64_t)got;
	return true;
}

/* n bytes into dst (NULL: skip them). */
static bool rd(struct rfb_probe *p, void *dst, size_t n)
{
	uint8_t *d = dst;
	while (n && !p->dead) {
		if (p->pos == p->len && !fill(p))
			return false;
		size_t k = p->len - p->pos < n ? p->len - p->pos : n;
		if (d) {
			memcpy(d, p->buf + p->pos, k);
			d += k;
		}
		p->pos += k;
		n -= k;
	}
	return !p->dead;
}

static uint8_t rd8(struct rfb_probe *p)
{
	uint8_t v = 0;
	rd(p, &v, 1);
	return v;
}

static uint16_t rd16(struct rfb_probe *p)
{
	uint8_t b[2] = {0};
	rd(p, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t rd32(struct rfb_probe *p)
{
	uint8_t b[4] = {0};
	rd(p, b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool wr(struct rfb_probe *p, const void *buf, size_t n)
{
	const uint8_t *s = buf;
	while (n) {
		ssize_t put = send(p->fd, s, n, MSG_NOSIGNAL);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return fail(p, "send: %s", strerror(errno));
		s += put;
		n -= (size_t)put;
	}
	return true;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static bool request(struct rfb_probe *p, bool incremental)
{
	uint8_t m[10] = {3, incremental};
	put16(m + 6, p->width);
	put16(m + 8, p->height);
	return wr(p, m, sizeof(m));
}

bool rfb_probe_pointer(struct rfb_probe *p, uint16_t x, uint16_t y, uint8_t buttons)
{
	uint8_t m[6] = {5, buttons};
	put16(m + 2, x);
	put16(m + 4, y);
	return wr(p, m, sizeof(m));
}

static bool handshake(struct rfb_probe *p, const int32_t *enc, size_t n)
{
	char ver[12];
	if (!rd(p, ver, 12) || memcmp(ver, "RFB 003.00", 10) != 0)
		return fail(p, "not an RFB server");
	if (!wr(p, "RFB 003.008\n", 12))
		return false;
	uint8_t n_types = rd8(p), types[255], none = 1;
	if (!n_types || !rd(p, types, n_types) || !memchr(types, 1, n_types))
		return fail(p, "the server offers no security type None");
	if (!wr(p, &none, 1) || rd32(p) != 0 || p->dead)
		return fail(p, "security handshake failed");
	uint8_t shared = 1, init[20];
	if (!wr(p, &shared, 1) || !rd(p, init, 20) || !rd(p, NULL, rd32(p)))
		return false;
	p->width = (uint16_t)(init[0] << 8 | init[1]);
	p->height = (uint16_t)(init[2] << 8 | init[3]);
	/* SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 255 each, 16/8/0 */
	uint8_t pf[20] = {0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0};
	uint8_t se[4 + 4 * 32] = {2, 0};
	if (n > 32)
		n = 32;
	put16(se + 2, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		put32(se + 4 + 4 * i, (uint32_t)enc[i]);
	return wr(p, pf, sizeof(pf)) && wr(p, se, 4 + 4 * n) && request(p, false);
}

int rfb_probe_open(struct rfb_probe *p, int port)
{
	memset(p, 0, sizeof(*p));
	p->cap = BUF_SIZE;
	p->buf = malloc(p->cap);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!p->buf || p->fd < 0)
		return fail(p, "out of resources"), -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail(p, "connect to port %d: %s", port, strerror(errno)), -1;
	return 0;
}

int rfb_probe_handshake(struct rfb_probe *p, const int32_t *encodings, size_t n)
{
	return !p->dead && handshake(p, encodings, n) ? 0 : -1;
}

int rfb_probe_connect(struct rfb_probe *p, int port, const int32_t *encodings, size_t n)
{
	return rfb_probe_open(p, port) < 0 ? -1 : rfb_probe_handshake(p, encodings, n);
}

void rfb_probe_close(struct rfb_probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->buf);
	free(p->scratch);
	p->buf = p->scratch = NULL;
}

static uint32_t compact_len(struct rfb_probe *p)
{
	uint32_t b = rd8(p), len = b & 0x7f;
	if (b & 0x80) {
		b = rd8(p);
		len |= (b & 0x7f) << 7;
		if (b & 0x80)
			len |= (uint32_t)rd8(p) << 14;
	}
	return len;
}

static bool tight(struct rfb_probe *p, uint16_t w, uint16_t h)
{
	uint8_t ctl = rd8(p);
	if ((ctl >> 4) == 8)
		return rd(p, NULL, TPIXEL); /* fill */
	if ((ctl >> 4) == 9)
		return rd(p, NULL, compact_len(p)); /* JPEG */
	if (ctl & 0x80)
		return fail(p, "Tight compression control 0x%02x", ctl);
	size_t size = (size_t)w * h * TPIXEL;
	if (ctl & 0x40) { /* explicit filter */
		uint8_t filter = rd8(p);
		if (filter == 1) { /* palette */
			unsigned colors = rd8(p) + 1u;
			rd(p, NULL, (size_t)colors * TPIXEL);
			size = colors == 2 ? (size_t)(w + 7) / 8 * h : (size_t)w * h;
		} else if (filter > 2) {
			return fail(p, "Tight filter %u", filter);
		}
	}
	return rd(p, NULL, size < TIGHT_MIN_TO_COMPRESS ? size : compact_len(p));
}

static bool h264(struct rfb_probe *p, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
	uint32_t len = rd32(p), flags = rd32(p);
	if (!p->on_h264)
		return rd(p, NULL, len);
	if (len > p->scratch_cap) {
		free(p->scratch);
		p->scratch = malloc(len);
		p->scratch_cap = p->scratch ? len : 0;
		if (!p->scratch)
			return fail(p, "out of memory");
	}
	if (!rd(p, p->scratch, len))
		return false;
	p->on_h264(p->opaque, x, y, w, h, flags, p->scratch, len);
	return true;
}

/* One rectangle; *last is set by LastRect. */
static bool rect(struct rfb_probe *p, bool *last)
{
	uint16_t x = rd16(p), y = rd16(p), w = rd16(p), h = rd16(p);
	int32_t enc = (int32_t)rd32(p);
	if (p->dead)
		return false;
	switch (enc) {
	case RFB_ENC_RAW:
		p->pixel_rects++;
		return rd(p, NULL, (size_t)w * h * 4);
	case RFB_ENC_TIGHT:
		p->pixel_rects++;
		return tight(p, w, h);
	case RFB_ENC_OPEN_H264:
		p->pixel_rects++;
		return h264(p, x, y, w, h);
	case RFB_ENC_RICH_CURSOR:
		return rd(p, NULL, (size_t)w * h * 4 + (size_t)(w + 7) / 8 * h);
	case RFB_ENC_POINTER_POS:
		return true;
	case RFB_ENC_LAST_RECT:
		*last = true;
		return true;
	case RFB_ENC_DESKTOP_SIZE:
		p->width = w;
		p->height = h;
		return true;
	case RFB_ENC_EXT_DESKTOP_SIZE: {
		uint8_t screens = rd8(p);
		p->width = w;
		p->height = h;
		return rd(p, NULL, 3 + (size_t)screens * 16);
	}
	default:
		return fail(p, "unexpected encoding %d", enc);
	}
}

/* One server message. */
static bool message(struct rfb_probe *p, int *updates)
{
	uint8_t type = rd8(p);
	if (p->dead)
		return false;
	switch (type) {
	case 0: {
		rd8(p);
		uint16_t n = rd16(p);
		bool last = false;
		for (uint32_t i = 0; (n == 0xffff || i < n) && !last; i++)
			if (!rect(p, &last))
				return false;
		p->updates++;
		p->last_update_s = bench_now_s();
		(*updates)++;
		return request(p, true);
	}
	case 1: {
		rd8(p);
		rd16(p);
		return rd(p, NULL, (size_t)rd16(p) * 6);
	}
	case 2:
		return true;
	case 3:
		rd(p, NULL, 3);
		return rd(p, NULL, rd32(p));
	default:
		return fail(p, "unexpected message type %u", type);
	}
}

int rfb_probe_pump(struct rfb_probe **ps, size_t n, int timeout_ms, bool return_early)
{
	struct pollfd pfd[256];
	int updates = 0;
	if (n > 256)
		n = 256;
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = ps[i]->dead ? -1 : ps[i]->fd, .events = POLLIN};
		uint64_t now = bench_now_ns();
		int wait = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
		int r = poll(pfd, (nfds_t)n, wait);
		if (r < 0 && errno != EINTR)
			return -1;
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			/* the message that starts here, and any already buffered after it */
			ps[i]->last_ready_s = bench_now_s();
			do {
				if (!message(ps[i], &updates))
					return -1;
			} while (ps[i]->pos < ps[i]->len);
		}
		if ((return_early && updates) || bench_now_ns() >= deadline)
			return updates;
	}
}
