/* The synthetic vGPU plane source: buffers and their ids, the scene clock, locking, and
 * input (synthetic_spec.c parses the spec).
 *
 * Owns every buffer the source ever shows (memfds mapped for drawing, created at start
 * and kept until destroy, so ids are stable and come back) and the scene state. Each
 * buffer remembers the tick its pixels show and the rects it still owes (damage from
 * input while it was not on screen, or never drawn at all). Making a buffer current at a
 * tick adds the rects where the scene differs between its tick and the new one, then
 * renders just the rects owed: incremental drawing that equals a full render.
 *
 * Threads: the capture thread calls query/get_dmabuf/destroy (and request_size, for the
 * server's clients); client threads call pointer/key. One mutex guards the scene and the
 * buffers' state (request_size replaces the primary, so get_dmabuf locks too); drawing
 * happens under it, nothing else slow does.
 */
#include "synthetic.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "synthetic_hostile.h"
#include "synthetic_scenes.h"
#include "synthetic_spec.h"

#define MAX_BUFFERS 4 /* primaries: one per mode, or two for flip */
#define STRIDE_ALIGN 64u

struct synth_buffer {
	uint32_t id;
	int fd;
	void *map;
	int w, h;
	uint32_t fourcc, stride, size;
	uint64_t drawn_tick;
	struct synth_damage damage;
};

struct synth_source {
	struct plane_source base;
	pthread_mutex_t lock;
	struct synth_config cfg;
	struct synth_scene scene;
	struct synth_buffer prim[MAX_BUFFERS];
	unsigned nprim;
	struct synth_buffer cursor[2]; /* enum synth_cursor_shape */
	unsigned ncursor;
	int max_w, max_h;              /* the largest primary: input coordinates live here */
	uint32_t next_id;              /* for a primary made by request_size */
	unsigned size_requests;        /* request_size calls (EDID writes, on a real device) */

	bool started, frozen;
	struct timespec t0;
	uint64_t tick;                 /* the tick on screen */
	int cur;                       /* index into prim, or -1 for "no plane" */

	int px, py;                    /* pointer */
	uint32_t buttons;

	bool hostile_on;               /* the hostile scene's lies (synthetic_hostile.h) */
	struct synth_hostile hostile;
};

static const struct plane_source_ops synth_ops;

static struct synth_source *to_synth(struct plane_source *src)
{
	return (src && src->ops == &synth_ops) ? (struct synth_source *)src : NULL;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- buffers ---- */

static uint32_t round_up(uint64_t v, uint64_t a)
{
	return (uint32_t)((v + a - 1) / a * a);
}

static void buffer_damage_all(struct synth_buffer *b)
{
	synth_damage_clear(&b->damage);
	synth_damage_add(&b->damage, synth_rect_make(0, 0, b->w, b->h));
}

/* A memfd sized like a real device's buffer (page-rounded), sealed against resizing as a
 * dma-buf is, mapped for drawing. Owes a full render until its first one. */
static int buffer_create(struct synth_buffer *b, uint32_t id, int w, int h, uint32_t fourcc)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char name[32];

	*b = (struct synth_buffer){ .id = id, .fd = -1, .map = MAP_FAILED, .w = w, .h = h,
				    .fourcc = fourcc };
	b->stride = round_up((uint64_t)w * 4u, STRIDE_ALIGN);
	b->size = round_up((uint64_t)b->stride * (uint64_t)h, page);
	snprintf(name, sizeof(name), "vgpu-synthetic-%u", id);
	b->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (b->fd < 0)
		return -errno;
	if (ftruncate(b->fd, b->size) < 0)
		return -errno;
	/* Best effort: a consumer that checks seals learns the size cannot change. */
	(void)fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		return -errno;
	buffer_damage_all(b);
	return 0;
}

static void buffer_destroy(struct synth_buffer *b)
{
	if (b->map != MAP_FAILED)
		munmap(b->map, b->size);
	if (b->fd >= 0)
		close(b->fd);
	b->map = MAP_FAILED;
	b->fd = -1;
}

static struct synth_canvas buffer_canvas(const struct synth_buffer *b)
{
	return (struct synth_canvas){ .px = b->map, .w = b->w, .h = b->h, .pitch = b->stride / 4u,
				      .bgr = b->fourcc == PLANE_FORMAT_XBGR8888 };
}

/* Renders the rects the buffer owes, at its tick. On -ENOMEM they stay owed. */
static int buffer_repaint(struct synth_source *s, struct synth_buffer *b)
{
	struct synth_canvas c = buffer_canvas(b);
	struct synth_frame f;

	if (b->damage.n == 0)
		return 0;
	if (synth_frame_init(&f, &s->scene, b->w, b->h, b->drawn_tick))
		return -ENOMEM;
	for (int i = 0; i < b->damage.n; i++)
		synth_frame_render(&f, &c, b->damage.r[i]);
	synth_damage_clear(&b->damage);
	synth_frame_fini(&f);
	return 0;
}

/* Adds where the buffer's picture now, at tick t, differs from the picture `was` (a frame
 * taken earlier for this buffer, or NULL if there is none: then all of it). */
static void buffer_damage_since(struct synth_source *s, struct synth_buffer *b,
				const struct synth_frame *was, uint64_t t)
{
	struct synth_frame now;

	if (!was || synth_frame_init(&now, &s->scene, b->w, b->h, t)) {
		buffer_damage_all(b);
		return;
	}
	synth_frame_diff(was, &now, &b->damage);
	synth_frame_fini(&now);
}

static void buffer_damage_ticks(struct synth_source *s, struct synth_buffer *b, uint64_t t0,
				uint64_t t1)
{
	struct synth_frame was;
	bool have = synth_frame_init(&was, &s->scene, b->w, b->h, t0) == 0;

	buffer_damage_since(s, b, have ? &was : NULL, t1);
	if (have)
		synth_frame_fini(&was);
}

/* ---- time and the current buffer ---- */

static uint64_t clamp_tick(const struct synth_source *s, uint64_t t)
{
	if (s->cfg.has_frames && t > s->cfg.frames)
		t = s->cfg.frames;
	return t < SYNTHETIC_TICK_MAX ? t : SYNTHETIC_TICK_MAX;
}

static uint64_t clock_tick_locked(struct synth_source *s)
{
	struct timespec now;

	if (s->frozen)
		return s->tick;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!s->started) {
		s->started = true;
		s->t0 = now;
		return 0;
	}
	int64_t ns = (int64_t)(now.tv_sec - s->t0.tv_sec) * 1000000000 +
		     (now.tv_nsec - s->t0.tv_nsec);
	if (ns < 0)
		ns = 0;
	uint64_t secs = (uint64_t)ns / 1000000000u, frac = (uint64_t)ns % 1000000000u;
	return clamp_tick(s, secs * s->cfg.rate + frac * s->cfg.rate / 1000000000u);
}

/* Which primary is on screen at a tick, -1 for "no plane". */
static int buffer_index(const struct synth_source *s, uint64_t t)
{
	uint64_t slot = SYNTHETIC_MODE_TICKS + SYNTHETIC_NOPLANE_TICKS;

	switch (s->cfg.scene) {
	case SYNTH_SCENE_FLIP:
		return (int)(t % 2u);
	case SYNTH_SCENE_MODES: {
		uint64_t p = t % (slot * s->nprim);
		return p % slot < SYNTHETIC_MODE_TICKS ? (int)(p / slot) : -1;
	}
	default:
		return 0;
	}
}

/* Puts the picture of tick t on screen: picks the buffer, brings it to t, draws what it
 * owes. Cheap when nothing changed (the common case at a high poll rate). */
static int sync_locked(struct synth_source *s, uint64_t t)
{
	s->tick = t;
	s->cur = buffer_index(s, t);
	if (s->cur < 0)
		return 0;
	struct synth_buffer *b = &s->prim[s->cur];
	if (b->drawn_tick != t && synth_scene_ticks(&s->scene))
		buffer_damage_ticks(s, b, b->drawn_tick, t);
	b->drawn_tick = t;
	return buffer_repaint(s, b);
}

/* Input changed the picture: every buffer owes those rects, the one on screen pays now. */
static void damage_input_locked(struct synth_source *s, struct synth_rect r)
{
	for (unsigned i = 0; i < s->nprim; i++)
		synth_damage_add(&s->prim[i].damage, synth_rect_intersect(
			r, synth_rect_make(0, 0, s->prim[i].w, s->prim[i].h)));
}

static void repaint_current_locked(struct synth_source *s)
{
	if (s->cur >= 0)
		(void)buffer_repaint(s, &s->prim[s->cur]); /* -ENOMEM: stays owed */
}

/* ---- plane_source ops ---- */

static void describe_primary(const struct synth_buffer *b, struct plane_info *out)
{
	out->fourcc = b->fourcc;
	out->modifier = PLANE_MODIFIER_LINEAR;
	out->width = (uint32_t)b->w;
	out->height = (uint32_t)b->h;
	out->stride = b->stride;
	out->size = b->size;
	out->dmabuf_id = b->id;
}

static void describe_cursor(const struct synth_source *s, struct plane_info *out)
{
	const struct synth_buffer *screen = &s->prim[s->cur];
	bool hand = s->buttons & 1u;
	const struct synth_buffer *b = &s->cursor[hand ? SYNTH_CURSOR_HAND : SYNTH_CURSOR_ARROW];
	int hot_x = (int)(hand ? SYNTHETIC_HAND_HOT_X : SYNTHETIC_CURSOR_HOT_X);
	int hot_y = (int)(hand ? SYNTHETIC_HAND_HOT_Y : SYNTHETIC_CURSOR_HOT_Y);

	describe_primary(b, out);
	/* Top-left of the image; negative near the screen's edge, as the uAPI allows. */
	out->x = (uint32_t)(clampi(s->px, 0, screen->w - 1) - hot_x);
	out->y = (uint32_t)(clampi(s->py, 0, screen->h - 1) - hot_y);
	out->x_hot = (uint32_t)hot_x;
	out->y_hot = (uint32_t)hot_y;
}

static int synth_query(struct plane_source *src, enum plane_type type, struct plane_info *out)
{
	struct synth_source *s = to_synth(src);
	int rc;

	memset(out, 0, sizeof(*out));
	out->drm_plane_type = type;
	if (type != PLANE_PRIMARY && type != PLANE_CURSOR)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	rc = sync_locked(s, clock_tick_locked(s));
	if (rc == 0 && s->cfg.has_fail && s->tick >= s->cfg.fail_from && s->tick < s->cfg.fail_to)
		rc = -ENODEV; /* what VFIO_DEVICE_QUERY_GFX_PLANE says once the mdev is gone */
	if (rc == 0 && s->cur >= 0) {
		if (type == PLANE_PRIMARY)
			describe_primary(&s->prim[s->cur], out);
		else if (s->ncursor)
			describe_cursor(s, out);
		if (s->hostile_on)
			rc = synth_hostile_apply(&s->hostile, s->tick, out);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static struct synth_buffer *find_buffer(struct synth_source *s, uint32_t id)
{
	for (unsigned i = 0; i < s->nprim; i++)
		if (s->prim[i].id == id)
			return &s->prim[i];
	for (unsigned i = 0; i < s->ncursor; i++)
		if (s->cursor[i].id == id)
			return &s->cursor[i];
	return NULL;
}

static int synth_get_dmabuf(struct plane_source *src, uint32_t dmabuf_id)
{
	struct synth_source *s = to_synth(src);
	/* Locked: request_size replaces the primary (its id and fd) from another thread. */
	pthread_mutex_lock(&s->lock);
	struct synth_buffer *b = find_buffer(s, dmabuf_id);
	int from = b ? b->fd : s->hostile_on ? synth_hostile_fd(&s->hostile, dmabuf_id) : -ENOENT;
	int fd = from < 0 ? from : fcntl(from, F_DUPFD_CLOEXEC, 0);
	if (from >= 0 && fd < 0)
		fd = -errno;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static void synth_destroy(struct plane_source *src)
{
	struct synth_source *s = to_synth(src);

	if (!s)
		return;
	for (unsigned i = 0; i < s->nprim; i++)
		buffer_destroy(&s->prim[i]);
	for (unsigned i = 0; i < s->ncursor; i++)
		buffer_destroy(&s->cursor[i]);
	if (s->hostile_on)
		synth_hostile_fini(&s->hostile);
	synth_input_free(&s->scene.input);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void synth_pointer(struct plane_source *src, int x, int y, uint32_t buttons)
{
	struct synth_source *s = to_synth(src);

	pthread_mutex_lock(&s->lock);
	x = clampi(x, 0, s->max_w - 1);
	y = clampi(y, 0, s->max_h - 1);
	/* Paint on the press and on every move while button 1 is held, like a brush. */
	if ((buttons & 1u) && (!(s->buttons & 1u) || x != s->px || y != s->py)) {
		damage_input_locked(s, synth_input_paint(&s->scene.input, x, y, s->max_w, s->max_h));
		repaint_current_locked(s);
	}
	s->px = x;
	s->py = y;
	s->buttons = buttons;
	pthread_mutex_unlock(&s->lock);
}

/* The Notes grid of every buffer before and after the key tells which cells changed
 * (a glyph, the caret, or everything when the text scrolls). */
static void synth_key(struct plane_source *src, uint32_t keysym, bool down)
{
	struct synth_source *s = to_synth(src);
	struct synth_frame before[MAX_BUFFERS];
	bool have[MAX_BUFFERS];

	if (!down)
		return;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nprim; i++) {
		struct synth_buffer *b = &s->prim[i];
		have[i] = synth_frame_init(&before[i], &s->scene, b->w, b->h, b->drawn_tick) == 0;
	}
	bool changed = synth_input_key(&s->scene.input, keysym);
	for (unsigned i = 0; i < s->nprim; i++) {
		struct synth_buffer *b = &s->prim[i];
		if (changed)
			buffer_damage_since(s, b, have[i] ? &before[i] : NULL, b->drawn_tick);
		if (have[i])
			synth_frame_fini(&before[i]);
	}
	if (changed)
		repaint_current_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Like a guest that follows its EDID's preferred mode at once: the one primary is replaced
 * by a buffer of that size with a new id (the capture thread sees a mode change). Scenes
 * with several primaries (flip, modes, hostile) keep their sizes: -ENOTSUP. */
static int synth_request_size(struct plane_source *src, uint32_t width, uint32_t height)
{
	struct synth_source *s = to_synth(src);
	struct synth_buffer nb, old;

	if (width < SYNTHETIC_MIN_DIM || height < SYNTHETIC_MIN_DIM ||
	    width > SYNTHETIC_MAX_DIM || height > SYNTHETIC_MAX_DIM)
		return -EINVAL;
	if (s->nprim != 1 || s->hostile_on)
		return -ENOTSUP;
	pthread_mutex_lock(&s->lock);
	uint32_t id = s->next_id++;
	unsigned n = ++s->size_requests;
	pthread_mutex_unlock(&s->lock);
	/* The memfd is made outside the lock: no I/O under it. */
	int rc = buffer_create(&nb, id, (int)width, (int)height, s->cfg.fourcc);
	if (rc) {
		buffer_destroy(&nb);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	old = s->prim[0];
	nb.drawn_tick = s->tick; /* owes a full render: drawn at the next query */
	s->prim[0] = nb;
	s->max_w = (int)width > s->max_w ? (int)width : s->max_w;
	s->max_h = (int)height > s->max_h ? (int)height : s->max_h;
	pthread_mutex_unlock(&s->lock);
	buffer_destroy(&old); /* the capture thread maps its own dup of the fd */
	log_info("synthetic: preferred mode %ux%u (size request %u)", width, height, n);
	return 0;
}

static const struct plane_source_ops synth_ops = {
	.request_size = synth_request_size,
	.name = "synthetic",
	.query = synth_query,
	.get_dmabuf = synth_get_dmabuf,
	.destroy = synth_destroy,
	.pointer = synth_pointer,
	.key = synth_key,
};

/* ---- create ---- */

/* The geometries the source shows: one, or the modes scene's list without repeats. */
static unsigned mode_list(const struct synth_config *cfg, int w[MAX_BUFFERS], int h[MAX_BUFFERS])
{
	static const int std[][2] = { { 640, 480 }, { 800, 600 }, { 1024, 768 } };
	unsigned n = 0;

	w[n] = cfg->w;
	h[n++] = cfg->h;
	if (cfg->scene == SYNTH_SCENE_FLIP) {
		w[n] = cfg->w;
		h[n++] = cfg->h;
	}
	if (cfg->scene != SYNTH_SCENE_MODES)
		return n;
	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
		if (std[i][0] == cfg->w && std[i][1] == cfg->h)
			continue;
		w[n] = std[i][0];
		h[n++] = std[i][1];
	}
	return n;
}

static int create_buffers(struct synth_source *s)
{
	int w[MAX_BUFFERS], h[MAX_BUFFERS];
	uint32_t id = 1;
	int rc;

	unsigned n = mode_list(&s->cfg, w, h);
	for (unsigned i = 0; i < n; i++) {
		rc = buffer_create(&s->prim[i], id++, w[i], h[i], s->cfg.fourcc);
		s->nprim = i + 1; /* so that destroy releases it, even half made */
		if (rc)
			return rc;
		s->max_w = w[i] > s->max_w ? w[i] : s->max_w;
		s->max_h = h[i] > s->max_h ? h[i] : s->max_h;
	}
	s->next_id = id + 2; /* after the cursors' ids, whether there are cursors or not */
	if (!s->cfg.cursor)
		return 0;
	for (unsigned i = 0; i < 2; i++) {
		struct synth_buffer *b = &s->cursor[i];
		rc = buffer_create(b, id++, SYNTHETIC_CURSOR_SIZE, SYNTHETIC_CURSOR_SIZE,
				   PLANE_FORMAT_ARGB8888);
		s->ncursor = i + 1;
		if (rc)
			return rc;
		synth_cursor_draw((enum synth_cursor_shape)i, b->map, b->stride / 4u);
		synth_damage_clear(&b->damage);
	}
	return 0;
}

int synthetic_source_create(const char *spec, struct plane_source **out, char *err,
			    size_t err_len)
{
	struct synth_source *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		synth_spec_error(err, err_len, "out of memory");
		return -ENOMEM;
	}
	rc = synth_spec_parse(spec, &s->cfg, err, err_len);
	if (rc) {
		free(s);
		return rc;
	}
	s->base.ops = &synth_ops;
	pthread_mutex_init(&s->lock, NULL);
	s->scene.kind = s->cfg.scene;
	s->scene.rate = s->cfg.rate;
	s->scene.stamp = s->cfg.stamp;
	s->cur = -1;
	rc = create_buffers(s);
	if (rc == 0 && s->cfg.scene == SYNTH_SCENE_HOSTILE) {
		rc = synth_hostile_init(&s->hostile, s->prim[0].fd);
		s->hostile_on = rc == 0;
	}
	if (rc) {
		synth_spec_error(err, err_len, "cannot create the buffers for '%s': %s", spec ? spec : "",
			   strerror(-rc));
		synth_destroy(&s->base);
		return rc;
	}
	s->px = s->prim[0].w / 2;
	s->py = s->prim[0].h / 2;
	*out = &s->base;
	return 0;
}

/* ---- test and benchmark hooks ---- */

void synthetic_source_set_tick(struct plane_source *src, uint64_t tick)
{
	struct synth_source *s = to_synth(src);

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->frozen = true;
	(void)sync_locked(s, clamp_tick(s, tick)); /* -ENOMEM: owed, drawn at the next query */
	pthread_mutex_unlock(&s->lock);
}

uint64_t synthetic_source_tick(struct plane_source *src)
{
	struct synth_source *s = to_synth(src);
	uint64_t t;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	t = s->tick;
	pthread_mutex_unlock(&s->lock);
	return t;
}

/* A frame of the buffer on screen (the first one while there is none) at the tick on
 * screen. Taken under the lock; what it computed is the caller's. */
static int current_frame(struct plane_source *src, struct synth_frame *f)
{
	struct synth_source *s = to_synth(src);

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	const struct synth_buffer *b = &s->prim[s->cur >= 0 ? s->cur : 0];
	int rc = synth_frame_init(f, &s->scene, b->w, b->h, s->tick);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int synthetic_source_scene_rect(struct plane_source *src, struct synthetic_rect *out)
{
	struct synth_frame f;
	int rc = current_frame(src, &f);

	if (rc)
		return rc;
	struct synth_rect r = synth_scene_animated(f.scene->kind) ? f.element
								   : synth_rect_make(0, 0, 0, 0);
	*out = (struct synthetic_rect){ r.x, r.y, r.w, r.h };
	synth_frame_fini(&f);
	return 0;
}

static struct synthetic_textbox textbox_of(const struct synth_grid *g, uint32_t fg, uint32_t bg)
{
	return (struct synthetic_textbox){
		.x = g->area.x, .y = g->area.y, .cell_w = (uint32_t)g->cw, .cell_h = (uint32_t)g->ch,
		.cols = (uint32_t)g->cols, .rows = (uint32_t)g->rows, .scale = (uint32_t)g->scale,
		.fg_rgb = fg, .bg_rgb = bg,
	};
}

int synthetic_source_textbox(struct plane_source *src, struct synthetic_textbox *out)
{
	struct synth_frame f;
	int rc = current_frame(src, &f);

	if (rc)
		return rc;
	*out = textbox_of(&f.notes, SYNTH_NOTES_FG_RGB, SYNTH_NOTES_BG_RGB);
	synth_frame_fini(&f);
	return 0;
}

int synthetic_source_editor(struct plane_source *src, struct synthetic_textbox *out)
{
	struct synth_frame f;
	int rc = current_frame(src, &f);

	if (rc)
		return rc;
	if (f.scene->kind == SYNTH_SCENE_TYPING)
		*out = textbox_of(&f.editor, SYNTH_EDITOR_FG_RGB, SYNTH_EDITOR_BG_RGB);
	else
		rc = -ENOENT;
	synth_frame_fini(&f);
	return rc;
}
