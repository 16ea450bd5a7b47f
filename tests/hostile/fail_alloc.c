/* Preloaded into the server (LD_PRELOAD) by the oom-resize case: malloc, calloc and realloc
 * of more than $VGPU_TEST_ALLOC_MAX bytes fail with ENOMEM, as they do when memory runs
 * out, so the server's real allocation-failure paths run. Only the large requests fail:
 * the rest of the process works normally. glibc's __libc_* entry points do the real work
 * (dlsym would allocate while looking them up). Any thread of the server. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

static size_t limit(void)
{
	static size_t max;
	if (!max) {
		const char *s = getenv("VGPU_TEST_ALLOC_MAX");
		max = s ? strtoull(s, NULL, 10) : SIZE_MAX;
		if (!max)
			max = SIZE_MAX;
	}
	return max;
}

void *malloc(size_t n)
{
	if (n > limit()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (size && n > limit() / size) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (n > limit()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}
