/* Pieces of the fake plane sources that tests and fuzz targets give the dmabuf cache.
 * The cache only asks a source for dma-bufs (and regions): it never queries planes nor
 * destroys the source, so every fake answers those two the same way. Each fake keeps its
 * own get_dmabuf, which is what it is there for. */
#ifndef VGPU_TESTS_FAKE_PLANE_SOURCE_H
#define VGPU_TESTS_FAKE_PLANE_SOURCE_H

#include <errno.h>

#include "plane_source.h"

static inline int fake_plane_source_no_query(struct plane_source *s, enum plane_type t,
					     struct plane_info *out)
{
	(void)s, (void)t, (void)out;
	return -ENOTSUP;
}

/* The fake lives in the test's own storage: nothing to free. */
static inline void fake_plane_source_no_destroy(struct plane_source *s)
{
	(void)s;
}

#endif
