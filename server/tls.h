/* TLS for the TCP listeners (GnuTLS): the credentials from --tls-cert, --tls-key and
 * --tls-ca, the server side of one handshake, and the relay (tls_relay.c) that lets
 * libvncserver go on reading and writing plaintext on the client's fd number.
 *
 * Credentials are process-wide and reference-counted: tls_init() (main, before any
 * client) loads them, tls_reload() (main, on SIGHUP) loads a new set and swaps it in under
 * a lock held for O(1) time; each TLS session holds a reference to the set it started
 * with, so running sessions go on with the old certificate and new ones see the new one.
 * A set that cannot be read leaves the current one in place.
 *
 * Handshake threads call tls_accept() (blocks up to the deadline, on that client only)
 * and tls_relay_start(). Relay threads are detached; tls_shutdown() (main, after the
 * clients are closed) waits for them. The private key is never logged.
 */
#ifndef VGPU_TLS_H
#define VGPU_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The first byte of a TLS record carrying a handshake (a ClientHello). */
#define TLS_HANDSHAKE_BYTE 0x16

/* Load cfg's certificate, key and CA (if --tls-cert is given; otherwise nothing to do and
 * tls_enabled() stays false). 0, or a negative errno with the reason (the file and what
 * is wrong with it) in err. */
int tls_init(const struct config *cfg, char *err, size_t err_len);

/* True once tls_init() loaded credentials. Any thread. */
bool tls_enabled(void);

/* True when TLS clients must show a certificate signed by --tls-ca. Any thread. */
bool tls_verifies_clients(void);

/* SIGHUP: read the files again. 0 (also when TLS is off) or a negative errno with err;
 * on failure the credentials in use stay. */
int tls_reload(char *err, size_t err_len);

/* One established TLS session (with its reference to the credentials). */
struct tls_conn;

/* Server side of a TLS handshake on the connected socket fd (made non-blocking), until
 * deadline_ms (clock_now_ms() clock). 0 with *out, or a negative errno, having logged why
 * ("client PEER: TLS handshake failed: ..."), including why a client certificate was
 * refused. On success the log names the protocol and the client certificate's subject. */
int tls_accept(int fd, const char *peer, uint64_t deadline_ms, struct tls_conn **out);

/* Hand the session to a relay thread. net_fd (owned from now on, also on failure) is the
 * real socket the session runs on; the fd number app_fd is replaced (dup3) by one end of
 * a new socketpair, non-blocking, whose other end the relay pumps through the session:
 * whatever held app_fd (libvncserver's cl->sock) now reads and writes plaintext. When
 * either side closes, the relay sends close_notify, shuts the real socket down and ends.
 * 0 or a negative errno: c and net_fd are freed then, and app_fd may already be the
 * plaintext end with no relay behind it: the caller closes the client. */
int tls_relay_start(struct tls_conn *c, int net_fd, int app_fd);

/* Free a session that never reached tls_relay_start(). NULL is fine. */
void tls_conn_free(struct tls_conn *c);

/* The server is stopping and its clients are closed: wait (a bounded time) for the relay
 * threads, then drop the credentials. */
void tls_shutdown(void);

#endif
