/* ref_dump: what the synthetic vGPU shows, for the browser test (which is JavaScript and
 * cannot link the C reference). Writes a header line and raw bytes:
 *   ref_dump frame SPEC TICK OUT    "W H\n" then W*H R,G,B bytes
 *   ref_dump cursor SPEC TICK OUT   "W H HOTX HOTY\n" then W*H B,G,R,A bytes
 * Exit 0, or 1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

static int write_all(const char *path, const char *header, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	int bad = fputs(header, f) < 0 || fwrite(data, 1, len, f) != len;
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ref_dump: cannot write %s\n", path);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: ref_dump frame|cursor SPEC TICK OUT\n");
		return 1;
	}
	char err[256] = "", header[64];
	uint64_t tick = strtoull(argv[3], NULL, 10);
	if (strcmp(argv[1], "frame") == 0) {
		struct ref_frame f;
		if (ref_render(argv[2], tick, NULL, 0, &f, err, sizeof(err)) < 0) {
			fprintf(stderr, "ref_dump: %s\n", err);
			return 1;
		}
		snprintf(header, sizeof(header), "%u %u\n", f.width, f.height);
		int r = write_all(argv[4], header, f.rgb, (size_t)f.width * f.height * 3);
		ref_frame_free(&f);
		return r;
	}
	if (strcmp(argv[1], "cursor") == 0) {
		struct ref_cursor c;
		if (ref_cursor(argv[2], tick, NULL, 0, &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "ref_dump: %s\n", err);
			return 1;
		}
		snprintf(header, sizeof(header), "%u %u %u %u\n", c.width, c.height, c.x_hot,
			 c.y_hot);
		int r = write_all(argv[4], header, c.bgra, (size_t)c.width * c.height * 4);
		ref_cursor_free(&c);
		return r;
	}
	fprintf(stderr, "ref_dump: unknown kind '%s'\n", argv[1]);
	return 1;
}
