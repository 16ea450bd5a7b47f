/* Everything a client goes through before it is let in: the RFB handshake under a
 * deadline, the VNC password (from a file, re-read on SIGHUP) with a growing delay per
 * source (address range) after wrong ones, and the no-auth policy.
 *
 * Process-wide state (one server per process, as libvncserver's security handlers are
 * process-wide too), guarded by one mutex held for O(1) time; nothing blocks under it.
 * Threads:
 *  - main: auth_check_policy(), auth_init() (before any client), auth_reload() (SIGHUP),
 *    auth_shutdown() (before the server stops);
 *  - accept thread: auth_handshake_begin() for each new socket, auth_expire() once a
 *    second;
 *  - handshake threads (one per connecting client): auth_handshake_run(), in which
 *    libvncserver calls auth_password_check(); a wrong password sleeps there, on that
 *    client's own thread, and no other client waits for it.
 */
#ifndef VGPU_AUTH_H
#define VGPU_AUTH_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* VNC authentication (DES challenge) uses at most 8 bytes of the password. */
#define AUTH_VNC_PASSWORD_MAX 8

/* A source is an address range, not one address: an IPv4 address (/32), an IPv6 /64 (what
 * one host or one customer gets, so the 2^64 addresses of a single network count as one),
 * an IPv4-mapped IPv6 address as its IPv4 address, a unix socket by its path.
 * After the n-th wrong password in a row from one source (the address range, not the port),
 * the answer waits AUTH_DELAY_BASE_MS * 2^(n-1), at most AUTH_DELAY_MAX_MS. A right
 * password, or AUTH_FORGET_MS without a wrong one, starts the count again. */
#define AUTH_DELAY_BASE_MS 500u
#define AUTH_DELAY_MAX_MS 16000u
#define AUTH_FORGET_MS (10u * 60u * 1000u)
/* Source addresses remembered; when full, the one quiet longest is forgotten. */
#define AUTH_MAX_SOURCES 256u
/* Handshakes in progress from one source at once: a guesser cannot run more delayed
 * guesses in parallel than this, nor hold more slots with silent sockets. Never more than
 * 1/AUTH_PENDING_SHARE of --max-clients (at least 1), so that with a small --max-clients
 * one source cannot hold every handshake slot either. */
#define AUTH_MAX_PENDING_PER_SOURCE 4u
#define AUTH_PENDING_SHARE 2u

/* The source of a peer ("10.1.2.3:5555", "[2001:db8::1]:5555", "unix:/path") as text:
 * "10.1.2.3", "2001:db8::/64", "unix:/path"; a peer that is none of these is its own
 * source (without a trailing ":port"). key_len >= AUTH_SOURCE_KEY_MAX. */
#define AUTH_SOURCE_KEY_MAX 80
void auth_source_key(const char *peer, char *key, size_t key_len);

/* How many handshakes one source may have in progress with this --max-clients. */
unsigned auth_pending_per_source(unsigned max_clients);

/* Whether VNC authentication can work with pw: libvncserver's DES (libgcrypt) refuses
 * the 4 weak and 12 semi-weak DES keys, and VNC authentication makes its key from the
 * password's first 8 bytes (each bit-reversed; the parity bits do not count), so with
 * such a password ("xxxxpppp", for one) no client could ever log in. Tried for real:
 * a block is encrypted with the password. 0, or -EINVAL (or -ENOTSUP when DES does not
 * work at all) with the reason in err. Any thread. */
int auth_password_usable(const char *pw, char *err, size_t err_len);

/* Read the password: the first line of the file, without its newline. The file must not
 * be empty. A password longer than 8 bytes works, but only its first 8 bytes count, and
 * a warning says so. On success *out is a malloc'ed string. 0 or a negative errno; the
 * message in err names the file. */
int auth_read_password_file(const char *path, char **out, char *err, size_t err_len);

/* The no-auth policy: without a password (and without --insecure-no-auth) every listener
 * must be local: a loopback TCP address, or a unix socket that only its owner (and the
 * group named by --unix-owner, or an inherited socket's group) can connect to, judged by
 * the socket's mode (--unix-mode or the umask; an inherited socket's file) and its
 * directory. Abstract and unnamed unix sockets are not local. 0, or -EPERM with the
 * reason in err. Main, before any thread. */
int auth_check_policy(const struct config *cfg, char *err, size_t err_len);

/* Read the password file (if cfg names one) and take the handshake settings. 0 or a
 * negative errno with err. */
int auth_init(const struct config *cfg, char *err, size_t err_len);

/* THE way to change the password at run time (the password file, SIGHUP, the control
 * socket's set-password all go through it): pw (first 8 bytes count) applies to every
 * check from now on; after expires_ms (clock_now_ms() clock; 0 = never) no password works
 * and clients are refused with a log line, like QEMU's expire_password. A password that
 * auth_password_usable() refuses changes nothing: -EINVAL (or -ENOTSUP) with err, and the
 * password before stays. 0 otherwise. Any thread. */
int auth_set_password(const char *pw, uint64_t expires_ms, char *err, size_t err_len);

/* --control: clients must give a password even before one is set (until set-password
 * every client is refused). Main, before vnc_server_create. */
void auth_require_password(void);

/* True when clients must give the VNC password. */
bool auth_enabled(void);

/* SIGHUP: read the password file again. On success the new password applies to every
 * check from now on; on failure (missing, empty, unusable) the old one stays and err says
 * why.
 * 0 (also when there is no password file: nothing to do) or a negative errno. */
int auth_reload(char *err, size_t err_len);

/* The server is stopping: handshakes and delayed answers end at once. */
void auth_shutdown(void);

/* screen->passwordCheck: compare the client's DES response with the current password. */
rfbBool auth_password_check(rfbClientPtr cl, const char *response, int len);

/* A new connection from peer ("10.1.2.3:5555", "[::1]:5555", "unix:/path") on fd:
 * reserve its handshake slot. NULL (the caller closes fd; a rate-limited line says why)
 * when its source already has auth_pending_per_source() handshakes in progress. */
struct auth_pending *auth_handshake_begin(const char *peer, int fd);

/* Drive the client (libvncserver's, still on hold) through version, security, password
 * and ClientInit on the calling thread. 0 once it is ready for its own threads
 * (rfbStartOnHoldClient); otherwise a negative errno (-ETIMEDOUT: not done within the
 * handshake timeout; -ECANCELED: shutting down; -ECONNRESET: the client or a check
 * closed it), having logged why; the caller then calls rfbClientConnectionGone().
 * It stops at the first step that fails: nothing the client sent after it is read as a
 * message. On 0, normal messages that came in the same WebSocket frame as ClientInit may
 * still wait in libvncserver's buffer (webSocketsHasDataInBuffer): the caller processes
 * them once it counts the client as authenticated. */
int auth_handshake_run(struct auth_pending *p, rfbClientPtr cl);

/* When this handshake must be done (clock_now_ms() clock; it moves with password delays).
 * For the bytes a client sends before libvncserver sees it (vnc_server_handshake.c). */
uint64_t auth_handshake_deadline(struct auth_pending *p);

/* Release the slot (after run, or instead of it when rfbNewClient refused the client). */
void auth_handshake_end(struct auth_pending *p);

/* Shut down the sockets of handshakes past their deadline, which wakes a handshake
 * thread blocked in the middle of a message (a client that trickles bytes). */
void auth_expire(void);

#endif
