/* Reading the synthetic vGPU's tick stamp from a picture (declared in reference.h). Apart
 * from reference.c so that tests without the in-process source (kernel_check) link it. */
#include <stddef.h>

#include "reference.h"
#include "synthetic.h"

int ref_read_stamp(const uint8_t *rgb, uint32_t width, uint32_t height, uint64_t *tick)
{
	struct synthetic_rect r = synthetic_tick_stamp_rect((int)width, (int)height);
	const int b = SYNTHETIC_TICK_STAMP_BLOCK;
	uint64_t v = 0;

	if (!rgb || (uint32_t)(r.x + r.w) > width || (uint32_t)(r.y + r.h) > height)
		return -1;
	for (unsigned i = 0; i < SYNTHETIC_TICK_STAMP_BITS; i++) {
		int x0 = r.x + (int)(i % SYNTHETIC_TICK_STAMP_COLS) * b + b / 4;
		int y0 = r.y + (int)(i / SYNTHETIC_TICK_STAMP_COLS) * b + b / 4;
		unsigned long sum = 0, n = 0;
		for (int y = y0; y < y0 + b / 2; y++)
			for (int x = x0; x < x0 + b / 2; x++)
				for (int k = 0; k < 3; k++, n++)
					sum += rgb[((size_t)y * width + (size_t)x) * 3 + (size_t)k];
		unsigned long mean = sum / n;
		if (mean > 191)
			v |= 1ull << i;
		else if (mean >= 64)
			return -1;
	}
	*tick = v;
	return 0;
}
