/* Opening a plane source from its spec: the one place that knows every back end.
 *
 * Sits above plane_source.h (the interface) and the back ends (synthetic.h, vfio_device.h,
 * vfio_pid.h), so that the interface depends on none of them. Called from main before
 * any thread starts, and from tests.
 */
#ifndef VGPU_PLANE_SOURCE_OPEN_H
#define VGPU_PLANE_SOURCE_OPEN_H

#include <stddef.h>

#include "plane_source.h"

/* Open a source from its spec ("synthetic:1280x720:desktop", "mdev:UUID", ...). On
 * failure returns a negative errno and a message in err that names the spec. */
int plane_source_open(const char *spec, struct plane_source **out, char *err, size_t err_len);

#endif
