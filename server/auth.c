/* The handshake deadline, the password (file, reload, check, delay per source) and the
 * no-auth policy. See auth.h. */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fd_budget.h"
#include "listeners.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"

/* How often a handshake thread looks at its deadline and at shutdown while it waits. */
#define HANDSHAKE_POLL_MS 100

struct auth_source {
	char key[AUTH_SOURCE_KEY_MAX]; /* auth_source_key(); "" = free */
	unsigned failures;     /* wrong passwords in a row */
	unsigned pending;      /* handshakes in progress */
	uint64_t last_ms;      /* last wrong password or connection */
};

struct auth_pending {
	bool used;
	int fd;                /* a dup of the client's socket: shutdown() through it is safe
			        * even after libvncserver closed its own fd */
	uint64_t deadline_ms;
	char peer[128];
	struct auth_source *source;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* delayed answers wait on it; auth_shutdown() broadcasts */
	bool stopping;
	char path[PATH_MAX];
	char password[AUTH_VNC_PASSWORD_MAX + 1];
	bool enabled;
	bool have_password;    /* false: required (--control) but not set yet: all refused */
	uint64_t expires_ms;   /* clock_now_ms() after which no password works; 0 = never */
	unsigned timeout_ms;
	unsigned pending_per_source; /* auth_pending_per_source(--max-clients) */
	struct auth_source sources[AUTH_MAX_SOURCES];
	struct auth_pending *pending;
	unsigned n_pending;
} A = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The handshake this thread is driving: passwordCheck has no other way to learn it. */
static _Thread_local struct auth_pending *current;

/* ---- the password file ------------------------------------------------------------- */

int auth_read_password_file(const char *path, char **out, char *err, size_t err_len)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, err_len, "password file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0044))
		log_warn("password file %s is readable by group or others (mode %03o)", path,
			 (unsigned)(st.st_mode & 0777));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		snprintf(err, err_len, "password file %s: empty", path);
		return -EINVAL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || strlen(line) != (size_t)n) {
		free(line);
		snprintf(err, err_len, "password file %s: the first line is empty or has a NUL byte",
			 path);
		return -EINVAL;
	}
	if (n > AUTH_VNC_PASSWORD_MAX)
		log_warn("password file %s: VNC authentication uses only the first %d of its %zd "
			 "bytes",
			 path, AUTH_VNC_PASSWORD_MAX, n);
	*out = line;
	return 0;
}

/* Can only the socket's owner (and its group, when group_ok) connect? Connecting needs
 * write permission on the socket file and search permission on its directory. ACLs and
 * the directories further up are not looked at: they can only close it further. */
static bool unix_mode_private(mode_t sock_mode, mode_t dir_mode, bool group_ok)
{
	bool others = (sock_mode & S_IWOTH) && (dir_mode & S_IXOTH);
	bool group = (sock_mode & S_IWGRP) && (dir_mode & S_IXGRP);
	return !others && (group_ok || !group);
}

/* The mode of path's directory, or 0777 (open) when it cannot be read. */
static mode_t dir_mode_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	struct stat st;
	return stat(dir, &st) == 0 ? st.st_mode : 0777;
}

/* The process's umask, read without umask() (which would change it for a moment). */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned m = 0;
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "Umask: %o", &m) == 1;
	if (f)
		fclose(f);
	return found ? (mode_t)m : 0; /* unknown: assume the most open */
}

/* A unix:PATH listener the server makes: its mode is --unix-mode, or what the umask
 * leaves of 0777. Its group counts as trusted only when --unix-owner named one. */
static bool unix_listener_private(const struct listen_addr *a)
{
	mode_t mode = a->mode ? (mode_t)a->mode : (0777 & ~current_umask());
	const char *colon = strchr(a->owner, ':');
	return unix_mode_private(mode, dir_mode_of(a->path), colon && colon[1]);
}

/* An inherited listening socket (--listen fd:N, socket activation) is as open as the
 * address it is bound to: loopback ones are fine without a password; a unix one only
 * when its file lets nobody but its owner and group connect (the group was chosen by
 * whoever made it, systemd's SocketGroup= say). Abstract and unnamed unix sockets have
 * no file: anyone in the network namespace can connect. */
static bool fd_is_local(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return true; /* not a socket: listeners_open() refuses it with a reason */
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a6) ||
		       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
	}
	if (ss.ss_family != AF_UNIX)
		return false;
	const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (sl <= off || su->sun_path[0] != '/')
		return false; /* unnamed, abstract, or a relative path we cannot find */
	char path[sizeof(su->sun_path) + 1];
	size_t n = sl - off < sizeof(su->sun_path) ? sl - off : sizeof(su->sun_path);
	memcpy(path, su->sun_path, n);
	path[n] = '\0';
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false; /* gone or replaced: nothing says who can reach it */
	return unix_mode_private(st.st_mode, dir_mode_of(path), true);
}

int auth_check_policy(const struct config *cfg, char *err, size_t err_len)
{
	/* With --tls-ca a client certificate (X509None) authenticates the client. */
	if (cfg->password_file[0] || cfg->insecure_no_auth || (cfg->tls_cert[0] && cfg->tls_ca[0]))
		return 0;
	for (unsigned i = 0; i < cfg->n_listen; i++) {
		const struct listen_addr *a = &cfg->listen[i];
		bool local = (a->kind == LISTEN_UNIX && unix_listener_private(a)) ||
			     (a->kind == LISTEN_TCP && listeners_host_is_loopback(a->host)) ||
			     (a->kind == LISTEN_FD && fd_is_local(a->fd));
		if (local)
			continue;
		char text[300];
		snprintf(err, err_len,
			 "refusing to listen on %s without a password: anyone who can reach it "
			 "would see and control the VM%s. Give --password-file FILE, listen on a "
			 "loopback address or a unix socket only its owner (and the group named "
			 "by --unix-owner) can connect to, or pass --insecure-no-auth if another "
			 "layer (a firewall, an authenticating proxy) protects it",
			 config_listen_str(a, text, sizeof(text)),
			 a->kind == LISTEN_TCP ? ""
			 : a->kind == LISTEN_UNIX
				 ? " (the socket's mode, from --unix-mode or the umask, lets other "
				   "users connect)"
				 : " (an abstract or unnamed unix socket, or a socket file other "
				   "users can connect to)");
		return -EPERM;
	}
	return 0;
}

/* Read the file into the current password (lock not held: file I/O). */
static int load_password(const char *path, char *err, size_t err_len)
{
	char *pw = NULL;
	int r = auth_read_password_file(path, &pw, err, err_len);
	if (r < 0)
		return r;
	char why[300];
	r = auth_set_password(pw, 0, why, sizeof(why));
	memset(pw, 0, strlen(pw));
	free(pw);
	if (r < 0)
		snprintf(err, err_len, "password file %s: %s", path, why);
	return r;
}

/* Every DES of ours goes through here, one at a time: libvncserver does not promise that
 * rfbEncryptBytes() is thread-safe, and libgcrypt's DES keeps one-time state (its self
 * test) behind a plain flag. One 16-byte DES takes microseconds: nothing waits long. */
static void des_encrypt(uint8_t block[CHALLENGESIZE], char *key)
{
	static pthread_mutex_t des_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&des_lock);
	rfbEncryptBytes(block, key);
	pthread_mutex_unlock(&des_lock);
}

/* libvncserver 0.9.14 as Debian builds it computes VNC authentication's DES through
 * libgcrypt (encrypt_rfbdes), and rfbEncryptBytes() ignores its failure: the bytes are
 * then left as they were. That happens when libgcrypt refuses DES (FIPS mode) and, as the
 * churn test showed, when several threads make libgcrypt's lazy first initialisation at
 * once. A check that compares with the unchanged challenge would let in a client that
 * just sends the challenge back. So: a known answer here, on the main thread before any
 * client (which also does libgcrypt's first initialisation on one thread), and in every
 * check, a result equal to the challenge counts as a failed DES, never as a match. */
static bool des_works(void)
{
	static const uint8_t challenge[CHALLENGESIZE] = {
		0x8b, 0xaa, 0x85, 0xce, 0x42, 0x07, 0xda, 0xf4,
		0xc3, 0x65, 0xfe, 0x18, 0x55, 0x2a, 0xa0, 0xb1};
	static const uint8_t answer[CHALLENGESIZE] = {
		0xf5, 0x8e, 0xf8, 0x04, 0xb0, 0xc2, 0xc2, 0x40,
		0xff, 0x93, 0xfa, 0xf6, 0xb8, 0x76, 0xc2, 0x9d};
	uint8_t b[CHALLENGESIZE];
	char key[] = "churn-pw";
	memcpy(b, challenge, sizeof(b));
	des_encrypt(b, key);
	return memcmp(b, answer, sizeof(b)) == 0;
}

int auth_init(const struct config *cfg, char *err, size_t err_len)
{
	if (!des_works()) {
		snprintf(err, err_len, "VNC authentication does not work here: libvncserver's DES "
			 "gave a wrong answer (libgcrypt in FIPS mode refuses DES)");
		if (cfg->password_file[0] || cfg->control_path[0])
			return -ENOTSUP;
		log_warn("%s", err);
	}
	pthread_mutex_lock(&A.lock);
	A.stopping = false;
	A.timeout_ms = cfg->handshake_timeout * 1000u;
	A.pending_per_source = auth_pending_per_source(cfg->max_clients);
	snprintf(A.path, sizeof(A.path), "%s", cfg->password_file);
	free(A.pending);
	A.n_pending = cfg->max_clients;
	A.pending = calloc(A.n_pending, sizeof(*A.pending));
	pthread_mutex_unlock(&A.lock);
	if (!A.pending) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return cfg->password_file[0] ? load_password(cfg->password_file, err, err_len) : 0;
}

int auth_password_usable(const char *pw, char *err, size_t err_len)
{
	/* Any block: a DES that works never leaves one as it was (2^-64). */
	static const uint8_t block[CHALLENGESIZE] = {
		0x3d, 0x71, 0xe2, 0x09, 0x5c, 0xa4, 0x18, 0xf6,
		0x27, 0x8e, 0x63, 0xd0, 0x4b, 0x95, 0x1a, 0xc7};
	uint8_t b[CHALLENGESIZE];
	char key[AUTH_VNC_PASSWORD_MAX + 1];
	snprintf(key, sizeof(key), "%s", pw);
	memcpy(b, block, sizeof(b));
	des_encrypt(b, key);
	memset(key, 0, sizeof(key));
	if (memcmp(b, block, sizeof(b)) != 0)
		return 0;
	if (!des_works()) {
		snprintf(err, err_len, "VNC authentication's DES does not work here (libgcrypt in "
			 "FIPS mode refuses DES)");
		return -ENOTSUP;
	}
	snprintf(err, err_len, "this password cannot be used: its first 8 bytes make a weak DES "
		 "key, which VNC authentication's DES (libgcrypt) refuses, so no client could log "
		 "in with it; choose another password");
	return -EINVAL;
}

int auth_set_password(const char *pw, uint64_t expires_ms, char *err, size_t err_len)
{
	int r = auth_password_usable(pw, err, err_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&A.lock);
	memset(A.password, 0, sizeof(A.password));
	snprintf(A.password, sizeof(A.password), "%s", pw);
	A.enabled = true;
	A.have_password = true;
	A.expires_ms = expires_ms;
	pthread_mutex_unlock(&A.lock);
	return 0;
}

void auth_require_password(void)
{
	pthread_mutex_lock(&A.lock);
	A.enabled = true;
	pthread_mutex_unlock(&A.lock);
}

bool auth_enabled(void)
{
	pthread_mutex_lock(&A.lock);
	bool on = A.enabled;
	pthread_mutex_unlock(&A.lock);
	return on;
}

int auth_reload(char *err, size_t err_len)
{
	if (!A.path[0]) {
		snprintf(err, err_len, "no password file to read again");
		return 0;
	}
	int r = load_password(A.path, err, err_len);
	if (r == 0)
		log_info("password file %s read again: new connections use its password", A.path);
	return r;
}

void auth_shutdown(void)
{
	pthread_mutex_lock(&A.lock);
	A.stopping = true;
	pthread_cond_broadcast(&A.wake);
	/* A handshake thread may be blocked in the middle of a message (libvncserver waits
	 * up to 20 s for its rest): end the read now. */
	for (unsigned i = 0; i < A.n_pending; i++)
		if (A.pending[i].used && A.pending[i].fd >= 0)
			shutdown(A.pending[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&A.lock);
}

/* ---- sources ------------------------------------------------------------------------ */

/* The peer without its ":port" (and without the brackets of an IPv6 address). */
static void peer_host(const char *peer, char *host, size_t len)
{
	const char *start = peer, *end = NULL;
	if (peer[0] == '[') {
		start = peer + 1;
		end = strchr(start, ']');
	} else {
		end = strrchr(peer, ':');
	}
	int n = end ? (int)(end - start) : (int)strlen(start);
	snprintf(host, len, "%.*s", n, start);
}

void auth_source_key(const char *peer, char *key, size_t key_len)
{
	if (!strncmp(peer, "unix:", 5)) {
		snprintf(key, key_len, "%s", peer);
		return;
	}
	char host[INET6_ADDRSTRLEN + 64];
	peer_host(peer, host, sizeof(host));
	struct in_addr a4;
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET, host, &a4) == 1) {
		snprintf(key, key_len, "%s", host);
		return;
	}
	host[strcspn(host, "%")] = '\0'; /* a link-local address's zone */
	if (inet_pton(AF_INET6, host, &a6) != 1) {
		/* Not an address ("added:NAME" from add-client): its own source. */
		snprintf(key, key_len, "%s", host);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* A dual-stack listener's IPv4 client: the same source as over IPv4. */
		memcpy(&a4, &a6.s6_addr[12], 4);
		inet_ntop(AF_INET, &a4, text, sizeof(text));
		snprintf(key, key_len, "%s", text);
		return;
	}
	if (IN6_IS_ADDR_LOOPBACK(&a6)) {
		snprintf(key, key_len, "::1");
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(key, key_len, "%s/64", text);
}

unsigned auth_pending_per_source(unsigned max_clients)
{
	unsigned share = max_clients / AUTH_PENDING_SHARE;
	if (share < 1)
		share = 1;
	return share < AUTH_MAX_PENDING_PER_SOURCE ? share : AUTH_MAX_PENDING_PER_SOURCE;
}

/* The record of a source, made if needed (lock held). */
static struct auth_source *source_get(const char *peer, uint64_t now)
{
	char key[AUTH_SOURCE_KEY_MAX];
	auth_source_key(peer, key, sizeof(key));
	struct auth_source *free_slot = NULL, *oldest = NULL;
	for (unsigned i = 0; i < AUTH_MAX_SOURCES; i++) {
		struct auth_source *s = &A.sources[i];
		if (s->key[0] && !strcmp(s->key, key)) {
			if (s->failures && now - s->last_ms > AUTH_FORGET_MS)
				s->failures = 0;
			return s;
		}
		if (!s->key[0] && !free_slot)
			free_slot = s;
		if (s->key[0] && !s->pending && (!oldest || s->last_ms < oldest->last_ms))
			oldest = s;
	}
	struct auth_source *s = free_slot ? free_slot : oldest;
	if (!s)
		return NULL; /* every remembered source has a handshake running */
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->last_ms = now;
	return s;
}

/* ---- the password check ------------------------------------------------------------ */

/* Constant time: how many bytes match must not show in how long the answer takes. */
static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* Sleep up to ms on the wake condition (lock held); false if shutdown interrupted it. */
static bool delay_locked(unsigned ms)
{
	struct timespec until;
	clock_deadline(&until, CLOCK_REALTIME, ms);
	while (!A.stopping)
		if (pthread_cond_timedwait(&A.wake, &A.lock, &until) == ETIMEDOUT)
			return true;
	return false;
}

rfbBool auth_password_check(rfbClientPtr cl, const char *response, int len)
{
	uint8_t expect[CHALLENGESIZE];
	char pw[AUTH_VNC_PASSWORD_MAX + 1];
	pthread_mutex_lock(&A.lock);
	memcpy(pw, A.password, sizeof(pw)); /* the file may be re-read meanwhile: a copy */
	bool usable = A.have_password && (!A.expires_ms || clock_now_ms() < A.expires_ms);
	bool unset = !A.have_password;
	pthread_mutex_unlock(&A.lock);
	if (!usable) {
		/* Like QEMU's expire_password: no password works; no delay, nothing to guess. */
		memset(pw, 0, sizeof(pw));
		metrics_add_auth_failure();
		log_warn("client %s refused: %s", current ? current->peer : cl->host,
			 unset ? "no password set yet (set-password on the control socket)"
			       : "the password has expired");
		return FALSE;
	}
	memcpy(expect, cl->authChallenge, CHALLENGESIZE);
	des_encrypt(expect, pw);
	memset(pw, 0, sizeof(pw));
	if (memcmp(expect, cl->authChallenge, CHALLENGESIZE) == 0) {
		/* DES failed (see des_works): refuse, whatever the client sent. */
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 5000, LOG_ERROR, "client %s refused: DES failed in libvncserver",
				current ? current->peer : cl->host);
		return FALSE;
	}
	bool ok = len == CHALLENGESIZE && same_bytes(expect, (const uint8_t *)response, CHALLENGESIZE);

	struct auth_pending *p = current;
	const char *peer = p ? p->peer : cl->host;
	pthread_mutex_lock(&A.lock);
	struct auth_source *s = p ? p->source : NULL;
	if (ok) {
		if (s)
			s->failures = 0;
		pthread_mutex_unlock(&A.lock);
		log_info("client %s: password accepted", peer);
		return TRUE;
	}
	unsigned n = 1, ms = AUTH_DELAY_BASE_MS;
	if (s) {
		s->last_ms = clock_now_ms();
		n = ++s->failures;
		for (unsigned i = 1; i < n && ms < AUTH_DELAY_MAX_MS; i++)
			ms *= 2;
		if (ms > AUTH_DELAY_MAX_MS)
			ms = AUTH_DELAY_MAX_MS;
	}
	metrics_add_auth_failure();
	/* The socket's deadline moves with the delay: the answer is still sent. */
	if (p)
		p->deadline_ms += ms;
	pthread_mutex_unlock(&A.lock);
	log_warn("client %s: wrong password (%u in a row from its address range); answering "
		 "in %.1f s",
		 peer, n, ms / 1000.0);
	pthread_mutex_lock(&A.lock);
	delay_locked(ms);
	pthread_mutex_unlock(&A.lock);
	return FALSE;
}

/* ---- the handshake ------------------------------------------------------------------ */

struct auth_pending *auth_handshake_begin(const char *peer, int fd)
{
	static struct log_ratelimit rl;
	uint64_t now = clock_now_ms();
	struct auth_pending *p = NULL;
	pthread_mutex_lock(&A.lock);
	struct auth_source *s = source_get(peer, now);
	bool busy = !s || s->pending >= A.pending_per_source;
	for (unsigned i = 0; !busy && !p && i < A.n_pending; i++)
		if (!A.pending[i].used)
			p = &A.pending[i];
	if (p) {
		/* Above FD_SETSIZE: select()-able fds below it are for sockets (fd_budget.h). */
		int dup = fd_budget_dup_high(fd);
		*p = (struct auth_pending){.used = true, .fd = dup, .source = s,
					   .deadline_ms = now + A.timeout_ms};
		snprintf(p->peer, sizeof(p->peer), "%s", peer);
		s->pending++;
		s->last_ms = now;
	}
	pthread_mutex_unlock(&A.lock);
	if (!p)
		log_ratelimited(&rl, 5000, LOG_WARN, "client %s refused: %s", peer,
				busy ? "too many handshakes in progress from its address range "
				       "(an IPv4 address, an IPv6 /64)"
				     : "too many handshakes in progress");
	return p;
}

uint64_t auth_handshake_deadline(struct auth_pending *p)
{
	pthread_mutex_lock(&A.lock);
	uint64_t d = p->deadline_ms;
	pthread_mutex_unlock(&A.lock);
	return d;
}

void auth_handshake_end(struct auth_pending *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&A.lock);
	if (p->fd >= 0)
		close(p->fd);
	if (p->source && p->source->pending)
		p->source->pending--;
	memset(p, 0, sizeof(*p));
	pthread_mutex_unlock(&A.lock);
}

/* Whether the client is still in a handshake step that libvncserver should go on with.
 * Anything else (RFB_NORMAL: done; RFB_SHUTDOWN: a check or a protocol error closed it)
 * ends the loop below. libvncserver's rfbCloseClient() only marks a client RFB_SHUTDOWN,
 * and rfbProcessClientMessage() treats every state it has no case for, RFB_SHUTDOWN
 * included, as RFB_NORMAL: one more call after a failed step would read what the client
 * sent next as normal messages (keys, pointer, SetDesktopSize), before authentication. */
static bool in_handshake(const rfbClientRec *cl)
{
	if (cl->sock == RFB_INVALID_SOCKET)
		return false;
	switch (cl->state) {
	case RFB_PROTOCOL_VERSION:
	case RFB_SECURITY_TYPE:
	case RFB_AUTHENTICATION:
	case RFB_INITIALISATION:
		return true;
	default:
		return false;
	}
}

int auth_handshake_run(struct auth_pending *p, rfbClientPtr cl)
{
	int r = 0;
	current = p;
	while (in_handshake(cl)) {
		pthread_mutex_lock(&A.lock);
		bool stopping = A.stopping, late = clock_now_ms() >= p->deadline_ms;
		pthread_mutex_unlock(&A.lock);
		if (stopping || late) {
			r = stopping ? -ECANCELED : -ETIMEDOUT;
			break;
		}
		/* What the security phase (security.c) left of a WebSocket frame in libvncserver's
		 * buffer: the socket will not wake poll() for it. */
		bool buffered = webSocketsHasDataInBuffer(cl);
		struct pollfd pfd = {.fd = cl->sock, .events = POLLIN};
		if (!buffered && poll(&pfd, 1, HANDSHAKE_POLL_MS) <= 0)
			continue;
		/* A WebSocket frame may hold several handshake messages (and whatever follows
		 * them): take them one by one, each only while the handshake still goes on.
		 * Messages after the handshake stay in the buffer for the caller (auth.h). */
		do
			rfbProcessClientMessage(cl);
		while (in_handshake(cl) && webSocketsHasDataInBuffer(cl));
		/* Both directions shut: libvncserver's rfbCloseClient() (a refused password) only
		 * shuts the socket down and leaves the state as it was; without this the slot
		 * stays taken until the deadline. */
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			/* auth_expire() shut it down: that is a timeout. */
			pthread_mutex_lock(&A.lock);
			if (clock_now_ms() >= p->deadline_ms)
				r = -ETIMEDOUT;
			pthread_mutex_unlock(&A.lock);
			break;
		}
	}
	current = NULL;
	if (r == 0 && cl->state == RFB_NORMAL && cl->sock != RFB_INVALID_SOCKET)
		return 0;
	/* Also when auth_expire() had to end a read that never completed. */
	pthread_mutex_lock(&A.lock);
	if (r == 0 && clock_now_ms() >= p->deadline_ms)
		r = -ETIMEDOUT;
	pthread_mutex_unlock(&A.lock);
	/* rfbClientConnectionGone() closes the socket. */
	if (r == -ETIMEDOUT)
		log_warn("client %s: handshake not finished within %u s (--handshake-timeout); "
			 "disconnecting", p->peer, A.timeout_ms / 1000u);
	if (cl->sock != RFB_INVALID_SOCKET && cl->state != RFB_SHUTDOWN)
		rfbCloseClient(cl);
	return r ? r : -ECONNRESET;
}

void auth_expire(void)
{
	uint64_t now = clock_now_ms();
	pthread_mutex_lock(&A.lock);
	for (unsigned i = 0; i < A.n_pending; i++) {
		struct auth_pending *p = &A.pending[i];
		/* A second past the deadline: the thread itself notices in time unless it is
		 * blocked inside a message that never completes. */
		if (p->used && p->fd >= 0 && now >= p->deadline_ms + 1000u)
			shutdown(p->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&A.lock);
}
