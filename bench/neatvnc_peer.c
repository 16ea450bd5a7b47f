/* neatvnc_peer: the same synthetic vGPU served by neatvnc 0.5, the peer that the
 * benchmark measures vgpu-vnc against (vnc_bench peer, peer.c).
 *
 *   neatvnc_peer --source synthetic:WxH:SCENE [--fps N]
 *
 * It does what a neatvnc-based server (wayvnc 0.5/0.6 with screencopy) does with a source
 * that gives whole frames: once per frame interval (an aml ticker at 1000/fps ms) it asks
 * the synthetic vGPU for its primary plane (the same in-process source vgpu-vnc captures,
 * drawing inside this process as it does inside vgpu-vnc), refines the damage by hashing
 * 32x32 tiles with MurmurHash3 against the last frame's hashes (wayvnc's damage refinery,
 * src/damage-refinery.c, which hashes every tile of the frame: neatvnc 0.5 has no public
 * refinery of its own), and when a tile changed takes a buffer of an nvnc_fb_pool, copies
 * into it what it lacks (the damage since it was last filled, as neatvnc's
 * examples/draw.c) and feeds it to the display with that damage
 * (nvnc_display_feed_buffer). neatvnc then encodes for each client as it
 * chooses (Tight, ZRLE or raw, its own worker threads). Pointer and key events go to the
 * synthetic vGPU, so the latency probe's click stamps a square as it does in vgpu-vnc.
 * The cursor plane is not shown (the clients ask for a remote cursor anyway).
 *
 * It prints "listening on tcp:127.0.0.1:PORT" on stderr (bench_proc.c reads the port from
 * the log), on a loopback port the kernel picked. SIGTERM or SIGINT stop it (exit 0).
 * One thread for the source and the loop; neatvnc's encoders run in its worker pool.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <aml.h>
#include <neatvnc.h>
#include <pixman.h>

#include "plane_source.h"
#include "synthetic.h"

#define TILE 32
#define FOURCC_XR24 0x34325258u /* DRM_FORMAT_XRGB8888 */

struct stale {
	struct pixman_region16 region;
	struct stale *next, **prev;
};

struct peer {
	struct plane_source *src;
	struct nvnc *server;
	struct nvnc_display *display;
	struct nvnc_fb_pool *pool;
	uint32_t id, w, h, stride;     /* the mapped plane */
	uint8_t *map;
	size_t map_len;
	uint32_t *hashes;              /* one per 32x32 tile, of the last frame */
	uint64_t frames_fed;
	struct stale *stale;           /* every pool buffer's, for a mode change */
};

/* MurmurHash3 x86_32 (Austin Appleby, public domain), as wayvnc hashes its tiles. */
static uint32_t rotl32(uint32_t x, int r)
{
	return x << r | x >> (32 - r);
}

static uint32_t murmur3(const uint32_t *words, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t k = words[i] * 0xcc9e2d51u;
		h ^= rotl32(k, 15) * 0x1b873593u;
		h = rotl32(h, 13) * 5 + 0xe6546b64u;
	}
	h ^= (uint32_t)(n * 4);
	h ^= h >> 16, h *= 0x85ebca6bu, h ^= h >> 13, h *= 0xc2b2ae35u, h ^= h >> 16;
	return h;
}

/* wayvnc's refinery: each tile copied out row by row and hashed; a tile whose hash
 * differs from last time is damaged. */
static void refine(struct peer *p, struct pixman_region16 *out)
{
	uint32_t tile[TILE * TILE];
	uint32_t tw = (p->w + TILE - 1) / TILE, th = (p->h + TILE - 1) / TILE;
	for (uint32_t ty = 0; ty < th; ty++) {
		for (uint32_t tx = 0; tx < tw; tx++) {
			uint32_t x0 = tx * TILE, y0 = ty * TILE;
			uint32_t cw = p->w - x0 < TILE ? p->w - x0 : TILE;
			uint32_t ch = p->h - y0 < TILE ? p->h - y0 : TILE;
			size_t n = 0;
			for (uint32_t y = y0; y < y0 + ch; y++) {
				memcpy(tile + n, p->map + (size_t)y * p->stride + x0 * 4, cw * 4);
				n += cw;
			}
			uint32_t hash = murmur3(tile, n, 0), *old = &p->hashes[tx + ty * tw];
			if (hash != *old)
				pixman_region_union_rect(out, out, (int)x0, (int)y0, TILE, TILE);
			*old = hash;
		}
	}
	pixman_region_intersect_rect(out, out, 0, 0, p->w, p->h);
}

/* Map the plane with this id (a new id: a mode change or a flip). 0 or -1. */
static int map_plane(struct peer *p, const struct plane_info *pl)
{
	if (p->map)
		munmap(p->map, p->map_len);
	p->map = NULL;
	int fd = plane_source_get_dmabuf(p->src, pl->dmabuf_id);
	if (fd < 0)
		return -1;
	void *m = mmap(NULL, pl->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	bool resized = pl->width != p->w || pl->height != p->h;
	p->map = m;
	p->map_len = pl->size;
	p->id = pl->dmabuf_id;
	p->w = pl->width, p->h = pl->height, p->stride = pl->stride;
	if (resized || !p->hashes) {
		free(p->hashes);
		p->hashes = calloc((size_t)((p->w + TILE - 1) / TILE) * ((p->h + TILE - 1) / TILE),
				   sizeof(uint32_t));
		for (struct stale *st = p->stale; st; st = st->next)
			pixman_region_union_rect(&st->region, &st->region, 0, 0, p->w, p->h);
		if (!p->pool)
			p->pool = nvnc_fb_pool_new((uint16_t)p->w, (uint16_t)p->h, FOURCC_XR24,
						   (uint16_t)p->w);
		else
			nvnc_fb_pool_resize(p->pool, (uint16_t)p->w, (uint16_t)p->h, FOURCC_XR24,
					    (uint16_t)p->w);
	}
	return p->hashes && p->pool ? 0 : -1;
}

/* A pool buffer's stale region (the damage fed since this buffer was last filled), as
 * neatvnc's examples/draw.c keeps it: a new buffer is stale everywhere. */
static void stale_free(void *region)
{
	struct stale *st = region;
	pixman_region_fini(&st->region);
	if (st->next)
		st->next->prev = st->prev;
	*st->prev = st->next;
	free(st);
}

static struct pixman_region16 *fb_stale(struct peer *p, struct nvnc_fb *fb)
{
	struct stale *st = nvnc_get_userdata(fb);
	if (st)
		return &st->region;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pixman_region_init_rect(&st->region, 0, 0, p->w, p->h);
	st->next = p->stale;
	if (st->next)
		st->next->prev = &st->next;
	st->prev = &p->stale;
	p->stale = st;
	nvnc_set_userdata(fb, st, stale_free);
	return &st->region;
}

/* Copy the region's rectangles from the plane into the buffer (stride w * 4). */
static void copy_region(const struct peer *p, uint8_t *dst, struct pixman_region16 *r)
{
	int n;
	const pixman_box16_t *b = pixman_region_rectangles(r, &n);
	for (int i = 0; i < n; i++)
		for (int y = b[i].y1; y < b[i].y2; y++)
			memcpy(dst + ((size_t)y * p->w + (size_t)b[i].x1) * 4,
			       p->map + (size_t)y * p->stride + (size_t)b[i].x1 * 4,
			       (size_t)(b[i].x2 - b[i].x1) * 4);
}

static void step(struct peer *p)
{
	struct plane_info pl;
	if (plane_source_query(p->src, PLANE_PRIMARY, &pl) < 0 || !pl.dmabuf_id ||
	    plane_format_bpp(pl.fourcc) != 4)
		return;
	if (pl.dmabuf_id != p->id && map_plane(p, &pl) < 0) {
		fprintf(stderr, "neatvnc_peer: cannot map plane %u\n", pl.dmabuf_id);
		return;
	}
	struct pixman_region16 damage;
	pixman_region_init(&damage);
	refine(p, &damage);
	if (pixman_region_not_empty(&damage)) {
		struct nvnc_fb *fb = nvnc_fb_pool_acquire(p->pool);
		struct pixman_region16 *stale = fb ? fb_stale(p, fb) : NULL;
		if (stale) {
			/* What this buffer lacks: all damage since it was last filled. */
			pixman_region_union(stale, stale, &damage);
			copy_region(p, nvnc_fb_get_addr(fb), stale);
			pixman_region_clear(stale);
			nvnc_display_feed_buffer(p->display, fb, &damage);
			nvnc_fb_unref(fb);
			p->frames_fed++;
		}
	}
	pixman_region_fini(&damage);
}

static void on_tick(void *ticker)
{
	step(aml_get_userdata(ticker));
}

static void on_pointer(struct nvnc_client *client, uint16_t x, uint16_t y,
		       enum nvnc_button_mask mask)
{
	struct peer *p = nvnc_get_userdata(nvnc_client_get_server(client));
	if (p->src->ops->pointer)
		p->src->ops->pointer(p->src, x, y, (uint32_t)mask);
}

static void on_key(struct nvnc_client *client, uint32_t keysym, bool down)
{
	struct peer *p = nvnc_get_userdata(nvnc_client_get_server(client));
	if (p->src->ops->key)
		p->src->ops->key(p->src, keysym, down);
}

static void on_signal(void *sig)
{
	(void)sig;
	aml_exit(aml_get_default());
}

/* The port neatvnc listens on: it was opened on port 0 (the kernel picks a free one, no
 * race with other servers on the machine) and neatvnc 0.5 does not say which, so find our
 * listening socket among our fds. -1 if there is none. */
static int listening_port(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		int listening = 0;
		socklen_t ll = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) == 0 && listening &&
		    getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.sin_family == AF_INET)
			return ntohs(a.sin_port);
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *source = NULL;
	unsigned fps = 30;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--source"))
			source = argv[i + 1];
		else if (!strcmp(argv[i], "--fps"))
			fps = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	if (!source || strncmp(source, "synthetic:", 10) || fps < 1 || fps > 1000) {
		fprintf(stderr, "usage: neatvnc_peer --source synthetic:WxH:SCENE [--fps 1..1000]\n");
		return 2;
	}
	struct peer p = {0};
	char err[256];
	if (synthetic_source_create(source + 10, &p.src, err, sizeof(err)) < 0) {
		fprintf(stderr, "neatvnc_peer: %s\n", err);
		return 1;
	}
	if (getenv("NEATVNC_PEER_DEBUG"))
		nvnc_set_log_level(NVNC_LOG_DEBUG);
	struct aml *aml = aml_new();
	aml_set_default(aml);
	p.server = nvnc_open("127.0.0.1", 0);
	int port = p.server ? listening_port() : -1;
	if (port <= 0) {
		fprintf(stderr, "neatvnc_peer: cannot listen on 127.0.0.1\n");
		return 1;
	}
	nvnc_set_userdata(p.server, &p, NULL);
	nvnc_set_name(p.server, "neatvnc peer");
	nvnc_set_pointer_fn(p.server, on_pointer);
	nvnc_set_key_fn(p.server, on_key);
	p.display = nvnc_display_new(0, 0);
	nvnc_add_display(p.server, p.display);
	/* The first frame before the first client, so that it has a size to announce. */
	step(&p);
	struct aml_ticker *ticker = aml_ticker_new(1000 / fps, on_tick, &p, NULL);
	struct aml_signal *term = aml_signal_new(SIGTERM, on_signal, NULL, NULL);
	struct aml_signal *intr = aml_signal_new(SIGINT, on_signal, NULL, NULL);
	aml_start(aml, ticker);
	aml_start(aml, term);
	aml_start(aml, intr);
	fprintf(stderr, "neatvnc_peer: neatvnc %s, %s at %u fps\n", nvnc_version, source, fps);
	fprintf(stderr, "listening on tcp:127.0.0.1:%d\n", port);
	aml_run(aml);
	fprintf(stderr, "neatvnc_peer: %llu frames fed\n", (unsigned long long)p.frames_fed);
	/* No teardown: neatvnc 0.5.4 frees a client's encoder on close while one of its
	 * workers may still be encoding for it (a heap-use-after-free under ASan), and the
	 * process is ending anyway. */
	fflush(stderr);
	_exit(0);
}
