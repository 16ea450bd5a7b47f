/* The ways of getting one frame into a shadow framebuffer that the capture benchmark
 * compares, each behind the same "process this frame" call:
 *
 *   MEMCPY    memcpy of the whole frame: the floor, one read and one write pass.
 *   QEMU      what QEMU's VNC server does each refresh (ui/vnc.c,
 *             vnc_refresh_server_surface): compare the frame with its server-side copy in
 *             chunks of 16 pixels (64 bytes) per line and copy the chunks that differ.
 *             Modelled on a mapped surface (mdpy-like, no GL readback), which is the
 *             cheapest form it takes.
 *   PIECES    our damage path without the server: damage_refine() over the frame, then
 *             pixel_copy_rect() for each changed tile (capture.c's copy_changed_tiles()
 *             without marking the region for clients).
 *   RUNS      PIECES with the changed tiles of each tile row merged into runs first, so
 *             that each run is copied row by row with one memcpy per row (what
 *             capture.c's copy_changed_tiles() could do instead of one rect per tile).
 *   FUSED     damage_refine_copy(): the hash pass copies the tiles that changed last time
 *             as it reads them, and the other changed tiles right after their tile row
 *             (what capture.c could call instead of damage_refine + copy_changed_tiles).
 *   CAPTURE   the real capture_tick() (capture/capture.c): plane query, dmabuf cache,
 *             damage, tile copy, rfbMarkRegionAsModified, frame store, cursor plane, on a
 *             vnc_server that has no clients and no listeners.
 *
 * One thread; nothing here is shared.
 */
#ifndef VGPU_BENCH_CAPTURE_METHODS_H
#define VGPU_BENCH_CAPTURE_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "plane_source.h"

enum capture_method {
	METHOD_MEMCPY,
	METHOD_QEMU,
	METHOD_PIECES,
	METHOD_RUNS,
	METHOD_FUSED,
	METHOD_CAPTURE,
	METHOD_COUNT
};

extern const char *const capture_method_names[METHOD_COUNT];

struct capture_rig;

/* State for every method at this size: shadow buffers, damage state, and for CAPTURE a
 * server and a capture on src (which the rig does not own). 0 or a negative errno. */
int capture_rig_create(struct plane_source *src, uint32_t width, uint32_t height,
		       struct capture_rig **out);
void capture_rig_destroy(struct capture_rig *rig);

/* Process the frame that src shows now with method m. frame/stride are its pixels (all
 * methods but CAPTURE read them; CAPTURE reads the plane through the source). Returns the
 * number of 64x64 tiles (PIECES, RUNS, FUSED, CAPTURE) or 64-byte chunks (QEMU) that changed, 0 for
 * MEMCPY. */
size_t capture_rig_run(struct capture_rig *rig, enum capture_method m, const uint8_t *frame,
		       uint32_t stride);

/* Tiles the frame has (for percentages). */
size_t capture_rig_tiles(const struct capture_rig *rig);

#endif
