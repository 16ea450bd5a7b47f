/* The x264 back end (software H.264): what it sets, for tests.
 *
 * The back end itself is h264_x264_impl (h264_encoder.h). These functions are the pure
 * part of it, exposed so that tests/unit/test_h264_x264.c can check the parameters without
 * encoding anything. No state; any thread.
 */
#ifndef VGPU_H264_X264_H
#define VGPU_H264_X264_H

#include <stddef.h>
#include <stdint.h> /* x264.h needs it first */

#include <x264.h>

#include "h264_encoder.h"

/* x264's constant rate factor for a client quality level 0..9 (above 9 counts as 9):
 *   quality  0  1  2  3  4  5  6  7  8  9
 *   CRF     38 36 34 32 30 28 26 24 21 18
 * 6 (the default, and noVNC's) gives CRF 26: small frames with readable text; 9 gives CRF
 * 18, visually lossless for desktop content. */
float h264_x264_crf(unsigned quality);

/* The size x264 encodes at: the screen's, rounded up to even (4:2:0 needs it). */
void h264_x264_coded_size(unsigned width, unsigned height, unsigned *coded_w,
			  unsigned *coded_h);

/* Fill p for cfg: ultrafast + zerolatency, constrained baseline (x264's baseline sets
 * constraint_set1), one slice per thread with threads = max(cfg->threads, 1), no B-frames,
 * IDR only when forced, SPS/PPS before every IDR, Annex B without AUDs, full-range VUI with
 * BT.709 primaries, sRGB transfer and the BT.601 matrix (what libyuv's J420 conversion
 * computes), CRF from the quality, no lookahead and no VBV. 0 or -EINVAL (why says what). */
int h264_x264_params(const struct h264_encoder_config *cfg, x264_param_t *p, char *why,
		     size_t why_len);

#endif
