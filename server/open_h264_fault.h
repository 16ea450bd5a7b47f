/* Failed frames on demand, for the tests that check what a failed frame does.
 *
 * With VGPU_TEST_H264_FAIL_FRAMES=n-m in the environment, the n-th to m-th frames (from 0,
 * counted over the process) that any H.264 encoder is given fail with -EIO, as a GPU
 * that cannot import or encode a frame would; the encoders are otherwise the real ones.
 * The server says so at start-up. Unset (production): nothing changes.
 *
 * Threads: the factory runs where streams make encoders (client output threads, under a
 * stream's lock); the frame counter is atomic.
 */
#ifndef VGPU_OPEN_H264_FAULT_H
#define VGPU_OPEN_H264_FAULT_H

#include <stddef.h>

#include "h264_encoder.h"

typedef int (*h264_factory_fn)(enum h264_backend backend, const struct h264_encoder_config *cfg,
			       struct h264_encoder **out, char *why, size_t why_len);

/* The encoder factory to use: h264_encoder_create, or one that wraps it to fail the
 * frames the variable names. */
h264_factory_fn open_h264_fault_factory(void);

#endif
