/* Shared by tls.c (credentials, handshake) and tls_relay.c. Not for other modules. */
#ifndef VGPU_TLS_PRIVATE_H
#define VGPU_TLS_PRIVATE_H

#include <gnutls/gnutls.h>
#include <stdatomic.h>

#include "tls.h"

struct tls_creds {
	gnutls_certificate_credentials_t x509;
	atomic_uint refs;
	bool verify_clients; /* --tls-ca: GNUTLS_CERT_REQUIRE and verify */
};

struct tls_conn {
	gnutls_session_t session;
	struct tls_creds *creds; /* must outlive the session */
	char peer[128];
};

/* Drop a reference (the last one frees the set). */
void tls_creds_put(struct tls_creds *c);

/* Relay threads running (tls_relay.c), for tls_shutdown(). */
extern atomic_uint tls_relay_count;

#endif
