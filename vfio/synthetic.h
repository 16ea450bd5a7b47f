/* The synthetic vGPU: an in-process plane source with the contract of a real mdev.
 *
 * Buffers are memfds, so the server maps them exactly as it maps a real dma-buf. Like the
 * real devices it keeps an id stable while the geometry holds, gives a new id on a mode
 * change or a page flip (and old ids come back), changes content in place under the same
 * id, has a cursor plane with position and hotspot, and has "no plane" phases.
 *
 * Spec: "WIDTHxHEIGHT[:SCENE[:OPTION[,OPTION...]]]" (the part after "synthetic:"), where
 *   SCENE  = static | desktop (default) | typing | scroll | drag | video | flip | modes
 *            | hostile
 *   OPTION = format=XR24|XB24   pixel format of the primary plane (default XR24)
 *            frames=N           the scene stops at tick N and then holds still (0 = a still)
 *            rate=N             scene ticks per second, 1..1000 (default 30)
 *            cursor=on|off      whether there is a cursor plane (default on)
 *            stamp=on|off       draw the tick on the picture (default off), so that a
 *                               client can tell which tick a lossy picture shows:
 *                               SYNTHETIC_TICK_STAMP_BITS bits of the tick, least
 *                               significant first, as black (0) or white (1) blocks of
 *                               SYNTHETIC_TICK_STAMP_BLOCK pixels, COLS to a row, over
 *                               everything else at synthetic_tick_stamp_rect()
 *            fail=enodev@A[-B]  the device is gone from tick A (until tick B): every query
 *                               fails with -ENODEV, as VFIO's does after the mdev is removed
 * Default size 1280x720; WIDTH and HEIGHT are 16..8192. An empty spec, or an empty SIZE
 * or SCENE field, means the default. Anything else that does not parse is -EINVAL with a
 * message naming the bad part and the valid choices.
 *
 * Scenes (all scale to any size):
 *   static   a desktop picture (wallpaper, panel, windows, text) that never changes
 *   desktop  static plus a clock "HH:MM:SS" in the panel: tick/rate seconds after 12:00:00
 *   typing   an editor window that types a paragraph, 2 characters a tick, wraps, scrolls
 *   scroll   a log window whose lines scroll up 2 pixels (times the text scale) a tick
 *   drag     a window that moves one step a tick, bouncing across the screen
 *   video    a region of about a third of the screen where every pixel changes every tick
 *   flip     two buffers (ids 1 and 2); each tick draws the back one and flips to it; only
 *            a small box moves, so most tiles are equal between the two
 *   modes    cycles WIDTHxHEIGHT, 640x480, 800x600, 1024x768 (duplicates skipped), each
 *            for SYNTHETIC_MODE_TICKS ticks followed by SYNTHETIC_NOPLANE_TICKS ticks of
 *            "no plane"; mode i always has id i+1
 *   hostile  the video picture behind planes that lie: odd ticks replay a table of bad
 *            primary and cursor planes (synthetic_hostile.h), even ticks tell the truth
 * Buffers: stride = width*4 rounded up to 64 bytes, size = stride*height rounded up to a
 * page. Formats: XR24 and XB24 show the same colours. The cursor plane (ids after the
 * primaries) is a 32x32 AR24 arrow, or a hand while button 1 is down, each its own id.
 *
 * Input, in every scene, drawn on top of the scene (the cursor plane is separate):
 *   pointer  moves the cursor plane (clamped to the screen); while button 1 is down,
 *            each pointer event paints a SYNTHETIC_STAMP_SIZE square centred on it
 *   key      key-down of printable ASCII (0x20..0x7e) appends to the "Notes" window's
 *            text, BackSpace deletes, Return/KP_Enter starts a new line; the text wraps at
 *            words and scrolls; a block caret follows it
 * In the modes scene paint keeps its screen position across modes: what was painted
 * beyond a smaller mode's edge shows again when a larger mode comes back.
 *
 * Resize: request_size (a client's SetDesktopSize) makes the one primary buffer of the
 * scenes static, desktop, typing, scroll, drag and video WIDTHxHEIGHT (16..8192), under a
 * new id, at once, like a guest that follows its EDID; each call logs "synthetic: preferred
 * mode WxH (size request N)" (tests count them: each is an EDID write on a real device).
 * Flip, modes and hostile keep their sizes (-ENOTSUP). Paint stays within the largest
 * size seen before the first paint.
 *
 * Time: the scene advances by wall clock (rate ticks a second) from the first query.
 * Tests step it instead with synthetic_source_set_tick(), which renders exactly what the
 * clock would have shown at that tick: content is a pure function of (tick, input seen),
 * whatever the order in which ticks and input arrived. Drawing is incremental (only what
 * differs is redrawn), and the static scene draws nothing per tick.
 *
 * Threads: query/get_dmabuf from the capture thread; pointer/key/request_size from client
 * or capture threads.
 * An internal mutex guards the scene state; no I/O is done under it, only drawing.
 */
#ifndef VGPU_SYNTHETIC_H
#define VGPU_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "plane_source.h"
#include "synthetic_defs.h"

int synthetic_source_create(const char *spec, struct plane_source **out, char *err,
			    size_t err_len);

/* Stop the wall clock and move the scene to that tick (clamped to frames=N). */
void synthetic_source_set_tick(struct plane_source *src, uint64_t tick);

/* The tick the scene shows now. */
uint64_t synthetic_source_tick(struct plane_source *src);

/* The limits, the cursor and stamp geometry and the introspection types are in
 * synthetic_defs.h, which the drawing code below this module shares. */

/* The part of the screen that the scene animates at the current tick: the clock (desktop),
 * the editor window (typing), the log window (scroll), the dragged window, the video
 * region, the flipping box; empty for static and modes. Returns 0, or -EINVAL if src is
 * not a synthetic source. */
int synthetic_source_scene_rect(struct plane_source *src, struct synthetic_rect *out);

int synthetic_source_textbox(struct plane_source *src, struct synthetic_textbox *out);

/* The same for the typing scene's editor window; -ENOENT in other scenes. */
int synthetic_source_editor(struct plane_source *src, struct synthetic_textbox *out);

#endif
