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

#endif
