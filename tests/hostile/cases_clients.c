/* Hostile clients: bad messages, a flood of connections that never read, connections that
 * never finish their handshake. A well-behaved client is served throughout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile.h"
#include "util.h"

/* Outer limits against a hang, not speeds: generous for a loaded machine. */
#define WAIT_S 30.0


/* ---- the well-behaved client ------------------------------------------------------ */

/* Read what the good client has, asking for more after each update. */
static bool pump_good(struct rr *c)
{
	int m;
	while ((m = rr_read_message(c, 0)) == 1)
		if (!rr_request(c, true, 0, 0, c->width, c->height))
			return false;
	if (m == -1)
		say("the good client lost its connection");
	return m != -1;
}

static bool pump_good_for(struct rr *c, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		int m = rr_read_message(c, 0.02);
		if (m == -1) {
			say("the good client lost its connection");
			return false;
		}
		if (m == 1 && !rr_request(c, true, 0, 0, c->width, c->height))
			return false;
	}
	return true;
}

/* The scene's last frame, once it is over, exactly. */
static bool good_client_ends_right(struct rr *c, const char *spec, uint64_t frames, double t0,
				   unsigned rate, const struct ref_event *ev, size_t n_ev)
{
	struct ref_frame want;
	char err[256];
	(void)t0;
	(void)rate;
	if (ref_render(spec, frames, ev, n_ev, &want, err, sizeof(err)) < 0) {
		say("reference: %s", err);
		return false;
	}
	/* The scene's last tick, when it comes: no waiting for quiet. */
	bool ok = rr_wait_picture(c, &want, WAIT_S, "the good client");
	ref_frame_free(&want);
	return ok;
}

/* ---- bad messages ------------------------------------------------------------------ */

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	return getsockname(fd, (struct sockaddr *)&a, &l) == 0 ? ntohs(a.sin_port) : 0;
}

static bool send_pixel_format(struct rr *c, uint8_t bpp, uint8_t depth, bool true_colour)
{
	uint8_t m[20] = {rfbSetPixelFormat, 0, 0, 0, bpp, depth, 0, true_colour,
			 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
	return rr_send(c, m, sizeof(m));
}

static bool cut_text(struct rr *c, uint32_t len)
{
	uint8_t m[8] = {rfbClientCutText, 0, 0, 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			(uint8_t)(len >> 8), (uint8_t)len};
	return rr_send(c, m, sizeof(m)) && rr_send(c, "not 2 GiB of text", 17);
}

static bool act_cut_2g(struct rr *c)
{
	return cut_text(c, 0x80000000u);
}

static bool act_cut_4g(struct rr *c)
{
	return cut_text(c, 0xffffffffu);
}

static bool act_bpp0(struct rr *c)
{
	return send_pixel_format(c, 0, 0, true);
}

static bool act_bpp64(struct rr *c)
{
	return send_pixel_format(c, 64, 24, true);
}

static bool act_bpp16_colour_map(struct rr *c)
{
	return send_pixel_format(c, 16, 16, false);
}

static bool act_unknown_type(struct rr *c)
{
	static const uint8_t m[] = {0x7f, 1, 2, 3, 4, 5, 6, 7};
	return rr_send(c, m, sizeof(m));
}

static bool act_type_255(struct rr *c)
{
	static const uint8_t m[] = {0xff, 0xff, 0xff, 0xff};
	return rr_send(c, m, sizeof(m));
}

static bool act_scale_zero(struct rr *c)
{
	static const uint8_t m[] = {rfbPalmVNCSetScaleFactor, 0, 0, 0};
	return rr_send(c, m, sizeof(m));
}

/* 65535 encodings, all of them nonsense or repeated: legal RFB. The client stays. */
static bool act_many_encodings(struct rr *c)
{
	int32_t *e = malloc(65535 * sizeof(*e));
	if (!e)
		return false;
	for (unsigned i = 0; i < 65535; i++)
		e[i] = i % 7 == 0 ? RFB_ENC_RAW : i % 7 == 1 ? 50 : (int32_t)(0x9e3779b9u * i);
	e[65534] = RFB_ENC_RAW;
	bool ok = rr_set_encodings(c, e, 65535);
	free(e);
	return ok && rr_request(c, false, 0, 0, c->width, c->height);
}

/* Requests far outside the screen, and one far larger than it: ignored and clipped. */
static bool act_requests_outside(struct rr *c)
{
	return rr_request(c, false, 60000, 60000, 1000, 1000) &&
	       rr_request(c, false, 65535, 0, 65535, 65535) &&
	       rr_request(c, false, 0, 0, 65535, 65535) &&
	       rr_request(c, true, 319, 239, 65535, 65535);
}

/* Pointer and keys from nowhere: clamped to the screen, passed on. */
static bool act_input_outside(struct rr *c)
{
	uint8_t p[6] = {rfbPointerEvent, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t k[8] = {rfbKeyEvent, 1, 0, 0, 0xff, 0xff, 0xff, 0xff};
	return rr_send(c, p, sizeof(p)) && rr_send(c, k, sizeof(k)) &&
	       rr_request(c, true, 0, 0, c->width, c->height);
}

/* 8 and 32 bpp in turn while full raw updates stream out: the pixel format changes under
 * an update in progress (set_translate in vnc_server.c). */
static bool act_format_flips(struct rr *c)
{
	for (int i = 0; i < 400; i++) {
		if (!send_pixel_format(c, i % 2 ? 32 : 8, i % 2 ? 24 : 8, true) ||
		    !rr_request(c, false, 0, 0, c->width, c->height))
			return false;
		uint8_t buf[65536];
		while (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		usleep(i % 3 * 500);
	}
	return true;
}

/* Zero-width and zero-height requests with zlib and a cursor encoding: libvncserver
 * divided by the width (guard_request in vnc_server.c). Then raw again, for the check. */
static bool act_empty_requests(struct rr *c)
{
	static const int32_t zlib[] = {6, RFB_ENC_RICH_CURSOR}, raw[] = {RFB_ENC_RAW};
	bool ok = rr_set_encodings(c, zlib, 2) && rr_request(c, false, 43, 1, 0, 1536) &&
		  rr_request(c, false, c->width, 0, 0, 0) && rr_request(c, true, 0, c->height, 7, 0);
	uint8_t buf[65536];
	for (double end = now_s() + 0.3; ok && now_s() < end; usleep(10000))
		while (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	return ok && rr_set_encodings(c, raw, 1);
}

struct abuse {
	const char *name;
	bool (*act)(struct rr *c);
	bool hang_up;      /* the client then closes mid-message */
	const char *why;   /* the server closes it; its "disconnected" line says this */
};

static const struct abuse abuses[] = {
	{"ClientCutText of 2^31 bytes", act_cut_2g, false, "too big cut text length"},
	{"ClientCutText of 2^32-1 bytes", act_cut_4g, false, "too big cut text length"},
	{"SetPixelFormat with 0 bpp", act_bpp0, false, NULL},
	{"SetPixelFormat with 64 bpp", act_bpp64, false, NULL},
	{"SetPixelFormat 16 bpp with a colour map", act_bpp16_colour_map, false,
	 "can only cope with 8-bit colour maps"},
	{"unknown message type 127", act_unknown_type, false, "unknown message type 127"},
	{"message type 255", act_type_255, false, "unknown message type 255"},
	{"scale factor 0", act_scale_zero, false, "will not accept a scale factor of zero"},
	{"SetEncodings with 65535 entries", act_many_encodings, true, NULL},
	{"requests far outside the screen", act_requests_outside, true, NULL},
	{"zero-width requests with zlib and a cursor", act_empty_requests, true, NULL},
	{"input far outside the screen", act_input_outside, true, NULL},
	{"pixel format flipping 8/32 bpp under updates", act_format_flips, true, NULL},
};

/* The server's "disconnected" line for the client on local port `port`, waited for. */
static bool disconnect_line(struct run *r, uint16_t port, char *line, size_t len)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "(127.0.0.1:%u) disconnected after", port);
	for (double end = now_s() + 3; now_s() < end; sleep_s(0.02)) {
		pthread_mutex_lock(&r->srv.lock);
		const char *p = r->srv.log ? strstr(r->srv.log, needle) : NULL;
		if (p) {
			const char *eol = strchr(p, '\n');
			snprintf(line, len, "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
		}
		pthread_mutex_unlock(&r->srv.lock);
		if (p)
			return true;
	}
	return false;
}

/* One abuse on a fresh connection. */
static bool abuse_once(struct run *r, struct rr *good, const struct abuse *a)
{
	struct rr c;
	char err[256], line[512], own[96];
	if (rr_connect(&c, a->name, "127.0.0.1", r->port, err, sizeof(err)) < 0 ||
	    rr_handshake(&c, NULL, NULL, err, sizeof(err)) != RR_OK) {
		say("%s", err);
		rr_close(&c);
		return false;
	}
	uint16_t port = local_port(c.fd);
	bool ok = a->act(&c);
	if (ok && a->hang_up) {
		/* Still served after it: an update comes, then it hangs up mid-message. */
		ok = rr_request(&c, false, 0, 0, c.width, c.height);
		int m = 0;
		for (double end = now_s() + WAIT_S; ok && m != 1 && now_s() < end;)
			if ((m = rr_read_message(&c, 0.1)) == -1)
				ok = false;
		if (!ok || m != 1)
			say("%s: the server did not answer a request after it", a->name);
		ok = ok && m == 1 && rr_send(&c, "\x03\x00\x00", 3); /* 3 of a request's 10 bytes */
		rr_close(&c);
	} else if (ok && !rr_wait_closed(&c, WAIT_S)) {
		say("%s: the server did not disconnect the client within %.0f s", a->name, WAIT_S);
		ok = false;
	}
	rr_close(&c);
	ok = ok && pump_good(good);
	if (ok && !disconnect_line(r, port, line, sizeof(line))) {
		say("%s: no \"disconnected\" line for 127.0.0.1:%u", a->name, port);
		ok = false;
	}
	if (ok && a->why && !strstr(line, a->why)) {
		say("%s: the disconnect line does not say why (want \"%s\"): %s", a->name, a->why,
		    line);
		ok = false;
	}
	snprintf(own, sizeof(own), "(127.0.0.1:%u): SetPixelFormat with", port);
	if (ok && (a->act == act_bpp0 || a->act == act_bpp64) &&
	    !server_log_contains(&r->srv, own)) {
		say("%s: no line that names the bad pixel format", a->name);
		ok = false;
	}
	if (ok)
		say("%-46s -> %s", a->name, strstr(line, "disconnected") ? strstr(line, "disconnected")
									 : line);
	return ok;
}

/* Bytes before the handshake is through. */
static bool garbage_handshakes(struct run *r)
{
	static const struct {
		const char *bytes;
		size_t len;
	} openers[] = {
		{"RFB 999.999\n", 12},                   /* a version we do not speak */
		{"GET / HTTP/1.0\r\n\r\n", 18},          /* HTTP, not a WebSocket upgrade */
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11}, /* a TLS hello */
		{"RFB 003.008\n\x07", 13},                /* security type 7, never offered */
	};
	for (size_t i = 0; i < sizeof(openers) / sizeof(openers[0]); i++) {
		struct rr c;
		char err[256], buf[12];
		if (rr_connect(&c, "garbage", "127.0.0.1", r->port, err, sizeof(err)) < 0 ||
		    rr_read_exact(&c, buf, 12, 5) < 0 ||
		    !rr_send(&c, openers[i].bytes, openers[i].len)) {
			say("garbage opener %zu: %s", i, err);
			rr_close(&c);
			return false;
		}
		bool closed = rr_wait_closed(&c, WAIT_S);
		rr_close(&c);
		if (!closed) {
			say("garbage opener %zu: not disconnected within %.0f s", i, WAIT_S);
			return false;
		}
	}
	return true;
}

bool case_hostile_messages(struct run *r)
{
	const char *spec = "320x240:video:rate=30,frames=240";
	/* A short handshake timeout: the TLS hello below leaves libvncserver waiting for the
	 * rest of a TLS record, which only the deadline ends. */
	const char *extra[] = {"--max-clients", "16", "--handshake-timeout", "2", NULL};
	struct rr good = {.fd = -1};
	double t0 = now_s();
	bool ok = start_server(r, spec, extra) && rr_open(r, &good, "good client", NULL) &&
		  rr_request(&good, false, 0, 0, good.width, good.height);
	unsigned before = good.updates;
	for (size_t i = 0; ok && i < sizeof(abuses) / sizeof(abuses[0]); i++)
		ok = abuse_once(r, &good, &abuses[i]);
	ok = ok && garbage_handshakes(r) && pump_good(&good);
	if (ok)
		say("%zu abusive clients and 4 garbage handshakes; the good client had %u updates "
		    "meanwhile", sizeof(abuses) / sizeof(abuses[0]), good.updates - before);
	if (ok && good.updates - before < 10) {
		say("the good client got only %u updates while the others abused the server",
		    good.updates - before);
		ok = false;
	}
	/* The pointer event from nowhere, clamped to the corner with every button down,
	 * painted there (the synthetic vGPU paints while button 1 is down). */
	static const struct ref_event corner = {.kind = REF_POINTER, .x = 319, .y = 239,
						 .buttons = 0xff};
	ok = ok && good_client_ends_right(&good, spec, 240, t0, 30, &corner, 1);
	rr_close(&good);
	return ok;
}

/* ---- a flood of connections that never read ------------------------------------------- */

#define FLOOD 40
#define FLOOD_CAP 8

/* Connect and send a whole handshake and a request without reading a byte. */
static int flood_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	static const uint8_t hello[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n',
					rfbNoAuth, 1 /* shared */,
					rfbSetEncodings, 0, 0, 1, 0, 0, 0, 0 /* raw */,
					rfbFramebufferUpdateRequest, 0, 0, 0, 0, 0, 0x01, 0x40, 0x00,
					0xf0};
	(void)!send(fd, hello, sizeof(hello), MSG_NOSIGNAL | MSG_DONTWAIT);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* What a flood socket received: more than the 12-byte version means it was let in. */
static size_t drain(int fd)
{
	uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	return total;
}

bool case_connection_flood(struct run *r)
{
	const char *spec = "320x240:video:rate=30,frames=180";
	const char *extra[] = {"--max-clients", "8", NULL};
	struct rr good = {.fd = -1};
	int fds[FLOOD];
	double t0 = now_s();
	bool ok = start_server(r, spec, extra) && rr_open(r, &good, "good client", NULL) &&
		  rr_request(&good, false, 0, 0, good.width, good.height);
	unsigned before = good.updates;
	double flood_start = now_s();
	for (int i = 0; i < FLOOD; i++)
		fds[i] = ok ? flood_connect(r->port) : -1;
	/* They keep asking for full frames and never read: the server's writes to them block. */
	uint8_t req[10] = {rfbFramebufferUpdateRequest, 0, 0, 0, 0, 0, 0x01, 0x40, 0x00, 0xf0};
	while (ok && now_s() - flood_start < 2.5) {
		for (int i = 0; i < FLOOD; i++)
			if (fds[i] >= 0)
				(void)!send(fds[i], req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
		ok = pump_good_for(&good, 0.05);
	}
	double flood_s = now_s() - flood_start;
	unsigned during = good.updates - before;
	unsigned let_in = 0;
	size_t most = 0;
	for (int i = 0; i < FLOOD; i++) {
		size_t got = fds[i] >= 0 ? drain(fds[i]) : 0;
		let_in += got > 12;
		most = got > most ? got : most;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	unsigned long sup = 0;
	unsigned refused = log_count(r, "refused: ", &sup);
	if (ok)
		say("flood: %d connections, %u let in (cap %d with the good client), %u refusal "
		    "lines (+%lu suppressed); the good client had %u updates in %.1f s",
		    FLOOD, let_in, FLOOD_CAP, refused, sup, during, flood_s);
	if (ok && (let_in > FLOOD_CAP - 1 || let_in == 0)) {
		say("want 1..%d flood connections let in beside the good client, got %u",
		    FLOOD_CAP - 1, let_in);
		ok = false;
	}
	if (ok && refused == 0) {
		say("no refusal was logged");
		ok = false;
	}
	/* 30 frames a second; the flood may cost some, not most. */
	if (ok && during < (unsigned)(flood_s * 30 / 3)) {
		say("the good client got %u updates in %.1f s of flood, want >= %u", during, flood_s,
		    (unsigned)(flood_s * 30 / 3));
		ok = false;
	}
	ok = ok && good_client_ends_right(&good, spec, 180, t0, 30, NULL, 0);
	rr_close(&good);
	return ok;
}

/* ---- handshakes that never finish ------------------------------------------------------- */

bool case_silent_handshakes(struct run *r)
{
	const char *extra[] = {"--max-clients", "8", "--handshake-timeout", "2", NULL};
	int fds[6];
	char err[256];
	bool ok = start_server(r, "320x240:static", extra);
	double t0 = now_s();
	/* Four that send nothing (or trickle: the last one), then two more. */
	for (int i = 0; i < 6; i++) {
		struct rr c;
		fds[i] = -1;
		if (ok && rr_connect(&c, "silent", "127.0.0.1", r->port, err, sizeof(err)) == 0)
			fds[i] = c.fd;
		else if (ok) {
			say("%s", err);
			ok = false;
		}
		usleep(50000);
	}
	/* The fifth and sixth are over the per-address limit of 4 handshakes: refused now. */
	for (int i = 4; ok && i < 6; i++) {
		struct rr c = {.fd = fds[i], .label = "over the limit"};
		if (!rr_wait_closed(&c, 2)) {
			say("connection %d (of 4 silent ones in progress) was not refused", i + 1);
			ok = false;
		}
	}
	/* The others: closed by the deadline, 2 s after they connected (the third trickles a
	 * byte every 0.3 s, so it is always in the middle of a message). It starts once the
	 * server has sent its version: a first byte while the server still waits to see
	 * whether the client speaks first (WebSocket) would be a different case. */
	uint8_t version[12];
	struct rr third = {.fd = fds[2], .label = "trickling"};
	if (ok && rr_read_exact(&third, version, sizeof(version), 1.5) < 0) {
		say("no RFB version for the trickling connection");
		ok = false;
	}
	bool closed[4] = {false};
	unsigned n_closed = 0;
	while (ok && n_closed < 4 && now_s() - t0 < WAIT_S) {
		(void)!send(fds[2], "R", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		for (int i = 0; i < 4; i++) {
			uint8_t buf[64];
			if (closed[i])
				continue;
			ssize_t n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				closed[i] = true;
				n_closed++;
				say("silent connection %d closed after %.1f s", i + 1, now_s() - t0);
				if (now_s() - t0 < 1.5) {
					say("closed before the 2 s handshake timeout");
					ok = false;
				}
			}
		}
		sleep_s(0.3);
	}
	if (ok && n_closed < 4) {
		say("%u of 4 silent connections still open after %.0f s (--handshake-timeout 2)",
		    4 - n_closed, WAIT_S);
		ok = false;
	}
	unsigned lines = log_count(r, "handshake not finished within 2 s", NULL);
	if (ok && lines < 4) {
		say("%u \"handshake not finished\" lines, want 4", lines);
		ok = false;
	}
	if (ok && !server_log_contains(&r->srv, "too many handshakes in progress from its address")) {
		say("no line about the per-address handshake limit");
		ok = false;
	}
	/* The slots are free again. */
	struct rr c = {.fd = -1};
	ok = ok && rr_open(r, &c, "client after the silent ones", NULL) && rr_settle(&c, 0.3, WAIT_S);
	rr_close(&c);
	for (int i = 0; i < 6; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ok;
}
