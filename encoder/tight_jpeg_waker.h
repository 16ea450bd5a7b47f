/* A light timer for the Tight-JPEG path's lossless refresh: calls fire(entry, now) once
 * an entry's deadline has passed.
 *
 * Why a timer at all: libvncserver's output thread for a client sleeps until the client's
 * modified region meets its requested region; on a static screen nothing else changes
 * either, so the refresh of a region that just went still must be marked as modified by
 * someone when it falls due. One thread serves every entry; it starts with the first
 * entry and ends (detached) when the last one is removed, so an idle server has none.
 *
 * fire runs on the timer thread with the timer's lock held: it must not call the
 * functions below, and it must only take locks that are never held while calling them.
 * It returns the entry's next deadline (TIGHT_WAKER_NEVER for none).
 *
 * Threads: tight_waker_add/remove/schedule from any thread. After tight_waker_remove
 * returns, fire is neither running nor called again for that entry.
 */
#ifndef VGPU_TIGHT_JPEG_WAKER_H
#define VGPU_TIGHT_JPEG_WAKER_H

#include <stdbool.h>
#include <stdint.h>

#define TIGHT_WAKER_NEVER UINT64_MAX

struct tight_waker_entry {
	uint64_t (*fire)(struct tight_waker_entry *e, uint64_t now_ms);
	/* The timer's own: */
	uint64_t deadline;
	bool linked;
	struct tight_waker_entry *prev, *next;
};

/* Register e (with e->fire set; no deadline yet). 0, or -EAGAIN if the thread cannot be
 * started (then e is not registered). */
int tight_waker_add(struct tight_waker_entry *e);

/* Unregister e; no effect if it is not registered. */
void tight_waker_remove(struct tight_waker_entry *e);

/* Set e's deadline (TIGHT_WAKER_NEVER: none). */
void tight_waker_schedule(struct tight_waker_entry *e, uint64_t deadline_ms);

/* Number of registered entries and whether the thread runs (for tests). */
unsigned tight_waker_count(bool *thread_running);

#endif
