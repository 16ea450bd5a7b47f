/* Lossless refresh timing for the Tight-JPEG path: when a lossy tile is sent again.
 *
 * Per client and tile the path keeps since[i]: the time (ms, monotonic) of the last lossy
 * (JPEG) send of tile i, or TIGHT_REFRESH_NOT_LOSSY when the client has it exactly (a
 * fill, a lossless send, or never sent). A tile is due for its lossless refresh once it
 * has not been sent lossy for delay_ms: that is, it did not change for that long (a
 * changing tile is re-sent as JPEG at each change, which restarts its clock).
 *
 * Two users: the client's output thread, which sends every due tile of an update
 * losslessly (tight_refresh_due) and records what it sent (tight_refresh_record); and the
 * timer, which at the earliest deadline marks the due tiles as modified so that a static
 * screen gets its refresh too (tight_refresh_scan). slack_ms lets tiles that fall due
 * within that much of each other go in one update instead of several.
 *
 * Pure functions of their arguments (the clock is an input): any thread, no locking.
 */
#ifndef VGPU_TIGHT_JPEG_REFRESH_H
#define VGPU_TIGHT_JPEG_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIGHT_REFRESH_NOT_LOSSY UINT64_MAX
#define TIGHT_REFRESH_NEVER UINT64_MAX

/* Default: a lossy tile that stays unchanged for 1 s is sent again losslessly. */
#define TIGHT_REFRESH_DEFAULT_MS 1000u
/* Tiles due within this much of the earliest go in the same refresh. */
#define TIGHT_REFRESH_SLACK_MS 100u

/* Is a tile lossy since `since` due at now? delay_ms 0 = refresh off (never due). */
bool tight_refresh_due(uint64_t since, uint64_t now_ms, uint32_t delay_ms, uint32_t slack_ms);

/* All n tiles at now: due[i] = 1 for the due ones (0 otherwise; due may be NULL), and
 * *next_ms = the earliest time a lossy tile that is not due yet falls due
 * (TIGHT_REFRESH_NEVER if none). Returns the number of due tiles. */
size_t tight_refresh_scan(const uint64_t *since, size_t n, uint64_t now_ms, uint32_t delay_ms,
			  uint32_t slack_ms, uint8_t *due, uint64_t *next_ms);

/* What an update did with a tile. */
enum tight_refresh_sent {
	TIGHT_REFRESH_UNSENT = 0, /* not in the update: left as it was */
	TIGHT_REFRESH_LOSSY,      /* sent as JPEG */
	TIGHT_REFRESH_EXACT,      /* sent exactly (fill, lossless) */
};

/* After an update at now, from sent[i] (enum tight_refresh_sent) for each of n tiles. */
void tight_refresh_record(uint64_t *since, const uint8_t *sent, size_t n, uint64_t now_ms);

/* Forget what the client has: every tile counts as sent lossy at now at the latest (so
 * all of it gets a lossless refresh unless it changes). For when something else may have
 * drawn on the client's screen (libvncserver answered a request itself). */
void tight_refresh_mark_all_lossy(uint64_t *since, size_t n, uint64_t now_ms);

#endif
