/* The Tight-JPEG path's lossless refresh: when a lossy tile is sent again, what it is sent
 * as, and the timer that wakes a still screen for it.
 *
 * When (tight_refresh_*). Per client and tile the path keeps since[i]: the time (ms,
 * monotonic) of the last lossy (JPEG) send of tile i, or TIGHT_REFRESH_NOT_LOSSY when the
 * client has it exactly (a fill, a lossless send, or never sent). A tile is due for its
 * lossless refresh once it has not been sent lossy for delay_ms: that is, it did not
 * change for that long (a changing tile is re-sent as JPEG at each change, which
 * restarts its clock). The encoder sends every due tile of an update losslessly and
 * records what it sent; the timer, at the earliest deadline, has the due tiles marked as
 * modified so that a static screen gets its refresh too. slack_ms lets tiles that fall
 * due within that much of each other go in one update instead of several. Pure functions
 * of their arguments (the clock is an input): any thread, no locking.
 *
 * What (tight_lossless_*): one rectangle of XRGB8888 pixels as a Tight basic rectangle:
 * with the palette filter when it has at most 256 colours (1 bit a pixel for two colours,
 * else one byte), the copy filter (R, G, B bytes) otherwise, zlib-compressed on zlib
 * stream 3. Why stream 3, and our own stream: a Tight client keeps four zlib streams
 * whose state must follow the server's exactly. libvncserver's Tight encoder uses streams
 * 0..2 of the same client (for the updates it sends itself when the client's settings
 * take it off our path), so ours must be a stream it never touches. The first rectangle
 * of a new stream carries the "reset stream 3" bit so that the client starts afresh too.
 * The client's pixel format must be the one the Tight-JPEG path serves (32 bpp, depth 24,
 * 8-bit channels): pixels then travel as 3-byte TPIXELs R, G, B. State per client, used
 * by the thread that runs that client's encoder. No I/O.
 *
 * The timer (tight_waker_*): calls fire(entry, now) once an entry's deadline has passed.
 * Why a timer at all: libvncserver's output thread for a client sleeps until the client's
 * modified region meets its requested region; on a static screen nothing else changes
 * either, so the refresh of a region that just went still must be marked as modified by
 * someone when it falls due. One thread serves every entry; it starts with the first
 * entry and ends (detached) when the last one is removed, so an idle server has none.
 * fire runs on the timer thread with the timer's lock held: it must not call the
 * tight_waker_* functions, and it must only take locks that are never held while calling
 * them. It returns the entry's next deadline (TIGHT_WAKER_NEVER for none).
 * tight_waker_add/remove/schedule from any thread. After tight_waker_remove returns, fire
 * is neither running nor called again for that entry.
 */
#ifndef VGPU_TIGHT_JPEG_LOSSLESS_H
#define VGPU_TIGHT_JPEG_LOSSLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* ---- colours of XRGB8888 pixels (this file's palette and tight_jpeg_plan's count) ---- */

/* Pixel x of a row, the X byte dropped: 0xRRGGBB. */
static inline uint32_t tight_pixel_rgb(const uint8_t *row, uint32_t x)
{
	uint32_t v;
	memcpy(&v, row + (size_t)x * 4, 4);
	return v & 0x00ffffffu;
}

/* Where the search for rgb starts in an open-addressing table of 1 << TIGHT_COLOUR_BITS
 * slots: the top bits of a Fibonacci hash, which spreads neighbouring colours. */
#define TIGHT_COLOUR_BITS 9
static inline uint32_t tight_colour_slot(uint32_t rgb)
{
	return (rgb * 0x9E3779B1u) >> (32 - TIGHT_COLOUR_BITS);
}

/* ---- when: refresh timing ---- */

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

/* ---- what: Tight basic rectangles ---- */

#define TIGHT_LOSSLESS_STREAM 3
#define TIGHT_LOSSLESS_MAX_PALETTE 256u

struct tight_lossless {
	z_stream z;
	bool active;  /* z is initialised and the client's stream 3 follows it */
	bool fresh;   /* every rectangle starts a new stream (and resets the client's): its
		       * bytes depend on its pixels only, so clients may share them */
	int level;    /* z's zlib level */
	uint8_t *raw; /* the filtered pixels before zlib */
	size_t raw_cap;
	uint8_t *zbuf; /* zlib output */
	size_t zbuf_cap;
	uint8_t *out; /* the rectangle after its header */
	size_t out_cap;
	uint32_t slot_rgb[2 * TIGHT_LOSSLESS_MAX_PALETTE]; /* palette hash */
	int16_t slot_idx[2 * TIGHT_LOSSLESS_MAX_PALETTE];
	uint32_t palette[TIGHT_LOSSLESS_MAX_PALETTE];
};

void tight_lossless_init(struct tight_lossless *s);
void tight_lossless_destroy(struct tight_lossless *s);

/* Encode the w x h block (rows stride bytes apart; w <= 2048, w * h <= 65536) at zlib
 * level 1..9. On 0, *data / *len is everything that follows the 12-byte rectangle header
 * (control byte, filter, palette, compact length, data), valid until the next call.
 * -ENOMEM or -EIO (zlib) otherwise; after an error the stream is reset and the next
 * rectangle tells the client to reset too. */
int tight_lossless_encode(struct tight_lossless *s, const uint8_t *px, size_t stride, uint32_t w,
			  uint32_t h, int level, const uint8_t **data, size_t *len);

/* Forget the stream (the next rectangle resets the client's stream 3). With s->fresh set
 * (after tight_lossless_init) every rectangle does. */
void tight_lossless_reset(struct tight_lossless *s);

/* ---- the timer ---- */

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
