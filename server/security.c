/* The RFB security phase per connection, and VeNCrypt. See security.h. */
#include "security.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

/* Exported by libvncserver 0.9.14 but missing from its headers: write a u32 length and
 * the text, then close the client (the RFB 3.8 way to say why). */
void rfbClientSendString(rfbClientPtr cl, const char *reason);

#define VENCRYPT_MAJOR 0
#define VENCRYPT_MINOR 2

void security_classify(int fd, bool *tcp, bool *remote)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	*tcp = false;
	*remote = false;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		*tcp = true;
		*remote = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) != 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		*tcp = true;
		*remote = !(IN6_IS_ADDR_LOOPBACK(a6) ||
			    (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127));
	}
}

bool security_peek_tls(int fd, unsigned wait_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;
	do
		r = poll(&pfd, 1, (int)wait_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || !(pfd.revents & POLLIN))
		return false;
	uint8_t b;
	ssize_t n;
	do
		n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == 1 && b == TLS_HANDSHAKE_BYTE;
}

/* ---- reading and writing under the deadline ------------------------------------------ */

static int remaining_ms(const struct security_link *l)
{
	uint64_t now = clock_now_ms();
	if (now >= l->deadline_ms)
		return 0;
	uint64_t left = l->deadline_ms - now;
	return left > 60000 ? 60000 : (int)left;
}

/* Exactly n bytes (through WebSocket framing too). false: logged, client closed. */
static bool read_exact(rfbClientPtr cl, const struct security_link *l, void *buf, int n,
		       const char *what)
{
	int ms = remaining_ms(l);
	int r = ms > 0 ? rfbReadExactTimeout(cl, buf, n, ms) : -1;
	if (r <= 0) {
		/* auth_expire() shuts down the socket of a client that trickles bytes past its
		 * deadline: that is a timeout too. Same words as auth.c's. */
		if (ms == 0 || (r < 0 && errno == ETIMEDOUT) || clock_now_ms() >= l->deadline_ms)
			log_warn("client %s: handshake not finished within %u s "
				 "(--handshake-timeout), waiting for its %s; disconnecting",
				 l->peer, l->timeout_s, what);
		else
			log_info("client %s closed the connection before its %s", l->peer, what);
		rfbCloseClient(cl);
		return false;
	}
	return true;
}

static bool write_all(rfbClientPtr cl, const struct security_link *l, const void *buf, int n)
{
	if (rfbWriteExact(cl, buf, n) < 0) {
		log_info("client %s: write failed during the handshake: %s", l->peer,
			 strerror(errno));
		rfbCloseClient(cl);
		return false;
	}
	return true;
}

static bool write_u32(rfbClientPtr cl, const struct security_link *l, uint32_t v)
{
	uint32_t be = htonl(v);
	return write_all(cl, l, &be, 4);
}

/* ---- the steps ---------------------------------------------------------------------- */

/* VNC authentication's challenge; libvncserver's RFB_AUTHENTICATION reads the answer. */
static int send_challenge(rfbClientPtr cl, const struct security_link *l)
{
	rfbRandomBytes(cl->authChallenge);
	if (!write_all(cl, l, cl->authChallenge, CHALLENGESIZE))
		return -1;
	cl->state = RFB_AUTHENTICATION;
	return 0;
}

/* No authentication: RFB 3.8 (and VeNCrypt) confirm with SecurityResult OK. */
static int accept_none(rfbClientPtr cl, const struct security_link *l, bool send_result)
{
	if (send_result && !write_u32(cl, l, rfbVncAuthOK))
		return -1;
	cl->state = RFB_INITIALISATION;
	return 0;
}

static int vencrypt(rfbClientPtr cl, const struct security_link *l, bool password)
{
	const uint32_t subtype = password ? rfbVeNCryptX509VNC : rfbVeNCryptX509None;
	uint8_t version[2] = {VENCRYPT_MAJOR, VENCRYPT_MINOR};
	if (!write_all(cl, l, version, 2) || !read_exact(cl, l, version, 2, "VeNCrypt version"))
		return -1;
	if (version[0] != VENCRYPT_MAJOR || version[1] != VENCRYPT_MINOR) {
		log_warn("client %s refused: VeNCrypt version %u.%u (this server speaks 0.2)",
			 l->peer, version[0], version[1]);
		uint8_t no = 1;
		write_all(cl, l, &no, 1);
		rfbCloseClient(cl);
		return -1;
	}
	uint8_t list[6] = {0 /* version accepted */, 1 /* one subtype */};
	uint32_t be = htonl(subtype);
	memcpy(list + 2, &be, 4);
	uint32_t chosen;
	if (!write_all(cl, l, list, sizeof(list)) ||
	    !read_exact(cl, l, &chosen, 4, "VeNCrypt subtype"))
		return -1;
	if (ntohl(chosen) != subtype) {
		log_warn("client %s refused: it chose VeNCrypt subtype %u, offered only %u (%s)",
			 l->peer, ntohl(chosen), subtype, password ? "X509Vnc" : "X509None");
		uint8_t no = 0;
		write_all(cl, l, &no, 1);
		rfbCloseClient(cl);
		return -1;
	}
	uint8_t yes = 1;
	if (!write_all(cl, l, &yes, 1))
		return -1;

	/* TLS on a dup of the real socket; then cl->sock's number becomes the relay's
	 * plaintext end. The client sends nothing more until its ClientHello, and
	 * rfbReadExact never reads ahead, so no byte of TLS is lost. */
	int net = fcntl(cl->sock, F_DUPFD_CLOEXEC, 0);
	struct tls_conn *conn = NULL;
	if (net < 0 || tls_accept(net, l->peer, l->deadline_ms, &conn) < 0) {
		if (net >= 0)
			close(net);
		rfbCloseClient(cl);
		return -1;
	}
	int r = tls_relay_start(conn, net, cl->sock);
	if (r < 0) {
		log_warn("client %s refused: cannot start its TLS relay: %s", l->peer, strerror(-r));
		rfbCloseClient(cl);
		return -1;
	}
	return password ? send_challenge(cl, l) : accept_none(cl, l, true);
}

/* Refuse during the type negotiation, telling the client why where the protocol can. */
static int refuse(rfbClientPtr cl, const struct security_link *l, const char *reason)
{
	log_warn("client %s refused: %s", l->peer, reason);
	if (cl->protocolMinorVersion < 7) {
		rfbClientConnFailed(cl, reason);
	} else {
		uint8_t none = 0; /* an empty list, then the reason */
		if (write_all(cl, l, &none, 1))
			rfbClientSendString(cl, reason);
	}
	return -1;
}

int security_run(rfbClientPtr cl, const struct security_link *l)
{
	char pv[sz_rfbProtocolVersionMsg + 1];
	if (!read_exact(cl, l, pv, sz_rfbProtocolVersionMsg, "protocol version"))
		return -1;
	pv[sz_rfbProtocolVersionMsg] = '\0';
	int major = 0, minor = 0;
	if (memcmp(pv, "RFB ", 4) != 0 || pv[11] != '\n' ||
	    sscanf(pv, rfbProtocolVersionFormat, &major, &minor) != 2 || major != 3 || minor < 3) {
		log_warn("client %s refused: not an RFB 3.x client (it sent %.11s)", l->peer, pv);
		rfbCloseClient(cl);
		return -1;
	}
	/* As libvncserver: 3.3 to 3.6 get the 3.3 handshake, the rest 3.7 or 3.8's. */
	cl->protocolMajorVersion = major;
	cl->protocolMinorVersion = minor;

	bool password = auth_enabled();
	bool tls = tls_enabled() && l->tcp && !l->tls_outer;
	bool vencrypt_ok = tls && !cl->wsctx && minor >= 7;
	/* With TLS, an address other than loopback lets nothing unencrypted in. */
	bool plain_ok = !(tls && l->remote);
	uint8_t plain = password ? rfbSecTypeVncAuth : rfbSecTypeNone;

	if (!vencrypt_ok && !plain_ok)
		return refuse(cl, l,
			      cl->wsctx ? "this address takes only encrypted connections: use wss://"
					: minor < 7 ? "this address needs VeNCrypt (RFB 3.7 or later)"
						    : "this address takes only encrypted connections "
						      "(VeNCrypt)");

	uint8_t chosen;
	if (minor < 7) {
		/* RFB 3.3: the server decides. */
		if (!write_u32(cl, l, plain))
			return -1;
		chosen = plain;
	} else {
		uint8_t list[3];
		uint8_t n = 0;
		if (vencrypt_ok)
			list[1 + n++] = rfbVeNCrypt; /* first: clients pick the first they know */
		if (plain_ok)
			list[1 + n++] = plain;
		list[0] = n;
		if (!write_all(cl, l, list, 1 + n) ||
		    !read_exact(cl, l, &chosen, 1, "security type"))
			return -1;
		bool offered = false;
		for (uint8_t i = 0; i < n; i++)
			offered |= chosen == list[1 + i];
		if (!offered) {
			log_warn("client %s refused: it chose security type %u, which was not offered",
				 l->peer, chosen);
			if (minor >= 8 && write_u32(cl, l, rfbVncAuthFailed))
				rfbClientSendString(cl, "security type not offered");
			else
				rfbCloseClient(cl);
			return -1;
		}
	}
	switch (chosen) {
	case rfbSecTypeVncAuth:
		return send_challenge(cl, l);
	case rfbSecTypeNone:
		return accept_none(cl, l, minor >= 8);
	default:
		return vencrypt(cl, l, password);
	}
}
