/* Checks that several unit tests make the same way. */
#ifndef VGPU_TESTS_UNIT_UTIL_H
#define VGPU_TESTS_UNIT_UTIL_H

/* cmocka.h wants these first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plane.h"

/* plane_info_validate refuses p, and its reason names what was wrong (needle). */
static inline void expect_plane_rejected(struct plane_info p, const char *needle)
{
	char why[200] = "";
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), -EINVAL);
	if (!strstr(why, needle))
		fail_msg("reason '%s' does not mention '%s'", why, needle);
}

/* Append n bytes to a growing buffer (what the tests' byte sinks collect). */
static inline void unit_buf_append(uint8_t **data, size_t *len, size_t *cap, const void *p,
				   size_t n)
{
	if (*len + n > *cap) {
		*cap = (*len + n) * 2;
		*data = realloc(*data, *cap);
		assert_non_null(*data);
	}
	memcpy(*data + *len, p, n);
	*len += n;
}

#endif
