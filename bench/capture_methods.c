/* The methods of capture_methods.h. */
#include "capture_methods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "damage.h"
#include "frame_store.h"
#include "log.h"
#include "pixel_copy.h"
#include "plane.h"
#include "vnc_server.h"

/* QEMU's VNC_DIRTY_PIXELS_PER_BIT (16) at 4 bytes a pixel. */
#define QEMU_CHUNK_BYTES 64u

const char *const capture_method_names[METHOD_COUNT] = {"memcpy", "qemu",  "pieces",
							 "runs",   "fused", "capture"};

struct capture_rig {
	uint32_t width, height;
	size_t row_bytes;
	uint8_t *shadow[METHOD_FUSED + 1]; /* own shadow for every method but CAPTURE */
	struct damage damage;
	uint8_t *changed;
	struct damage fused;     /* FUSED has its own: its guesses follow its own frames */
	struct config cfg;
	struct vnc_server *srv;
	struct capture *cap;
	struct frame_store frames;
};

void capture_rig_destroy(struct capture_rig *rig)
{
	if (!rig)
		return;
	capture_destroy(rig->cap);
	vnc_server_destroy(rig->srv);
	frame_store_destroy(&rig->frames);
	for (unsigned i = 0; i <= METHOD_FUSED; i++)
		free(rig->shadow[i]);
	damage_destroy(&rig->damage);
	damage_destroy(&rig->fused);
	free(rig->changed);
	free(rig);
}

/* The server as main() makes it, from a command line, minus listeners and threads. */
static int make_server(struct capture_rig *rig, struct plane_source *src)
{
	char *argv[] = {(char *)"capture_bench", (char *)"--log-level", (char *)"warn", NULL};
	if (config_load(&rig->cfg, 3, argv, stdout, stderr) != CONFIG_OK)
		return -EINVAL;
	log_set_level(rig->cfg.log_level);
	char err[256];
	int r = capture_create(src, 30, &rig->frames, &rig->cap);
	if (r == 0)
		r = vnc_server_create(&rig->cfg, src, &rig->frames, rig->width, rig->height,
				      &rig->srv, err, sizeof(err));
	return r;
}

int capture_rig_create(struct plane_source *src, uint32_t width, uint32_t height,
		       struct capture_rig **out)
{
	struct capture_rig *rig = calloc(1, sizeof(*rig));
	if (!rig)
		return -ENOMEM;
	frame_store_init(&rig->frames);
	rig->width = width;
	rig->height = height;
	rig->row_bytes = (size_t)width * 4;
	int r = damage_init(&rig->damage, width, height);
	if (r == 0)
		r = damage_init(&rig->fused, width, height);
	for (unsigned i = 0; r == 0 && i <= METHOD_FUSED; i++) {
		/* Touch every page now: first-touch faults are not steady state. */
		rig->shadow[i] = calloc(rig->row_bytes, height);
		if (!rig->shadow[i])
			r = -ENOMEM;
		else
			memset(rig->shadow[i], 0x55, rig->row_bytes * height);
	}
	if (r == 0) {
		rig->changed = calloc(damage_tile_count(&rig->damage), 1);
		r = rig->changed ? make_server(rig, src) : -ENOMEM;
	}
	if (r < 0) {
		capture_rig_destroy(rig);
		return r;
	}
	*out = rig;
	return 0;
}

size_t capture_rig_tiles(const struct capture_rig *rig)
{
	return damage_tile_count(&rig->damage);
}

static size_t run_memcpy(struct capture_rig *rig, const uint8_t *frame, uint32_t stride)
{
	uint8_t *dst = rig->shadow[METHOD_MEMCPY];
	if (stride == rig->row_bytes) {
		memcpy(dst, frame, rig->row_bytes * rig->height); /* one call: glibc's best case */
		return 0;
	}
	for (uint32_t y = 0; y < rig->height; y++)
		memcpy(dst + y * rig->row_bytes, frame + (size_t)y * stride, rig->row_bytes);
	return 0;
}

static size_t run_qemu(struct capture_rig *rig, const uint8_t *frame, uint32_t stride)
{
	uint8_t *dst = rig->shadow[METHOD_QEMU];
	size_t dirty = 0;
	for (uint32_t y = 0; y < rig->height; y++) {
		const uint8_t *s = frame + (size_t)y * stride;
		uint8_t *d = dst + (size_t)y * rig->row_bytes;
		for (size_t off = 0; off < rig->row_bytes; off += QEMU_CHUNK_BYTES) {
			size_t n = rig->row_bytes - off < QEMU_CHUNK_BYTES ? rig->row_bytes - off
									  : QEMU_CHUNK_BYTES;
			if (memcmp(d + off, s + off, n) == 0)
				continue;
			memcpy(d + off, s + off, n);
			dirty++;
		}
	}
	return dirty;
}

static size_t run_pieces(struct capture_rig *rig, const uint8_t *frame, uint32_t stride)
{
	uint8_t *dst = rig->shadow[METHOD_PIECES];
	size_t n = damage_refine(&rig->damage, frame, stride, rig->changed);
	size_t tiles = damage_tile_count(&rig->damage);
	for (size_t i = 0, done = 0; i < tiles && done < n; i++) {
		if (!rig->changed[i])
			continue;
		uint32_t x, y, w, h;
		damage_tile_rect(&rig->damage, i, &x, &y, &w, &h);
		pixel_copy_rect(dst, rig->row_bytes, frame, stride, PLANE_FORMAT_XRGB8888, x, y, w, h);
		done++;
	}
	return n;
}

/* Copy the changed tiles of tile row ty as maximal horizontal runs, one rect each. */
static void copy_runs(struct capture_rig *rig, uint8_t *dst, const uint8_t *frame,
		      uint32_t stride, uint32_t ty)
{
	const struct damage *d = &rig->damage;
	const uint8_t *c = rig->changed + (size_t)ty * d->cols;
	for (uint32_t tx = 0; tx < d->cols; tx++) {
		if (!c[tx])
			continue;
		uint32_t end = tx;
		while (end + 1 < d->cols && c[end + 1])
			end++;
		uint32_t x = tx * DAMAGE_TILE, y = ty * DAMAGE_TILE;
		uint32_t x_end = (end + 1) * DAMAGE_TILE < d->width ? (end + 1) * DAMAGE_TILE : d->width;
		uint32_t h = d->height - y < DAMAGE_TILE ? d->height - y : DAMAGE_TILE;
		pixel_copy_rect(dst, rig->row_bytes, frame, stride, PLANE_FORMAT_XRGB8888, x, y,
				x_end - x, h);
		tx = end;
	}
}

static size_t run_runs(struct capture_rig *rig, const uint8_t *frame, uint32_t stride)
{
	size_t n = damage_refine(&rig->damage, frame, stride, rig->changed);
	for (uint32_t ty = 0; n && ty < rig->damage.rows; ty++)
		copy_runs(rig, rig->shadow[METHOD_RUNS], frame, stride, ty);
	return n;
}

static size_t run_fused(struct capture_rig *rig, const uint8_t *frame, uint32_t stride)
{
	return damage_refine_copy(&rig->fused, frame, stride, PLANE_FORMAT_XRGB8888,
				  rig->shadow[METHOD_FUSED], rig->row_bytes, rig->changed);
}

static size_t run_capture(struct capture_rig *rig)
{
	const struct capture_stats *st = capture_stats(rig->cap);
	uint64_t before = atomic_load_explicit(&st->tiles_changed, memory_order_relaxed);
	capture_tick(rig->cap, rig->srv);
	return (size_t)(atomic_load_explicit(&st->tiles_changed, memory_order_relaxed) - before);
}

size_t capture_rig_run(struct capture_rig *rig, enum capture_method m, const uint8_t *frame,
		       uint32_t stride)
{
	switch (m) {
	case METHOD_MEMCPY:
		return run_memcpy(rig, frame, stride);
	case METHOD_QEMU:
		return run_qemu(rig, frame, stride);
	case METHOD_PIECES:
		return run_pieces(rig, frame, stride);
	case METHOD_RUNS:
		return run_runs(rig, frame, stride);
	case METHOD_FUSED:
		return run_fused(rig, frame, stride);
	case METHOD_CAPTURE:
		return run_capture(rig);
	case METHOD_COUNT:
		break;
	}
	return 0;
}
