/* Client input to the plane source's own input ops (plane_source.h: the built-in
 * synthetic vGPU takes keys and the pointer; a VFIO device takes none, so its input is
 * dropped unless --qmp sends it to QEMU). Key codes are not used: keys go by keysym. The
 * sink holds src, which must outlive the front end given it. Any thread, no state. */
#ifndef VGPU_INPUT_SOURCE_H
#define VGPU_INPUT_SOURCE_H

#include "input_sink.h"
#include "plane_source.h"

/* The sink for src (NULL: a sink that drops everything). */
struct input_sink input_source_sink(struct plane_source *src);

#endif
