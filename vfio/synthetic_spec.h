/* The synthetic vGPU's spec, parsed: what synthetic_source_create() builds.
 *
 * "WIDTHxHEIGHT[:SCENE[:OPTION[,OPTION...]]]" (the part after "synthetic:"; synthetic.h
 * describes the scenes and options). Pure functions; called once per source, before it
 * exists.
 */
#ifndef VGPU_SYNTHETIC_SPEC_H
#define VGPU_SYNTHETIC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthetic_scenes.h"

struct synth_config {
	int w, h;
	enum synth_scene_kind scene;
	uint32_t fourcc;
	bool has_frames;
	uint64_t frames;
	unsigned rate;
	bool cursor;
	bool stamp;                 /* stamp=on: the tick drawn on the picture */
	bool has_fail;              /* fail=enodev@A[-B]: the device is gone for ticks A..B-1 */
	uint64_t fail_from, fail_to;
};

/* Parse spec (NULL or "" = every default) into cfg; fields may be empty (= default).
 * 0, or -EINVAL with a message in err naming the bad part and the valid choices. */
int synth_spec_parse(const char *spec, struct synth_config *cfg, char *err, size_t err_len);

/* "synthetic: " and the message into err (if any); returns -EINVAL, which is what the
 * parsers return. */
int synth_spec_error(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
