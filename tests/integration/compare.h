/* Pixel comparison of a received frame with the reference, with a report of what differs. */
#ifndef VNC_CHECK_COMPARE_H
#define VNC_CHECK_COMPARE_H

#include <stdbool.h>

#include "reference.h"

/* Lossless encodings compare exactly ({0, 0}); lossy ones within these bounds. */
struct tolerance {
	double mean_abs; /* largest allowed mean absolute error of any one channel */
	int max_abs;     /* largest allowed absolute error of any channel of any pixel */
};

/* True if got matches want (size, and every pixel within tol). Otherwise prints, for
 * `what`: the size difference, or the first differing pixel with its coordinates and both
 * values, how many pixels differ and their bounding box, and the error statistics. */
bool compare_frames(const struct ref_frame *got, const struct ref_frame *want,
		    const struct tolerance *tol, const char *what);

/* The same test, silently: for waiting until a client shows the expected picture. Both
 * also require a stamped reference's tick (ref_read_stamp) in got. */
bool frames_match(const struct ref_frame *got, const struct ref_frame *want,
		  const struct tolerance *tol);

#endif
