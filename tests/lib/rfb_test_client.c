/* The raw RFB test client. See rfb_test_client.h. */
#include "rfb_test_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_AHEAD (256u << 10)
#define MAX_H264_PAYLOAD (64u << 20)
#define TIGHT_MIN_TO_COMPRESS 12
#define TPIXEL 3 /* Tight sends 32-bpp depth-24 pixels as 3 bytes */

double rr_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool rr_fail(struct rr *c, const char *fmt, ...)
{
	if (!c->dead) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, sizeof(c->why), fmt, ap);
		va_end(ap);
		c->dead = true;
		fprintf(stderr, "%s: %s\n", c->label ? c->label : "rfb client", c->why);
	}
	return false;
}

/* An I/O failure: in why, not on stderr (the caller may expect it). */
static int io_end(struct rr *c, int r, const char *what)
{
	if (!c->dead) {
		snprintf(c->why, sizeof(c->why), "%s", what);
		c->dead = r == -1;
	}
	return r;
}

void rr_attach(struct rr *c, const char *label, int fd)
{
	memset(c, 0, sizeof(*c));
	c->label = label;
	c->fd = fd;
}

int rr_connect(struct rr *c, const char *label, const char *host, int port, char *err,
	       size_t err_len)
{
	int fd;

	rr_attach(c, label, -1);
	if (port == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", host);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			fd = -1;
		}
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, host, &a.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			fd = -1;
		}
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (fd < 0) {
		snprintf(err, err_len, "%s: connect to %s:%d: %s", label, host, port, strerror(errno));
		snprintf(c->why, sizeof(c->why), "%s", err);
		c->dead = true;
		return -1;
	}
	c->fd = fd;
	return 0;
}

void rr_close(struct rr *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->fb);
	free(c->buf);
	free(c->scratch);
	c->fb = c->buf = c->scratch = NULL;
	c->cap = c->pos = c->len = c->scratch_cap = 0;
}

bool rr_send(struct rr *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Wait until the socket is readable: 0, -1 (poll failed), -2 (timeout). */
static int wait_readable(struct rr *c, double deadline)
{
	for (;;) {
		double left = deadline - rr_now_s();
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
		if (rr_now_s() >= deadline)
			return -2;
	}
}

int rr_read_exact(struct rr *c, void *buf, size_t len, double timeout_s)
{
	uint8_t *p = buf;
	double deadline = rr_now_s() + timeout_s;

	while (len) {
		if (c->pos < c->len) { /* read ahead already */
			size_t k = c->len - c->pos < len ? c->len - c->pos : len;
			if (p) {
				memcpy(p, c->buf + c->pos, k);
				p += k;
			}
			c->pos += k;
			len -= k;
			continue;
		}
		int r = wait_readable(c, deadline);
		if (r < 0)
			return r;
		uint8_t *dst = p;
		size_t want = len;
		if (c->read_ahead || !p) {
			if (!c->buf && !(c->buf = malloc(c->cap = READ_AHEAD))) {
				c->cap = 0;
				return -1;
			}
			dst = c->buf;
			want = c->read_ahead ? c->cap : len < c->cap ? len : c->cap;
		}
		ssize_t n = read(c->fd, dst, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->bytes_read += (uint64_t)n;
		if (dst == p) {
			p += n;
			len -= (size_t)n;
		} else {
			c->pos = 0;
			c->len = (size_t)n;
		}
	}
	return 0;
}

/* Read and drop n bytes. */
static int skip(struct rr *c, uint64_t n, double t)
{
	while (n) {
		size_t k = n < (1u << 30) ? (size_t)n : (1u << 30);
		int r = rr_read_exact(c, NULL, k, t);
		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool resize(struct rr *c, uint16_t w, uint16_t h)
{
	free(c->fb);
	c->fb = NULL;
	c->width = w;
	c->height = h;
	if (c->parse_only)
		return true;
	c->fb = calloc((size_t)w * h * 4 + 4, 1);
	return c->fb != NULL;
}

/* The reason string after a refusal, into why. */
static void read_reason(struct rr *c, double t)
{
	uint8_t len[4];

	c->refused = true;
	c->why[0] = '\0';
	if (rr_read_exact(c, len, 4, t) == 0) {
		uint32_t n = be32(len);
		uint32_t k = n < sizeof(c->why) - 1 ? n : (uint32_t)sizeof(c->why) - 1;
		if (rr_read_exact(c, c->why, k, t) == 0)
			c->why[k] = '\0';
		else
			c->why[0] = '\0';
	}
}

enum rr_result rr_handshake(struct rr *c, const char *password, uint8_t sec_types[9],
			    char *err, size_t err_len)
{
	uint8_t buf[64];
	const double t = 10;
	if (rr_read_exact(c, buf, 12, t) < 0 || memcmp(buf, "RFB 003.", 8) != 0) {
		snprintf(err, err_len, "%s: no RFB version from the server", c->label);
		return RR_REFUSED;
	}
	if (!rr_send(c, "RFB 003.008\n", 12) || rr_read_exact(c, buf, 1, t) < 0) {
		snprintf(err, err_len, "%s: no security types", c->label);
		return RR_REFUSED;
	}
	unsigned n = buf[0];
	if (n == 0) {
		read_reason(c, t);
		snprintf(err, err_len, "%s: the server refused the connection (%s)", c->label,
			 c->why);
		return RR_REFUSED;
	}
	uint8_t types[256];
	if (rr_read_exact(c, types, n, t) < 0) {
		snprintf(err, err_len, "%s: short security type list", c->label);
		return RR_REFUSED;
	}
	if (sec_types) {
		memset(sec_types, 0, 9);
		memcpy(sec_types, types, n < 8 ? n : 8);
	}
	uint8_t want = password ? rfbVncAuth : rfbNoAuth;
	if (!memchr(types, want, n)) {
		c->refused = true;
		snprintf(c->why, sizeof(c->why), "security types offered do not match");
		snprintf(err, err_len, "%s: the server does not offer security type %u (offers %u "
			 "types, the first %u)", c->label, want, n, types[0]);
		return RR_ERROR;
	}
	if (!rr_send(c, &want, 1))
		return RR_REFUSED;
	int r;
	if (password) {
		uint8_t challenge[16];
		char pw[9] = {0};
		if (rr_read_exact(c, challenge, 16, t) < 0) {
			snprintf(err, err_len, "%s: no VNC auth challenge", c->label);
			return RR_REFUSED;
		}
		snprintf(pw, sizeof(pw), "%s", password);
		rfbEncryptBytes(challenge, pw);
		double sent = rr_now_s();
		if (!rr_send(c, challenge, 16))
			return RR_REFUSED;
		r = rr_read_exact(c, buf, 4, 60);
		c->auth_answer_s = rr_now_s() - sent;
	} else {
		r = rr_read_exact(c, buf, 4, t);
	}
	if (r < 0) {
		c->refused = true;
		snprintf(c->why, sizeof(c->why), "(connection closed at the security result)");
		snprintf(err, err_len, "%s: %s", c->label,
			 password ? "no answer to the VNC auth response" : "no security result");
		return RR_REFUSED;
	}
	if (be32(buf) != 0) {
		uint32_t result = be32(buf);
		read_reason(c, t);
		snprintf(err, err_len, "%s: security result %u (refused)", c->label, result);
		return RR_AUTH_FAILED;
	}
	uint8_t shared = 1;
	if (!rr_send(c, &shared, 1) || rr_read_exact(c, buf, 24, t) < 0) {
		snprintf(err, err_len, "%s: no ServerInit", c->label);
		return RR_REFUSED;
	}
	uint32_t name_len = be32(buf + 20);
	uint32_t keep = name_len < sizeof(c->name) - 1 ? name_len : (uint32_t)sizeof(c->name) - 1;
	if (rr_read_exact(c, c->name, keep, t) < 0 || skip(c, name_len - keep, t) < 0) {
		snprintf(err, err_len, "%s: short desktop name", c->label);
		return RR_REFUSED;
	}
	c->name[keep] = '\0';
	if (!resize(c, be16(buf), be16(buf + 2))) {
		snprintf(err, err_len, "%s: out of memory", c->label);
		return RR_ERROR;
	}
	return RR_OK;
}

bool rr_set_pixel_format(struct rr *c)
{
	uint8_t pf[20] = {rfbSetPixelFormat, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255,
			  16, 8, 0};
	return rr_send(c, pf, sizeof(pf));
}

bool rr_set_encodings(struct rr *c, const int32_t *encodings, unsigned n)
{
	uint8_t *m = malloc(4 + 4 * (size_t)n);
	if (!m)
		return false;
	m[0] = rfbSetEncodings;
	m[1] = 0;
	put16(m + 2, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		put32(m + 4 + 4 * i, (uint32_t)encodings[i]);
		if (encodings[i] == RFB_ENC_TIGHT)
			c->asked_tight = true;
	}
	bool ok = rr_send(c, m, 4 + 4 * (size_t)n);
	free(m);
	return ok;
}

bool rr_request(struct rr *c, bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
	uint8_t m[10] = {rfbFramebufferUpdateRequest, incremental};
	put16(m + 2, x);
	put16(m + 4, y);
	put16(m + 6, w);
	put16(m + 8, h);
	return rr_send(c, m, sizeof(m));
}

bool rr_pointer(struct rr *c, uint16_t x, uint16_t y, uint8_t buttons)
{
	uint8_t m[6] = {rfbPointerEvent, buttons};
	put16(m + 2, x);
	put16(m + 4, y);
	return rr_send(c, m, sizeof(m));
}

bool rr_start(struct rr *c, const int32_t *encodings, unsigned n)
{
	c->auto_request = true;
	return rr_set_pixel_format(c) && rr_set_encodings(c, encodings, n) &&
	       rr_request(c, false, 0, 0, c->width, c->height);
}

static double io_timeout(const struct rr *c)
{
	return c->io_timeout_s > 0 ? c->io_timeout_s : 20;
}

static int rd(struct rr *c, void *buf, size_t n)
{
	int r = rr_read_exact(c, buf, n, io_timeout(c));
	if (r == -2)
		return io_end(c, -1, "timed out in the middle of a message");
	if (r < 0)
		return io_end(c, -1, "connection closed in the middle of a message");
	return 0;
}

static int rd8(struct rr *c, uint8_t *v)
{
	return rd(c, v, 1);
}

/* Tight's compact length. */
static int compact_len(struct rr *c, uint32_t *len)
{
	uint8_t b;
	if (rd8(c, &b) < 0)
		return -1;
	*len = b & 0x7f;
	if (b & 0x80) {
		if (rd8(c, &b) < 0)
			return -1;
		*len |= (uint32_t)(b & 0x7f) << 7;
		if (b & 0x80) {
			if (rd8(c, &b) < 0)
				return -1;
			*len |= (uint32_t)b << 14;
		}
	}
	return 0;
}

/* A Tight rectangle, parsed and dropped. */
static int tight(struct rr *c, uint16_t w, uint16_t h)
{
	uint8_t ctl, filter, colors;
	uint32_t len;
	const double t = io_timeout(c);

	if (rd8(c, &ctl) < 0)
		return -1;
	if ((ctl >> 4) == 8)
		return skip(c, TPIXEL, t); /* fill */
	if ((ctl >> 4) == 9) /* JPEG */
		return compact_len(c, &len) < 0 ? -1 : skip(c, len, t);
	if (ctl & 0x80)
		return rr_fail(c, "Tight compression control 0x%02x", ctl), -1;
	size_t size = (size_t)w * h * TPIXEL;
	if (ctl & 0x40) { /* explicit filter */
		if (rd8(c, &filter) < 0)
			return -1;
		if (filter == 1) { /* palette */
			if (rd8(c, &colors) < 0 || skip(c, (colors + 1u) * TPIXEL, t) < 0)
				return -1;
			size = colors + 1u == 2 ? (size_t)(w + 7) / 8 * h : (size_t)w * h;
		} else if (filter > 2) {
			return rr_fail(c, "Tight filter %u", filter), -1;
		}
	}
	if (size < TIGHT_MIN_TO_COMPRESS)
		return skip(c, size, t);
	return compact_len(c, &len) < 0 ? -1 : skip(c, len, t);
}

static int h264(struct rr *c, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
	uint8_t lf[8];
	if (rd(c, lf, 8) < 0)
		return -1;
	uint32_t len = be32(lf), flags = be32(lf + 4);
	c->h264_rects++;
	if (!c->on_h264)
		return skip(c, len, io_timeout(c));
	if (len > MAX_H264_PAYLOAD)
		return rr_fail(c, "an H.264 rectangle of %u bytes", len), -1;
	if (len > c->scratch_cap) {
		free(c->scratch);
		c->scratch = malloc(len);
		c->scratch_cap = c->scratch ? len : 0;
		if (!c->scratch)
			return rr_fail(c, "out of memory"), -1;
	}
	if (rd(c, c->scratch, len) < 0)
		return -1;
	return c->on_h264(c, x, y, w, h, flags, c->scratch, len) ? 0 : -1;
}

static int new_size(struct rr *c, uint16_t w, uint16_t h)
{
	if (!resize(c, w, h))
		return rr_fail(c, "out of memory"), -1;
	if (c->on_size)
		c->on_size(c, w, h);
	return 0;
}

/* One rectangle; *last is set by LastRect. */
static int read_rect(struct rr *c, bool *last)
{
	uint8_t h[12];
	const double t = io_timeout(c);
	if (rd(c, h, 12) < 0)
		return -1;
	uint16_t x = be16(h), y = be16(h + 2), w = be16(h + 4), hh = be16(h + 6);
	int32_t enc = (int32_t)be32(h + 8);
	if (c->last_n_rects < RR_LAST_RECTS)
		c->last_rects[c->last_n_rects] = (struct rr_rect){x, y, w, hh, enc};
	c->last_n_rects++;
	switch (enc) {
	case RFB_ENC_RAW:
		if ((uint32_t)x + w > c->width || (uint32_t)y + hh > c->height)
			return rr_fail(c, "raw rect %ux%u+%u+%u outside %ux%u", w, hh, x, y,
				       c->width, c->height), -1;
		c->raw_rects++;
		c->pixel_rects++;
		if (!c->fb)
			return skip(c, (uint64_t)w * hh * 4, t);
		for (uint16_t row = 0; row < hh; row++)
			if (rd(c, c->fb + ((size_t)(y + row) * c->width + x) * 4, (size_t)w * 4) < 0)
				return -1;
		return 0;
	case RFB_ENC_TIGHT:
		if (!c->asked_tight)
			break;
		c->tight_rects++;
		c->pixel_rects++;
		return tight(c, w, hh);
	case RFB_ENC_OPEN_H264:
		c->pixel_rects++;
		return h264(c, x, y, w, hh);
	case RFB_ENC_ZRLE: { /* a length and zlib data: skipped, never decoded */
		uint8_t len[4];
		c->pixel_rects++;
		return rd(c, len, 4) < 0 ? -1 : skip(c, be32(len), t);
	}
	case RFB_ENC_RICH_CURSOR:
		c->cursor_shapes++;
		return skip(c, (uint64_t)w * hh * 4 + (uint64_t)(w + 7) / 8 * hh, t);
	case RFB_ENC_XCURSOR:
		c->cursor_shapes++;
		/* Colours, then a bitmap and a mask of whole bytes a row. */
		return skip(c, w && hh ? 6 + 2 * ((uint64_t)(w + 7) / 8) * hh : 0, t);
	case RFB_ENC_DESKTOP_SIZE:
		return new_size(c, w, hh);
	case RFB_ENC_EXT_DESKTOP_SIZE: {
		uint8_t n[4];
		if (rd(c, n, 4) < 0 || skip(c, 16u * n[0], t) < 0)
			return -1;
		return new_size(c, w, hh);
	}
	case RFB_ENC_POINTER_POS:
		return 0;
	case RFB_ENC_LAST_RECT:
		*last = true;
		return 0;
	default:
		break;
	}
	c->other_rects++;
	return rr_fail(c, "rect with encoding %d, which this client did not ask for", enc), -1;
}

int rr_read_message(struct rr *c, double timeout_s)
{
	uint8_t type;
	int r = rr_read_exact(c, &type, 1, timeout_s);
	if (r < 0)
		return io_end(c, r, r == -2 ? "no message in time" : "connection closed");
	const double t = io_timeout(c);
	uint8_t h[16];
	switch (type) {
	case rfbFramebufferUpdate: {
		if (rd(c, h, 3) < 0)
			return -1;
		unsigned n = be16(h + 1);
		bool last = false;
		c->last_n_rects = 0;
		for (unsigned i = 0; (n == 0xffff || i < n) && !last; i++)
			if (read_rect(c, &last) < 0)
				return -1;
		c->updates++;
		c->last_update_s = rr_now_s();
		if (c->auto_request && !rr_request(c, true, 0, 0, c->width, c->height))
			return io_end(c, -1, "send: connection closed");
		return 1;
	}
	case rfbSetColourMapEntries:
		if (rd(c, h, 5) < 0)
			return -1;
		return skip(c, 6u * be16(h + 3), t) < 0 ? -1 : 0;
	case rfbBell:
		return 0;
	case rfbServerCutText:
		if (rd(c, h, 7) < 0)
			return -1;
		return skip(c, be32(h + 3), t) < 0 ? -1 : 0;
	default:
		return rr_fail(c, "unexpected server message type %u", type), -1;
	}
}

int rr_pump(struct rr **cs, size_t n, double seconds, bool return_early)
{
	struct pollfd pfd[256];
	int updates = 0;
	double deadline = rr_now_s() + seconds;

	if (n > 256)
		n = 256;
	for (;;) {
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = cs[i]->dead ? -1 : cs[i]->fd, .events = POLLIN};
		double left = deadline - rr_now_s();
		int r = poll(pfd, (nfds_t)n, left > 0 ? (int)(left * 1000) + 1 : 0);
		if (r < 0 && errno != EINTR)
			return -1;
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			/* the message that starts here, and any already read ahead after it */
			cs[i]->last_ready_s = rr_now_s();
			do {
				int m = rr_read_message(cs[i], io_timeout(cs[i]));
				if (m < 0) {
					cs[i]->dead = true;
					return -1;
				}
				updates += m;
			} while (cs[i]->pos < cs[i]->len);
		}
		if ((return_early && updates) || rr_now_s() >= deadline)
			return updates;
	}
}

bool rr_wait_closed(struct rr *c, double timeout_s)
{
	uint8_t buf[65536];
	double deadline = rr_now_s() + timeout_s;
	c->pos = c->len = 0; /* what was read ahead is dropped too */
	for (;;) {
		double left = deadline - rr_now_s();
		if (left <= 0)
			return false;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return true; /* EOF, or an error such as a reset */
	}
}

uint8_t *rr_rgb(const struct rr *c)
{
	uint8_t *rgb = malloc((size_t)c->width * c->height * 3 + 1);
	if (!rgb || !c->fb)
		return rgb;
	for (size_t i = 0; i < (size_t)c->width * c->height; i++) {
		rgb[3 * i] = c->fb[4 * i + 2];
		rgb[3 * i + 1] = c->fb[4 * i + 1];
		rgb[3 * i + 2] = c->fb[4 * i];
	}
	return rgb;
}
