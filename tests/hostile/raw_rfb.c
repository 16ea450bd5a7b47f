/* The raw RFB client. See raw_rfb.h. */
#include "raw_rfb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int rr_connect(struct rr *c, const char *label, const char *host, int port, char *err,
	       size_t err_len)
{
	memset(c, 0, sizeof(*c));
	c->label = label;
	c->fd = -1;
	int fd;
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
	c->fb = NULL;
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

int rr_read_exact(struct rr *c, void *buf, size_t len, double timeout_s)
{
	uint8_t *p = buf;
	double deadline = now_s() + timeout_s;
	while (len) {
		double left = deadline - now_s();
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			if (now_s() >= deadline)
				return -2;
			continue;
		}
		ssize_t n = read(c->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->bytes_read += (uint64_t)n;
		p += n;
		len -= (size_t)n;
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

static bool alloc_fb(struct rr *c, uint16_t w, uint16_t h)
{
	free(c->fb);
	c->width = w;
	c->height = h;
	c->fb = calloc((size_t)w * h * 4 + 4, 1);
	return c->fb != NULL;
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
		snprintf(err, err_len, "%s: the server refused the connection", c->label);
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
		snprintf(err, err_len, "%s: the server does not offer security type %u (offers %u "
			 "types, the first %u)", c->label, want, n, types[0]);
		return RR_ERROR;
	}
	if (!rr_send(c, &want, 1))
		return RR_REFUSED;
	if (password) {
		uint8_t challenge[16];
		char pw[9] = {0};
		if (rr_read_exact(c, challenge, 16, t) < 0) {
			snprintf(err, err_len, "%s: no VNC auth challenge", c->label);
			return RR_REFUSED;
		}
		snprintf(pw, sizeof(pw), "%s", password);
		rfbEncryptBytes(challenge, pw);
		double sent = now_s();
		if (!rr_send(c, challenge, 16))
			return RR_REFUSED;
		int r = rr_read_exact(c, buf, 4, 60);
		c->auth_answer_s = now_s() - sent;
		if (r < 0) {
			snprintf(err, err_len, "%s: no answer to the VNC auth response", c->label);
			return RR_REFUSED;
		}
	} else if (rr_read_exact(c, buf, 4, t) < 0) {
		snprintf(err, err_len, "%s: no security result", c->label);
		return RR_REFUSED;
	}
	if (be32(buf) != 0) {
		snprintf(err, err_len, "%s: security result %u (refused)", c->label, be32(buf));
		return RR_AUTH_FAILED;
	}
	uint8_t shared = 1;
	if (!rr_send(c, &shared, 1) || rr_read_exact(c, buf, 24, t) < 0) {
		snprintf(err, err_len, "%s: no ServerInit", c->label);
		return RR_REFUSED;
	}
	uint32_t name_len = be32(buf + 20);
	char name[256];
	while (name_len) {
		uint32_t k = name_len < sizeof(name) ? name_len : sizeof(name);
		if (rr_read_exact(c, name, k, t) < 0)
			return RR_REFUSED;
		name_len -= k;
	}
	if (!alloc_fb(c, be16(buf), be16(buf + 2))) {
		snprintf(err, err_len, "%s: out of memory", c->label);
		return RR_ERROR;
	}
	return RR_OK;
}

bool rr_set_encodings(struct rr *c, const int32_t *encodings, unsigned n)
{
	uint8_t *m = malloc(4 + 4 * (size_t)n);
	if (!m)
		return false;
	m[0] = rfbSetEncodings;
	m[1] = 0;
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint32_t e = (uint32_t)encodings[i];
		m[4 + 4 * i] = (uint8_t)(e >> 24);
		m[5 + 4 * i] = (uint8_t)(e >> 16);
		m[6 + 4 * i] = (uint8_t)(e >> 8);
		m[7 + 4 * i] = (uint8_t)e;
	}
	bool ok = rr_send(c, m, 4 + 4 * (size_t)n);
	free(m);
	return ok;
}

bool rr_request(struct rr *c, bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
	uint8_t m[10] = {rfbFramebufferUpdateRequest, incremental,
			 (uint8_t)(x >> 8), (uint8_t)x, (uint8_t)(y >> 8), (uint8_t)y,
			 (uint8_t)(w >> 8), (uint8_t)w, (uint8_t)(h >> 8), (uint8_t)h};
	return rr_send(c, m, sizeof(m));
}

/* Read and drop n bytes. */
static int skip(struct rr *c, uint64_t n, double t)
{
	uint8_t buf[4096];
	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		int r = rr_read_exact(c, buf, k, t);
		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

static int read_rect(struct rr *c, double t)
{
	uint8_t h[12];
	int r = rr_read_exact(c, h, 12, t);
	if (r < 0)
		return r;
	uint16_t x = be16(h), y = be16(h + 2), w = be16(h + 4), hh = be16(h + 6);
	int32_t enc = (int32_t)be32(h + 8);
	if (c->last_n_rects < RR_LAST_RECTS)
		c->last_rects[c->last_n_rects] = (struct rr_rect){x, y, w, hh, enc};
	c->last_n_rects++;
	switch (enc) {
	case RFB_ENC_RAW: {
		if ((uint32_t)x + w > c->width || (uint32_t)y + hh > c->height) {
			say("%s: raw rect %ux%u+%u+%u outside %ux%u", c->label, w, hh, x, y, c->width,
			    c->height);
			return -1;
		}
		for (uint16_t row = 0; row < hh; row++) {
			r = rr_read_exact(c, c->fb + ((size_t)(y + row) * c->width + x) * 4,
					  (size_t)w * 4, t);
			if (r < 0)
				return r;
		}
		c->raw_rects++;
		return 0;
	}
	case RFB_ENC_OPEN_H264: {
		uint8_t lf[8];
		if ((r = rr_read_exact(c, lf, 8, t)) < 0)
			return r;
		c->h264_rects++;
		return skip(c, be32(lf), t);
	}
	case RFB_ENC_RICH_CURSOR:
		c->cursor_shapes++;
		return skip(c, (uint64_t)w * hh * 4 + (uint64_t)(w + 7) / 8 * hh, t);
	case rfbEncodingXCursor:
		c->cursor_shapes++;
		/* Colours, then a bitmap and a mask of whole bytes a row. */
		return skip(c, w && hh ? 6 + 2 * ((uint64_t)(w + 7) / 8) * hh : 0, t);
	case RFB_ENC_DESKTOP_SIZE:
		return alloc_fb(c, w, hh) ? 0 : -1;
	case rfbEncodingExtDesktopSize: {
		uint8_t n[4];
		if ((r = rr_read_exact(c, n, 4, t)) < 0)
			return r;
		if (!alloc_fb(c, w, hh))
			return -1;
		return skip(c, 16u * n[0], t);
	}
	case rfbEncodingPointerPos:
	case rfbEncodingLastRect:
		return 0;
	default:
		say("%s: rect with encoding %d, which this client did not ask for", c->label, enc);
		c->other_rects++;
		return -1;
	}
}

int rr_read_message(struct rr *c, double timeout_s)
{
	uint8_t type;
	int r = rr_read_exact(c, &type, 1, timeout_s);
	if (r < 0)
		return r;
	const double t = 20; /* the rest of a message that has begun */
	uint8_t h[16];
	switch (type) {
	case rfbFramebufferUpdate: {
		if ((r = rr_read_exact(c, h, 3, t)) < 0)
			return r;
		unsigned n = be16(h + 1);
		c->last_n_rects = 0;
		for (unsigned i = 0; i < n; i++) {
			r = read_rect(c, t);
			if (r < 0)
				return r;
		}
		c->updates++;
		return 1;
	}
	case rfbSetColourMapEntries:
		if ((r = rr_read_exact(c, h, 5, t)) < 0)
			return r;
		return skip(c, 6u * be16(h + 3), t) < 0 ? -1 : 0;
	case rfbBell:
		return 0;
	case rfbServerCutText:
		if ((r = rr_read_exact(c, h, 7, t)) < 0)
			return r;
		return skip(c, be32(h + 3), t) < 0 ? -1 : 0;
	default:
		say("%s: unexpected server message type %u", c->label, type);
		return -1;
	}
}

bool rr_wait_closed(struct rr *c, double timeout_s)
{
	uint8_t buf[65536];
	double deadline = now_s() + timeout_s;
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0)
			return false;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n <= 0)
			return n == 0 || errno != EINTR;
	}
}

int rr_snapshot(const struct rr *c, struct ref_frame *out)
{
	out->width = c->width;
	out->height = c->height;
	out->rgb = malloc((size_t)c->width * c->height * 3 + 1);
	if (!out->rgb)
		return -1;
	for (size_t i = 0; i < (size_t)c->width * c->height; i++) {
		out->rgb[3 * i] = c->fb[4 * i + 2];
		out->rgb[3 * i + 1] = c->fb[4 * i + 1];
		out->rgb[3 * i + 2] = c->fb[4 * i];
	}
	return 0;
}
