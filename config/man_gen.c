/* vgpu-vnc-man: write the vgpu-vnc(1) man page, in roff, to the file named by argv[1] (or
 * standard output). Run by the build (packaging/install.cmake), not installed: the page is
 * the --help text of config/config_options.c's option table, so it cannot drift from it. */
#include <stdio.h>

#include "config.h"

int main(int argc, char **argv)
{
	FILE *out = argc > 1 ? fopen(argv[1], "w") : stdout;
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	config_print_man(out);
	if (fflush(out) || ferror(out) || (out != stdout && fclose(out))) {
		perror(argc > 1 ? argv[1] : "stdout");
		return 1;
	}
	return 0;
}
