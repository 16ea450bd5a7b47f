/* ws_guard.c: the HTTP request check split into lines exactly as libvncserver splits it
 * (a lone "\n" joins the next line), and ws_guard_check() on socketpairs: plain RFB, a
 * complete request, a second GET line, an oversized header, a request cut short, a first
 * message of fewer than 4 bytes. */
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "ws_guard.h"

static const char request[] = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: o\r\n"
			      "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n";

static enum ws_guard_result header(const char *s, size_t *len)
{
	char why[160] = "";
	return ws_guard_header(s, strlen(s), len, why, sizeof(why));
}

static void test_header_lines(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(header(request, &len), WS_GUARD_HTTP);
	assert_int_equal(len, strlen(request));
	/* Bytes after the empty line (the first frame) are not part of the header. */
	char more[512];
	snprintf(more, sizeof(more), "%s\x82\x85xxxx", request);
	assert_int_equal(header(more, &len), WS_GUARD_HTTP);
	assert_int_equal(len, strlen(request));
	assert_int_equal(header("GET / HTTP/1.1\r\nHost: h\r\n", &len), WS_GUARD_INCOMPLETE);
	assert_int_equal(header("GET / HTTP/1.1\r\nGET /b HTTP/1.1\r\n\r\n", &len),
			 WS_GUARD_GET_LINES);
	/* libvncserver: a lone "\n" after a line is the start of the next one, so this
	 * "GET " is not at the start of a line and is never copied. */
	assert_int_equal(header("GET / HTTP/1.1\r\n\nGET /b HTTP/1.1\r\n\r\n", &len),
			 WS_GUARD_HTTP);
	/* ...while after "\r" it is. */
	assert_int_equal(header("GET / HTTP/1.1\r\n\r\r\nGET /b HTTP/1.1\r\n\r\n", &len),
			 WS_GUARD_GET_LINES);
}

/* A NUL inside a header line made libvncserver print past its buffer: refused, as is any
 * other control byte but tab, CR and LF; bytes after the header are not looked at. */
static void test_header_bytes(void **state)
{
	(void)state;
	char why[160] = "";
	size_t len = 0;
	static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: "
				  "binary\r\0\n\r\n";
	assert_int_equal(ws_guard_header(nul, sizeof(nul) - 1, &len, why, sizeof(why)),
			 WS_GUARD_BAD_BYTE);
	assert_non_null(strstr(why, "0x00"));
	assert_int_equal(header("GET / HTTP/1.1\r\nHost: \x01x\r\n\r\n", &len),
			 WS_GUARD_BAD_BYTE);
	assert_int_equal(header("GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n", &len),
			 WS_GUARD_BAD_BYTE);
	assert_int_equal(header("GET / HTTP/1.1\r\nHost:\tx\r\n\r\n", &len), WS_GUARD_HTTP);
	static const char frame_after[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x82\0\x01";
	assert_int_equal(ws_guard_header(frame_after, sizeof(frame_after) - 1, &len, why,
					 sizeof(why)),
			 WS_GUARD_HTTP);
}

static void test_header_size(void **state)
{
	(void)state;
	static char big[WS_GUARD_MAX_HEADER + 64];
	size_t len = 0;
	/* Exactly WS_GUARD_MAX_HEADER bytes with its empty line: accepted. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memcpy(big + WS_GUARD_MAX_HEADER - 4, "\r\n\r\n", 4);
	big[WS_GUARD_MAX_HEADER] = '\0';
	assert_int_equal(header(big, &len), WS_GUARD_HTTP);
	/* One more byte before the end: libvncserver would stop reading first. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memcpy(big + WS_GUARD_MAX_HEADER - 3, "\r\n\r\n", 4);
	big[WS_GUARD_MAX_HEADER + 1] = '\0';
	assert_int_equal(header(big, &len), WS_GUARD_TOO_LONG);
}

/* ws_guard_check() on a socketpair holding these bytes (then shut when shut). */
static enum ws_guard_result check(const void *bytes, size_t n, bool shut)
{
	int sv[2];
	char why[160] = "";
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], bytes, n), (ssize_t)n);
	if (shut)
		shutdown(sv[1], SHUT_WR);
	enum ws_guard_result r = ws_guard_check(sv[0], clock_now_ms() + 300, why, sizeof(why));
	/* Nothing was consumed: libvncserver still reads it all. */
	char buf[8192];
	if (n)
		assert_int_equal(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)n);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void test_check(void **state)
{
	(void)state;
	assert_int_equal(check("", 0, false), WS_GUARD_PLAIN); /* silent: waits for the server */
	assert_int_equal(check("RFB 003.008\n", 12, false), WS_GUARD_PLAIN);
	assert_int_equal(check(request, strlen(request), false), WS_GUARD_HTTP);
	assert_int_equal(check("GET / HTTP/1.1\r\nHost", 20, true), WS_GUARD_INCOMPLETE);
	/* Not shut: the deadline ends the wait. */
	assert_int_equal(check("GET / HTTP/1.1\r\nHost", 20, false), WS_GUARD_INCOMPLETE);
	assert_int_equal(check("GE", 2, true), WS_GUARD_INCOMPLETE);
	assert_int_equal(check("\x16", 1, false), WS_GUARD_INCOMPLETE);
	assert_int_equal(check("GET / HTTP/1.1\r\nGET / HTTP/1.1\r\n\r\n", 34, false),
			 WS_GUARD_GET_LINES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_lines),
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_header_size),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
