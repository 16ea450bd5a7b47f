/* The shared JPEG cache (hit, miss, bounds, waiting on another client's encode) and the
 * refresh timer (fires at its deadline, stops with its last entry). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tight_jpeg_cache.h"
#include "tight_jpeg_lossless.h"
#include "clock.h"

static struct tight_cache_key key(uint16_t x, uint8_t quality, uint64_t hash)
{
	return (struct tight_cache_key){
		.x = x, .y = 64, .w = 128, .h = 64, .quality = quality, .subsamp = 0, .hash = hash};
}

static uint8_t *bytes(size_t n, uint8_t v)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	memset(p, v, n);
	return p;
}

/* Reserve k (must be a miss) and fill it with n bytes of v. */
static void put_new(struct tight_cache *c, struct tight_cache_key k, size_t n, uint8_t v)
{
	struct tight_cache_entry *e;
	assert_int_equal(tight_cache_get(c, &k, 0, &e), TIGHT_CACHE_RESERVED);
	tight_cache_fill(c, e, bytes(n, v), n);
	tight_cache_put(c, e);
}

static bool is_hit(struct tight_cache *c, struct tight_cache_key k, size_t want_n, uint8_t want_v)
{
	struct tight_cache_entry *e;
	enum tight_cache_result r = tight_cache_get(c, &k, 0, &e);
	if (r == TIGHT_CACHE_RESERVED) {
		tight_cache_abandon(c, e);
		return false;
	}
	assert_int_equal(r, TIGHT_CACHE_HIT);
	size_t n;
	const uint8_t *d = tight_cache_data(e, &n);
	assert_int_equal(n, want_n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(d[i], want_v);
	tight_cache_put(c, e);
	return true;
}

/* A cache with those bounds; every test starts from one. */
static struct tight_cache *cache_new(size_t max_bytes, size_t max_entries)
{
	struct tight_cache *c = NULL;
	assert_int_equal(tight_cache_create(max_bytes, max_entries, &c), 0);
	return c;
}

static struct tight_cache_stats stats_of(struct tight_cache *c)
{
	struct tight_cache_stats st;
	tight_cache_get_stats(c, &st);
	return st;
}

static void test_hit_and_misses(void **state)
{
	(void)state;
	struct tight_cache *c = cache_new(1 << 20, 100);

	put_new(c, key(0, 95, 42), 500, 0xaa);
	assert_true(is_hit(c, key(0, 95, 42), 500, 0xaa));
	assert_true(is_hit(c, key(0, 95, 42), 500, 0xaa));
	/* Another quality, other pixels, another place: misses. */
	assert_false(is_hit(c, key(0, 80, 42), 0, 0));
	assert_false(is_hit(c, key(0, 95, 43), 0, 0));
	assert_false(is_hit(c, key(64, 95, 42), 0, 0));
	struct tight_cache_stats st = stats_of(c);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 500);
	/* An abandoned reservation leaves nothing behind. */
	assert_false(is_hit(c, key(0, 80, 42), 0, 0));
	tight_cache_destroy(c);
}

static void test_byte_bound_evicts_least_recently_used(void **state)
{
	(void)state;
	struct tight_cache *c = cache_new(1000, 100);

	put_new(c, key(0, 95, 1), 300, 1);
	put_new(c, key(0, 95, 2), 300, 2);
	put_new(c, key(0, 95, 3), 300, 3);
	assert_true(is_hit(c, key(0, 95, 1), 300, 1)); /* 1 is now the most recent */
	put_new(c, key(0, 95, 4), 300, 4);             /* 1200 > 1000: 2 goes */
	struct tight_cache_stats st = stats_of(c);
	assert_int_equal(st.bytes, 900);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_true(is_hit(c, key(0, 95, 1), 300, 1));
	assert_true(is_hit(c, key(0, 95, 3), 300, 3));
	assert_true(is_hit(c, key(0, 95, 4), 300, 4));
	assert_false(is_hit(c, key(0, 95, 2), 0, 0));
	/* A single entry larger than the bound is not kept. */
	put_new(c, key(0, 95, 5), 5000, 5);
	st = stats_of(c);
	assert_true(st.bytes <= 1000);
	assert_false(is_hit(c, key(0, 95, 5), 0, 0));
	tight_cache_destroy(c);
}

static void test_entry_bound(void **state)
{
	(void)state;
	struct tight_cache *c = cache_new(1 << 20, 3);
	for (uint64_t h = 1; h <= 10; h++)
		put_new(c, key(0, 95, h), 10, (uint8_t)h);
	struct tight_cache_stats st = stats_of(c);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.bytes, 30);
	for (uint64_t h = 8; h <= 10; h++)
		assert_true(is_hit(c, key(0, 95, h), 10, (uint8_t)h));
	assert_false(is_hit(c, key(0, 95, 7), 0, 0));
	tight_cache_destroy(c);
}

/* A sender's entry stays readable while the cache drops it (the sanitizer build checks
 * that nothing is freed early or leaked). */
static void test_held_entry_outlives_eviction(void **state)
{
	(void)state;
	struct tight_cache_entry *e;
	size_t n;
	struct tight_cache *c = cache_new(1 << 20, 10);
	put_new(c, key(0, 95, 1), 100, 9);
	struct tight_cache_key k = key(0, 95, 1);
	assert_int_equal(tight_cache_get(c, &k, 0, &e), TIGHT_CACHE_HIT);
	tight_cache_clear(c);
	const uint8_t *d = tight_cache_data(e, &n);
	assert_int_equal(n, 100);
	assert_int_equal(d[99], 9);
	tight_cache_put(c, e);
	assert_false(is_hit(c, key(0, 95, 1), 0, 0));
	tight_cache_destroy(c);
}

struct waiter {
	struct tight_cache *c;
	struct tight_cache_key k;
	unsigned wait_ms;
	enum tight_cache_result result;
	size_t len;
	uint8_t first;
	atomic_bool started;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct tight_cache_entry *e;
	atomic_store(&w->started, true);
	w->result = tight_cache_get(w->c, &w->k, w->wait_ms, &e);
	if (w->result == TIGHT_CACHE_HIT) {
		const uint8_t *d = tight_cache_data(e, &w->len);
		w->first = d[0];
		tight_cache_put(w->c, e);
	} else if (w->result == TIGHT_CACHE_RESERVED) {
		tight_cache_abandon(w->c, e);
	}
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* Start a thread that asks for k while we hold its reservation. */
static pthread_t start_waiter(struct waiter *w)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, wait_thread, w), 0);
	while (!atomic_load(&w->started))
		sleep_ms(1);
	sleep_ms(30); /* let it reach the wait (if it does not, it just finds the result) */
	return t;
}

static void test_second_asker_waits_for_the_first_encode(void **state)
{
	(void)state;
	struct tight_cache_entry *e;
	struct tight_cache *c = cache_new(1 << 20, 10);

	/* Filled: the waiter gets our bytes instead of encoding them again. */
	struct waiter w = {.c = c, .k = key(0, 95, 7), .wait_ms = 10000};
	assert_int_equal(tight_cache_get(c, &w.k, 0, &e), TIGHT_CACHE_RESERVED);
	pthread_t t = start_waiter(&w);
	tight_cache_fill(c, e, bytes(64, 0x5a), 64);
	tight_cache_put(c, e);
	pthread_join(t, NULL);
	assert_int_equal(w.result, TIGHT_CACHE_HIT);
	assert_int_equal(w.len, 64);
	assert_int_equal(w.first, 0x5a);
	struct tight_cache_stats st = stats_of(c);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);

	/* Abandoned: the waiter is told to encode it itself. */
	struct waiter w2 = {.c = c, .k = key(0, 95, 8), .wait_ms = 10000};
	assert_int_equal(tight_cache_get(c, &w2.k, 0, &e), TIGHT_CACHE_RESERVED);
	t = start_waiter(&w2);
	tight_cache_abandon(c, e);
	pthread_join(t, NULL);
	assert_int_equal(w2.result, TIGHT_CACHE_BUSY);

	/* Never finished: the wait is bounded. */
	struct waiter w3 = {.c = c, .k = key(0, 95, 9), .wait_ms = 20};
	assert_int_equal(tight_cache_get(c, &w3.k, 0, &e), TIGHT_CACHE_RESERVED);
	t = start_waiter(&w3);
	pthread_join(t, NULL);
	assert_int_equal(w3.result, TIGHT_CACHE_BUSY);
	tight_cache_abandon(c, e);
	tight_cache_destroy(c);
}

/* ---- the refresh timer ---------------------------------------------------------------- */

struct timed {
	struct tight_waker_entry e; /* first: the callback gets its address */
	atomic_uint fired;
	atomic_uint_fast64_t fired_at;
	atomic_uint_fast64_t again; /* deadline to return after firing */
};

static uint64_t on_fire(struct tight_waker_entry *e, uint64_t now)
{
	struct timed *t = (struct timed *)e;
	atomic_store(&t->fired_at, now);
	atomic_fetch_add(&t->fired, 1);
	return atomic_load(&t->again);
}

static bool wait_fired(struct timed *t, unsigned n, unsigned timeout_ms)
{
	for (unsigned waited = 0; waited < timeout_ms; waited += 5) {
		if (atomic_load(&t->fired) >= n)
			return true;
		sleep_ms(5);
	}
	return atomic_load(&t->fired) >= n;
}

static void test_timer_fires_at_deadline_and_stops(void **state)
{
	(void)state;
	struct timed a = {.e.fire = on_fire, .again = TIGHT_WAKER_NEVER};
	struct timed b = {.e.fire = on_fire, .again = TIGHT_WAKER_NEVER};
	bool running;

	assert_int_equal(tight_waker_add(&a.e), 0);
	assert_int_equal(tight_waker_add(&b.e), 0);
	assert_int_equal(tight_waker_count(&running), 2);
	assert_true(running);
	/* Without a deadline nothing fires. */
	sleep_ms(50);
	assert_int_equal(atomic_load(&a.fired), 0);

	uint64_t deadline = clock_now_ms() + 40;
	atomic_store(&a.again, deadline + 40); /* fires once more, 40 ms later */
	tight_waker_schedule(&a.e, deadline);
	assert_true(wait_fired(&a, 1, 5000));
	assert_true(atomic_load(&a.fired_at) >= deadline);
	atomic_store(&a.again, TIGHT_WAKER_NEVER);
	assert_true(wait_fired(&a, 2, 5000));
	assert_true(atomic_load(&a.fired_at) >= deadline + 40);
	assert_int_equal(atomic_load(&b.fired), 0);

	/* A deadline in the past fires at once; removed entries never fire. */
	tight_waker_schedule(&b.e, 1);
	assert_true(wait_fired(&b, 1, 5000));
	tight_waker_remove(&b.e);
	tight_waker_schedule(&b.e, 1);
	sleep_ms(50);
	assert_int_equal(atomic_load(&b.fired), 1);

	/* The thread ends with the last entry and comes back with the next one. */
	tight_waker_remove(&a.e);
	assert_int_equal(tight_waker_count(&running), 0);
	assert_false(running);
	tight_waker_remove(&a.e); /* twice is harmless */
	assert_int_equal(tight_waker_add(&a.e), 0);
	assert_true(tight_waker_count(&running) == 1 && running);
	tight_waker_schedule(&a.e, 1);
	assert_true(wait_fired(&a, 3, 5000));
	tight_waker_remove(&a.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_misses),
		cmocka_unit_test(test_byte_bound_evicts_least_recently_used),
		cmocka_unit_test(test_entry_bound),
		cmocka_unit_test(test_held_entry_outlives_eviction),
		cmocka_unit_test(test_second_asker_waits_for_the_first_encode),
		cmocka_unit_test(test_timer_fires_at_deadline_and_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
