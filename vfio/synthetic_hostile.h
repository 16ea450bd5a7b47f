/* The hostile guest: the synthetic vGPU's "hostile" scene lies about its planes.
 *
 * The picture is the video scene's (every pixel of a region changes every tick), so a
 * stale or torn frame is visible. Even ticks describe the planes truthfully; odd tick t
 * replays case (t / 2) % SYNTH_HOSTILE_CASES of the table in synthetic_hostile.c: a
 * primary or cursor plane with a field a guest can get wrong (zero and huge sizes,
 * width x stride overflow, a stride smaller than a row or not a whole number of pixels,
 * a size smaller than stride x height, unknown fourcc, modifier and plane type, a cursor
 * larger than the screen or far outside it, a hotspot outside the cursor, an fd shorter
 * than the declared size, an id the device then refuses, a region plane, ids that change
 * on every query, a failing query). Most must be rejected, with the last good frame kept;
 * a few are odd but legal and must be shown correctly (SYNTH_HOSTILE_* flags say which).
 *
 * Owns the extra buffers the lies need (a short memfd, a 512x512 cursor) and the query
 * counter behind the changing ids. Called under the synthetic source's lock, from its
 * query/get_dmabuf (capture thread); tests call the pure case lookup from any thread.
 */
#ifndef VGPU_SYNTHETIC_HOSTILE_H
#define VGPU_SYNTHETIC_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "plane.h"

/* Flags of a case: what the server must make of it. */
#define SYNTH_HOSTILE_PRIMARY_BAD 1u  /* the primary plane must be rejected */
#define SYNTH_HOSTILE_CURSOR_BAD 2u   /* the cursor plane must be rejected */
#define SYNTH_HOSTILE_QUERY_FAILS 4u  /* the primary query itself fails (-EIO) */

/* Ids the lies use; the truthful planes use the synthetic source's ids (1, 2, 3). */
#define SYNTH_HOSTILE_SHORT_ID 100u   /* a 4 KiB buffer that claims a whole screen */
#define SYNTH_HOSTILE_REFUSED_ID 101u /* get_dmabuf fails with -ENOENT */
#define SYNTH_HOSTILE_BIG_CURSOR_ID 102u
#define SYNTH_HOSTILE_ROLLING_ID 1000u /* ids from here on change on every query */

struct synth_hostile {
	int short_fd;      /* SYNTH_HOSTILE_SHORT_ID */
	int big_cursor_fd; /* SYNTH_HOSTILE_BIG_CURSOR_ID, SYNTH_HOSTILE_BIG_CURSOR square AR24 */
	uint32_t rolling;  /* the next rolling id */
	int primary_fd;    /* borrowed: the truthful primary, which rolling ids show */
};

#define SYNTH_HOSTILE_BIG_CURSOR 512u

/* 0 or a negative errno. primary_fd is borrowed for the rolling ids. */
int synth_hostile_init(struct synth_hostile *h, int primary_fd);
void synth_hostile_fini(struct synth_hostile *h);

/* Rewrite the truthful description of a plane at tick (out) into the lie of that tick.
 * Returns 0, or the negative errno that the query must fail with. */
int synth_hostile_apply(struct synth_hostile *h, uint64_t tick, struct plane_info *out);

/* The fd behind an id only the hostile scene uses (dup'ed by the caller); -ENOENT for
 * SYNTH_HOSTILE_REFUSED_ID and ids it does not know. */
int synth_hostile_fd(const struct synth_hostile *h, uint32_t id);

/* The number of cases, and case i's name and flags (for tests and the log). */
unsigned synth_hostile_case_count(void);
const char *synth_hostile_case(unsigned i, unsigned *flags);

/* The case that tick shows, or -1 for a truthful tick. */
int synth_hostile_case_at(uint64_t tick);

#endif
