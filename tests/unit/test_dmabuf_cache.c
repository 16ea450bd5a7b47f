/* The dmabuf cache: one import per id, LRU eviction, the current buffer never dropped,
 * geometry change of an id, mapping failures. A fake source counts what it hands out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmabuf_cache.h"
#include "fake_plane_source.h"

#define MAX_IDS 16

struct fake_source {
	struct plane_source base;
	int gets[MAX_IDS];      /* get_dmabuf calls per id */
	int open_fds[MAX_IDS];  /* fds handed out per id that are still open */
	int memfd[MAX_IDS];
	size_t len[MAX_IDS];
};

static int fake_get(struct plane_source *s, uint32_t id)
{
	struct fake_source *f = (struct fake_source *)s;
	if (id >= MAX_IDS || f->memfd[id] < 0)
		return -ENOENT;
	f->gets[id]++;
	return dup(f->memfd[id]);
}

static const struct plane_source_ops fake_ops = {
	.name = "fake", .query = fake_plane_source_no_query, .get_dmabuf = fake_get,
	.destroy = fake_plane_source_no_destroy,
};

/* Make buffer `id` of len bytes whose first byte is `id`. */
static void fake_add(struct fake_source *f, uint32_t id, size_t len)
{
	f->memfd[id] = memfd_create("fake", MFD_CLOEXEC);
	assert_true(f->memfd[id] >= 0);
	assert_int_equal(ftruncate(f->memfd[id], (off_t)len), 0);
	uint8_t first = (uint8_t)id;
	assert_int_equal(pwrite(f->memfd[id], &first, 1, 0), 1);
	f->len[id] = len;
}

static struct fake_source *fake_new(void)
{
	struct fake_source *f = calloc(1, sizeof(*f));
	f->base.ops = &fake_ops;
	for (int i = 0; i < MAX_IDS; i++)
		f->memfd[i] = -1;
	for (uint32_t id = 1; id < 10; id++)
		fake_add(f, id, 64 * 64 * 4);
	return f;
}

static void fake_free(struct fake_source *f)
{
	for (int i = 0; i < MAX_IDS; i++)
		if (f->memfd[i] >= 0)
			close(f->memfd[i]);
	free(f);
}

/* Each test's fixture: a cache over a fresh fake source. Its capacity is the test's
 * prestate, given next to the test in main. */
struct cached {
	struct dmabuf_cache c;
	struct fake_source *f;
};

static int cached_setup(void **state)
{
	const unsigned *capacity = *state;
	struct cached *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->f = fake_new();
	assert_int_equal(dmabuf_cache_init(&t->c, &t->f->base, *capacity), 0);
	*state = t;
	return 0;
}

/* Destroying the cache twice is harmless, so a test may destroy it itself to check
 * what destroying does. */
static int cached_teardown(void **state)
{
	struct cached *t = *state;
	dmabuf_cache_destroy(&t->c);
	fake_free(t->f);
	free(t);
	return 0;
}

/* The capacities the tests ask for. */
static const unsigned four = 4, three = 3, one = 1;
#define CACHED_TEST(f, capacity) \
	cmocka_unit_test_prestate_setup_teardown(f, cached_setup, cached_teardown, (void *)&(capacity))

static struct plane_info plane(uint32_t id)
{
	return (struct plane_info){
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888, .width = 64,
		.height = 64, .stride = 256, .size = 64 * 64 * 4, .dmabuf_id = id,
	};
}

static struct dmabuf_buffer *get(struct dmabuf_cache *c, struct plane_info p)
{
	struct dmabuf_buffer *b = NULL;
	char why[200] = "";
	int r = dmabuf_cache_get(c, &p, &b, why, sizeof(why));
	if (r != 0)
		fail_msg("dmabuf_cache_get(%u): %d %s", p.dmabuf_id, r, why);
	assert_int_equal(b->id, p.dmabuf_id);
	assert_int_equal(b->pixels[0], (uint8_t)p.dmabuf_id); /* really that buffer's pixels */
	return b;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void test_one_import_per_id(void **state)
{
	struct cached *t = *state;
	for (int round = 0; round < 5; round++) {
		get(&t->c, plane(1));
		get(&t->c, plane(2)); /* a flip between two buffers */
	}
	assert_int_equal(t->f->gets[1], 1);
	assert_int_equal(t->f->gets[2], 1);
	assert_int_equal(dmabuf_cache_count(&t->c), 2);
	assert_int_equal(t->c.imports, 2);
}

static void test_lru_eviction_keeps_recent(void **state)
{
	struct cached *t = *state;
	int fd1 = get(&t->c, plane(1))->fd;
	get(&t->c, plane(2));
	get(&t->c, plane(3));
	get(&t->c, plane(1)); /* 1 is now the most recent; 2 the least */
	get(&t->c, plane(4)); /* evicts 2 */
	assert_int_equal(dmabuf_cache_count(&t->c), 3);
	assert_true(fd_is_open(fd1));
	get(&t->c, plane(1));
	assert_int_equal(t->f->gets[1], 1); /* still cached */
	get(&t->c, plane(2));               /* re-imported: it was evicted */
	assert_int_equal(t->f->gets[2], 2);
	dmabuf_cache_destroy(&t->c);
	assert_false(fd_is_open(fd1));   /* destroy closes every fd */
}

static void test_current_never_evicted_even_at_capacity_two(void **state)
{
	struct cached *t = *state;
	assert_int_equal(t->c.capacity, 2); /* asked for 1: raised to 2 */
	for (uint32_t id = 1; id < 9; id++) {
		struct dmabuf_buffer *b = get(&t->c, plane(id));
		/* The buffer just returned stays usable after the next import. */
		struct dmabuf_buffer *next = get(&t->c, plane(id + 1));
		assert_int_equal(b->id, id);
		assert_true(fd_is_open(b->fd));
		assert_int_not_equal(b, next);
	}
}

static void test_geometry_change_reimports_after_closing(void **state)
{
	struct cached *t = *state;
	int old_fd = get(&t->c, plane(5))->fd;
	struct plane_info p = plane(5);
	p.width = 32; /* same id, other geometry */
	p.stride = 128;
	get(&t->c, p);
	assert_int_equal(t->f->gets[5], 2);
	assert_int_equal(dmabuf_cache_count(&t->c), 1); /* the old fd was closed, not kept */
	(void)old_fd;
}

static void test_errors(void **state)
{
	struct cached *t = *state;
	struct dmabuf_buffer *b = (void *)1;
	char why[200] = "";
	struct plane_info p = plane(12); /* unknown id */
	assert_int_equal(dmabuf_cache_get(&t->c, &p, &b, why, sizeof(why)), -ENOENT);
	assert_null(b);
	assert_non_null(strstr(why, "dmabuf 12"));
	/* A buffer shorter than its plane claims: the mapping is refused, not overrun. */
	fake_add(t->f, 13, 4096);
	p = plane(13);
	p.size = 64 * 64 * 4;
	int r = dmabuf_cache_get(&t->c, &p, &b, why, sizeof(why));
	/* memfds map past their end (SIGBUS on access), so the cache must check the size of
	 * what it maps where the exporter tells it. */
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(why, "shorter"));
	p = plane(0);
	assert_int_equal(dmabuf_cache_get(&t->c, &p, &b, why, sizeof(why)), -EINVAL);
	assert_int_equal(dmabuf_cache_count(&t->c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CACHED_TEST(test_one_import_per_id, four),
		CACHED_TEST(test_lru_eviction_keeps_recent, three),
		CACHED_TEST(test_current_never_evicted_even_at_capacity_two, one),
		CACHED_TEST(test_geometry_change_reimports_after_closing, four),
		CACHED_TEST(test_errors, four),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
