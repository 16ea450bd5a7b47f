/* cmocka's skip() counts as a pass in the program's exit status, so ctest would show a
 * skipped check as Passed. Test programs skip through SKIP_BECAUSE(why), which prints the
 * reason, and end with `return skip_status(cmocka_run_group_tests(...))`: 77 (ctest's
 * SKIP_RETURN_CODE for these tests) if anything was skipped and nothing failed. Include
 * after cmocka.h; one test program per executable. */
#ifndef VGPU_TEST_SKIP_STATUS_H
#define VGPU_TEST_SKIP_STATUS_H

#include <stdio.h>

#define SKIP_STATUS 77

static int skip_status_count;

#define SKIP_BECAUSE(why)                                                        \
	do {                                                                     \
		printf("SKIPPED %s: %s\n", __func__, (why));                     \
		fflush(stdout);                                                  \
		skip_status_count++;                                             \
		skip();                                                          \
	} while (0)

static inline int skip_status(int failed)
{
	if (failed == 0 && skip_status_count > 0) {
		printf("%d check(s) skipped (see SKIPPED above): reporting the test as skipped\n",
		       skip_status_count);
		return SKIP_STATUS;
	}
	return failed;
}

#endif
