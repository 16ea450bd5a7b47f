/* rfb_probe: a minimal RFB 3.8 client for the VDI tests (single-threaded).
 *
 *   rfb_probe ADDR PASSWORD|- HOLD_SECONDS
 * ADDR is unix:PATH or fd:N (an inherited connected socket). It does the handshake (VNC
 * authentication with PASSWORD through libvncserver's rfbEncryptBytes, or None), prints
 * "ok WIDTHxHEIGHT NAME" from ServerInit, then for HOLD_SECONDS asks for updates and reads
 * what comes. Exit: 0 done; 3 security refused (prints "refused REASON"); 4 the server
 * closed the connection while holding ("closed BYTES"); 1 other errors.
 */
#include <errno.h>
#include <poll.h>
#include <rfb/rfb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fd = -1;

static int read_exact(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_exact(const void *buf, size_t n)
{
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void refused(void)
{
	uint8_t len[4];
	char reason[256] = "";
	if (read_exact(len, 4) == 0) {
		uint32_t n = be32(len);
		if (n >= sizeof(reason))
			n = sizeof(reason) - 1;
		if (read_exact(reason, n) == 0)
			reason[n] = '\0';
	}
	printf("refused %s\n", reason);
	exit(3);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rfb_probe unix:PATH|fd:N PASSWORD|- HOLD_SECONDS\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strncmp(argv[1], "fd:", 3)) {
		fd = atoi(argv[1] + 3);
	} else if (!strncmp(argv[1], "unix:", 5)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1] + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return 1;
		}
	} else {
		return 1;
	}
	struct timeval tv = {.tv_sec = 20};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char ver[12];
	if (read_exact(ver, 12) < 0 || memcmp(ver, "RFB 003.", 8) != 0) {
		fprintf(stderr, "no RFB version\n");
		return 1;
	}
	if (write_exact("RFB 003.008\n", 12) < 0)
		return 1;
	uint8_t n;
	if (read_exact(&n, 1) < 0)
		return 1;
	if (n == 0)
		refused();
	uint8_t types[256];
	if (read_exact(types, n) < 0)
		return 1;
	int want_vnc = strcmp(argv[2], "-") != 0;
	uint8_t pick = 0;
	for (unsigned i = 0; i < n; i++)
		if (types[i] == (want_vnc ? 2 : 1))
			pick = types[i];
	if (!pick) {
		printf("refused security types offered do not match\n");
		return 3;
	}
	if (write_exact(&pick, 1) < 0)
		return 1;
	if (pick == 2) {
		uint8_t challenge[16];
		if (read_exact(challenge, 16) < 0)
			return 1;
		rfbEncryptBytes(challenge, argv[2]);
		if (write_exact(challenge, 16) < 0)
			return 1;
	}
	uint8_t result[4];
	if (read_exact(result, 4) < 0) {
		printf("refused (connection closed at the security result)\n");
		return 3;
	}
	if (be32(result) != 0)
		refused();
	uint8_t shared = 1, init[24];
	if (write_exact(&shared, 1) < 0 || read_exact(init, 24) < 0)
		return 1;
	uint32_t name_len = be32(init + 20);
	char name[256] = "";
	if (name_len >= sizeof(name) || read_exact(name, name_len) < 0)
		return 1;
	name[name_len] = '\0';
	unsigned w = (unsigned)init[0] << 8 | init[1], h = (unsigned)init[2] << 8 | init[3];
	printf("ok %ux%u %s\n", w, h, name);

	/* SetEncodings: raw and DesktopSize; then incremental requests. */
	uint8_t enc[12] = {2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21};
	if (write_exact(enc, sizeof(enc)) < 0)
		return 1;
	uint64_t total = 0;
	time_t end = time(NULL) + atoi(argv[3]);
	int incremental = 0;
	while (time(NULL) < end) {
		uint8_t req[10] = {3, (uint8_t)incremental, 0, 0, 0, 0, (uint8_t)(w >> 8), (uint8_t)w,
				   (uint8_t)(h >> 8), (uint8_t)h};
		incremental = 1;
		if (write_exact(req, sizeof(req)) < 0) {
			printf("closed %llu\n", (unsigned long long)total);
			return 4;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		while (poll(&p, 1, 100) > 0) {
			uint8_t buf[65536];
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				printf("closed %llu\n", (unsigned long long)total);
				return 4;
			}
			total += (uint64_t)r;
		}
	}
	printf("held %llu\n", (unsigned long long)total);
	return 0;
}
