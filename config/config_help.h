/* --help and the vgpu-vnc(1) man page, from the option table.
 *
 * The same text two ways: columns wrapped at 79 for --help, roff for the man page
 * (config/man_gen.c writes it at build time through config_print_man()). The OPTIONS
 * section is the option table (config_options.h); the other sections are written here.
 * Not thread-safe (the roff switch is a static); config_load() and the man page
 * generator call it before any thread starts.
 */
#ifndef VGPU_CONFIG_HELP_H
#define VGPU_CONFIG_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* The help text to out: as a man page with roff, else as --help prints it. */
void config_help_write(FILE *out, bool roff);

#endif
