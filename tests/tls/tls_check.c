/* TLS checks: the real vgpu-vnc binary with --tls-cert/--tls-key/--tls-ca against real
 * clients: libvncclient (VeNCrypt through GnuTLS, as Debian builds it), gtk-vnc's
 * gvnccapture, TigerVNC's viewer under Xvfb, raw sockets and a GnuTLS client for hostile
 * bytes. Certificates are made at run time by make_certs.sh (certtool).
 *
 * Usage: tls_check VGPU_VNC MAKE_CERTS_SH CASE. Exit 0 pass, 1 fail, 77 skipped (a missing
 * tool, named on stderr).
 *
 * Cases:
 *   vencrypt-vnc   0.0.0.0 with a password: the list offers VeNCrypt only; libvncclient
 *                  gets X509Vnc, a frame, and a wrong password is refused
 *   vencrypt-none  loopback without a password: VeNCrypt first, then None; libvncclient
 *                  takes X509None
 *   wrong-ca       a client that trusts another CA is refused; the server says why
 *   expired        an expired server certificate: the server warns at start, the client
 *                  refuses, the server says why
 *   client-cert    --tls-ca: a client certificate from that CA gets in without a password
 *                  (its subject is logged); none, or one from another CA, is refused
 *   sighup         a new certificate on SIGHUP: new clients see it, a running session goes
 *                  on; a broken file keeps the old one
 *   hostile        garbage in every new state; the server keeps serving a good client
 *   config         start-up errors (missing file, key mismatch, half the options) and the
 *                  policy (TLS without a CA or password on 0.0.0.0; the clear-text warning)
 *   gvnccapture    gtk-vnc's capture tool over VeNCrypt X509None (its CA in ~/.pki/CA)
 *   tigervnc       TigerVNC's viewer under Xvfb (X509Vnc with -X509CA and -passwd) on a
 *                  TLS-only address
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rfb_test_client.h"
#include "server_proc.h"
#include "util.h"

#define SKIP 77
#define PASSWORD "tls-pw-1"

static const char *bin;
static struct server_proc *current_server; /* for the log tail on a failure */
static bool forced_cert; /* client_tls() sends client2's certificate whatever */

static int to_tls(int port);
static bool client_tls(int fd, gnutls_session_t *out);
static bool load_forced(const char *cert, const char *key);
static char dir[256]; /* the certificates */

static void fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tls_check: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *path(const char *name)
{
	static char bufs[64][320];
	static int i;
	char *b = bufs[i++ % 64];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static bool wait_log(struct server_proc *s, const char *needle, double timeout_s)
{
	double end = now_s() + timeout_s;
	while (!server_log_contains(s, needle)) {
		if (now_s() > end) {
			fail_msg("no \"%s\" in the server log", needle);
			server_print_log_tail(s, 30);
			return false;
		}
		sleep_s(0.02);
	}
	return true;
}

/* Start the server; *port from its "listening on tcp:" line. */
static bool start(struct server_proc *s, const char *const *args, int *port)
{
	memset(s, 0, sizeof(*s));
	if (server_start(s, bin, args) < 0)
		return false;
	current_server = s;
	*port = server_wait_port(s, 20);
	if (*port <= 0) {
		fail_msg("the server did not start listening");
		server_print_log_tail(s, 30);
		return false;
	}
	return true;
}

/* Start the server on `listen` with --tls-cert CERT.pem and --tls-key CERT.key (in the
 * certificates' directory), plus extra arguments (NULL-terminated). */
static bool start_tls(struct server_proc *s, int *port, const char *listen, const char *cert,
		      const char *const *extra)
{
	char pem[64], key[64];
	const char *args[24] = {"--listen", listen, "--tls-cert", pem, "--tls-key", key};
	size_t n = 6;
	snprintf(pem, sizeof(pem), "%s.pem", cert);
	snprintf(key, sizeof(key), "%s.key", cert);
	args[3] = path(pem);
	args[5] = path(key);
	for (; extra && *extra && n < 23; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	return start(s, args, port);
}

static bool stop(struct server_proc *s)
{
	bool ok = server_stop(s, 20);
	if (!ok)
		server_print_log_tail(s, 40);
	server_free(s);
	return ok;
}

/* ---- libvncclient ------------------------------------------------------------------- */

struct tc {
	const char *ca, *cert, *key, *password;
	unsigned updates;
};

static int tc_tag;

static rfbCredential *tc_credential(rfbClient *cl, int type)
{
	struct tc *t = rfbClientGetClientData(cl, &tc_tag);
	if (type != rfbCredentialTypeX509)
		return NULL;
	rfbCredential *c = calloc(1, sizeof(*c));
	c->x509Credential.x509CACertFile = strdup(t->ca);
	if (t->cert) {
		c->x509Credential.x509ClientCertFile = strdup(t->cert);
		c->x509Credential.x509ClientKeyFile = strdup(t->key);
	}
	return c;
}

static char *tc_password(rfbClient *cl)
{
	struct tc *t = rfbClientGetClientData(cl, &tc_tag);
	return strdup(t->password ? t->password : "");
}

static void tc_update(rfbClient *cl)
{
	struct tc *t = rfbClientGetClientData(cl, &tc_tag);
	t->updates++;
}

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* Connect and finish the handshake; NULL if refused. */
static rfbClient *tc_connect(struct tc *t, int port)
{
	rfbClient *cl = rfbGetClient(8, 3, 4);
	if (!cl)
		return NULL;
	rfbClientSetClientData(cl, &tc_tag, t);
	cl->GetCredential = tc_credential;
	cl->GetPassword = tc_password;
	cl->FinishedFrameBufferUpdate = tc_update;
	free(cl->serverHost);
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = port;
	int argc = 1;
	char *argv[] = {(char *)"tls_check", NULL};
	if (!rfbInitClient(cl, &argc, argv))
		return NULL; /* rfbInitClient freed cl */
	return cl;
}

/* Handle messages until `want` more updates arrived; false on timeout or a dead link. */
static bool tc_updates(rfbClient *cl, struct tc *t, unsigned want, double timeout_s)
{
	unsigned until = t->updates + want;
	double end = now_s() + timeout_s;
	while (t->updates < until) {
		if (now_s() > end)
			return false;
		int r = WaitForMessage(cl, 100000);
		if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl)))
			return false;
	}
	return true;
}

static void tc_close(rfbClient *cl)
{
	if (cl) {
		free(cl->frameBuffer); /* rfbClientCleanup leaves it to us */
		rfbClientCleanup(cl);
	}
}

/* Under LeakSanitizer (the sanitizer build), for this test process only: libvncclient
 * 0.9.14 never frees the X509 credentials it makes for VeNCrypt nor its Tight JPEG
 * decompressor, and the hostile cases' own GnuTLS client sessions are left to the exit.
 * The server is checked in full (server_stop() fails on any sanitizer report). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgnutls.so\nleak:libtasn1.so\nleak:tjInitDecompress\n";
}

/* A client that must get in, with its security subtype, and see a frame. */
static bool expect_in(int port, struct tc *t, uint32_t subtype, const char *what)
{
	rfbClient *cl = tc_connect(t, port);
	if (!cl) {
		fail_msg("%s: refused", what);
		return false;
	}
	bool ok = true;
	if (cl->subAuthScheme != subtype) {
		fail_msg("%s: VeNCrypt subtype %u, want %u", what, cl->subAuthScheme, subtype);
		ok = false;
	} else if (!tc_updates(cl, t, 1, 20)) {
		fail_msg("%s: no framebuffer update", what);
		ok = false;
	}
	tc_close(cl);
	if (ok)
		say("%s: in with VeNCrypt subtype %u and a frame", what, subtype);
	return ok;
}

static bool expect_refused(int port, struct tc *t, const char *what)
{
	rfbClient *cl = tc_connect(t, port);
	if (cl) {
		fail_msg("%s: got in", what);
		tc_close(cl);
		return false;
	}
	say("%s: refused", what);
	return true;
}

/* ---- raw sockets -------------------------------------------------------------------- */

static int raw_connect(int port)
{
	struct rr c;
	char err[160];
	return rr_connect(&c, "tls_check", "127.0.0.1", port, err, sizeof(err)) < 0 ? -1 : c.fd;
}

/* Read exactly n bytes within timeout_s: n, 0 on EOF, -1 on timeout or error. */
static int raw_read(int fd, void *buf, size_t n, double timeout_s)
{
	struct rr c;
	rr_attach(&c, "tls_check", fd);
	int r = rr_read_exact(&c, buf, n, timeout_s);
	return r == 0 ? (int)n : r == -2 ? -1 : 0;
}

static bool raw_send(int fd, const void *buf, size_t n)
{
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* True when the server closes within timeout_s (whatever it sends first). */
static bool raw_closed(int fd, double timeout_s)
{
	struct rr c;
	rr_attach(&c, "tls_check", fd);
	return rr_wait_closed(&c, timeout_s);
}

/* Version exchange; the security type list into types (count returned, -1 on error). */
static int raw_types(int fd, uint8_t *types)
{
	char pv[12];
	if (raw_read(fd, pv, 12, 10) != 12 || memcmp(pv, "RFB 003.008\n", 12) != 0)
		return -1;
	if (!raw_send(fd, "RFB 003.008\n", 12))
		return -1;
	uint8_t n;
	if (raw_read(fd, &n, 1, 10) != 1 || (n && raw_read(fd, types, n, 10) != n))
		return -1;
	return n;
}

static bool expect_types(int port, const uint8_t *want, int n_want, const char *what)
{
	int fd = raw_connect(port);
	uint8_t types[255];
	int n = fd >= 0 ? raw_types(fd, types) : -1;
	if (fd >= 0)
		close(fd);
	if (n != n_want || memcmp(types, want, (size_t)n_want) != 0) {
		fail_msg("%s: security types offered:", what);
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %u", types[i]);
		fprintf(stderr, " (%d), want %d of them\n", n, n_want);
		return false;
	}
	say("%s: the security types are as they should be", what);
	return true;
}

/* ---- cases -------------------------------------------------------------------------- */

static bool write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* The frame of most cases: the server with TLS (start_tls), the case's checks against it,
 * then the server must stop cleanly whatever the checks found. */
static bool with_tls(const char *listen, const char *cert, const char *const *extra,
		     bool (*checks)(struct server_proc *s, int port))
{
	struct server_proc s;
	int port;
	if (!start_tls(&s, &port, listen, cert, extra))
		return false;
	bool ok = checks(&s, port);
	return stop(&s) && ok;
}

static bool vencrypt_vnc_checks(struct server_proc *s, int port)
{
	const uint8_t only_vencrypt[] = {rfbVeNCrypt};
	struct tc good = {.ca = path("ca1.pem"), .password = PASSWORD};
	struct tc wrong = {.ca = path("ca1.pem"), .password = "wrong"};
	bool ok = expect_types(port, only_vencrypt, 1, "0.0.0.0 with TLS") &&
		  expect_in(port, &good, rfbVeNCryptX509VNC, "libvncclient, right password") &&
		  wait_log(s, "password accepted", 5) && wait_log(s, ": TLS (TLS1.", 5) &&
		  expect_refused(port, &wrong, "libvncclient, wrong password");
	if (ok && server_log_contains(s, "in the clear")) {
		fail_msg("the clear-text warning with TLS on");
		ok = false;
	}
	return ok;
}

static bool case_vencrypt_vnc(void)
{
	write_file(path("pw"), PASSWORD "\n");
	chmod(path("pw"), 0600);
	const char *extra[] = {"--password-file", path("pw"), NULL};
	return with_tls("tcp:0.0.0.0:0", "server1", extra, vencrypt_vnc_checks);
}

static bool vencrypt_none_checks(struct server_proc *s, int port)
{
	(void)s;
	const uint8_t both[] = {rfbVeNCrypt, rfbSecTypeNone};
	struct tc good = {.ca = path("ca1.pem")};
	return expect_types(port, both, 2, "loopback with TLS") &&
	       expect_in(port, &good, rfbVeNCryptX509None, "libvncclient, X509None");
}

static bool case_vencrypt_none(void)
{
	return with_tls("tcp:127.0.0.1:0", "server1", NULL, vencrypt_none_checks);
}

static bool wrong_ca_checks(struct server_proc *s, int port)
{
	struct tc other = {.ca = path("ca2.pem")};
	struct tc good = {.ca = path("ca1.pem")};
	return expect_refused(port, &other, "a client that trusts another CA") &&
	       wait_log(s, "TLS handshake failed", 5) &&
	       expect_in(port, &good, rfbVeNCryptX509None, "then a good client");
}

static bool case_wrong_ca(void)
{
	return with_tls("tcp:127.0.0.1:0", "server1", NULL, wrong_ca_checks);
}

static bool expired_checks(struct server_proc *s, int port)
{
	struct tc t = {.ca = path("ca1.pem")};
	return wait_log(s, "expired on 2021-01-01", 5) &&
	       expect_refused(port, &t, "a client, expired server certificate") &&
	       wait_log(s, "TLS handshake failed", 5);
}

static bool case_expired(void)
{
	return with_tls("tcp:127.0.0.1:0", "expired", NULL, expired_checks);
}

static bool client_cert_checks(struct server_proc *s, int port)
{
	struct tc good = {.ca = path("ca1.pem"), .cert = path("client1.pem"),
			  .key = path("client1.key")};
	struct tc none = {.ca = path("ca1.pem")};
	struct tc other = {.ca = path("ca1.pem"), .cert = path("client2.pem"),
			   .key = path("client2.key")};
	bool ok = expect_in(port, &good, rfbVeNCryptX509None, "client certificate from the CA") &&
		  wait_log(s, "client certificate CN=client1", 5) &&
		  expect_refused(port, &none, "no client certificate") &&
		  wait_log(s, "the client sent no certificate", 5) &&
		  expect_refused(port, &other, "a client certificate from another CA") &&
		  wait_log(s, "TLS handshake failed", 5);
	/* libvncclient's GnuTLS sends no certificate that the server's CA list does not
	 * name; a client that sends one anyway is refused for its certificate. */
	if (ok) {
		forced_cert = load_forced(path("client2.pem"), path("client2.key"));
		int fd = to_tls(port);
		gnutls_session_t ts;
		/* With TLS 1.3 the client finishes before the server looks at its certificate:
		 * either the handshake fails, or the server then closes the connection. */
		bool closed = fd >= 0 && forced_cert &&
			      (!client_tls(fd, &ts) || raw_closed(fd, 30));
		if (fd >= 0)
			close(fd);
		if (!forced_cert)
			fail_msg("cannot load client2's certificate and key");
		forced_cert = false;
		ok = closed && wait_log(s, "the client certificate was refused: The certificate is "
				     "NOT trusted", 5);
		if (ok)
			say("a client certificate from another CA, sent anyway: refused");
	}
	return ok;
}

static bool case_client_cert(void)
{
	const char *extra[] = {"--tls-ca", path("ca1.pem"), NULL};
	return with_tls("tcp:0.0.0.0:0", "server1", extra, client_cert_checks);
}

static bool copy_file(const char *from, const char *to)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	return system(cmd) == 0;
}

static bool case_sighup(void)
{
	struct server_proc s;
	int port;
	if (!copy_file(path("server1.pem"), path("live.pem")) ||
	    !copy_file(path("server1.key"), path("live.key")))
		return false;
	const char *extra[] = {"--source", "synthetic:640x480:typing", NULL};
	if (!start_tls(&s, &port, "tcp:127.0.0.1:0", "live", extra))
		return false;
	struct tc running = {.ca = path("ca1.pem")};
	rfbClient *a = tc_connect(&running, port);
	bool ok = a && tc_updates(a, &running, 1, 20);
	if (!ok)
		fail_msg("the first client did not get in");
	/* The new certificate, from the other CA. */
	ok = ok && copy_file(path("server2.pem"), path("live.pem")) &&
	     copy_file(path("server2.key"), path("live.key")) && kill(s.pid, SIGHUP) == 0 &&
	     wait_log(&s, "read again: new connections use them", 10);
	struct tc new_ca = {.ca = path("ca2.pem")}, old_ca = {.ca = path("ca1.pem")};
	ok = ok && expect_in(port, &new_ca, rfbVeNCryptX509None, "after SIGHUP, the new CA") &&
	     expect_refused(port, &old_ca, "after SIGHUP, the old CA");
	/* The session that started before goes on. */
	if (ok && !tc_updates(a, &running, 3, 20)) {
		fail_msg("the session from before SIGHUP stopped getting updates");
		ok = false;
	}
	/* A broken certificate file: the one in use stays. */
	ok = ok && write_file(path("live.pem"), "not a certificate\n") &&
	     kill(s.pid, SIGHUP) == 0 && wait_log(&s, "keeping the TLS certificate read before", 10) &&
	     expect_in(port, &new_ca, rfbVeNCryptX509None, "after a broken SIGHUP");
	if (ok)
		say("the session from before SIGHUP got %u updates in all", running.updates);
	tc_close(a);
	return stop(&s) && ok;
}

/* ---- hostile ------------------------------------------------------------------------ */

/* Up to the VeNCrypt version: connected, 19 chosen, server's 0.2 read. -1 on error. */
static int to_vencrypt(int port)
{
	int fd = raw_connect(port);
	uint8_t types[255], v[2];
	if (fd < 0 || raw_types(fd, types) < 1 || types[0] != rfbVeNCrypt)
		goto fail;
	uint8_t pick = rfbVeNCrypt;
	if (!raw_send(fd, &pick, 1) || raw_read(fd, v, 2, 10) != 2 || v[0] != 0 || v[1] != 2)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* To the point where the server waits for a ClientHello. */
static int to_tls(int port)
{
	int fd = to_vencrypt(port);
	uint8_t v[2] = {0, 2}, ack, head[2], sub[4];
	/* The subtype offered (the only one) is the one chosen. */
	if (fd < 0 || !raw_send(fd, v, 2) || raw_read(fd, &ack, 1, 10) != 1 || ack != 0 ||
	    raw_read(fd, head, 1, 10) != 1 || raw_read(fd, sub, 4, 10) != 4 ||
	    !raw_send(fd, sub, 4) || raw_read(fd, &ack, 1, 10) != 1 || ack != 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A client certificate sent whatever CAs the server names (GnuTLS's own choice would
 * send none that the server's CA did not sign). */
static gnutls_pcert_st forced_pcert;
static gnutls_privkey_t forced_key;

static int forced_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,
			   const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
			   unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	(void)s, (void)req_ca_rdn, (void)nreqs, (void)algos, (void)n_algos;
	*pcert = &forced_pcert;
	*pcert_length = 1;
	*pkey = forced_key;
	return 0;
}

static bool load_forced(const char *cert, const char *key)
{
	gnutls_datum_t c = {0}, k = {0};
	bool ok = gnutls_load_file(cert, &c) == 0 && gnutls_load_file(key, &k) == 0 &&
		  gnutls_pcert_import_x509_raw(&forced_pcert, &c, GNUTLS_X509_FMT_PEM, 0) == 0 &&
		  gnutls_privkey_init(&forced_key) == 0 &&
		  gnutls_privkey_import_x509_raw(forced_key, &k, GNUTLS_X509_FMT_PEM, NULL, 0) == 0;
	gnutls_free(c.data);
	gnutls_free(k.data);
	return ok;
}

/* A real TLS client handshake on fd (any certificate accepted: this is about bytes). */
static bool client_tls(int fd, gnutls_session_t *out)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	gnutls_certificate_allocate_credentials(&cred);
	if (forced_cert)
		gnutls_certificate_set_retrieve_function2(cred, forced_retrieve);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	int r;
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		fail_msg("TLS handshake as a client: %s", gnutls_strerror(r));
		gnutls_deinit(s);
		return false;
	}
	*out = s; /* the credentials leak with the session: a test process */
	return true;
}

struct attack {
	const char *name;
	int (*setup)(int port); /* -1: failed */
	const void *bytes;
	size_t len;
};

static int plain_connect(int port)
{
	return raw_connect(port);
}

static const uint8_t bad_version[] = {0xff, 0xff};
static const uint8_t bad_subtype[] = {0xde, 0xad, 0xbe, 0xef};
/* A TLS record header that promises 65535 bytes, then junk. */
static const uint8_t broken_hello[] = {0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0x00, 0x05,
				       'j', 'u', 'n', 'k'};
/* A ClientHello cut short, then EOF. */
static const uint8_t cut_hello[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c,
				    0x03, 0x03};
static const uint8_t junk[] = "GET / HTTP/1.1\r\n\x00\x01\x02garbage\xff\xfe";

static bool hostile_vencrypt_step(int port, const struct attack *a)
{
	int fd = a->setup(port);
	if (fd < 0) {
		fail_msg("%s: could not reach the state to attack", a->name);
		return false;
	}
	/* A subtype attack first answers the version properly. */
	if (a->bytes == bad_subtype) {
		uint8_t v[2] = {0, 2}, ack, n, sub[4];
		if (!raw_send(fd, v, 2) || raw_read(fd, &ack, 1, 10) != 1 ||
		    raw_read(fd, &n, 1, 10) != 1 || raw_read(fd, sub, 4, 10) != 4) {
			close(fd);
			fail_msg("%s: no subtype list", a->name);
			return false;
		}
	}
	raw_send(fd, a->bytes, a->len);
	/* A cut-short ClientHello: the client goes away. */
	if (a->bytes == cut_hello)
		shutdown(fd, SHUT_WR);
	bool closed = raw_closed(fd, 30);
	close(fd);
	if (!closed) {
		fail_msg("%s: the server kept the connection open", a->name);
		return false;
	}
	say("hostile: %s: connection closed", a->name);
	return true;
}

static bool hostile_after_tls(int port, bool with_tls_junk)
{
	int fd = to_tls(port);
	gnutls_session_t s;
	if (fd < 0 || !client_tls(fd, &s)) {
		if (fd >= 0)
			close(fd);
		fail_msg("could not get to TLS");
		if (current_server)
			server_print_log_tail(current_server, 30);
		return false;
	}
	if (with_tls_junk) {
		/* Inside TLS: a wrong VNC answer of 16 bytes, then more junk. */
		gnutls_record_send(s, junk, sizeof(junk));
	} else {
		/* Outside TLS, on the raw socket: not a TLS record. */
		raw_send(fd, junk, sizeof(junk));
	}
	bool closed = raw_closed(fd, 30);
	gnutls_deinit(s);
	close(fd);
	if (!closed) {
		fail_msg("junk after TLS (%s): the server kept the connection open",
			 with_tls_junk ? "inside" : "outside");
		return false;
	}
	say("hostile: junk %s TLS: connection closed", with_tls_junk ? "inside" : "outside");
	return true;
}

/* Every connection's fds (socket, its dups, the relay's socketpair) are gone again:
 * wait until the count is back at the baseline. */
static bool fds_back(pid_t pid, int baseline)
{
	int n = proc_fd_count(pid);
	double end = now_s() + 15;
	while (n > baseline && now_s() < end) {
		sleep_s(0.05);
		n = proc_fd_count(pid);
	}
	if (n > baseline) {
		fail_msg("the server has %d fds open, %d before the connections", n, baseline);
		return false;
	}
	say("the server's fds are back at %d", n);
	return true;
}

static bool case_hostile(void)
{
	struct server_proc s;
	int port;
	write_file(path("pw"), PASSWORD "\n");
	chmod(path("pw"), 0600);
	const char *extra[] = {"--password-file", path("pw"), "--handshake-timeout", "20", NULL};
	if (!start_tls(&s, &port, "tcp:0.0.0.0:0", "server1", extra))
		return false;
	const struct attack attacks[] = {
		{"garbage VeNCrypt version", to_vencrypt, bad_version, sizeof(bad_version)},
		{"garbage VeNCrypt subtype", to_vencrypt, bad_subtype, sizeof(bad_subtype)},
		{"broken ClientHello after VeNCrypt", to_tls, broken_hello, sizeof(broken_hello)},
		{"a ClientHello cut short, then EOF", to_tls, cut_hello, sizeof(cut_hello)},
		{"broken ClientHello as the first bytes (wss)", plain_connect, broken_hello,
		 sizeof(broken_hello)},
		{"a cut ClientHello as the first bytes (wss)", plain_connect, cut_hello,
		 sizeof(cut_hello)},
	};
	/* One good client first, so that whatever stays open for good (libgcrypt's, GnuTLS's
	 * own) is in the baseline. */
	struct tc first = {.ca = path("ca1.pem"), .password = PASSWORD};
	bool ok = expect_in(port, &first, rfbVeNCryptX509VNC, "a good client first");
	sleep_s(0.5);
	int baseline = proc_fd_count(s.pid);
	for (size_t i = 0; ok && i < sizeof(attacks) / sizeof(attacks[0]); i++)
		ok = hostile_vencrypt_step(port, &attacks[i]);
	ok = ok && hostile_after_tls(port, false) && hostile_after_tls(port, true);
	/* A security type that was not offered (None on a TLS-only address). */
	if (ok) {
		int fd = raw_connect(port);
		uint8_t types[255], none = rfbSecTypeNone;
		ok = fd >= 0 && raw_types(fd, types) == 1 && raw_send(fd, &none, 1) &&
		     raw_closed(fd, 30);
		if (fd >= 0)
			close(fd);
		if (!ok)
			fail_msg("choosing None on a TLS-only address was not refused");
		else
			say("hostile: None on a TLS-only address: refused");
	}
	/* A plain ws:// upgrade on a TLS-only address. */
	if (ok) {
		int fd = raw_connect(port);
		const char *req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n";
		/* After the upgrade: the server's version arrives framed; ours goes framed
		 * (masked, as from a browser), and then the server says no. */
		char resp[1024];
		size_t got = 0;
		ok = fd >= 0 && raw_send(fd, req, strlen(req));
		while (ok && got < sizeof(resp) - 1 && raw_read(fd, resp + got, 1, 10) == 1) {
			got++;
			resp[got] = '\0';
			if (got >= 4 && !strcmp(resp + got - 4, "\r\n\r\n"))
				break;
		}
		uint8_t frame[2 + 4 + 12] = {0x82, 0x80 | 12, 0, 0, 0, 0};
		memcpy(frame + 6, "RFB 003.008\n", 12);
		ok = ok && strstr(resp, " 101 ") && raw_send(fd, frame, sizeof(frame)) &&
		     raw_closed(fd, 30) && wait_log(&s, "use wss://", 5);
		if (fd >= 0)
			close(fd);
		if (ok)
			say("hostile: plain ws:// on a TLS-only address: refused, told to use wss://");
	}
	struct tc good = {.ca = path("ca1.pem"), .password = PASSWORD};
	ok = ok && expect_in(port, &good, rfbVeNCryptX509VNC, "a good client after all that") &&
	     (baseline < 0 || fds_back(s.pid, baseline));
	return stop(&s) && ok;
}

/* ---- configuration ------------------------------------------------------------------ */

/* The server must exit with status 2 and say `needle`. */
static bool refuses(const char *const *args, const char *needle, const char *what)
{
	struct server_proc s;
	memset(&s, 0, sizeof(s));
	if (server_start(&s, bin, args) < 0)
		return false;
	bool exited = server_wait_exit(&s, 20);
	server_join_log(&s);
	bool ok = exited && WIFEXITED(s.status) && WEXITSTATUS(s.status) == 2 &&
		  server_log_contains(&s, needle);
	if (!ok) {
		fail_msg("%s: want exit status 2 and \"%s\"", what, needle);
		server_print_log_tail(&s, 20);
	} else {
		say("config: %s: refused at start", what);
	}
	server_free(&s);
	return ok;
}

static bool case_config(void)
{
	const char *missing[] = {"--listen", "tcp:127.0.0.1:0", "--tls-cert", path("nope.pem"),
				 "--tls-key", path("server1.key"), NULL};
	const char *mismatch[] = {"--listen", "tcp:127.0.0.1:0", "--tls-cert", path("server1.pem"),
				  "--tls-key", path("other.key"), NULL};
	const char *half[] = {"--listen", "tcp:127.0.0.1:0", "--tls-cert", path("server1.pem"), NULL};
	const char *ca_only[] = {"--listen", "tcp:127.0.0.1:0", "--tls-ca", path("ca1.pem"), NULL};
	const char *not_pem[] = {"--listen", "tcp:127.0.0.1:0", "--tls-cert", path("server1.pem"),
				 "--tls-key", path("server1.key"), "--tls-ca", path("server1.key"),
				 NULL};
	const char *no_auth[] = {"--listen", "tcp:0.0.0.0:0", "--tls-cert", path("server1.pem"),
				 "--tls-key", path("server1.key"), NULL};
	bool ok = refuses(missing, "nope.pem: No such file or directory", "a missing certificate") &&
		  refuses(mismatch, "the key does not belong to the certificate", "a key mismatch") &&
		  refuses(half, "--tls-cert needs --tls-key", "--tls-cert alone") &&
		  refuses(ca_only, "--tls-ca needs --tls-cert", "--tls-ca alone") &&
		  refuses(not_pem, "--tls-ca", "a CA file with no certificate") &&
		  refuses(no_auth, "without a password", "TLS on 0.0.0.0 without password or CA");
	if (!ok)
		return false;
	/* A key that others may read: it starts, with a warning. */
	struct server_proc s;
	int port;
	if (!copy_file(path("server1.key"), path("loose.key")) || chmod(path("loose.key"), 0644))
		return false;
	const char *loose[] = {"--listen", "tcp:127.0.0.1:0", "--tls-cert", path("server1.pem"),
			       "--tls-key", path("loose.key"), NULL};
	if (!start(&s, loose, &port))
		return false;
	ok = wait_log(&s, "is readable by group or others (mode 644)", 5);
	if (!stop(&s) || !ok)
		return false;
	say("config: a key readable by others: a warning");
	/* Without TLS, a non-loopback address warns once that everything is in the clear. */
	write_file(path("pw"), PASSWORD "\n");
	chmod(path("pw"), 0600);
	const char *clear[] = {"--listen", "tcp:0.0.0.0:0", "--listen", "tcp:[::]:0",
			       "--password-file", path("pw"), NULL};
	if (!start(&s, clear, &port))
		return false;
	ok = wait_log(&s, "cross the network in the clear", 5) && wait_log(&s, "serving ", 5);
	unsigned n = 0;
	pthread_mutex_lock(&s.lock);
	for (const char *p = s.log; p && (p = strstr(p, "in the clear")); p++)
		n++;
	pthread_mutex_unlock(&s.lock);
	if (ok && n != 1) {
		fail_msg("the clear-text warning came %u times for two listeners, want once", n);
		ok = false;
	} else if (ok) {
		say("config: without TLS, 0.0.0.0 and [::]: one clear-text warning");
	}
	return stop(&s) && ok;
}

/* ---- other clients ------------------------------------------------------------------ */

static bool have(const char *tool)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* gtk-vnc looks for its CA in ~/.pki/CA/cacert.pem, ~ being the home directory from the
 * password database, not $HOME (gtk-vnc 1.3.1 logs "Searching for certs in /root/.pki"
 * with any HOME). So the test gives it a private mount namespace in which a temporary
 * directory is mounted over that home: nothing outside the test changes. */
static int gvnc_capture(int port, const char *ca, const char *png)
{
	char home[300], cmd[2400];
	snprintf(home, sizeof(home), "%s/gvnc-home", dir);
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && mkdir -p '%s/.pki/CA' && cp '%s' '%s/.pki/CA/cacert.pem' && "
		 "unshare -m sh -c 'h=$(getent passwd $(id -u) | cut -d: -f6) && "
		 "mount --bind \"$1\" \"$h\" && HOME=\"$h\" timeout 60 gvnccapture 127.0.0.1:%d \"$2\"' "
		 "sh '%s' '%s' >&2",
		 home, home, ca, home, port - 5900, home, png);
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static bool case_gvnccapture(void)
{
	if (!have("gvnccapture") || !have("unshare") || !have("certtool")) {
		printf("SKIPPED: gvnccapture (Debian gvncviewer) or unshare is missing\n");
		exit(SKIP);
	}
	if (system("unshare -m true 2>/dev/null") != 0) {
		printf("SKIPPED: cannot make a mount namespace (unshare -m) to give gtk-vnc a "
		       "private ~/.pki\n");
		exit(SKIP);
	}
	struct server_proc s;
	int port;
	const char *extra[] = {"--source", "synthetic:640x480:static", NULL};
	if (!start_tls(&s, &port, "tcp:127.0.0.1:0", "server1", extra))
		return false;
	struct stat st;
	bool ok = gvnc_capture(port, path("ca1.pem"), path("cap.png")) == 0 &&
		  stat(path("cap.png"), &st) == 0 && st.st_size > 1000 &&
		  wait_log(&s, ": TLS (TLS1.", 5);
	if (!ok)
		fail_msg("gvnccapture with the right CA did not capture the screen");
	else
		say("gvnccapture: saved a %lld-byte PNG over VeNCrypt", (long long)st.st_size);
	if (ok && gvnc_capture(port, path("ca2.pem"), path("cap2.png")) == 0) {
		fail_msg("gvnccapture trusted a server certificate from another CA");
		ok = false;
	} else if (ok) {
		say("gvnccapture with another CA: refused");
	}
	return stop(&s) && ok;
}

/* fork/exec argv with env additions (NAME=VALUE, NULL-ended) and stdout/stderr to out
 * (and fd3, if >= 0, as fd 3). The pid, or -1. */
static pid_t spawn(const char *const *argv, const char *const *env, const char *out, int fd3)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (fd3 >= 0)
		dup2(fd3, 3);
	for (const char *const *e = env; e && *e; e++)
		putenv((char *)*e);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static void end_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_s(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool file_contains(const char *p, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* libvncserver's: the password in the viewer's obfuscated -passwd file format. */
int rfbEncryptAndStorePasswd(char *passwd, char *fname);

/* TigerVNC's viewer under Xvfb with -X509CA and -passwd, on a TLS-only address: it
 * chooses VeNCrypt X509Vnc, the password is accepted, and the session runs (the server
 * sees its SetEncodings after ServerInit, through TLS). */
static bool case_tigervnc(void)
{
	if (!have("xtigervncviewer") || !have("Xvfb")) {
		printf("SKIPPED: xtigervncviewer (tigervnc-viewer) or Xvfb (xvfb) is missing\n");
		exit(SKIP);
	}
	/* Xvfb picks a free display and writes its number to fd 3. */
	int p[2];
	if (pipe(p) < 0)
		return false;
	const char *xvfb[] = {"Xvfb", "-displayfd", "3", "-nolisten", "tcp", NULL};
	pid_t x = spawn(xvfb, NULL, path("xvfb.log"), p[1]);
	close(p[1]);
	char disp[32] = "";
	size_t got = 0;
	struct pollfd pp = {.fd = p[0], .events = POLLIN};
	while (got < sizeof(disp) - 1 && poll(&pp, 1, 20000) == 1 && read(p[0], disp + got, 1) == 1 &&
	       disp[got] != '\n')
		got++;
	disp[got] = '\0';
	close(p[0]);
	if (!got) {
		end_child(x);
		printf("SKIPPED: Xvfb did not start (see its log)\n");
		exit(SKIP);
	}
	struct server_proc s;
	int port;
	write_file(path("pw"), PASSWORD "\n");
	chmod(path("pw"), 0600);
	if (rfbEncryptAndStorePasswd((char *)PASSWORD, (char *)path("viewer.passwd")) != 0) {
		end_child(x);
		fail_msg("cannot write the viewer's password file");
		return false;
	}
	const char *extra[] = {"--source", "synthetic:640x480:desktop", "--password-file",
			       path("pw"), "--log-level", "debug", NULL};
	if (!start_tls(&s, &port, "tcp:0.0.0.0:0", "server1", extra)) {
		end_child(x);
		return false;
	}
	char display[48], home[400], target[64];
	snprintf(display, sizeof(display), "DISPLAY=:%s", disp);
	snprintf(home, sizeof(home), "HOME=%s", dir); /* it may write ~/.vnc */
	snprintf(target, sizeof(target), "127.0.0.1::%d", port);
	const char *viewer[] = {"xtigervncviewer", "-SecurityTypes", "X509Vnc", "-X509CA",
				path("ca1.pem"), "-passwd", path("viewer.passwd"), target, NULL};
	const char *env[] = {display, home, NULL};
	pid_t v = spawn(viewer, env, path("viewer.log"), -1);
	bool ok = wait_log(&s, ": TLS (TLS1.", 30) && wait_log(&s, "password accepted", 30) &&
		  wait_log(&s, "Using tight encoding for client", 30);
	if (ok && !file_contains(path("viewer.log"), "X509Vnc (261)")) {
		fail_msg("the viewer's log does not show VeNCrypt X509Vnc");
		ok = false;
	}
	end_child(v);
	end_child(x);
	if (ok) {
		say("TigerVNC viewer: VeNCrypt X509Vnc, password accepted, session running over TLS");
	} else {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "tail -20 '%s' >&2", path("viewer.log"));
		if (system(cmd) != 0)
			fail_msg("no viewer log");
	}
	return stop(&s) && ok;
}

/* The certificates and logs go with the process, also on exit(SKIP). */
static void remove_dir(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "tls_check: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: tls_check VGPU_VNC MAKE_CERTS_SH CASE\n");
		return 2;
	}
	bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/vgpu-tls-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(remove_dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", argv[2], dir);
	int r = system(cmd);
	if (!WIFEXITED(r) || WEXITSTATUS(r) != 0) {
		printf("SKIPPED: could not make the test certificates (certtool from gnutls-bin)\n");
		return SKIP;
	}
	rfbClientLog = quiet;
	static const struct {
		const char *name;
		bool (*fn)(void);
	} cases[] = {
		{"vencrypt-vnc", case_vencrypt_vnc},
		{"vencrypt-none", case_vencrypt_none},
		{"wrong-ca", case_wrong_ca},
		{"expired", case_expired},
		{"client-cert", case_client_cert},
		{"sighup", case_sighup},
		{"hostile", case_hostile},
		{"config", case_config},
		{"gvnccapture", case_gvnccapture},
		{"tigervnc", case_tigervnc},
	};
	const char *c = argv[3];
	size_t i = 0;
	while (i < sizeof(cases) / sizeof(cases[0]) && strcmp(c, cases[i].name) != 0)
		i++;
	if (i == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "tls_check: unknown case %s\n", c);
		return 2;
	}
	bool ok = cases[i].fn();
	printf("%s %s\n", ok ? "PASS" : "FAIL", c);
	return ok ? 0 : 1;
}
