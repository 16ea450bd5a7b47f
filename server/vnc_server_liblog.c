/* libvncserver's log, routed into ours (rfbLog, rfbErr): each line goes to our log, the
 * last one on each thread is kept for the line that says why a client went, and the line
 * that announces a WebSocket request nobody checked cuts that request off.
 *
 * Threads: whichever thread libvncserver logs from (clients' input and output threads,
 * handshake threads, the accept thread, main); all state here is per thread.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vnc_server_private.h"
#include "ws_guard.h"

/* libvncserver's last message on this thread: a client's input thread (or its handshake
 * thread) is the one that hits a bad message and then ends the client, so the line that
 * says the client is gone can say why ("too big cut text length requested ..."). */
static _Thread_local char last_lib_msg[160];

static void keep_last(const char *msg)
{
	size_t n = strcspn(msg, "\n");
	if (n >= sizeof(last_lib_msg))
		n = sizeof(last_lib_msg) - 1;
	/* "Client 127.0.0.1 gone" and statistics say nothing about why. */
	if (n && strncmp(msg, "Client ", 7) != 0 && strncmp(msg, " ", 1) != 0 &&
	    strncmp(msg, "Statistics", 10) != 0) {
		memcpy(last_lib_msg, msg, n);
		last_lib_msg[n] = '\0';
	}
}

const char *vnc_server_liblog_last(void)
{
	return last_lib_msg;
}

void vnc_server_liblog_forget(void)
{
	last_lib_msg[0] = '\0';
}

/* Set by the handshake on its thread while rfbNewClient() runs, when ws_guard_check() saw
 * no HTTP request: the client's socket. A WebSocket request libvncserver finds now came
 * inside its own wait for a "GET ", after ours gave up (ws_guard.h), and nobody checked
 * it: libvncserver would read up to 4095 bytes of it, keeping a lost copy of every "GET "
 * line. */
static _Thread_local int unchecked_fd = -1;
static _Thread_local const char *unchecked_peer;

void vnc_server_liblog_watch_websocket(int fd, const char *peer)
{
	unchecked_fd = fd;
	unchecked_peer = peer;
}

/* libvncserver has just said "Got 'ws' WebSockets handshake" and is about to read the
 * request from fd: put an empty socket whose peer is gone under that fd number, so that
 * its first read finds the end of the stream and it gives the client up, having read
 * nothing. The client's own socket stays open through the handshake slot's dup
 * (auth.c) until the handshake thread releases it. */
static void cut_unchecked_websocket(void)
{
	static struct log_ratelimit rl;
	log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: its WebSocket request came "
			"more than %d ms after connecting", unchecked_peer ? unchecked_peer : "?",
			WS_GUARD_FIRST_MS);
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
		close(sp[1]);
		if (dup3(sp[0], unchecked_fd, O_CLOEXEC) < 0)
			shutdown(unchecked_fd, SHUT_RDWR);
		close(sp[0]);
	} else {
		shutdown(unchecked_fd, SHUT_RDWR);
	}
	unchecked_fd = -1;
}

/* rfbLog and rfbErr: one line each time, to our log at the output's level. libvncserver
 * announces a WebSocket request through rfbLog; the check below does not depend on it. */
static void lib_vlog(enum log_level level, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	keep_last(buf);
	if (level == LOG_DEBUG)
		log_debug("libvncserver: %s", buf);
	else
		log_warn("libvncserver: %s", buf);
	/* 'ws' only: behind TLS ('wss') the request is not readable here anyway. */
	if (unchecked_fd >= 0 && strncmp(buf, "Got 'ws' WebSockets handshake", 29) == 0)
		cut_unchecked_websocket();
}

static void lib_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lib_vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static void lib_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lib_vlog(LOG_WARN, fmt, ap);
	va_end(ap);
}

void vnc_server_liblog_install(void)
{
	rfbLog = lib_log;
	rfbErr = lib_err;
}
