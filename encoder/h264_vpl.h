/* The VPL H.264 back end (hardware, zero copy): its test seam.
 *
 * The back end itself is h264_vpl_impl (h264_encoder.h). It runs on Intel GPUs through
 * the libvpl 2.x dispatcher and whichever runtime serves the GPU: the legacy Media SDK
 * runtime (libmfxhw64, API 1.35) on Gen9, the hosts GVT-g runs on, or libmfx-gen on newer
 * GPUs. It therefore stays inside API 1.x: a VA display handed to the session, an external
 * frame allocator whose surfaces are VA surfaces imported from the plane's dma-buf
 * (h264_vpl_alloc.h), VPP for RGB→NV12, ENCODE for H.264 (h264_vpl_params.h).
 *
 * CI has no Intel GPU and no /dev/dri. h264_vpl_create_with_display() runs the real back
 * end with a VA display and the two VA surface calls supplied by the caller, so a test can
 * drive it against a fake VPL runtime (tests/fake_vpl, found by the real dispatcher
 * through ONEVPL_SEARCH_PATH). The seam sits exactly at vaCreateSurfaces and
 * vaDestroySurfaces: the attribute lists, descriptors, allocator, cache, session and
 * encode loop above them are production code. The display is only passed through (to
 * MFXVideoCORE_SetHandle and to the two calls), never dereferenced by our code.
 *
 * Thread: as for every H.264 encoder, one thread at a time per instance; the dispatcher's
 * loader is the process's, made by the first create and reused (h264_vpl_session.h).
 *
 * What encode() returns, so that the stream layer can tell a lost frame from a dead
 * session (every failure is also logged, rate-limited, with the runtime's status):
 *   0        a packet;
 *   -EAGAIN  this frame was not encoded, the session is fine: the GPU is busy or still
 *            running an earlier frame, or VPP/ENCODE/sync failed this frame. The next
 *            call may succeed, and its packet is then an IDR (the runtime may have taken
 *            the lost frame as a reference);
 *   -ENOTSUP this frame cannot be imported: no dma-buf, or the driver refused it (e.g. a
 *            modifier it cannot take). Another frame (another buffer) may work;
 *   -EINVAL  this frame's description is unusable: a DRM format not taken, a stride or
 *            size that does not hold the frame, no modifier;
 *   -ENODEV  the session is dead (device lost or failed, pipeline could not be rebuilt):
 *            every later call returns it at once; destroy the encoder;
 *   -ENOMEM.
 */
#ifndef VGPU_H264_VPL_H
#define VGPU_H264_VPL_H

#include <stddef.h>

#include <va/va.h>

#include "h264_encoder.h"
#include "h264_vpl_va.h" /* struct h264_vpl_va_fns */

/* Like h264_vpl_impl.create(), but on this display (not opened, not terminated by the
 * encoder) and with these VA calls. Same return values: 0, -ENODEV with why when no
 * hardware VPL implementation (or none the pipeline can run on) is there, other -errno. */
int h264_vpl_create_with_display(const struct h264_encoder_config *cfg, VADisplay display,
				 const struct h264_vpl_va_fns *va, struct h264_encoder **out,
				 char *why, size_t why_len);

/* Forget the process's loader so that the next create loads and enumerates the runtimes
 * again (tests that change ONEVPL_SEARCH_PATH; shutdown). 0, or -EBUSY while an encoder
 * is open. */
int h264_vpl_unload(void);

#endif
