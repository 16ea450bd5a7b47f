/* --selftest: the checks an operator runs first on a new host, before serving anyone.
 *
 * It opens the configured source the way the server does, waits for the guest's primary
 * plane, reads one frame back the way the capture thread would, and then encodes
 * SELFTEST_SECONDS of the guest's live frames with the configured H.264 back end (dma-buf
 * in for VPL, pixels for x264), following page flips, mode changes and "display off"
 * as the guest makes them. It prints one line per check (PASS / WARN / FAIL and what was
 * seen) and a summary to out:
 *   plane      format, modifier (linear, X-, Y-tiled) and geometry pass validation
 *   readback   the frame is readable (direct map, detile or VA readback) and not a single
 *              colour (iHD's vaGetImage on a GVT surface can succeed and return nothing)
 *   encoder    which back end runs, and why the others did not
 *   idr        the first picture, and one forced half way, are SPS + PPS + IDR
 *   slices     every picture is one slice (noVNC decodes nothing else)
 *   timing     encode (import + VPP + ENCODE + sync) median and p99 per frame against
 *              the --fps budget
 *   follow     every mode change and "no plane" phase seen was followed
 *   fds        no growth of open fds over flips (imports are cached per dmabuf id)
 *   rss        no growth of memory over the run (a warning only: allocators keep memory)
 *   gem        i915 GEM objects (debugfs, when readable) do not grow
 * Returns the exit status: 0 all passed (warnings allowed), 1 a check failed, 2 the source
 * could not be opened. Runs on the calling thread; nothing else runs.
 */
#ifndef VGPU_SELFTEST_H
#define VGPU_SELFTEST_H

#include <stdio.h>

#include "config_types.h"

#define SELFTEST_SECONDS 5u

int selftest_run(const struct config *cfg, FILE *out);

#endif
