/* TLS credentials (load, reload on SIGHUP) and the server side of a handshake. See tls.h. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "tls_private.h"

/* TLS 1.2 and 1.3 only, GnuTLS's NORMAL set otherwise, our order of preference. */
#define TLS_PRIORITY "NORMAL:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

atomic_uint tls_relay_count;

static struct {
	pthread_mutex_t lock; /* guards current; held for O(1) time */
	struct tls_creds *current;
	gnutls_priority_t priority;
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- credentials -------------------------------------------------------------------- */

void tls_creds_put(struct tls_creds *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		gnutls_certificate_free_credentials(c->x509);
		free(c);
	}
}

static struct tls_creds *creds_get(void)
{
	pthread_mutex_lock(&T.lock);
	struct tls_creds *c = T.current;
	if (c)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&T.lock);
	return c;
}

/* A file we are about to hand to GnuTLS: its own error (missing, unreadable) is clearer
 * than GnuTLS's "Error while reading file". */
static int check_readable(const char *what, const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static void format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (t == (time_t)-1 || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "an unknown time");
}

/* Say whose certificate this is and until when; an expired or not yet valid one is an
 * error in the log (clients will refuse it), though the server still starts with it. */
static void describe_cert(gnutls_certificate_credentials_t x509, const char *path)
{
	gnutls_datum_t raw;
	gnutls_x509_crt_t crt;
	if (gnutls_certificate_get_crt_raw(x509, 0, 0, &raw) < 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return;
	}
	gnutls_datum_t dn = {0};
	gnutls_x509_crt_get_dn3(crt, &dn, 0);
	time_t not_after = gnutls_x509_crt_get_expiration_time(crt);
	time_t not_before = gnutls_x509_crt_get_activation_time(crt);
	char until[64], from[64];
	format_time(not_after, until, sizeof(until));
	format_time(not_before, from, sizeof(from));
	time_t now = time(NULL);
	if (not_after != (time_t)-1 && now > not_after)
		log_error("TLS certificate %s (%s) expired on %s: clients will refuse it", path,
			  dn.data ? (char *)dn.data : "?", until);
	else if (not_before != (time_t)-1 && now < not_before)
		log_error("TLS certificate %s (%s) is not valid before %s: clients will refuse it",
			  path, dn.data ? (char *)dn.data : "?", from);
	else
		log_info("TLS certificate %s: %s, valid until %s", path,
			 dn.data ? (char *)dn.data : "?", until);
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
}

/* Read the files into a new set (no lock: file I/O). */
static int creds_load(struct tls_creds **out, char *err, size_t err_len)
{
	*out = NULL;
	int r;
	if ((r = check_readable("--tls-cert", T.cert, err, err_len)) < 0 ||
	    (r = check_readable("--tls-key", T.key, err, err_len)) < 0 ||
	    (T.ca[0] && (r = check_readable("--tls-ca", T.ca, err, err_len)) < 0))
		return r;
	struct stat st;
	if (stat(T.key, &st) == 0 && (st.st_mode & 0044))
		log_warn("--tls-key %s is readable by group or others (mode %03o): anyone who can "
			 "read it can pose as this server", T.key, (unsigned)(st.st_mode & 0777));
	struct tls_creds *c = calloc(1, sizeof(*c));
	if (!c || gnutls_certificate_allocate_credentials(&c->x509) < 0) {
		free(c);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&c->refs, 1);
	r = gnutls_certificate_set_x509_key_file2(c->x509, T.cert, T.key, GNUTLS_X509_FMT_PEM,
						  NULL, 0);
	if (r < 0) {
		snprintf(err, err_len, "--tls-cert %s / --tls-key %s: %s", T.cert, T.key,
			 r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
				 ? "the key does not belong to the certificate"
				 : gnutls_strerror(r));
		goto fail;
	}
	if (T.ca[0]) {
		r = gnutls_certificate_set_x509_trust_file(c->x509, T.ca, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			snprintf(err, err_len, "--tls-ca %s: %s", T.ca,
				 r == 0 ? "no PEM certificate in it" : gnutls_strerror(r));
			goto fail;
		}
		c->verify_clients = true;
	}
	describe_cert(c->x509, T.cert);
	*out = c;
	return 0;
fail:
	tls_creds_put(c);
	return -EINVAL;
}

int tls_init(const struct config *cfg, char *err, size_t err_len)
{
	if (!cfg->tls_cert[0])
		return 0;
	snprintf(T.cert, sizeof(T.cert), "%s", cfg->tls_cert);
	snprintf(T.key, sizeof(T.key), "%s", cfg->tls_key);
	snprintf(T.ca, sizeof(T.ca), "%s", cfg->tls_ca);
	const char *where = NULL;
	int r = gnutls_priority_init(&T.priority, TLS_PRIORITY, &where);
	if (r < 0) {
		snprintf(err, err_len, "GnuTLS refuses the priority string at '%s': %s",
			 where ? where : "?", gnutls_strerror(r));
		return -EINVAL;
	}
	struct tls_creds *c;
	r = creds_load(&c, err, err_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&T.lock);
	T.current = c;
	pthread_mutex_unlock(&T.lock);
	return 0;
}

bool tls_enabled(void)
{
	pthread_mutex_lock(&T.lock);
	bool on = T.current != NULL;
	pthread_mutex_unlock(&T.lock);
	return on;
}

bool tls_verifies_clients(void)
{
	pthread_mutex_lock(&T.lock);
	bool v = T.current && T.current->verify_clients;
	pthread_mutex_unlock(&T.lock);
	return v;
}

int tls_reload(char *err, size_t err_len)
{
	if (!tls_enabled())
		return 0;
	struct tls_creds *c;
	int r = creds_load(&c, err, err_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&T.lock);
	struct tls_creds *old = T.current;
	T.current = c;
	pthread_mutex_unlock(&T.lock);
	tls_creds_put(old); /* sessions that use it keep their own references */
	log_info("TLS certificate, key%s read again: new connections use them",
		 T.ca[0] ? " and CA" : "");
	return 0;
}

void tls_shutdown(void)
{
	/* Each relay ends once libvncserver closed its side (vnc_server_stop did). */
	for (int i = 0; i < 300 && atomic_load(&tls_relay_count) > 0; i++)
		usleep(10 * 1000);
	if (atomic_load(&tls_relay_count) > 0)
		log_warn("%u TLS relays still running at exit", atomic_load(&tls_relay_count));
	pthread_mutex_lock(&T.lock);
	struct tls_creds *c = T.current;
	T.current = NULL;
	pthread_mutex_unlock(&T.lock);
	tls_creds_put(c);
	if (T.priority)
		gnutls_priority_deinit(T.priority);
	T.priority = NULL;
}

/* ---- one handshake ------------------------------------------------------------------ */

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->session)
		gnutls_deinit(c->session);
	tls_creds_put(c->creds);
	free(c);
}

/* Why the handshake failed, in words an operator can act on. */
static void explain_failure(struct tls_conn *c, int r, char *buf, size_t len)
{
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || r == GNUTLS_E_CERTIFICATE_ERROR) {
		unsigned status = gnutls_session_get_verify_cert_status(c->session);
		gnutls_datum_t out = {0};
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(buf, len, "the client certificate was refused: %s", out.data);
			gnutls_free(out.data);
			return;
		}
	}
	if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || r == GNUTLS_E_CERTIFICATE_REQUIRED) {
		snprintf(buf, len, "the client sent no certificate, and --tls-ca requires one");
		return;
	}
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		/* Most often the client refused our certificate (unknown CA, expired, name). */
		snprintf(buf, len, "the client ended it with the alert \"%s\" (did it refuse the "
			 "server certificate?)", gnutls_alert_get_name(gnutls_alert_get(c->session)));
		return;
	}
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
	    r == GNUTLS_E_PUSH_ERROR) {
		snprintf(buf, len, "the client closed the connection (did it refuse the server "
			 "certificate?)");
		return;
	}
	snprintf(buf, len, "%s", gnutls_strerror(r));
}

int tls_accept(int fd, const char *peer, uint64_t deadline_ms, struct tls_conn **out)
{
	*out = NULL;
	struct tls_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->creds = creds_get();
	if (!c->creds || gnutls_init(&c->session, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
		log_warn("client %s refused: TLS is not available", peer);
		tls_conn_free(c);
		return -ENOTSUP;
	}
	gnutls_priority_set(c->session, T.priority);
	gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->creds->x509);
	if (c->creds->verify_clients) {
		gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_REQUIRE);
		/* Verified during the handshake against --tls-ca (no name to compare). */
		gnutls_session_set_verify_cert(c->session, NULL, 0);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	gnutls_transport_set_int(c->session, fd);

	int r;
	while ((r = gnutls_handshake(c->session)) < 0) {
		if (gnutls_error_is_fatal(r))
			break;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			continue; /* a warning alert */
		uint64_t now = clock_now_ms();
		if (now >= deadline_ms) {
			r = GNUTLS_E_TIMEDOUT;
			break;
		}
		struct pollfd pfd = {.fd = fd,
				     .events = gnutls_record_get_direction(c->session) ? POLLOUT : POLLIN};
		uint64_t wait = deadline_ms - now;
		poll(&pfd, 1, wait > 1000 ? 1000 : (int)wait);
	}
	if (r < 0) {
		char why[512];
		if (r == GNUTLS_E_TIMEDOUT)
			snprintf(why, sizeof(why), "not finished within the handshake timeout");
		else
			explain_failure(c, r, why, sizeof(why));
		log_warn("client %s: TLS handshake failed: %s", peer, why);
		tls_conn_free(c);
		return r == GNUTLS_E_TIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
	}

	char who[300] = "";
	if (c->creds->verify_clients) {
		unsigned n = 0;
		const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->session, &n);
		gnutls_x509_crt_t crt;
		if (certs && n && gnutls_x509_crt_init(&crt) == 0) {
			gnutls_datum_t dn = {0};
			if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
			    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
				snprintf(who, sizeof(who), ", client certificate %s", (char *)dn.data);
			gnutls_free(dn.data);
			gnutls_x509_crt_deinit(crt);
		}
	}
	char *desc = gnutls_session_get_desc(c->session);
	log_info("client %s: TLS %s%s", peer, desc ? desc : "", who);
	gnutls_free(desc);
	*out = c;
	return 0;
}
