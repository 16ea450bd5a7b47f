/* auth.c without a network: the no-auth policy for every kind of listener (an inherited
 * socket bound to 0.0.0.0 included), the password check against the DES response a
 * client computes, the password file swapped by auth_reload() while other threads check,
 * a broken file keeping the old password, auth_shutdown() ending a delayed answer,
 * passwords that DES cannot use (weak keys) refused everywhere, and the handshake limit per
 * address range (an IPv6 /64, IPv4-mapped as IPv4) and per share of --max-clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_auth.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void put(const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static struct config base(void)
{
	struct config c;
	memset(&c, 0, sizeof(c));
	c.max_clients = 8;
	c.handshake_timeout = 10;
	return c;
}

/* base() reading its password from the test's file, which now holds content. */
static struct config with_password_file(const char *content)
{
	struct config c = base();
	snprintf(c.password_file, sizeof(c.password_file), "%s", path);
	put(content);
	return c;
}

/* The fixture of the password tests: auth started on a file that holds content
 * (auth_init copies the path, so the config need not outlive it). */
static void start_with_password(const char *content)
{
	char err[512];
	struct config c = with_password_file(content);
	assert_int_equal(auth_init(&c, err, sizeof(err)), 0);
}

static int listen_on(const char *ip)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, ip, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void test_policy(void **state)
{
	(void)state;
	char err[512];
	struct config c = base();
	c.n_listen = 1;
	assert_int_equal(config_parse_listen("tcp:127.0.0.1:5900", &c.listen[0]), 0);
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), 0);
	assert_int_equal(config_parse_listen("unix:/tmp/x.sock", &c.listen[0]), 0);
	/* Only the owner can connect: no password needed, whatever the umask. */
	c.listen[0].mode = 0600;
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), 0);
	/* Anyone can connect (0666 in a searchable directory): a password is. */
	c.listen[0].mode = 0666;
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), -EPERM);
	assert_int_equal(config_parse_listen("tcp:0.0.0.0:5900", &c.listen[0]), 0);
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "--insecure-no-auth"));
	assert_non_null(strstr(err, "tcp:0.0.0.0:5900"));
	c.insecure_no_auth = true;
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), 0);
	c.insecure_no_auth = false;
	snprintf(c.password_file, sizeof(c.password_file), "%s", path);
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), 0);
	c.password_file[0] = '\0';

	/* Inherited sockets: as open as what they are bound to. */
	int any = listen_on("0.0.0.0"), lo = listen_on("127.0.0.1");
	c.listen[0] = (struct listen_addr){.kind = LISTEN_FD, .fd = lo};
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), 0);
	c.listen[0].fd = any;
	assert_int_equal(auth_check_policy(&c, err, sizeof(err)), -EPERM);
	close(any);
	close(lo);
}

/* A client structure with a challenge, and the response a client with pw computes. */
static void respond(rfbClientRec *cl, const char *pw, uint8_t response[CHALLENGESIZE])
{
	for (int i = 0; i < CHALLENGESIZE; i++)
		cl->authChallenge[i] = (uint8_t)(rand() & 0xff);
	/* VNC authentication keys DES with the first 8 bytes of the password, no more. */
	char p[9] = {0};
	memcpy(p, pw, strnlen(pw, sizeof(p) - 1));
	memcpy(response, cl->authChallenge, CHALLENGESIZE);
	rfbEncryptBytes(response, p);
}

static rfbBool check(const char *pw)
{
	rfbClientRec cl;
	memset(&cl, 0, sizeof(cl));
	cl.host = "test";
	uint8_t r[CHALLENGESIZE];
	respond(&cl, pw, r);
	return auth_password_check(&cl, (const char *)r, CHALLENGESIZE);
}

static void test_password_and_reload(void **state)
{
	(void)state;
	char err[512];
	start_with_password("first-pw-longer-than-8\n");
	assert_true(auth_enabled());
	assert_true(check("first-pw"));       /* only 8 bytes count */
	assert_true(check("first-pw-longer-than-8"));
	double t0 = now();
	assert_false(check("first-px"));
	assert_true(now() - t0 >= AUTH_DELAY_BASE_MS / 1000.0 - 0.01); /* a wrong one waits */

	put("second\n");
	assert_int_equal(auth_reload(err, sizeof(err)), 0);
	assert_false(check("first-pw"));
	assert_true(check("second"));

	/* An empty file keeps what works. */
	put("");
	assert_true(auth_reload(err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "empty"));
	assert_true(check("second"));
}

/* The reloads count up gen: odd while auth_reload() runs, even between. Between reloads
 * exactly one password works: "alpha" at gen % 4 == 0, "beta" at gen % 4 == 2. */
struct hammer {
	atomic_bool stop;
	atomic_uint gen;
	atomic_uint stable, stable_bad, overlapped, overlapped_bad, unknown;
};

/* A client's answer, computed before the threads start: only the server side runs
 * concurrently, as it does with real clients (libvncserver's DES helper is shared state). */
struct answer {
	rfbClientRec cl;
	uint8_t response[CHALLENGESIZE];
};

#define HAMMERS 3

struct hammer_arg {
	struct hammer *h;
	struct answer alpha, beta;
};

static void prepare(struct answer *a, const char *pw)
{
	memset(&a->cl, 0, sizeof(a->cl));
	a->cl.host = "test";
	respond(&a->cl, pw, a->response);
}

static bool answer_ok(struct answer *a)
{
	return auth_password_check(&a->cl, (const char *)a->response, CHALLENGESIZE);
}

static struct answer *answer_at(struct hammer_arg *a, unsigned gen)
{
	return gen % 4u == 0 ? &a->alpha : &a->beta;
}

/* Exact, no tolerance. A check that started and ended in one even gen must accept that
 * gen's password, every time. If one reload (old -> new) overlapped, the old password may
 * already be gone, so a failed try is followed by the new one, which must then work: both
 * failing means a check saw neither password (half of one, or none). Over two or more
 * reloads nothing can be said; the writer waits for checks between reloads, so these are
 * rare (counted). Right passwords never wait; a failed try waits AUTH_DELAY_BASE_MS. */
static void *hammer_main(void *arg)
{
	struct hammer_arg *a = arg;
	struct hammer *h = a->h;
	while (!atomic_load(&h->stop)) {
		unsigned g1 = atomic_load(&h->gen);
		if (g1 % 2u)
			continue;
		bool ok = answer_ok(answer_at(a, g1));
		if (!ok)
			ok = answer_ok(answer_at(a, g1 + 2u));
		unsigned g2 = atomic_load(&h->gen);
		if (g1 == g2) {
			atomic_fetch_add(&h->stable, 1);
			if (!ok)
				atomic_fetch_add(&h->stable_bad, 1);
		} else if (g2 <= g1 + 2u) {
			atomic_fetch_add(&h->overlapped, 1);
			if (!ok)
				atomic_fetch_add(&h->overlapped_bad, 1);
		} else {
			atomic_fetch_add(&h->unknown, 1);
		}
	}
	return NULL;
}

static void test_reload_while_checking(void **state)
{
	(void)state;
	char err[512];
	start_with_password("alpha\n");
	struct hammer h = {0};
	struct hammer_arg args[HAMMERS];
	pthread_t t[HAMMERS];
	for (int i = 0; i < HAMMERS; i++) {
		args[i].h = &h;
		prepare(&args[i].alpha, "alpha");
		prepare(&args[i].beta, "beta");
	}
	for (int i = 0; i < HAMMERS; i++)
		pthread_create(&t[i], NULL, hammer_main, &args[i]);
	for (unsigned i = 0; i < 200; i++) {
		/* the next even gen's password, then the reload that makes it current */
		put(i % 2 ? "alpha\n" : "beta\n");
		atomic_fetch_add(&h.gen, 1);
		assert_int_equal(auth_reload(err, sizeof(err)), 0);
		atomic_fetch_add(&h.gen, 1);
		/* let every password be checked in a stable window too */
		unsigned want = atomic_load(&h.stable) + 3;
		while (atomic_load(&h.stable) < want)
			sched_yield();
	}
	atomic_store(&h.stop, true);
	for (int i = 0; i < HAMMERS; i++)
		pthread_join(t[i], NULL);
	print_message("%u checks between reloads, %u overlapping one, %u more than one\n",
		      atomic_load(&h.stable), atomic_load(&h.overlapped), atomic_load(&h.unknown));
	assert_true(atomic_load(&h.stable) >= 600);
	assert_int_equal(atomic_load(&h.stable_bad), 0);
	assert_int_equal(atomic_load(&h.overlapped_bad), 0);
}

static void *shutdown_soon(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	auth_shutdown();
	return NULL;
}

static void test_shutdown_ends_delay(void **state)
{
	(void)state;
	start_with_password("gamma\n");
	pthread_t t;
	pthread_create(&t, NULL, shutdown_soon, NULL);
	double t0 = now();
	assert_false(check("wrong"));
	assert_true(now() - t0 < 0.4); /* not the 0.5 s delay: the shutdown woke it */
	pthread_join(t, NULL);
}

/* VNC authentication's DES key from a password: byte i of the key is byte i of the
 * password with its bits in reverse order. The inverse, for a key whose parity bits (the
 * lowest of each byte) do not count: each password byte is nonzero, like a real one. */
static void password_for_key(uint64_t key, char pw[9])
{
	for (int i = 0; i < 8; i++) {
		uint8_t k = (uint8_t)(key >> (56 - 8 * i)), p = 0;
		if ((k & 0xfe) == 0)
			k |= 1; /* the parity bit: the same DES key, and no NUL in the password */
		for (int b = 0; b < 8; b++)
			if (k & (1u << b))
				p |= (uint8_t)(0x80u >> b);
		pw[i] = (char)p;
	}
	pw[8] = '\0';
}

/* The 4 weak and 12 semi-weak DES keys (FIPS 74), which libgcrypt refuses. */
static const uint64_t weak_keys[16] = {
	0x0101010101010101ull, 0xfefefefefefefefeull, 0x1f1f1f1f0e0e0e0eull,
	0xe0e0e0e0f1f1f1f1ull, 0x01fe01fe01fe01feull, 0xfe01fe01fe01fe01ull,
	0x1fe01fe00ef10ef1ull, 0xe01fe01ff10ef10eull, 0x01e001e001f101f1ull,
	0xe001e001f101f101ull, 0x1ffe1ffe0efe0efeull, 0xfe1ffe1ffe0efe0eull,
	0x011f011f010e010eull, 0x1f011f010e010e01ull, 0xe0fee0fef1fef1feull,
	0xfee0fee0fef1fef1ull,
};

/* A password that libvncserver's DES refuses locks every client out: refused when it is
 * set (file at start-up, SIGHUP, set-password), the one before staying. */
static void test_weak_password(void **state)
{
	(void)state;
	char err[512], pw[9];
	for (size_t i = 0; i < sizeof(weak_keys) / sizeof(weak_keys[0]); i++) {
		password_for_key(weak_keys[i], pw);
		assert_int_equal(strlen(pw), 8);
		assert_int_equal(auth_password_usable(pw, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "weak DES key"));
	}
	/* What the review found: printable, and only the first 8 bytes count. */
	assert_int_equal(auth_password_usable("xxxxpppp", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_password_usable("xxxxpppp-and-more", err, sizeof(err)), -EINVAL);
	/* The parity bits do not count: 'x' | 0x80 is the same key byte. */
	assert_int_equal(auth_password_usable("\xf8xxxpppp", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_password_usable("xxxxpppq", err, sizeof(err)), 0);
	assert_int_equal(auth_password_usable("password", err, sizeof(err)), 0);
	assert_int_equal(auth_password_usable("x", err, sizeof(err)), 0);

	/* At start-up: auth_init fails, naming the file. */
	struct config c = with_password_file("xxxxpppp\n");
	err[0] = '\0';
	assert_int_equal(auth_init(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "weak DES key"));

	/* On SIGHUP: the password before stays. */
	put("good-one\n");
	assert_int_equal(auth_init(&c, err, sizeof(err)), 0);
	assert_true(check("good-one"));
	put("xxxxpppp\n");
	assert_int_equal(auth_reload(err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "weak DES key"));
	assert_true(check("good-one"));

	/* set-password's way in. */
	assert_int_equal(auth_set_password("pppppppp\x1e", 0, err, sizeof(err)), 0);
	assert_true(check("pppppppp"));
	password_for_key(weak_keys[6], pw);
	assert_int_equal(auth_set_password(pw, 0, err, sizeof(err)), -EINVAL);
	assert_true(check("pppppppp"));
}

static void test_source_key(void **state)
{
	(void)state;
	static const struct {
		const char *peer, *key;
	} cases[] = {
		{"10.1.2.3:5555", "10.1.2.3"},
		{"10.1.2.3", "10.1.2.3"},
		{"127.0.0.2:40000", "127.0.0.2"},
		/* IPv6: the /64 */
		{"[2001:db8:1:2:3:4:5:6]:5900", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::ffff]:1", "2001:db8:1:2::/64"},
		{"[2001:DB8:1:2:0:0:0:1]:1", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:1", "2001:db8:1:3::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"[::1]:5900", "::1"},
		/* IPv4-mapped: the IPv4 address */
		{"[::ffff:10.1.2.3]:5555", "10.1.2.3"},
		{"unix:/run/vgpu-vnc/vm1.sock", "unix:/run/vgpu-vnc/vm1.sock"},
		{"added:pair", "added"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char key[AUTH_SOURCE_KEY_MAX];
		auth_source_key(cases[i].peer, key, sizeof(key));
		if (strcmp(key, cases[i].key))
			fail_msg("%s: key \"%s\", want \"%s\"", cases[i].peer, key, cases[i].key);
	}
	assert_int_equal(auth_pending_per_source(64), AUTH_MAX_PENDING_PER_SOURCE);
	assert_int_equal(auth_pending_per_source(8), 4);
	assert_int_equal(auth_pending_per_source(4), 2);
	assert_int_equal(auth_pending_per_source(1), 1);
}

/* Reserve handshakes for these peers; how many got a slot (all are ended after). */
static unsigned begin_all(const char *const *peers, size_t n, int fd)
{
	struct auth_pending *p[16];
	unsigned got = 0;
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		p[i] = auth_handshake_begin(peers[i], fd);
		got += p[i] != NULL;
	}
	for (size_t i = 0; i < n; i++)
		auth_handshake_end(p[i]);
	return got;
}

/* Handshakes in progress are bounded per address range, not per address. */
static void test_pending_per_prefix(void **state)
{
	(void)state;
	char err[512];
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct config c = base();
	c.max_clients = 64;
	assert_int_equal(auth_init(&c, err, sizeof(err)), 0);
	/* Five addresses of one /64: the fifth is over the limit of 4. */
	static const char *const v6[] = {"[2001:db8:1:2::a]:1", "[2001:db8:1:2::b]:2",
					 "[2001:db8:1:2::c]:3", "[2001:db8:1:2::d]:4",
					 "[2001:db8:1:2:ffff:ffff:ffff:ffff]:5"};
	assert_int_equal(begin_all(v6, 5, fds[0]), 4);
	/* Another /64 is another source. */
	static const char *const two[] = {"[2001:db8:1:2::a]:1", "[2001:db8:1:3::a]:1"};
	assert_int_equal(begin_all(two, 2, fds[0]), 2);
	/* IPv4 and IPv4-mapped IPv6: one source. */
	static const char *const v4[] = {"[::ffff:10.0.0.1]:1", "10.0.0.1:2", "[::ffff:10.0.0.1]:3",
					 "10.0.0.1:4", "10.0.0.1:5"};
	assert_int_equal(begin_all(v4, 5, fds[0]), 4);

	/* A small --max-clients: one source gets at most half of the slots. */
	c.max_clients = 4;
	assert_int_equal(auth_init(&c, err, sizeof(err)), 0);
	static const char *const few[] = {"10.0.0.9:1", "10.0.0.9:2", "10.0.0.9:3",
					  "10.0.0.10:1", "10.0.0.10:2"};
	assert_int_equal(begin_all(few, 3, fds[0]), 2);
	assert_int_equal(begin_all(few, 5, fds[0]), 4);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_password_and_reload),
		cmocka_unit_test(test_reload_while_checking),
		cmocka_unit_test(test_shutdown_ends_delay),
		cmocka_unit_test(test_weak_password),
		cmocka_unit_test(test_source_key),
		cmocka_unit_test(test_pending_per_prefix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
