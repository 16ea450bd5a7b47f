/* The first bytes of a connection (ws_guard.h). */
#include "ws_guard.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"

/* While a request is incomplete: how long to wait before looking again. Peeked bytes stay
 * readable, so poll() cannot wait for more of them. */
#define WS_GUARD_RECHECK_MS 10

enum ws_guard_result ws_guard_header(const char *buf, size_t n, size_t *header_len, char *why, size_t why_len)
{
	size_t limit = n < WS_GUARD_MAX_HEADER ? n : WS_GUARD_MAX_HEADER;
	size_t start = 0;
	for (size_t i = 0; i < limit; i++) {
		/* libvncserver parses and logs header lines as C strings: a NUL inside one made
		 * it print past the end of its buffer (found by the client fuzz target). HTTP
		 * headers hold no control bytes but tab, CR and LF. */
		unsigned char c = (unsigned char)buf[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
			snprintf(why, why_len, "an HTTP request header with the control byte 0x%02x",
				 c);
			return WS_GUARD_BAD_BYTE;
		}
		size_t llen = i + 1 - start;
		/* libvncserver ends a line at '\n' only once it has 2 bytes: a lone "\n" right
		 * after a line belongs to the next one. The same split here, so that what is
		 * checked is what it will see. */
		if (buf[i] != '\n' || llen < 2)
			continue;
		const char *line = buf + start;
		if (llen == 2 && line[0] == '\r') {
			*header_len = i + 1;
			return WS_GUARD_HTTP;
		}
		if (start > 0 && llen >= 4 && memcmp(line, "GET ", 4) == 0) {
			snprintf(why, why_len, "an HTTP request with more than one GET line");
			return WS_GUARD_GET_LINES;
		}
		start = i + 1;
	}
	if (n >= WS_GUARD_MAX_HEADER) {
		snprintf(why, why_len, "an HTTP request header longer than %u bytes",
			 WS_GUARD_MAX_HEADER);
		return WS_GUARD_TOO_LONG;
	}
	return WS_GUARD_INCOMPLETE;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

enum ws_guard_result ws_guard_check(int fd, uint64_t deadline_ms, char *why, size_t why_len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;
	while ((r = poll(&pfd, 1, WS_GUARD_FIRST_MS)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return WS_GUARD_PLAIN; /* an RFB client, waiting for the server to speak first */
	char buf[WS_GUARD_MAX_HEADER + 1];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			snprintf(why, why_len, "closed the connection before the handshake");
			return WS_GUARD_CLOSED;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(why, why_len, "%s", strerror(errno));
			return WS_GUARD_CLOSED;
		}
		/* Fewer than 4 bytes are never handed on: libvncserver's peek for 4 bytes spins
		 * on them (it takes a short read for "try again" when errno says so). */
		if (n >= 4) {
			if (memcmp(buf, "GET ", 4) != 0)
				return WS_GUARD_PLAIN; /* "RFB ", TLS, garbage: libvncserver's call */
			size_t len = 0;
			enum ws_guard_result h = ws_guard_header(buf, (size_t)n, &len, why, why_len);
			if (h != WS_GUARD_INCOMPLETE)
				return h;
		}
		/* Incomplete: wait for more, unless the peer is done sending or time is up. */
		pfd = (struct pollfd){.fd = fd, .events = POLLIN | POLLRDHUP};
		const char *what = n >= 4 ? "an incomplete HTTP request" : "an incomplete first message";
		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			snprintf(why, why_len, "%s (%zd bytes, then the connection was shut)", what,
				 n > 0 ? n : 0);
			return WS_GUARD_INCOMPLETE;
		}
		if (clock_now_ms() >= deadline_ms) {
			snprintf(why, why_len, "%s (%zd bytes) within the handshake timeout", what,
				 n > 0 ? n : 0);
			return WS_GUARD_INCOMPLETE;
		}
		sleep_ms(WS_GUARD_RECHECK_MS);
	}
}
