/* The VA "driver" of the VPL tests: vaCreateSurfaces / vaDestroySurfaces stand-ins that
 * keep every surface they make, and check dma-buf descriptors as Intel's media driver
 * would (tests/unit/vpl_harness.c, compiled into each VPL test).
 *
 * The fake runtime (libvplfake.so.1) sees only VASurfaceIDs, through the application's
 * GetHDL, as a real runtime does; what such an id is (its format, size, the descriptor it
 * was imported with) is the driver's knowledge. The runtime asks for it through
 * fake_va_lookup(), found with dlsym in the test executable (built with exported
 * symbols): that is the seam where a real runtime hands the surface to the driver.
 */
#ifndef FAKE_VPL_VA_H
#define FAKE_VPL_VA_H

#include <stdbool.h>
#include <stdint.h>

#include <va/va.h>

/* What the driver knows of one surface. */
struct fake_va_surface {
	bool imported;           /* from a dma-buf; else allocated */
	unsigned rt_format;      /* VA_RT_FORMAT_* */
	unsigned width, height;  /* as created */
	uint32_t va_fourcc;      /* VA_FOURCC_* (byte order in memory) */
	uint32_t drm_format;     /* imports: the layer's DRM fourcc (DRM_PRIME_2) */
	uint32_t pitch, size;    /* imports */
	uint64_t modifier;       /* imports (DRM_PRIME_2) */
};

/* The surface behind id; false if the driver never made it (or it is gone). */
typedef bool (*fake_va_lookup_fn)(VASurfaceID id, struct fake_va_surface *out);
#define FAKE_VA_LOOKUP "fake_va_lookup"

#endif
