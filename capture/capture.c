/* The capture loop and one tick of it. */
#include "capture.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "damage.h"
#include "dmabuf_cache.h"
#include "events.h"
#include "frame_store.h"
#include "metrics.h"
#include "clock.h"
#include "log.h"

/* How long to wait between checks while nobody is watching. */
#define CAPTURE_IDLE_WAIT_MS 1000u

enum display_state { DISPLAY_UNKNOWN, DISPLAY_ON, DISPLAY_OFF };

struct capture {
	struct plane_source *src;
	struct frame_store *frames; /* the caller's; this thread publishes to it */
	unsigned fps;
	struct dmabuf_cache primary_cache;
	struct dmabuf_cache cursor_cache;
	struct damage damage;
	uint8_t *changed;        /* one flag per tile */
	uint32_t *rects;         /* x, y, w, h per changed tile */
	size_t rect_capacity;

	struct plane_info shown; /* geometry of the last frame shown */
	enum display_state display;

	/* cursor */
	bool cursor_shown;
	uint32_t cursor_id;
	uint64_t cursor_hash;
	struct plane_info cursor_info;

	struct capture_stats stats;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	struct vnc_server *srv;
	bool lost;               /* the last query failed (device-lost event sent) */

	/* The last size asked of the source for a client (request_size). */
	bool size_asked;
	uint32_t asked_w, asked_h;
	uint64_t asked_ms;
	uint64_t size_requests;  /* request_size calls, for the log */
};

int capture_create(struct plane_source *src, unsigned fps, struct frame_store *frames,
		   struct capture **out)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	if (!cap)
		return -ENOMEM;
	cap->src = src;
	cap->frames = frames;
	cap->fps = fps ? fps : 30;
	if (dmabuf_cache_init(&cap->primary_cache, src, DMABUF_CACHE_DEFAULT_CAPACITY) < 0 ||
	    dmabuf_cache_init(&cap->cursor_cache, src, 2) < 0) {
		capture_destroy(cap);
		return -ENOMEM;
	}
	*out = cap;
	return 0;
}

void capture_destroy(struct capture *cap)
{
	if (!cap)
		return;
	capture_stop(cap);
	dmabuf_cache_destroy(&cap->primary_cache);
	dmabuf_cache_destroy(&cap->cursor_cache);
	damage_destroy(&cap->damage);
	free(cap->changed);
	free(cap->rects);
	free(cap);
}

struct frame_store *capture_frame_store(const struct capture *cap)
{
	return cap->frames;
}

const struct capture_stats *capture_stats(const struct capture *cap)
{
	return &cap->stats;
}

static int query(struct capture *cap, enum plane_type type, struct plane_info *p)
{
	return plane_source_query_settled(cap->src, type, p);
}

void capture_initial_size(struct capture *cap, uint32_t *width, uint32_t *height)
{
	struct plane_info p;
	char why[160];
	*width = *height = 0;
	if (query(cap, PLANE_PRIMARY, &p) == 0 && (p.dmabuf_id || p.is_region) &&
	    plane_info_validate(&p, why, sizeof(why)) == 0) {
		*width = p.width;
		*height = p.height;
	}
}

/* Damage state and scratch arrays for a frame of this size. */
static int prepare_damage(struct capture *cap, uint32_t width, uint32_t height)
{
	damage_destroy(&cap->damage);
	int r = damage_init(&cap->damage, width, height);
	if (r < 0)
		return r;
	size_t tiles = damage_tile_count(&cap->damage);
	free(cap->changed);
	free(cap->rects);
	cap->changed = calloc(tiles, 1);
	cap->rects = calloc(tiles, 4 * sizeof(uint32_t));
	cap->rect_capacity = tiles;
	return cap->changed && cap->rects ? 0 : -ENOMEM;
}

static void log_mode(const struct plane_info *p)
{
	char fcc[5];
	log_info("display mode %ux%u %s stride %u (dmabuf id %u)", p->width, p->height,
		 plane_fourcc_str(p->fourcc, fcc), p->stride, p->dmabuf_id);
}

/* A geometry change: resize the screen if the size changed, start damage afresh. */
static int follow_mode(struct capture *cap, struct vnc_server *srv, const struct plane_info *p)
{
	uint32_t w, h;
	vnc_server_size(srv, &w, &h);
	if (w != p->width || h != p->height) {
		int r = vnc_server_resize(srv, p->width, p->height);
		if (r < 0) {
			log_error("cannot resize to %ux%u: %s", p->width, p->height, strerror(-r));
			return r;
		}
	}
	if (!cap->damage.hashes || cap->damage.width != p->width ||
	    cap->damage.height != p->height) {
		int r = prepare_damage(cap, p->width, p->height);
		if (r < 0) {
			log_error("out of memory for damage tracking at %ux%u", p->width, p->height);
			return r;
		}
	}
	damage_invalidate(&cap->damage);
	atomic_fetch_add_explicit(&cap->stats.mode_changes, 1, memory_order_relaxed);
	log_mode(p);
	events_mode(p->width, p->height, p->fourcc, p->dmabuf_id);
	return 0;
}

/* The changed tiles as rectangles: runs of adjacent changed tiles in a tile row become
 * one (a fully changed 1080p frame is 17 rectangles, not 510). */
static size_t changed_rects(struct capture *cap)
{
	return damage_tile_runs(cap->damage.width, cap->damage.height, cap->changed, cap->rects);
}

static void set_display_off(struct capture *cap)
{
	if (cap->display != DISPLAY_OFF) {
		log_info("display off: the device shows no primary plane");
		frame_store_clear(cap->frames);
		events_display_off();
	}
	cap->display = DISPLAY_OFF;
}

/* Every client takes H.264 straight from the plane (frame_store.h): no pixel of the frame
 * is read. Whether it changed is the encoder's to find out (an unchanged picture costs
 * skipped macroblocks on the GPU, not a CPU readback), so every tick is a new picture for
 * it and the whole screen is marked. The shadow framebuffer keeps the last frame read and
 * the damage state its hashes: once a client needs pixels again, the next read finds
 * every tile that differs from it. */
static void publish_unread(struct capture *cap, struct vnc_server *srv,
			   const struct plane_info *p, int fd)
{
	frame_store_publish(cap->frames, p, fd, true);
	const uint32_t all[4] = {0, 0, p->width, p->height};
	vnc_server_mark_modified(srv, all, 1);
	atomic_fetch_add_explicit(&cap->stats.frames_unread, 1, memory_order_relaxed);
}

static void capture_primary(struct capture *cap, struct vnc_server *srv)
{
	static struct log_ratelimit rl_query, rl_invalid, rl_map;
	struct plane_info p;
	char why[200];
	int r = query(cap, PLANE_PRIMARY, &p);
	if (r < 0) {
		if (!cap->lost)
			events_device_lost(strerror(-r));
		cap->lost = true;
		log_ratelimited(&rl_query, 5000, LOG_WARN, "primary plane query failed: %s",
				strerror(-r));
		return;
	}
	cap->lost = false;
	if (p.dmabuf_id == 0 && !p.is_region) {
		set_display_off(cap);
		return;
	}
	if (plane_info_validate(&p, why, sizeof(why)) < 0) {
		atomic_fetch_add_explicit(&cap->stats.frames_rejected, 1, memory_order_relaxed);
		log_ratelimited(&rl_invalid, 5000, LOG_WARN,
				"primary plane (dmabuf id %u) rejected: %s; keeping the last frame",
				p.dmabuf_id, why);
		return;
	}
	struct dmabuf_buffer *buf;
	if (dmabuf_cache_get(&cap->primary_cache, &p, &buf, why, sizeof(why)) < 0) {
		atomic_fetch_add_explicit(&cap->stats.frames_rejected, 1, memory_order_relaxed);
		log_ratelimited(&rl_map, 5000, LOG_WARN, "primary plane: %s; keeping the last frame",
				why);
		return;
	}
	if (cap->display != DISPLAY_ON || !plane_info_same_geometry(&cap->shown, &p)) {
		if (follow_mode(cap, srv, &p) < 0)
			return;
	} else if (cap->display == DISPLAY_ON && cap->shown.dmabuf_id != p.dmabuf_id) {
		log_debug("page flip: dmabuf id %u -> %u", cap->shown.dmabuf_id, p.dmabuf_id);
	}
	cap->display = DISPLAY_ON;
	cap->shown = p;

	if (!frame_store_needs_pixels(cap->frames)) {
		publish_unread(cap, srv, &p, buf->fd);
		return;
	}
	if (dmabuf_buffer_begin_read(buf) < 0) {
		/* Logged by the cache; the last good frame stays. */
		atomic_fetch_add_explicit(&cap->stats.frames_rejected, 1, memory_order_relaxed);
		dmabuf_buffer_end_read(buf);
		return;
	}
	/* Hash and copy in one pass: the shadow framebuffer always holds the last frame
	 * (cursors are drawn into private copies, a resize starts damage afresh). */
	size_t fb_stride;
	uint8_t *fb = vnc_server_framebuffer(srv, &fb_stride);
	/* Where the source says what changed (QEMU's D-Bus display), only that is copied. */
	memset(cap->changed, 0, damage_tile_count(&cap->damage));
	size_t n = plane_source_damage(cap->src, p.dmabuf_id, DAMAGE_TILE, cap->damage.cols,
				       cap->damage.rows, cap->changed) >= 0
		? damage_copy_tiles(&cap->damage, buf->pixels, p.stride, p.fourcc, fb, fb_stride,
				    cap->changed)
		: damage_refine_copy(&cap->damage, buf->pixels, p.stride, p.fourcc, fb, fb_stride,
				     cap->changed);
	size_t n_rects = n ? changed_rects(cap) : 0;
	dmabuf_buffer_end_read(buf);
	atomic_fetch_add_explicit(&cap->stats.pixel_bytes, (uint64_t)p.stride * p.height,
				  memory_order_relaxed);
	/* Publish the new generation before telling clients, so that an encoder woken by the
	 * damage always finds the frame it was woken for. */
	frame_store_publish(cap->frames, &p, buf->fd, n > 0);
	atomic_fetch_add_explicit(&cap->stats.tiles_seen, damage_tile_count(&cap->damage),
				  memory_order_relaxed);
	if (n) {
		vnc_server_mark_modified(srv, cap->rects, n_rects);
		atomic_fetch_add_explicit(&cap->stats.frames_changed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&cap->stats.tiles_changed, n, memory_order_relaxed);
	}
}

static void hide_cursor(struct capture *cap, struct vnc_server *srv)
{
	if (!cap->cursor_shown)
		return;
	vnc_server_set_cursor(srv, NULL, 0, 0, 0, 0, 0);
	cap->cursor_shown = false;
	cap->cursor_id = 0;
}

static void capture_cursor(struct capture *cap, struct vnc_server *srv)
{
	static struct log_ratelimit rl_invalid;
	struct plane_info p;
	char why[200];
	/* A region plane is never a cursor: mdpy answers a cursor query with its primary. */
	if (query(cap, PLANE_CURSOR, &p) < 0 || p.dmabuf_id == 0 || p.is_region ||
	    p.drm_plane_type != PLANE_CURSOR) {
		hide_cursor(cap, srv);
		return;
	}
	struct dmabuf_buffer *buf = NULL;
	if (plane_info_validate(&p, why, sizeof(why)) < 0 ||
	    dmabuf_cache_get(&cap->cursor_cache, &p, &buf, why, sizeof(why)) < 0) {
		log_ratelimited(&rl_invalid, 5000, LOG_WARN, "cursor plane (dmabuf id %u) rejected: %s",
				p.dmabuf_id, why);
		hide_cursor(cap, srv);
		return;
	}
	/* The shape may change in place under the same id, so compare its pixels too (a
	 * cursor is a few KiB: cheap). */
	if (dmabuf_buffer_begin_read(buf) < 0) {
		dmabuf_buffer_end_read(buf);
		return;
	}
	size_t bytes = (size_t)p.stride * (p.height - 1) + (size_t)p.width * 4;
	uint64_t hash = XXH3_64bits(buf->pixels, bytes);
	bool changed = !cap->cursor_shown || p.dmabuf_id != cap->cursor_id ||
		       hash != cap->cursor_hash || !plane_info_same_geometry(&p, &cap->cursor_info) ||
		       p.x_hot != cap->cursor_info.x_hot || p.y_hot != cap->cursor_info.y_hot;
	if (changed) {
		vnc_server_set_cursor(srv, buf->pixels, p.stride, p.width, p.height, p.x_hot,
				      p.y_hot);
		cap->cursor_shown = true;
		cap->cursor_id = p.dmabuf_id;
		cap->cursor_hash = hash;
	}
	dmabuf_buffer_end_read(buf);
	cap->cursor_info = p;
	/* Position and hotspot are signed in practice (a cursor partly off the left edge). */
	int x = (int32_t)p.x + (int)p.x_hot, y = (int32_t)p.y + (int)p.y_hot;
	vnc_server_move_cursor(srv, x, y);
}

/* A client's SetDesktopSize, passed on to the source: at most once a
 * CAPTURE_RESIZE_INTERVAL_MS; until then the request waits in the server, where later ones
 * replace it. */
static void ask_size(struct capture *cap, struct vnc_server *srv)
{
	if (!srv || !cap->src->ops->request_size)
		return;
	uint64_t now = clock_now_ms();
	if (cap->size_asked && now - cap->asked_ms < CAPTURE_RESIZE_INTERVAL_MS)
		return;
	uint32_t w, h;
	if (!vnc_server_take_size_request(srv, &w, &h))
		return;
	if (cap->size_asked && w == cap->asked_w && h == cap->asked_h &&
	    now - cap->asked_ms < CAPTURE_RESIZE_REPEAT_MS) {
		log_debug("a %ux%u display was asked for %.1f s ago: not again yet", w, h,
			  (double)(now - cap->asked_ms) / 1000.0);
		return;
	}
	cap->size_asked = true;
	cap->asked_w = w;
	cap->asked_h = h;
	cap->asked_ms = now;
	int r = cap->src->ops->request_size(cap->src, w, h);
	cap->size_requests++;
	log_info("a client asked for a %ux%u display: %s (request %llu to the source)", w, h,
		 r == 0 ? "asked the guest" : strerror(-r), (unsigned long long)cap->size_requests);
}

void capture_tick(struct capture *cap, struct vnc_server *srv)
{
	atomic_fetch_add_explicit(&cap->stats.ticks, 1, memory_order_relaxed);
	ask_size(cap, srv);
	capture_primary(cap, srv);
	if (cap->display == DISPLAY_ON)
		capture_cursor(cap, srv);
	else
		hide_cursor(cap, srv);
	const struct capture_stats *st = &cap->stats;
	metrics_set_capture(&(struct metrics_capture){
		.ticks = atomic_load(&st->ticks), .frames_changed = atomic_load(&st->frames_changed),
		.tiles_changed = atomic_load(&st->tiles_changed), .tiles_seen = atomic_load(&st->tiles_seen),
		.frames_rejected = atomic_load(&st->frames_rejected),
		.mode_changes = atomic_load(&st->mode_changes),
		.input_ticks = atomic_load(&st->input_ticks), .burst_ticks = atomic_load(&st->burst_ticks)});
}

/* Why a tick runs (capture_stats counts the last two). */
enum tick_cause { TICK_SCHEDULE, TICK_INPUT, TICK_BURST };

/* The capture thread's schedule, on CLOCK_MONOTONIC in nanoseconds. */
struct pacing {
	uint64_t period_ns;       /* 1 / --fps */
	uint64_t burst_period_ns; /* 1 / CAPTURE_BURST_HZ, or the period if that is shorter */
	uint64_t next_ns;         /* when the next tick is due */
	uint64_t last_ns;         /* when the last tick started */
	uint64_t burst_until_ns;  /* faster ticks until then (after a client's input) */
};

/* Sleep until the next tick is due and say why it runs. Fixed rate: --fps, or
 * CAPTURE_BURST_HZ for CAPTURE_BURST_MS after a client's key or pointer event; if a tick
 * overran, the schedule starts again from now rather than running ticks back to back. A
 * client's input ends the sleep at once (the guest answers it within moments), though
 * never less than CAPTURE_INPUT_GAP_MS after the last tick started. */
static enum tick_cause wait_next_tick(struct capture *cap, struct pacing *pc)
{
	uint64_t now = clock_now_ns();
	bool burst = now < pc->burst_until_ns;
	pc->next_ns += burst ? pc->burst_period_ns : pc->period_ns;
	if (pc->next_ns < now)
		pc->next_ns = now;
	struct timespec until = clock_timespec_ns(pc->next_ns);
	if (!vnc_server_sleep_until_input(cap->srv, &until))
		return burst ? TICK_BURST : TICK_SCHEDULE;
	now = clock_now_ns();
	pc->burst_until_ns = now + CAPTURE_BURST_MS * 1000000ull;
	uint64_t earliest = pc->last_ns + CAPTURE_INPUT_GAP_MS * 1000000ull;
	if (now < earliest)
		clock_sleep_until_ns(earliest);
	pc->next_ns = now < earliest ? earliest : now;
	return TICK_INPUT;
}

static void *capture_thread(void *arg)
{
	struct capture *cap = arg;
	struct pacing pc = {.period_ns = 1000000000u / cap->fps};
	pc.burst_period_ns = 1000000000u / CAPTURE_BURST_HZ;
	if (pc.burst_period_ns > pc.period_ns)
		pc.burst_period_ns = pc.period_ns;
	bool active = false;
	enum tick_cause cause = TICK_SCHEDULE;
	while (!atomic_load(&cap->stop)) {
		if (!vnc_server_wait_for_viewers(cap->srv, CAPTURE_IDLE_WAIT_MS)) {
			if (active)
				log_debug("no clients: capture idle");
			active = false;
			continue;
		}
		if (!active) {
			log_debug("capturing at %u frames a second", cap->fps);
			pc.next_ns = clock_now_ns();
			active = true;
		}
		if (atomic_load(&cap->stop))
			break;
		if (cause == TICK_INPUT)
			atomic_fetch_add_explicit(&cap->stats.input_ticks, 1, memory_order_relaxed);
		else if (cause == TICK_BURST)
			atomic_fetch_add_explicit(&cap->stats.burst_ticks, 1, memory_order_relaxed);
		pc.last_ns = clock_now_ns();
		capture_tick(cap, cap->srv);
		cause = wait_next_tick(cap, &pc);
	}
	return NULL;
}

int capture_start(struct capture *cap, struct vnc_server *srv)
{
	cap->srv = srv;
	atomic_store(&cap->stop, false);
	int r = pthread_create(&cap->thread, NULL, capture_thread, cap);
	if (r != 0)
		return -r;
	cap->running = true;
	return 0;
}

void capture_stop(struct capture *cap)
{
	if (!cap->running)
		return;
	atomic_store(&cap->stop, true);
	vnc_server_wake(cap->srv);
	pthread_join(cap->thread, NULL);
	cap->running = false;
}
