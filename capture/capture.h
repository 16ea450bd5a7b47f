/* The capture thread: planes in, damage out.
 *
 * One thread per device. While at least one client is connected it queries the primary
 * and cursor planes at the configured rate, maps buffers through the dmabuf cache, finds
 * the changed tiles (damage.h), copies only those into the shadow framebuffer and tells
 * the server, at the configured rate and at once and faster after a client's input. While
 * every client takes H.264 from the plane itself (the frame store says), it reads no pixel
 * at all: it publishes the plane and marks the screen. It follows mode changes (resize),
 * page flips (a new id refined against the last frame), "no plane" phases and the cursor
 * plane. Without clients it sleeps. It also passes clients' display size requests on to
 * the source, coalesced and rate-limited.
 *
 * The capture struct, the plane source, the caches and the damage state belong to this
 * thread alone; capture_start/stop are called from main.
 */
#ifndef VGPU_CAPTURE_H
#define VGPU_CAPTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "plane_source.h"
#include "vnc_server.h"

struct capture;

/* Statistics, readable from any thread (relaxed atomics). */
struct capture_stats {
	atomic_uint_fast64_t ticks;          /* planes queried */
	atomic_uint_fast64_t frames_changed; /* ticks with damage */
	atomic_uint_fast64_t tiles_changed;
	atomic_uint_fast64_t frames_rejected;/* plane failed validation or mapping */
	atomic_uint_fast64_t mode_changes;
	atomic_uint_fast64_t tiles_seen;     /* tiles compared (damage ratio's denominator) */
	atomic_uint_fast64_t pixel_bytes;    /* bytes of the guest's frames read by the CPU */
	atomic_uint_fast64_t frames_unread;  /* ticks that read no pixel: every client takes
					      * H.264 from the plane (frame_store.h) */
	atomic_uint_fast64_t input_ticks;    /* ticks a client's key or pointer event started */
	atomic_uint_fast64_t burst_ticks;    /* ticks at CAPTURE_BURST_HZ after input */
};

/* Clients' SetDesktopSize requests (vnc_server_take_size_request) reach the source at
 * most once in this long: each one rewrites the guest's EDID and takes its link down.
 * Requests meanwhile are coalesced (the latest wins). The same size as the one asked for
 * last is not asked for again within CAPTURE_RESIZE_REPEAT_MS (the guest may still be
 * switching to it). */
#define CAPTURE_RESIZE_INTERVAL_MS 1000u
#define CAPTURE_RESIZE_REPEAT_MS 10000u

/* A client's key or pointer event starts a tick at once (the guest answers input within
 * moments; waiting for the next tick at --fps would add up to a frame interval to what the
 * user sees), though no sooner than CAPTURE_INPUT_GAP_MS after the last tick started (a
 * pointer moved at a mouse's rate must not capture back to back). Ticks then come
 * CAPTURE_BURST_HZ a second until CAPTURE_BURST_MS after the last event, so a guest that
 * answers a few ms later is seen a few ms later, and then at --fps again. */
#define CAPTURE_BURST_HZ 120u
#define CAPTURE_BURST_MS 250u
#define CAPTURE_INPUT_GAP_MS 4u

/* frames: the caller's frame store (frame_store.h), kept until capture_destroy(); the
 * capture thread publishes every frame shown to it before it tells the server. */
struct frame_store;
int capture_create(struct plane_source *src, unsigned fps, struct frame_store *frames,
		   struct capture **out);
void capture_destroy(struct capture *cap);

/* The size of the first mode (query the primary plane once), or 0x0 if there is none yet. */
void capture_initial_size(struct capture *cap, uint32_t *width, uint32_t *height);

/* Read one frame now, on the calling thread (start-up, tests). */
void capture_tick(struct capture *cap, struct vnc_server *srv);

int capture_start(struct capture *cap, struct vnc_server *srv);
void capture_stop(struct capture *cap);

const struct capture_stats *capture_stats(const struct capture *cap);

/* The frame store given to capture_create(). */
struct frame_store *capture_frame_store(const struct capture *cap);

#endif
