/* The WebSocket check. See websocket.h. */
#include "websocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws_conn {
	int fd;
	uint8_t raw[16384]; /* bytes read from the socket, not yet parsed */
	size_t raw_len;
	uint8_t data[16384]; /* payload bytes of binary frames, not yet consumed */
	size_t data_len;
};

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

void ws_accept_for_key(const char *key, char out[29])
{
	char text[128];
	uint8_t digest[20];

	snprintf(text, sizeof(text), "%s%s", key, WS_GUID);
	gnutls_hash_fast(GNUTLS_DIG_SHA1, text, strlen(text), digest);
	base64(digest, sizeof(digest), out);
}

static int connect_local(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		say("websocket: connect to port %d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read more bytes into raw. False on EOF, error or timeout. */
static bool fill(struct ws_conn *w)
{
	ssize_t n;

	if (w->raw_len == sizeof(w->raw))
		return false;
	do
		n = read(w->fd, w->raw + w->raw_len, sizeof(w->raw) - w->raw_len);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		say("websocket: read: %s", n == 0 ? "the server closed the connection"
						  : strerror(errno));
		return false;
	}
	w->raw_len += (size_t)n;
	return true;
}

static void consume_raw(struct ws_conn *w, size_t n)
{
	memmove(w->raw, w->raw + n, w->raw_len - n);
	w->raw_len -= n;
}

static bool send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			say("websocket: write: %s", strerror(errno));
			return false;
		}
		p += k, n -= (size_t)k;
	}
	return true;
}

/* Send the upgrade request with a fresh random key; key gets the base64 key. */
static bool send_upgrade(struct ws_conn *w, int port, char key[25])
{
	uint8_t nonce[16];
	char req[512];

	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		memset(nonce, 0x5a, sizeof(nonce));
	base64(nonce, sizeof(nonce), key);
	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1\r\n"
		 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		 "Sec-WebSocket-Protocol: binary\r\nSec-WebSocket-Version: 13\r\n\r\n",
		 port, key);
	return send_all(w->fd, req, strlen(req));
}

/* The value of a header in an HTTP head (case-insensitive name), copied to out. */
static bool header_value(const char *head, const char *name, char *out, size_t out_len)
{
	size_t nl = strlen(name);

	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *p = line + 2, *end = strstr(p, "\r\n");

		if (!end || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
			continue;
		p += nl + 1;
		while (*p == ' ')
			p++;
		snprintf(out, out_len, "%.*s", (int)(end - p), p);
		return true;
	}
	return false;
}

/* Read the HTTP answer and check it; leaves what follows it in raw. */
static bool check_upgrade_answer(struct ws_conn *w, const char *key)
{
	char head[4096], want[29], got[128] = "", proto[64] = "";
	uint8_t *end;

	while (!(end = memmem(w->raw, w->raw_len, "\r\n\r\n", 4)))
		if (!fill(w))
			return false;
	snprintf(head, sizeof(head), "%.*s", (int)(end + 4 - w->raw), (const char *)w->raw);
	consume_raw(w, (size_t)(end + 4 - w->raw));
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		say("websocket: want \"HTTP/1.1 101\", the server answered:\n%s", head);
		return false;
	}
	ws_accept_for_key(key, want);
	header_value(head, "Sec-WebSocket-Accept", got, sizeof(got));
	header_value(head, "Sec-WebSocket-Protocol", proto, sizeof(proto));
	if (strcmp(got, want) != 0) {
		say("websocket: Sec-WebSocket-Accept is \"%s\", want \"%s\" (key %s)", got, want,
		    key);
		return false;
	}
	if (strcmp(proto, "binary") != 0) {
		say("websocket: Sec-WebSocket-Protocol is \"%s\", want \"binary\"", proto);
		return false;
	}
	return true;
}

/* Parse one frame from raw into data. False on a protocol error or a read failure. */
static bool read_frame(struct ws_conn *w)
{
	uint64_t len;
	size_t hdr = 2;
	int opcode;

	while (w->raw_len < 2)
		if (!fill(w))
			return false;
	opcode = w->raw[0] & 0x0f;
	if (w->raw[1] & 0x80) {
		say("websocket: the server sent a masked frame (RFC 6455 5.1 forbids it)");
		return false;
	}
	len = w->raw[1] & 0x7f;
	if (len >= 126)
		hdr += len == 126 ? 2 : 8;
	while (w->raw_len < hdr)
		if (!fill(w))
			return false;
	if (len == 126)
		len = (uint64_t)w->raw[2] << 8 | w->raw[3];
	else if (len == 127)
		for (int i = 0; i < 8; i++)
			len = (i ? len << 8 : 0) | w->raw[2 + i];
	if (opcode != 0x2 && opcode != 0x0) {
		say("websocket: frame opcode %d, want 2 (binary) or 0 (continuation)", opcode);
		return false;
	}
	if (len > sizeof(w->data) - w->data_len || hdr + len > sizeof(w->raw)) {
		say("websocket: frame of %llu bytes is larger than the test expects",
		    (unsigned long long)len);
		return false;
	}
	while (w->raw_len < hdr + len)
		if (!fill(w))
			return false;
	memcpy(w->data + w->data_len, w->raw + hdr, (size_t)len);
	w->data_len += (size_t)len;
	consume_raw(w, hdr + (size_t)len);
	return true;
}

/* n payload bytes, from as many frames as it takes. */
static bool ws_recv(struct ws_conn *w, void *out, size_t n)
{
	while (w->data_len < n)
		if (!read_frame(w))
			return false;
	memcpy(out, w->data, n);
	memmove(w->data, w->data + n, w->data_len - n);
	w->data_len -= n;
	return true;
}

/* One masked binary frame (clients must mask, RFC 6455 5.3). n < 126. */
static bool ws_send(struct ws_conn *w, const void *buf, size_t n)
{
	uint8_t frame[2 + 4 + 125];
	const uint8_t *p = buf;
	const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};

	frame[0] = 0x82;
	frame[1] = (uint8_t)(0x80 | n);
	memcpy(frame + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		frame[6 + i] = p[i] ^ mask[i % 4];
	return send_all(w->fd, frame, 6 + n);
}

/* RFB 3.8 through the WebSocket up to ServerInit. */
static bool rfb_handshake(struct ws_conn *w, uint32_t width, uint32_t height)
{
	static const char version[] = "RFB 003.008\n";
	uint8_t buf[256], n_types, none = 1, shared = 1, result[4], init[24];
	bool has_none = false;

	if (!ws_recv(w, buf, 12))
		return false;
	if (memcmp(buf, version, 12) != 0) {
		say("websocket: first payload is \"%.12s\", want \"RFB 003.008\\n\"", buf);
		return false;
	}
	if (!ws_send(w, version, 12) || !ws_recv(w, &n_types, 1) || !ws_recv(w, buf, n_types))
		return false;
	for (int i = 0; i < n_types; i++)
		has_none |= buf[i] == 1;
	if (!has_none) {
		say("websocket: security types offered (%d) do not include None", n_types);
		return false;
	}
	if (!ws_send(w, &none, 1) || !ws_recv(w, result, 4))
		return false;
	if (memcmp(result, "\0\0\0\0", 4) != 0) {
		say("websocket: SecurityResult is not OK");
		return false;
	}
	if (!ws_send(w, &shared, 1) || !ws_recv(w, init, sizeof(init)))
		return false;
	if ((uint32_t)(init[0] << 8 | init[1]) != width ||
	    (uint32_t)(init[2] << 8 | init[3]) != height) {
		say("websocket: ServerInit says %ux%u, want %ux%u", init[0] << 8 | init[1],
		    init[2] << 8 | init[3], width, height);
		return false;
	}
	return true;
}

bool ws_check(int port, uint32_t width, uint32_t height)
{
	struct ws_conn *w = calloc(1, sizeof(*w));
	char key[25], accept[29];
	bool ok = false;

	if (!w)
		return false;
	/* The helper itself against RFC 6455 section 1.3's example. */
	ws_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
	if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
		say("websocket: the test's own SHA-1/base64 is wrong: %s", accept);
		goto out;
	}
	w->fd = connect_local(port);
	if (w->fd < 0)
		goto out;
	ok = send_upgrade(w, port, key) && check_upgrade_answer(w, key) &&
	     rfb_handshake(w, width, height);
	close(w->fd);
out:
	free(w);
	return ok;
}
