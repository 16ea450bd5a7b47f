/* A capture and an H.264-over-VPL client in one process, for what zero copy end to end
 * means: the real capture tick on the synthetic vGPU (its planes are memfd dma-bufs), the
 * real frame store and server (not started: no listeners, no threads), and the real
 * shared stream on the real VPL back end, on the fake runtime (ONEVPL_SEARCH_PATH) with
 * the VA seam of fake_va.h. The "H.264 client" does what open_h264.c does per update: one
 * stream update from a snapshot of the frame store (the dma-buf, no pixels) and the
 * frame store's zero-copy count from the batch.
 *
 * Header-only, static: tests/unit/test_capture_vpl.c and bench/vpl_zero_copy_bench.c.
 */
#ifndef FAKE_VPL_ZERO_COPY_RIG_H
#define FAKE_VPL_ZERO_COPY_RIG_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "fake_va_factory.h"
#include "frame_store.h"
#include "log.h"
#include "open_h264_stream.h"
#include "synthetic.h"
#include "vnc_server.h"

struct zc_rig {
	struct plane_source *src;
	struct frame_store frames;
	struct capture *cap;
	struct config cfg;
	struct vnc_server *srv;
	struct h264_hub *hub;
	struct h264_stream *s;
	struct h264_stream_pos pos;
	struct h264_au *slots[64];
	struct h264_batch b;
	bool zero_copy; /* counted as such in the frame store */
};

/* The frame store's current plane, as open_h264.c hands it to an importing back end. */
static int zc_snap_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	struct frame_snapshot snap;
	int r = frame_store_snapshot(opaque, &snap);
	*gen = snap.generation;
	*overlay = 0;
	if (r < 0)
		return r;
	f->fourcc = snap.plane.fourcc;
	f->dmabuf_fd = snap.fd;
	f->dmabuf_id = snap.plane.dmabuf_id;
	f->modifier = snap.plane.modifier;
	f->dmabuf_stride = snap.plane.stride;
	f->dmabuf_size = snap.plane.size;
	return 0;
}

static void zc_snap_put(void *opaque, struct h264_frame *f)
{
	(void)opaque;
	if (f->dmabuf_fd >= 0)
		close(f->dmabuf_fd);
}

static void zc_rig_destroy(struct zc_rig *r)
{
	h264_batch_release(&r->b);
	if (r->s)
		h264_hub_release(r->hub, r->s);
	h264_hub_destroy(r->hub);
	capture_destroy(r->cap);
	vnc_server_destroy(r->srv);
	frame_store_destroy(&r->frames);
	plane_source_destroy(r->src);
	memset(r, 0, sizeof(*r));
}

/* spec: the synthetic source ("WxH:scene"). 0, or a negative errno with err. */
static int zc_rig_create(struct zc_rig *r, const char *spec, uint32_t w, uint32_t h,
			 char *err, size_t err_len)
{
	memset(r, 0, sizeof(*r));
	frame_store_init(&r->frames);
	char *argv[] = {(char *)"zero-copy", (char *)"--log-level", (char *)"warn", NULL};
	if (config_load(&r->cfg, 3, argv, stdout, stderr) != CONFIG_OK) {
		snprintf(err, err_len, "config_load failed");
		return -EINVAL;
	}
	log_set_level(r->cfg.log_level);
	int rc = synthetic_source_create(spec, &r->src, err, err_len);
	if (rc == 0 && (rc = capture_create(r->src, 30, &r->frames, &r->cap)) < 0)
		snprintf(err, err_len, "capture_create: %s", strerror(-rc));
	if (rc == 0)
		rc = vnc_server_create(&r->cfg, r->src, &r->frames, w, h, &r->srv, err, err_len);
	struct h264_hub_config hc = {.backend = H264_BACKEND_VPL, .fps = 30, .threads = 1,
				     .limits = {64, 1 << 20, 1 << 20, 0},
				     .create = fake_va_factory};
	if (rc == 0 && (rc = h264_hub_create(&hc, &r->hub)) < 0)
		snprintf(err, err_len, "h264_hub_create: %s", strerror(-rc));
	struct h264_stream_key key = {w, h, 6, false};
	if (rc == 0 && !(r->s = h264_hub_acquire(r->hub, &key))) {
		snprintf(err, err_len, "out of memory");
		rc = -ENOMEM;
	}
	if (rc < 0) {
		zc_rig_destroy(r);
		return rc;
	}
	/* The H.264 client is connected: it counts until its stream imports. */
	frame_store_count_client(&r->frames, 1);
	return 0;
}

/* One capture tick at the scene's tick t, then one update of the H.264 client: 0, or
 * a negative errno (H264_STREAM_SKIPPED: -EAGAIN) with err. */
static int zc_rig_tick(struct zc_rig *r, uint64_t t, char *err, size_t err_len)
{
	synthetic_source_set_tick(r->src, t);
	capture_tick(r->cap, r->srv);
	h264_batch_release(&r->b);
	r->b.aus = r->slots;
	r->b.cap = 64;
	struct h264_need need = {.gen = frame_store_generation(&r->frames), .damage = true};
	struct h264_source src = {.get = zc_snap_get, .put = zc_snap_put, .opaque = &r->frames};
	int rc = h264_stream_update(r->hub, r->s, &r->pos, &need, &src, &r->b, err, err_len);
	if (rc != 0)
		return rc < 0 ? rc : -EAGAIN;
	if (r->b.zero_copy != r->zero_copy) {
		r->zero_copy = r->b.zero_copy;
		frame_store_count_zero_copy(&r->frames, r->zero_copy ? 1 : -1);
	}
	return 0;
}

static uint64_t zc_rig_pixel_bytes(const struct zc_rig *r)
{
	return atomic_load(&capture_stats(r->cap)->pixel_bytes);
}

#endif
