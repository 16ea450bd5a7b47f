/* The hostile scene's lies: one table row per bad plane, and the buffers they need. */
#include "synthetic_hostile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd.h"

#define FOURCC_YUYV PLANE_FOURCC('Y', 'U', 'Y', 'V')

typedef void (*lie_fn)(struct synth_hostile *h, struct plane_info *p);

struct hostile_case {
	const char *name;
	enum plane_type plane; /* the plane whose description it changes */
	unsigned flags;
	lie_fn lie;            /* NULL: the query fails instead */
};

/* ---- primary plane ---- */

static void zero_width(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->width = 0;
}

static void zero_height(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->height = 0;
}

static void zero_size(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->size = 0;
}

static void huge_width(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->width = 100000;
	p->stride = 400000;
}

static void huge_height(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->height = 0x7fffffffu;
}

/* 8192 x 8192 inside the limits, but on the small buffer's size. */
static void huge_mode(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->width = PLANE_MAX_WIDTH;
	p->height = PLANE_MAX_HEIGHT;
	p->stride = PLANE_MAX_WIDTH * 4;
}

/* stride * height wraps around 32 bits to less than the size. */
static void stride_overflow(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->width = PLANE_MAX_WIDTH;
	p->height = PLANE_MAX_HEIGHT;
	p->stride = 0x80000000u;
	p->size = 0xffffffffu;
}

static void stride_short(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->stride = p->width * 4 - 4;
}

/* Rows that start at odd byte offsets (one row fewer, so that the size still covers
 * them): no scan-out engine makes them. */
static void stride_odd(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->stride = p->width * 4 + 1;
	p->height -= 1;
}

static void size_short(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->size = p->stride * (p->height - 1) + p->width * 4 - 1;
}

static void unknown_fourcc(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->fourcc = FOURCC_YUYV;
}

static void unknown_modifier(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->modifier = 0x00ffffffffffffffull;
}

static void unknown_type(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->drm_plane_type = 7;
}

static void short_fd(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->dmabuf_id = SYNTH_HOSTILE_SHORT_ID;
}

static void refused_id(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->dmabuf_id = SYNTH_HOSTILE_REFUSED_ID;
}

static void region_plane(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->dmabuf_id = 0;
	p->is_region = true;
	p->region_index = 9;
}

/* Legal but unkind: every query names a new id for the same buffer. */
static void rolling_id(struct synth_hostile *h, struct plane_info *p)
{
	p->dmabuf_id = SYNTH_HOSTILE_ROLLING_ID + h->rolling++ % 100000u;
}

/* ---- cursor plane ---- */

/* 512 x 512, the largest cursor we take, on any screen (the scene's is smaller). */
static void cursor_big(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->dmabuf_id = SYNTH_HOSTILE_BIG_CURSOR_ID;
	p->width = p->height = SYNTH_HOSTILE_BIG_CURSOR;
	p->stride = SYNTH_HOSTILE_BIG_CURSOR * 4;
	p->size = p->stride * SYNTH_HOSTILE_BIG_CURSOR;
	p->x_hot = p->y_hot = SYNTH_HOSTILE_BIG_CURSOR - 1;
}

static void cursor_too_big(struct synth_hostile *h, struct plane_info *p)
{
	cursor_big(h, p);
	p->width = SYNTH_HOSTILE_BIG_CURSOR + 1;
	p->x_hot = 0;
}

/* Where x + hotspot overflows an int. */
static void cursor_far_right(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->x = 0x7fffffffu;
	p->y = 0x7fffff00u;
}

static void cursor_far_left(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->x = (uint32_t)-100000;
	p->y = 0x80000000u;
}

/* Off the right edge, but by less than a screen: legal, clamped. */
static void cursor_off_screen(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->x = 5000;
	p->y = (uint32_t)-20;
}

static void cursor_hotspot_outside(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->x_hot = p->width + 8;
	p->y_hot = 0xffffffffu - 1;
}

static void cursor_tiled(struct synth_hostile *h, struct plane_info *p)
{
	(void)h;
	p->modifier = PLANE_MODIFIER_INTEL_X_TILED;
}

#define PB SYNTH_HOSTILE_PRIMARY_BAD
#define CB SYNTH_HOSTILE_CURSOR_BAD

static const struct hostile_case cases[] = {
	{"primary width 0", PLANE_PRIMARY, PB, zero_width},
	{"primary height 0", PLANE_PRIMARY, PB, zero_height},
	{"primary size 0", PLANE_PRIMARY, PB, zero_size},
	{"primary 100000 pixels wide", PLANE_PRIMARY, PB, huge_width},
	{"primary 2^31 rows high", PLANE_PRIMARY, PB, huge_height},
	{"primary 8192x8192 on a small buffer", PLANE_PRIMARY, PB, huge_mode},
	{"primary stride x height overflows 32 bits", PLANE_PRIMARY, PB, stride_overflow},
	{"primary stride smaller than a row", PLANE_PRIMARY, PB, stride_short},
	{"primary stride at an odd offset", PLANE_PRIMARY, PB, stride_odd},
	{"primary size smaller than stride x height", PLANE_PRIMARY, PB, size_short},
	{"primary fourcc YUYV", PLANE_PRIMARY, PB, unknown_fourcc},
	{"primary unknown modifier", PLANE_PRIMARY, PB, unknown_modifier},
	{"primary unknown plane type", PLANE_PRIMARY, PB, unknown_type},
	{"primary fd shorter than its size", PLANE_PRIMARY, PB, short_fd},
	{"primary id the device refuses", PLANE_PRIMARY, PB, refused_id},
	{"primary region plane on a dma-buf device", PLANE_PRIMARY, PB, region_plane},
	{"primary query fails with EIO", PLANE_PRIMARY, PB | SYNTH_HOSTILE_QUERY_FAILS, NULL},
	{"primary id changes on every query", PLANE_PRIMARY, 0, rolling_id},
	{"cursor 512x512, larger than the screen", PLANE_CURSOR, 0, cursor_big},
	{"cursor 513 pixels wide", PLANE_CURSOR, CB, cursor_too_big},
	{"cursor at x 2^31-1", PLANE_CURSOR, CB, cursor_far_right},
	{"cursor at x -100000, y -2^31", PLANE_CURSOR, CB, cursor_far_left},
	{"cursor off the screen's edge", PLANE_CURSOR, 0, cursor_off_screen},
	{"cursor hotspot outside the cursor", PLANE_CURSOR, CB, cursor_hotspot_outside},
	{"cursor X-tiled", PLANE_CURSOR, CB, cursor_tiled},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

unsigned synth_hostile_case_count(void)
{
	return (unsigned)N_CASES;
}

const char *synth_hostile_case(unsigned i, unsigned *flags)
{
	if (i >= N_CASES)
		return NULL;
	if (flags)
		*flags = cases[i].flags;
	return cases[i].name;
}

int synth_hostile_case_at(uint64_t tick)
{
	return tick % 2u ? (int)(tick / 2u % N_CASES) : -1;
}

/* ---- buffers ---- */

static int memfd_sized(const char *name, size_t size, int *out)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	*out = fd;
	return 0;
}

/* A translucent checkerboard: something to crop and blend. */
static int fill_big_cursor(int fd)
{
	size_t side = SYNTH_HOSTILE_BIG_CURSOR, len = side * side * 4;
	uint32_t *px = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (px == MAP_FAILED)
		return -errno;
	for (size_t y = 0; y < side; y++)
		for (size_t x = 0; x < side; x++)
			px[y * side + x] = ((x / 16 + y / 16) & 1) ? 0xc0ff8000u : 0x80004080u;
	munmap(px, len);
	return 0;
}

int synth_hostile_init(struct synth_hostile *h, int primary_fd)
{
	size_t big = (size_t)SYNTH_HOSTILE_BIG_CURSOR * SYNTH_HOSTILE_BIG_CURSOR * 4;
	*h = (struct synth_hostile){.short_fd = -1, .big_cursor_fd = -1, .primary_fd = primary_fd};
	int r = memfd_sized("vgpu-hostile-short", 4096, &h->short_fd);
	if (r == 0)
		r = memfd_sized("vgpu-hostile-cursor", big, &h->big_cursor_fd);
	if (r == 0)
		r = fill_big_cursor(h->big_cursor_fd);
	if (r < 0)
		synth_hostile_fini(h);
	return r;
}

void synth_hostile_fini(struct synth_hostile *h)
{
	fd_close(&h->short_fd);
	fd_close(&h->big_cursor_fd);
}

int synth_hostile_apply(struct synth_hostile *h, uint64_t tick, struct plane_info *out)
{
	int i = synth_hostile_case_at(tick);
	if (i < 0)
		return 0;
	const struct hostile_case *c = &cases[i];
	/* A cursor lie needs a cursor to lie about; "no plane now" stays the truth. */
	if (c->plane != (enum plane_type)out->drm_plane_type || out->dmabuf_id == 0)
		return 0;
	if (!c->lie) {
		memset(out, 0, sizeof(*out));
		out->drm_plane_type = c->plane;
		return -EIO;
	}
	c->lie(h, out);
	return 0;
}

int synth_hostile_fd(const struct synth_hostile *h, uint32_t id)
{
	if (id == SYNTH_HOSTILE_SHORT_ID)
		return h->short_fd;
	if (id == SYNTH_HOSTILE_BIG_CURSOR_ID)
		return h->big_cursor_fd;
	if (id >= SYNTH_HOSTILE_ROLLING_ID && id < SYNTH_HOSTILE_ROLLING_ID + 100000u)
		return h->primary_fd;
	return -ENOENT;
}
