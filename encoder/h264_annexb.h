/* What an Annex B access unit holds: which NAL unit types, and how many slices.
 *
 * The Open H.264 encoding and noVNC need one slice per picture and SPS + PPS in front of
 * every IDR (h264_encoder.h); the self-test and the tests check encoders' output against
 * that with this scan. Pure function, any thread.
 */
#ifndef VGPU_H264_ANNEXB_H
#define VGPU_H264_ANNEXB_H

#include <stddef.h>
#include <stdint.h>

#define H264_NAL_SLICE 1u
#define H264_NAL_IDR 5u
#define H264_NAL_SPS 7u
#define H264_NAL_PPS 8u

struct h264_annexb_scan {
	uint32_t types;  /* bit n set: a NAL unit of type n is present */
	unsigned slices; /* NAL units of type 1 or 5 (coded slices) */
	unsigned nals;   /* NAL units in all */
};

/* Scan an access unit. Returns 0, or -1 when it does not start with a start code (then
 * *out is all zero). Emulation prevention keeps 00 00 01 out of NAL payloads, so every
 * 00 00 01 starts a NAL unit. */
int h264_annexb_scan(const uint8_t *p, size_t n, struct h264_annexb_scan *out);

#endif
