/* Annex B scan: see h264_annexb.h. */
#include "h264_annexb.h"

#include <string.h>

int h264_annexb_scan(const uint8_t *p, size_t n, struct h264_annexb_scan *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < n && p[i] == 0)
		i++;
	if (i < 2 || i + 1 >= n || p[i] != 1)
		return -1;
	for (size_t j = 2; j + 1 < n; j++) {
		if (p[j - 2] == 0 && p[j - 1] == 0 && p[j] == 1) {
			unsigned type = p[j + 1] & 0x1f;
			out->types |= 1u << type;
			out->nals++;
			if (type == H264_NAL_SLICE || type == H264_NAL_IDR)
				out->slices++;
			j++;
		}
	}
	return 0;
}
