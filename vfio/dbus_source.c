/* The D-Bus source's frame side: the plane ops, and the buffers that QEMU's listener
 * calls fill (dbus_source_private.h). Every value QEMU sends is checked here before it touches
 * memory: sizes against PLANE_MAX_*, strides against width * bytes a pixel, data lengths
 * against stride * height, rectangles against the scanout.
 *
 * Scanout pixels are converted into a memfd of ours as XRGB8888 (pixman's 32-, 24- and
 * 16-bit RGB orders), so the capture thread maps it like any plane; a new size gets a new
 * memfd and id, the same size reuses it. QEMU's damage rectangles are kept for the
 * capture thread's damage op (no hashing). The cursor lives in a second memfd (ARGB8888).
 */
#include "dbus_source_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "plane.h"

static unsigned console_index;

void dbus_source_set_console(unsigned index)
{
	console_index = index;
}

static struct dbus_src *from(struct plane_source *src)
{
	return (struct dbus_src *)src;
}

static void buffer_drop(struct dbus_buffer *b)
{
	if (b->map)
		munmap(b->map, b->len);
	if (b->fd >= 0)
		close(b->fd);
	*b = (struct dbus_buffer){.fd = -1};
}

/* A memfd of len bytes, mapped read-write. */
static int buffer_memfd(struct dbus_buffer *b, const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *m = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, (off_t)len) == 0)
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	*b = (struct dbus_buffer){.fd = fd, .map = m, .len = len};
	return 0;
}

/* ---- pixman formats ---------------------------------------------------------------- */

/* pixman's PIXMAN_FORMAT(bpp, type, a, r, g, b) code. */
#define PIXMAN_BPP(f) ((f) >> 24)
#define PIXMAN_TYPE(f) (((f) >> 16) & 0xff)
#define PIXMAN_A(f) (((f) >> 12) & 0x0f)
#define PIXMAN_R(f) (((f) >> 8) & 0x0f)
#define PIXMAN_G(f) (((f) >> 4) & 0x0f)
#define PIXMAN_B(f) ((f) & 0x0f)
#define PIXMAN_TYPE_ARGB 2u
#define PIXMAN_TYPE_ABGR 3u

struct pixfmt {
	unsigned bytes;
	unsigned rs, rw, gs, gw, bs, bw; /* shift and width of each channel */
};

/* The RGB formats a console surface uses (x8r8g8b8, a8r8g8b8, x8b8g8r8, r8g8b8, r5g6b5,
 * x1r5g5b5, ...): 16, 24 or 32 bits, channels 1..8 bits, little endian. */
static int pixfmt_of(uint32_t f, struct pixfmt *p, char *why, size_t why_len)
{
	unsigned bpp = PIXMAN_BPP(f), type = PIXMAN_TYPE(f);
	unsigned a = PIXMAN_A(f), r = PIXMAN_R(f), g = PIXMAN_G(f), b = PIXMAN_B(f);
	if ((bpp != 16 && bpp != 24 && bpp != 32) ||
	    (type != PIXMAN_TYPE_ARGB && type != PIXMAN_TYPE_ABGR) || !r || !g || !b || r > 8 ||
	    g > 8 || b > 8 || a + r + g + b > bpp) {
		snprintf(why, why_len, "pixman format 0x%08x is not a 16/24/32-bit RGB format", f);
		return -EINVAL;
	}
	*p = (struct pixfmt){.bytes = bpp / 8, .rw = r, .gw = g, .bw = b,
			     .gs = type == PIXMAN_TYPE_ARGB ? b : r};
	if (type == PIXMAN_TYPE_ARGB)
		p->rs = b + g;
	else
		p->bs = r + g;
	return 0;
}

static inline uint32_t expand(uint32_t v, unsigned width)
{
	v <<= 8 - width;
	return width >= 8 ? v : v | (v >> width);
}

/* w x h pixels of format f into XRGB8888 rows. */
static void convert(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride,
		    uint32_t w, uint32_t h, const struct pixfmt *f)
{
	bool plain = f->bytes == 4 && f->rs == 16 && f->gs == 8 && f->bs == 0 && f->rw == 8 &&
		     f->gw == 8 && f->bw == 8;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * src_stride;
		uint32_t *d = (uint32_t *)(dst + (size_t)y * dst_stride);
		if (plain) {
			memcpy(d, s, (size_t)w * 4);
			continue;
		}
		for (uint32_t x = 0; x < w; x++, s += f->bytes) {
			uint32_t v = s[0] | (uint32_t)s[1] << 8;
			if (f->bytes > 2)
				v |= (uint32_t)s[2] << 16;
			if (f->bytes > 3)
				v |= (uint32_t)s[3] << 24;
			uint32_t r = expand((v >> f->rs) & ((1u << f->rw) - 1), f->rw);
			uint32_t g = expand((v >> f->gs) & ((1u << f->gw) - 1), f->gw);
			uint32_t b = expand((v >> f->bs) & ((1u << f->bw) - 1), f->bw);
			d[x] = r << 16 | g << 8 | b;
		}
	}
}

/* Geometry and data of w x h pixels, stride bytes a row, len bytes sent. */
static int check_pixels(const char *what, uint32_t w, uint32_t h, uint32_t stride,
			const struct pixfmt *f, size_t len, uint32_t max_w, uint32_t max_h,
			char *why, size_t why_len)
{
	if (w == 0 || h == 0 || w > max_w || h > max_h) {
		snprintf(why, why_len, "%s: size %ux%u outside 1x1..%ux%u", what, w, h, max_w, max_h);
		return -EINVAL;
	}
	if (stride < (uint64_t)w * f->bytes) {
		snprintf(why, why_len, "%s: stride %u < width %u * %u", what, stride, w, f->bytes);
		return -EINVAL;
	}
	uint64_t need = (uint64_t)stride * (h - 1) + (uint64_t)w * f->bytes;
	if (len < need) {
		snprintf(why, why_len, "%s: %zu bytes of pixel data for %ux%u stride %u (%llu needed)",
			 what, len, w, h, stride, (unsigned long long)need);
		return -EINVAL;
	}
	return 0;
}

/* Lock held. */
static void damage_add(struct dbus_src *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	if (s->dmg_all)
		return;
	if (s->ndmg == DBUS_DAMAGE_MAX) {
		s->dmg_all = true;
		return;
	}
	uint32_t *r = s->dmg[s->ndmg++];
	r[0] = x, r[1] = y, r[2] = w, r[3] = h;
}

static uint32_t new_id(struct dbus_src *s)
{
	if (++s->next_id == 0)
		s->next_id = 1;
	return s->next_id;
}

/* ---- what the listener calls (GLib thread) -------------------------------------------- */

/* Lock held: a memfd scanout of w x h (a new one, black, when the size changes). */
static int ensure_size(struct dbus_src *s, uint32_t w, uint32_t h, char *why, size_t why_len)
{
	if (!s->prim.dmabuf && s->prim.map && s->prim.width == w && s->prim.height == h)
		return 0;
	struct dbus_buffer b;
	int r = buffer_memfd(&b, "vgpu-vnc-dbus-scanout", (size_t)w * h * 4);
	if (r < 0) {
		snprintf(why, why_len, "Scanout %ux%u: no memory for it: %s", w, h, strerror(-r));
		return r;
	}
	buffer_drop(&s->prim);
	s->prim = b;
	s->prim.id = new_id(s);
	s->prim.width = w;
	s->prim.height = h;
	s->prim.stride = w * 4;
	s->prim.fourcc = PLANE_FORMAT_XRGB8888;
	s->dmg_all = true;
	return 0;
}

int dbus_frame_resize(struct dbus_src *s, uint32_t w, uint32_t h, char *why, size_t why_len)
{
	if (w == 0 || h == 0 || w > PLANE_MAX_WIDTH || h > PLANE_MAX_HEIGHT) {
		snprintf(why, why_len, "console size %ux%u outside 1x1..%ux%u", w, h, PLANE_MAX_WIDTH,
			 PLANE_MAX_HEIGHT);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	int r = ensure_size(s, w, h, why, why_len);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int dbus_frame_scanout(struct dbus_src *s, uint32_t w, uint32_t h, uint32_t stride,
		       uint32_t pixman, const void *data, size_t len, char *why, size_t why_len)
{
	struct pixfmt f;
	int r = pixfmt_of(pixman, &f, why, why_len);
	if (r == 0)
		r = check_pixels("Scanout", w, h, stride, &f, len, PLANE_MAX_WIDTH, PLANE_MAX_HEIGHT,
				 why, why_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	s->scanouts++;
	r = ensure_size(s, w, h, why, why_len);
	if (r < 0) {
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	convert(s->prim.map, s->prim.stride, data, stride, w, h, &f);
	s->dmg_all = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int dbus_frame_update(struct dbus_src *s, int32_t x, int32_t y, int32_t w, int32_t h,
		      uint32_t stride, uint32_t pixman, const void *data, size_t len, char *why,
		      size_t why_len)
{
	struct pixfmt f;
	int r = pixfmt_of(pixman, &f, why, why_len);
	if (r == 0 && (x < 0 || y < 0)) {
		snprintf(why, why_len, "Update at %d,%d: negative position", x, y);
		r = -EINVAL;
	}
	if (r == 0)
		r = check_pixels("Update", (uint32_t)w, (uint32_t)h, stride, &f, len,
				 PLANE_MAX_WIDTH, PLANE_MAX_HEIGHT, why, why_len);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	s->updates++;
	if (!s->prim.map) {
		pthread_mutex_unlock(&s->lock);
		snprintf(why, why_len, "Update %dx%d at %d,%d: no Scanout before it", w, h, x, y);
		return -ERANGE;
	}
	if ((uint64_t)x + (uint64_t)w > s->prim.width || (uint64_t)y + (uint64_t)h > s->prim.height) {
		snprintf(why, why_len, "Update %dx%d at %d,%d: outside the %ux%u scanout", w, h, x,
			 y, s->prim.width, s->prim.height);
		pthread_mutex_unlock(&s->lock);
		return -ERANGE;
	}
	convert(s->prim.map + (size_t)y * s->prim.stride + (size_t)x * 4, s->prim.stride, data,
		stride, (uint32_t)w, (uint32_t)h, &f);
	damage_add(s, (uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int dbus_frame_scanout_dmabuf(struct dbus_src *s, int fd, uint32_t w, uint32_t h,
			      uint32_t stride, uint32_t fourcc, uint64_t modifier, bool y0_top,
			      char *why, size_t why_len)
{
	struct plane_info p = {.drm_plane_type = PLANE_PRIMARY, .fourcc = fourcc,
			       .modifier = modifier, .width = w, .height = h, .stride = stride,
			       .dmabuf_id = 1};
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	int r = 0;
	if (fd < 0) {
		snprintf(why, why_len, "ScanoutDMABUF: no fd");
		return -EINVAL;
	}
	if (size <= 0 || size > UINT32_MAX) {
		snprintf(why, why_len, "ScanoutDMABUF: fd %d is not a dma-buf of a usable size", fd);
		r = -EINVAL;
	} else if (!y0_top) {
		/* GL's bottom-up rows: the capture path reads rows top-down only. */
		snprintf(why, why_len, "ScanoutDMABUF %ux%u: bottom-up (y0_top false) is not supported",
			 w, h);
		r = -ENOTSUP;
	} else {
		p.size = (uint32_t)size;
		r = plane_info_validate(&p, why, why_len);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	pthread_mutex_lock(&s->lock);
	buffer_drop(&s->prim);
	s->prim = (struct dbus_buffer){.fd = fd, .len = (size_t)size, .id = new_id(s), .width = w,
				       .height = h, .stride = stride, .fourcc = fourcc,
				       .modifier = modifier, .dmabuf = true};
	s->dmg_all = true;
	s->scanouts++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int dbus_frame_update_dmabuf(struct dbus_src *s, int32_t x, int32_t y, int32_t w, int32_t h,
			     char *why, size_t why_len)
{
	pthread_mutex_lock(&s->lock);
	int r = 0;
	if (!s->prim.dmabuf) {
		snprintf(why, why_len, "UpdateDMABUF: no ScanoutDMABUF before it");
		r = -EINVAL;
	} else if (x < 0 || y < 0 || w <= 0 || h <= 0 ||
		   (uint64_t)x + (uint64_t)w > s->prim.width ||
		   (uint64_t)y + (uint64_t)h > s->prim.height) {
		snprintf(why, why_len, "UpdateDMABUF %dx%d at %d,%d: outside the %ux%u scanout", w, h,
			 x, y, s->prim.width, s->prim.height);
		r = -EINVAL;
	} else {
		damage_add(s, (uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h);
		s->updates++;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void dbus_frame_disable(struct dbus_src *s)
{
	pthread_mutex_lock(&s->lock);
	buffer_drop(&s->prim);
	buffer_drop(&s->cursor);
	s->ndmg = 0;
	s->dmg_all = true;
	pthread_mutex_unlock(&s->lock);
}

int dbus_cursor_define(struct dbus_src *s, int32_t w, int32_t h, int32_t hot_x, int32_t hot_y,
		       const void *data, size_t len, char *why, size_t why_len)
{
	if (w <= 0 || h <= 0 || w > (int32_t)PLANE_MAX_CURSOR || h > (int32_t)PLANE_MAX_CURSOR) {
		snprintf(why, why_len, "CursorDefine: size %dx%d outside 1x1..%ux%u", w, h,
			 PLANE_MAX_CURSOR, PLANE_MAX_CURSOR);
		return -EINVAL;
	}
	if (hot_x < 0 || hot_y < 0 || hot_x >= w || hot_y >= h) {
		snprintf(why, why_len, "CursorDefine: hotspot %d,%d outside the %dx%d cursor", hot_x,
			 hot_y, w, h);
		return -EINVAL;
	}
	size_t need = (size_t)w * (size_t)h * 4;
	if (len != need) {
		snprintf(why, why_len, "CursorDefine %dx%d: %zu bytes of pixel data, not %zu", w, h,
			 len, need);
		return -EINVAL;
	}
	struct dbus_buffer b;
	int r = buffer_memfd(&b, "vgpu-vnc-dbus-cursor", need);
	if (r < 0) {
		snprintf(why, why_len, "CursorDefine: %s", strerror(-r));
		return r;
	}
	memcpy(b.map, data, need);
	pthread_mutex_lock(&s->lock);
	buffer_drop(&s->cursor);
	s->cursor = b;
	s->cursor.id = new_id(s);
	s->cursor.width = (uint32_t)w;
	s->cursor.height = (uint32_t)h;
	s->cursor.stride = (uint32_t)w * 4;
	s->cursor.fourcc = PLANE_FORMAT_ARGB8888;
	s->hot_x = hot_x;
	s->hot_y = hot_y;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int dbus_mouse_set(struct dbus_src *s, int32_t x, int32_t y, int32_t on, char *why,
		   size_t why_len)
{
	if (x < 0 || y < 0 || x >= (int32_t)PLANE_MAX_WIDTH || y >= (int32_t)PLANE_MAX_HEIGHT) {
		snprintf(why, why_len, "MouseSet: position %d,%d outside 0,0..%u,%u", x, y,
			 PLANE_MAX_WIDTH - 1, PLANE_MAX_HEIGHT - 1);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	s->mouse_x = x;
	s->mouse_y = y;
	s->cursor_on = on != 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- plane ops (capture thread) -------------------------------------------------------- */

static void describe(const struct dbus_buffer *b, enum plane_type type, struct plane_info *out)
{
	*out = (struct plane_info){.drm_plane_type = type, .fourcc = b->fourcc,
				   .modifier = b->modifier, .width = b->width, .height = b->height,
				   .stride = b->stride, .size = (uint32_t)b->len,
				   .dmabuf_id = b->id};
}

static int dbus_query(struct plane_source *src, enum plane_type type, struct plane_info *out)
{
	struct dbus_src *s = from(src);
	*out = (struct plane_info){.drm_plane_type = type};
	pthread_mutex_lock(&s->lock);
	if (type == PLANE_PRIMARY && s->prim.id) {
		describe(&s->prim, type, out);
	} else if (type == PLANE_CURSOR && s->cursor.id && s->cursor_on && s->prim.id) {
		describe(&s->cursor, type, out);
		/* The plane's top-left: the pointer less the hotspot, possibly off screen. */
		out->x = (uint32_t)(s->mouse_x - s->hot_x);
		out->y = (uint32_t)(s->mouse_y - s->hot_y);
		out->x_hot = (uint32_t)s->hot_x;
		out->y_hot = (uint32_t)s->hot_y;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int dbus_get_dmabuf(struct plane_source *src, uint32_t id)
{
	struct dbus_src *s = from(src);
	int fd = -ENOENT;
	pthread_mutex_lock(&s->lock);
	const struct dbus_buffer *b = id == s->prim.id ? &s->prim
				      : id == s->cursor.id ? &s->cursor : NULL;
	if (id && b && b->fd >= 0) {
		fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			fd = -errno;
	}
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static int dbus_damage(struct plane_source *src, uint32_t id, uint32_t tile, uint32_t cols,
		       uint32_t rows, uint8_t *flags)
{
	struct dbus_src *s = from(src);
	uint32_t rects[DBUS_DAMAGE_MAX][4];
	pthread_mutex_lock(&s->lock);
	bool all = s->dmg_all;
	unsigned n = s->ndmg;
	bool current = id && id == s->prim.id && tile &&
		       (uint64_t)cols * tile >= s->prim.width && (uint64_t)rows * tile >= s->prim.height;
	memcpy(rects, s->dmg, n * sizeof(rects[0]));
	if (current) {
		s->ndmg = 0;
		s->dmg_all = false;
	}
	pthread_mutex_unlock(&s->lock);
	if (!current)
		return -ENOTSUP;
	if (all) {
		memset(flags, 1, (size_t)cols * rows);
		return (int)(cols * rows);
	}
	int count = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t x1 = (rects[i][0] + rects[i][2] - 1) / tile;
		uint32_t y1 = (rects[i][1] + rects[i][3] - 1) / tile;
		for (uint32_t ty = rects[i][1] / tile; ty <= y1 && ty < rows; ty++)
			for (uint32_t tx = rects[i][0] / tile; tx <= x1 && tx < cols; tx++) {
				uint8_t *f = &flags[(size_t)ty * cols + tx];
				count += !*f;
				*f = 1;
			}
	}
	return count;
}

static void dbus_destroy(struct plane_source *src)
{
	struct dbus_src *s = from(src);
	dbus_glib_stop(s);
	log_info("dbus %s: %llu scanouts, %llu updates, %llu rejected, %u input events dropped",
		 s->arg[0] ? s->arg : "session bus", (unsigned long long)s->scanouts,
		 (unsigned long long)s->updates, (unsigned long long)s->rejected, s->dropped);
	dbus_frame_disable(s); /* both buffers */
	pthread_mutex_destroy(&s->lock);
	free(s->queue);
	free(s);
}

static const struct plane_source_ops dbus_ops = {
	.name = "qemu-dbus", .query = dbus_query, .get_dmabuf = dbus_get_dmabuf,
	.destroy = dbus_destroy, .damage = dbus_damage, .request_size = dbus_source_request_size};

bool dbus_source_is(const struct plane_source *src)
{
	return src && src->ops == &dbus_ops;
}

int dbus_source_open(const char *kind, const char *arg, struct plane_source **out, char *err,
		     size_t err_len)
{
	*out = NULL;
	if (strlen(arg) >= sizeof(((struct dbus_src *)0)->arg)) {
		snprintf(err, err_len, "source %s:%s: the address is too long", kind, arg);
		return -EINVAL;
	}
	if (!strcmp(kind, "qmp-dbus") && !arg[0]) {
		snprintf(err, err_len, "source qmp-dbus: needs the QMP socket's path (qmp-dbus:PATH)");
		return -EINVAL;
	}
	struct dbus_src *s = calloc(1, sizeof(*s));
	if (!s || !(s->queue = calloc(DBUS_INPUT_QUEUE, sizeof(s->queue[0])))) {
		free(s);
		snprintf(err, err_len, "source %s: out of memory", kind);
		return -ENOMEM;
	}
	s->base.ops = &dbus_ops;
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	snprintf(s->arg, sizeof(s->arg), "%s", arg);
	s->console = console_index;
	s->prim.fd = s->cursor.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	int r = dbus_glib_start(s, err, err_len);
	if (r < 0) {
		free(s->queue);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return r;
	}
	*out = &s->base;
	return 0;
}
