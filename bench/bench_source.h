/* A plane source for the capture benchmark whose frames are drawn once, up front.
 *
 * The synthetic vGPU draws the scene when it is stepped; for the two headline cases the
 * benchmark wants no drawing at all between ticks, so that the caches hold exactly what a
 * steady state would and the drawing cost can never leak into a timing:
 *   BENCH_SOURCE_STATIC  one buffer (id 1) that never changes;
 *   BENCH_SOURCE_FULL    two buffers (ids 1 and 2) that differ in every pixel, shown
 *                        alternately: a page flip every tick, so every 64x64 tile differs
 *                        from the last frame shown (a full-screen change).
 * bench_source_step() selects the next frame; query() reports the current one. Buffers
 * are memfds mapped like the synthetic ones (stride = width * 4 rounded up to 64 bytes).
 * No cursor plane. One thread.
 */
#ifndef VGPU_BENCH_SOURCE_H
#define VGPU_BENCH_SOURCE_H

#include <stdint.h>

#include "plane_source.h"

enum bench_source_kind { BENCH_SOURCE_STATIC, BENCH_SOURCE_FULL };

int bench_source_create(enum bench_source_kind kind, uint32_t width, uint32_t height,
			struct plane_source **out);

/* Show the next frame (FULL: the other buffer; STATIC: the same one). */
void bench_source_step(struct plane_source *src);

/* The pixels of the frame shown now, and its stride in bytes. */
const uint8_t *bench_source_pixels(struct plane_source *src, uint32_t *stride);

#endif
