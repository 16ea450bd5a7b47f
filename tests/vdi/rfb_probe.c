/* rfb_probe: a minimal RFB 3.8 client for the VDI tests (the raw test client of tests/lib).
 *
 *   rfb_probe ADDR PASSWORD|- HOLD_SECONDS
 * ADDR is unix:PATH or fd:N (an inherited connected socket). It does the handshake (VNC
 * authentication with PASSWORD, or None), prints "ok WIDTHxHEIGHT NAME" from ServerInit,
 * then for HOLD_SECONDS asks for updates (raw, DesktopSize) and reads what comes. Exit: 0
 * done ("held BYTES"); 3 security refused (prints "refused REASON"); 4 the server closed
 * the connection while holding ("closed BYTES"); 1 other errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfb_test_client.h"

int main(int argc, char **argv)
{
	struct rr c;
	char err[256];

	if (argc != 4 || (strncmp(argv[1], "fd:", 3) != 0 && strncmp(argv[1], "unix:", 5) != 0)) {
		fprintf(stderr, "usage: rfb_probe unix:PATH|fd:N PASSWORD|- HOLD_SECONDS\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strncmp(argv[1], "fd:", 3))
		rr_attach(&c, "rfb_probe", atoi(argv[1] + 3));
	else if (rr_connect(&c, "rfb_probe", argv[1] + 5, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	c.parse_only = true;
	enum rr_result r = rr_handshake(&c, strcmp(argv[2], "-") ? argv[2] : NULL, NULL, err,
					sizeof(err));
	if (r != RR_OK) {
		fprintf(stderr, "%s\n", err);
		if (c.refused)
			printf("refused %s\n", c.why);
		rr_close(&c);
		return c.refused ? 3 : 1;
	}
	printf("ok %ux%u %s\n", c.width, c.height, c.name);

	static const int32_t enc[] = {RFB_ENC_RAW, RFB_ENC_DESKTOP_SIZE};
	bool ok = rr_set_encodings(&c, enc, 2) &&
		  rr_request(&c, false, 0, 0, c.width, c.height);
	uint64_t before = c.bytes_read; /* the handshake's */
	double end = rr_now_s() + atoi(argv[3]);
	while (ok && rr_now_s() < end) {
		/* A message, or 100 ms without one: ask again. */
		int m = rr_read_message(&c, 0.1);
		if (m == -2 || m == 1)
			ok = rr_request(&c, true, 0, 0, c.width, c.height);
		else if (m < 0)
			ok = false;
	}
	printf("%s %llu\n", ok ? "held" : "closed", (unsigned long long)(c.bytes_read - before));
	rr_close(&c);
	return ok ? 0 : 4;
}
