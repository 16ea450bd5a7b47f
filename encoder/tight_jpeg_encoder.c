/* The Tight-JPEG encoder: client levels -> JPEG parameters, tiles -> rectangles -> RFB
 * bytes into a sink, and the TurboJPEG binding. See tight_jpeg_encoder.h. */
#include "tight_jpeg_encoder.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <xxhash.h>

#include "clock.h"
#include "damage.h"
#include "log.h"
#include "rfb_wire.h"
#include "tight_jpeg_cache.h"
#include "tight_jpeg_lossless.h"
#include "tight_jpeg_plan.h"

/* ---- JPEG quality and subsampling from the client's levels ---- */

/* Indexed by the Tight quality level. */
static const int preset_quality[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
static const int preset_subsamp_level[10] = {1, 1, 1, 2, 2, 2, 0, 0, 0, 0};

/* Indexed by TurboVNC's subsampling level. */
static const int level_to_tjsamp[4] = {TJSAMP_444, TJSAMP_420, TJSAMP_422, TJSAMP_GRAY};

bool tight_jpeg_preset(int level, struct tight_jpeg_params *out)
{
	if (level < 0 || level > 9)
		return false;
	out->quality = preset_quality[level];
	out->subsamp = level_to_tjsamp[preset_subsamp_level[level]];
	return true;
}

bool tight_jpeg_params_from_levels(int tight_quality, int turbo_quality, int turbo_subsamp,
				   struct tight_jpeg_params *out)
{
	struct tight_jpeg_params preset;
	bool have_preset = tight_jpeg_preset(tight_quality, &preset);

	if (turbo_quality >= 1 && turbo_quality <= 100)
		out->quality = turbo_quality;
	else if (have_preset)
		out->quality = preset.quality;
	else
		return false;
	if (turbo_subsamp >= 0 && turbo_subsamp <= 3)
		out->subsamp = level_to_tjsamp[turbo_subsamp];
	else if (have_preset)
		out->subsamp = preset.subsamp;
	else
		out->subsamp = TJSAMP_444;
	return true;
}

/* ---- the JPEG compressor and the pixel hash ---- */

/* Which TurboJPEG. libvncserver 0.9.14 exports a TurboJPEG of its own ("TurboJPEG/OSS",
 * over libjpeg62) under the same names: tjInitCompress, tjCompress2, tjBufSize,
 * tjDestroy... A program that links libvncserver before libturbojpeg gets that copy for
 * every tj* call, and with --as-needed does not even load libturbojpeg (the server
 * binary does exactly that). Both produce the same JPEG; the real one is a few per cent
 * faster, and calls on one handle must never go to two implementations. So take the
 * functions from libturbojpeg itself, and the linked names only if it cannot be
 * opened. */
static struct {
	tjhandle (*init)(void);
	int (*compress)(tjhandle, const unsigned char *, int, int, int, int, unsigned char **,
			unsigned long *, int, int, int);
	unsigned long (*bufsize)(int, int, int);
	int (*destroy)(tjhandle);
	const char *from;
} tj;
static pthread_once_t tj_once = PTHREAD_ONCE_INIT;

static void tj_bind(void)
{
	void *lib = dlopen("libturbojpeg.so.0", RTLD_NOW | RTLD_LOCAL);

	tj.init = tjInitCompress;
	tj.compress = tjCompress2;
	tj.bufsize = tjBufSize;
	tj.destroy = tjDestroy;
	tj.from = "the linked tj* names (maybe libvncserver's copy)";
	if (!lib)
		return;
	void *init = dlsym(lib, "tjInitCompress"), *compress = dlsym(lib, "tjCompress2");
	void *bufsize = dlsym(lib, "tjBufSize"), *destroy = dlsym(lib, "tjDestroy");
	if (!init || !compress || !bufsize || !destroy)
		return; /* all from one library, or none (the library stays open) */
	/* POSIX: a dlsym result converts to a function pointer (memcpy keeps ISO C quiet). */
	memcpy(&tj.init, &init, sizeof(init));
	memcpy(&tj.compress, &compress, sizeof(compress));
	memcpy(&tj.bufsize, &bufsize, sizeof(bufsize));
	memcpy(&tj.destroy, &destroy, sizeof(destroy));
	tj.from = "libturbojpeg.so.0";
}

const char *tight_jpeg_library(void)
{
	pthread_once(&tj_once, tj_bind);
	return tj.from;
}

int tight_jpeg_compress(struct tight_jpeg_compressor *e, const uint8_t *px, size_t pitch,
			uint32_t w, uint32_t h, const struct tight_jpeg_params *p,
			const uint8_t **out, size_t *len)
{
	pthread_once(&tj_once, tj_bind);
	unsigned long cap = tj.bufsize((int)w, (int)h, p->subsamp), size;

	if (cap == (unsigned long)-1)
		return -EINVAL;
	if (!e->tj && !(e->tj = tj.init()))
		return -ENOMEM;
	if (e->cap < cap) {
		uint8_t *buf = realloc(e->buf, cap);
		if (!buf)
			return -ENOMEM;
		e->buf = buf;
		e->cap = cap;
	}
	size = e->cap;
	if (tj.compress(e->tj, px, (int)w, (int)pitch, (int)h, TJPF_BGRX, &e->buf, &size,
			p->subsamp, p->quality, TJFLAG_NOREALLOC) < 0)
		return -EIO;
	*out = e->buf;
	*len = size;
	return 0;
}

void tight_jpeg_compressor_destroy(struct tight_jpeg_compressor *e)
{
	if (e->tj)
		tj.destroy(e->tj); /* made by tj.init, so tj is bound */
	free(e->buf);
	e->tj = NULL;
	e->buf = NULL;
	e->cap = 0;
}

uint64_t tight_jpeg_rect_hash(const uint8_t *px, size_t pitch, uint32_t w, uint32_t h)
{
	uint64_t acc = 0;

	for (uint32_t y = 0; y < h; y++) {
		acc ^= XXH3_64bits(px + (size_t)y * pitch, (size_t)w * 4);
		acc *= 0x9E3779B97F4A7C15ull;
		acc ^= acc >> 29;
	}
	return acc;
}

/* ---- the encoder -------------------------------------------------------------------- */

/* How long a client waits for another client's encode of the same rectangle before it
 * encodes the rectangle itself: far above one encode, far below a client's patience. */
#define SHARE_WAIT_MS 200u
/* An update of at most this many tiles is "small" (palette_max). */
#define SMALL_UPDATE_TILES 32u
/* Small pieces (headers, fills) are gathered before they go into the sink; payloads that
 * do not fit go into the sink directly after them, without a copy. */
#define OUT_BUF 32768u

#define FILL_SIZE (RFB_WIRE_RECT_HEADER + 1u + 3u)
#define PREFIX_MAX (RFB_WIRE_RECT_HEADER + 1u + 3u)
#define CTL_FILL 0x80u
#define CTL_JPEG 0x90u

struct tight_jpeg_encoder {
	/* Guarded by lock: tight_jpeg_encoder_due reads them from the timer thread. */
	pthread_mutex_t lock;
	struct tight_plan_grid grid;
	uint64_t *since;      /* per tile: when last sent lossy (tight_jpeg_lossless.h) */
	uint8_t *timer_due;   /* tight_jpeg_encoder_due's scratch */
	uint32_t *timer_rects;
	uint32_t delay_ms;    /* the refresh delay in effect (0: off) */

	/* The updating thread's. */
	struct tiles {
		uint8_t *kind;     /* enum tight_plan_kind per tile */
		uint32_t *rgb;     /* fill colour per tile */
		uint16_t *colours; /* colour count per palette tile */
		uint8_t *sent;     /* enum tight_refresh_sent per tile */
		struct tight_plan_rect *rects;
		int32_t *scratch;
		uint32_t *retry; /* 4 per rectangle, up to one per tile */
		struct tight_tile_facts *facts;
		struct held {
			struct tight_cache_entry *entry; /* a shared rectangle, ours to put */
			bool hit;                        /* another client encoded it */
		} *held;                                 /* per rectangle */
		struct tight_cache_fill *pub;            /* share_prefetch's */
	} t;
	uint32_t colour_slots[TIGHT_PLAN_COLOUR_SLOTS];
	size_t n_retry;
	struct tight_jpeg_compressor jpeg;
	struct tight_lossless lossless; /* the client's own zlib stream 3 */
	struct tight_lossless fresh;    /* rectangles that may be shared: a new stream each */

	/* The update being written. */
	const struct tight_jpeg_frame *frame;
	const struct tight_jpeg_settings *settings;
	const struct byte_sink *sink;
	struct tight_jpeg_update_stats *stats;
	struct tight_cache *share; /* NULL: nothing is shared in this update */
	uint64_t gen;              /* the frame's generation when share is set */
	int zlib_level;
	size_t out_len;
	uint8_t out[OUT_BUF];
};

int tight_jpeg_encoder_create(struct tight_jpeg_encoder **out)
{
	struct tight_jpeg_encoder *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	tight_lossless_init(&e->lossless);
	tight_lossless_init(&e->fresh);
	e->fresh.fresh = true;
	*out = e;
	return 0;
}

static void free_tiles(struct tiles *t)
{
	free(t->kind), free(t->rgb), free(t->colours), free(t->sent), free(t->rects);
	free(t->scratch), free(t->retry), free(t->facts), free(t->held), free(t->pub);
}

void tight_jpeg_encoder_destroy(struct tight_jpeg_encoder *e)
{
	if (!e)
		return;
	tight_jpeg_compressor_destroy(&e->jpeg);
	tight_lossless_destroy(&e->lossless);
	tight_lossless_destroy(&e->fresh);
	free(e->since), free(e->timer_due), free(e->timer_rects);
	free_tiles(&e->t);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* Size the tile arrays for a width x height frame. A new size starts from scratch: the
 * client gets the whole new screen anyway. 0 or -ENOMEM. */
static int ensure_grid(struct tight_jpeg_encoder *e, uint32_t width, uint32_t height)
{
	struct tight_plan_grid g;

	if (e->since && e->grid.width == width && e->grid.height == height)
		return 0;
	tight_plan_grid_init(&g, width, height, DAMAGE_TILE);
	size_t n = (size_t)g.cols * g.rows;
	uint64_t *since = malloc(n * sizeof(*since));
	uint8_t *due = calloc(n, 1);
	uint32_t *timer_rects = malloc(n * 4 * sizeof(uint32_t));
	struct tiles t = {
		.kind = calloc(n, 1),
		.rgb = calloc(n, sizeof(uint32_t)),
		.colours = calloc(n, sizeof(uint16_t)),
		.sent = calloc(n, 1),
		.rects = malloc(n * sizeof(struct tight_plan_rect)),
		.scratch = malloc(2 * (size_t)g.cols * sizeof(int32_t)),
		.retry = malloc(n * 4 * sizeof(uint32_t)),
		.facts = malloc(n * sizeof(struct tight_tile_facts)),
		.held = calloc(n, sizeof(struct held)),
		.pub = malloc(n * sizeof(struct tight_cache_fill)),
	};

	if (!since || !due || !timer_rects || !t.kind || !t.rgb || !t.colours || !t.sent ||
	    !t.rects || !t.scratch || !t.retry || !t.facts ||
	    !t.held || !t.pub) {
		free(since), free(due), free(timer_rects);
		free_tiles(&t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		since[i] = TIGHT_REFRESH_NOT_LOSSY;

	pthread_mutex_lock(&e->lock);
	uint64_t *old_since = e->since;
	uint8_t *old_due = e->timer_due;
	uint32_t *old_rects = e->timer_rects;
	e->grid = g;
	e->since = since;
	e->timer_due = due;
	e->timer_rects = timer_rects;
	pthread_mutex_unlock(&e->lock);
	free(old_since), free(old_due), free(old_rects);
	free_tiles(&e->t);
	e->t = t;
	return 0;
}

void tight_jpeg_encoder_forget(struct tight_jpeg_encoder *e, uint64_t now_ms)
{
	pthread_mutex_lock(&e->lock);
	if (e->since)
		tight_refresh_mark_all_lossy(e->since, (size_t)e->grid.cols * e->grid.rows, now_ms);
	pthread_mutex_unlock(&e->lock);
}

uint64_t tight_jpeg_encoder_due(struct tight_jpeg_encoder *e, uint64_t now_ms,
				void (*add)(void *opaque, const uint32_t rect[4]), void *opaque)
{
	uint64_t next = TIGHT_REFRESH_NEVER;

	pthread_mutex_lock(&e->lock);
	if (e->since && tight_refresh_scan(e->since, (size_t)e->grid.cols * e->grid.rows, now_ms,
					   e->delay_ms, TIGHT_REFRESH_SLACK_MS, e->timer_due,
					   &next) > 0) {
		size_t n = damage_tile_runs(e->grid.width, e->grid.height, e->timer_due,
					    e->timer_rects);
		for (size_t i = 0; i < n; i++)
			add(opaque, e->timer_rects + 4 * i);
	}
	pthread_mutex_unlock(&e->lock);
	return next;
}

/* ---- writing ------------------------------------------------------------------------ */

static bool flush(struct tight_jpeg_encoder *e)
{
	size_t n = e->out_len;

	e->out_len = 0;
	return n == 0 || byte_sink_write(e->sink, e->out, n) == 0;
}

static bool out_small(struct tight_jpeg_encoder *e, const void *p, size_t n)
{
	if (e->out_len + n > OUT_BUF && !flush(e))
		return false;
	memcpy(e->out + e->out_len, p, n);
	e->out_len += n;
	return true;
}

static bool out_large(struct tight_jpeg_encoder *e, const uint8_t *p, size_t n)
{
	if (e->out_len + n <= OUT_BUF)
		return out_small(e, p, n);
	return flush(e) && byte_sink_write(e->sink, p, n) == 0;
}

static bool out_fill(struct tight_jpeg_encoder *e, const struct tight_plan_rect *r, uint32_t rgb)
{
	uint8_t buf[FILL_SIZE], *p;

	p = rfb_wire_rect_header(buf, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
				 (uint16_t)r->h, RFB_WIRE_ENCODING_TIGHT);
	*p++ = CTL_FILL; /* the colour as TPIXEL: R, G, B for the formats this path serves */
	*p++ = (uint8_t)(rgb >> 16);
	*p++ = (uint8_t)(rgb >> 8);
	*p++ = (uint8_t)rgb;
	e->stats->fill_rects++;
	return out_small(e, buf, (size_t)(p - buf));
}

/* ---- encoding ----------------------------------------------------------------------- */

static const uint8_t *rect_pixels(const struct tight_jpeg_encoder *e,
				  const struct tight_plan_rect *r)
{
	return e->frame->pixels + (size_t)r->y * e->frame->stride + (size_t)r->x * 4;
}

/* Substitute for a rectangle whose encode failed: the count is already on the wire, so
 * something must go there. Its first pixel's colour, and the rectangle again later. */
static bool send_substitute(struct tight_jpeg_encoder *e, const struct tight_plan_rect *r)
{
	static struct log_ratelimit rl;
	uint32_t px, *q = e->t.retry + 4 * e->n_retry++;

	log_ratelimited(&rl, 5000, LOG_WARN, "Tight-JPEG: cannot encode a %ux%u rectangle; "
			"sending it again later", r->w, r->h);
	memcpy(&px, rect_pixels(e, r), 4);
	q[0] = r->x, q[1] = r->y, q[2] = r->w, q[3] = r->h;
	return out_fill(e, r, px & 0xffffffu);
}

static bool send_jpeg_bytes(struct tight_jpeg_encoder *e, const struct tight_plan_rect *r,
			    const uint8_t *jpeg, size_t len)
{
	uint8_t prefix[PREFIX_MAX], *p;

	p = rfb_wire_rect_header(prefix, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
				 (uint16_t)r->h, RFB_WIRE_ENCODING_TIGHT);
	*p++ = CTL_JPEG;
	p = rfb_wire_tight_compact_len(p, (uint32_t)len);
	e->stats->jpeg_rects++;
	e->stats->jpeg_bytes += len;
	return out_small(e, prefix, (size_t)(p - prefix)) && out_large(e, jpeg, len);
}

static uint64_t generation(const struct tight_jpeg_frame *f)
{
	return f->generation(f->generation_opaque);
}

/* The shared rectangle r, encoded by whoever asked first. HIT: *entry holds the bytes
 * (send them, then tight_cache_put). RESERVED: encode, then publish. BUSY: encode for
 * this client alone (with wait_ms 0: another client is encoding it). */
static enum tight_cache_result share_get(struct tight_jpeg_encoder *e,
					 const struct tight_plan_rect *r, unsigned wait_ms,
					 struct tight_cache_entry **entry)
{
	const struct tight_jpeg_params *p = &e->settings->jpeg;
	bool jpeg = r->kind == TIGHT_PLAN_JPEG;
	const struct tight_cache_key key = {
		.x = (uint16_t)r->x, .y = (uint16_t)r->y, .w = (uint16_t)r->w, .h = (uint16_t)r->h,
		.quality = jpeg ? (uint8_t)p->quality : 0,
		.subsamp = (uint8_t)(jpeg ? p->subsamp : e->zlib_level),
		.kind = jpeg ? TIGHT_CACHE_JPEG : TIGHT_CACHE_LOSSLESS,
		.hash = e->gen};

	return tight_cache_get(e->share, &key, wait_ms, entry);
}

/* Encode r into the encoder's buffers (valid until the next encode). JPEG rectangles are
 * stateless: one encode serves every client of the frame with the same quality and
 * subsampling. Lossless rectangles (palette tiles, refreshes): the client's own zlib
 * stream 3 carries a dictionary from every rectangle before, so its bytes are the
 * client's alone. To share, a rectangle instead starts a new stream (the control byte
 * tells the client to reset its stream 3, and the server's deflate starts afresh): the
 * same bytes are then right for every client, whatever each one decoded before, at the
 * price of the dictionary. */
static int encode_rect(struct tight_jpeg_encoder *e, const struct tight_plan_rect *r,
		       const uint8_t **data, size_t *len)
{
	const struct tight_jpeg_settings *s = e->settings;
	size_t stride = e->frame->stride;

	if (r->kind != TIGHT_PLAN_JPEG)
		return tight_lossless_encode(e->share ? &e->fresh : &e->lossless,
					     rect_pixels(e, r), stride, r->w, r->h, e->zlib_level,
					     data, len);
	double t0 = clock_now_s();
	int rc = tight_jpeg_compress(&e->jpeg, rect_pixels(e, r), stride, r->w, r->h, &s->jpeg,
				     data, len);
	if (s->jpeg_timed)
		s->jpeg_timed(clock_now_s() - t0);
	return rc < 0 ? rc : *len > RFB_WIRE_TIGHT_MAX_COMPACT ? -EINVAL : 0;
}

/* A malloc'ed copy of the encoder's output for the cache, or NULL. */
static uint8_t *copy_of(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (copy)
		memcpy(copy, data, len);
	return copy;
}

/* Before the first byte of the update: every shared rectangle this client is the first
 * to need is encoded now and published all at once, so that the clients waiting for this
 * frame wake once, not once a rectangle; those another client published already are
 * held. What neither (another client is encoding it) send_shareable asks for again. */
static void share_prefetch(struct tight_jpeg_encoder *e, size_t n)
{
	size_t n_pub = 0;

	memset(e->t.held, 0, n * sizeof(*e->t.held));
	if (!e->share)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct tight_plan_rect *r = &e->t.rects[i];
		struct tight_cache_entry *entry;
		const uint8_t *data;
		uint8_t *copy;
		size_t len;

		if (r->kind == TIGHT_PLAN_FILL)
			continue;
		switch (share_get(e, r, 0, &entry)) {
		case TIGHT_CACHE_HIT:
			e->t.held[i] = (struct held){entry, true};
			break;
		case TIGHT_CACHE_RESERVED:
			if (encode_rect(e, r, &data, &len) < 0 || !(copy = copy_of(data, len))) {
				tight_cache_abandon(e->share, entry);
				break;
			}
			e->t.pub[n_pub++] = (struct tight_cache_fill){entry, copy, len};
			e->t.held[i] = (struct held){entry, false};
			break;
		default:
			break;
		}
	}
	tight_cache_fill_batch(e->share, e->t.pub, n_pub);
}

/* A JPEG or lossless rectangle: shared (held from share_prefetch, or waited for), or
 * encoded for this client. */
static bool send_shareable(struct tight_jpeg_encoder *e, const struct tight_plan_rect *r,
			   struct held h)
{
	uint8_t header[RFB_WIRE_RECT_HEADER];
	const uint8_t *data = NULL;
	size_t len = 0;
	int rc = 0;

	if (!h.entry && e->share) {
		enum tight_cache_result got = share_get(e, r, SHARE_WAIT_MS, &h.entry);

		h.hit = got == TIGHT_CACHE_HIT;
		if (!h.hit) {
			rc = encode_rect(e, r, &data, &len);
			if (got == TIGHT_CACHE_RESERVED) {
				uint8_t *copy = rc < 0 ? NULL : copy_of(data, len);

				if (copy)
					tight_cache_fill(e->share, h.entry, copy, len);
				else
					tight_cache_abandon(e->share, h.entry);
				if (copy)
					tight_cache_put(e->share, h.entry);
				h.entry = NULL;
			}
		}
	} else if (!h.entry) {
		rc = encode_rect(e, r, &data, &len);
	}
	if (h.entry)
		data = tight_cache_data(h.entry, &len);
	bool ok;
	if (rc < 0) {
		ok = send_substitute(e, r);
	} else if (r->kind == TIGHT_PLAN_JPEG) {
		e->stats->jpeg_shared += h.hit;
		ok = send_jpeg_bytes(e, r, data, len);
	} else {
		/* The client's stream 3 now holds what the shared rectangle left: its own
		 * stream starts afresh at its next rectangle. */
		if (e->share)
			tight_lossless_reset(&e->lossless);
		if (r->kind == TIGHT_PLAN_PALETTE) {
			e->stats->palette_rects++;
			e->stats->palette_bytes += len + sizeof(header);
		} else {
			e->stats->lossless_rects++;
			e->stats->lossless_bytes += len + sizeof(header);
		}
		rfb_wire_rect_header(header, (uint16_t)r->x, (uint16_t)r->y, (uint16_t)r->w,
				     (uint16_t)r->h, RFB_WIRE_ENCODING_TIGHT);
		ok = out_small(e, header, sizeof(header)) && out_large(e, data, len);
	}
	if (h.entry)
		tight_cache_put(e->share, h.entry);
	return ok;
}

/* ---- one update --------------------------------------------------------------------- */

/* Flag the tiles that the region touches; returns how many. */
static size_t mark_tiles(struct tight_jpeg_encoder *e, const uint32_t *region, size_t n_region)
{
	const struct tight_plan_grid *g = &e->grid;

	memset(e->t.kind, TIGHT_PLAN_NONE, (size_t)g->cols * g->rows);
	for (size_t i = 0; i < n_region; i++) {
		const uint32_t *r = region + 4 * i;
		uint64_t x2 = (uint64_t)r[0] + r[2], y2 = (uint64_t)r[1] + r[3];

		if (x2 > g->width)
			x2 = g->width;
		if (y2 > g->height)
			y2 = g->height;
		if (r[0] >= x2 || r[1] >= y2)
			continue;
		uint32_t tx1 = r[0] / g->tile, tx2 = (uint32_t)(x2 - 1) / g->tile;
		for (uint32_t ty = r[1] / g->tile; ty <= (uint32_t)(y2 - 1) / g->tile; ty++)
			memset(e->t.kind + (size_t)ty * g->cols + tx1, TIGHT_PLAN_JPEG, tx2 - tx1 + 1);
	}
	size_t n = 0;
	for (size_t i = 0; i < (size_t)g->cols * g->rows; i++)
		n += e->t.kind[i] != TIGHT_PLAN_NONE;
	return n;
}

/* Tiles with at most this many colours go as palette: text and flat UI, where JPEG is
 * larger (and lossy). Time decides the threshold. One tjCompress2 call costs ~25 us
 * before the first pixel and ~600 bytes of headers: in a small update each JPEG
 * rectangle is a tile or two, and a palette of up to 24 colours (TurboVNC's threshold at
 * compression level 1; 96 above) is smaller and no slower. In a large update JPEG runs
 * over big rectangles, while a tile of a smooth gradient (17..24 colours per 64x64)
 * costs half again as much as a palette and saves little: there, 8 (16). None in
 * grayscale, which a palette would undo. */
static unsigned palette_max(const struct tight_jpeg_params *p, int compress_level,
			    size_t tiles)
{
	bool small = tiles <= SMALL_UPDATE_TILES;

	if (p->subsamp == TJSAMP_GRAY)
		return 0;
	if (compress_level >= 2)
		return small ? 96 : 16;
	return small ? 24 : 8;
}

/* Entries still held when the sink failed. */
static void share_release(struct tight_jpeg_encoder *e, size_t n)
{
	for (size_t i = 0; e->share && i < n; i++)
		if (e->t.held[i].entry)
			tight_cache_put(e->share, e->t.held[i].entry);
}

/* Write the planned rectangles as FramebufferUpdate message(s). False if the sink failed. */
static bool send_rects(struct tight_jpeg_encoder *e, size_t n)
{
	bool last_rect = n > 0xffff && e->settings->last_rect;
	uint8_t buf[RFB_WIRE_RECT_HEADER];

	/* The request is answered even if nothing of the region lies on the frame (a region
	 * from before a resize): else the client would wait for an update forever. */
	if (n == 0) {
		e->stats->messages++;
		return out_small(e, buf, (size_t)(rfb_wire_fbu_header(buf, 0) - buf)) && flush(e);
	}
	for (size_t done = 0; done < n;) {
		/* Without LastRect, more than 65535 rectangles take several messages. */
		size_t count = last_rect ? n : (n - done > 0xffff ? 0xffff : n - done);
		uint16_t on_wire = last_rect ? 0xffff : (uint16_t)count;

		e->stats->messages++;
		if (!out_small(e, buf, (size_t)(rfb_wire_fbu_header(buf, on_wire) - buf)))
			return false;
		for (size_t i = done; i < done + count; i++) {
			const struct tight_plan_rect *r = &e->t.rects[i];
			struct held h = e->t.held[i];

			e->t.held[i].entry = NULL; /* put back below, or by share_release */
			if (!(r->kind == TIGHT_PLAN_FILL ? out_fill(e, r, r->rgb)
							 : send_shareable(e, r, h)))
				return false;
		}
		done += count;
		if (last_rect &&
		    !out_small(e, buf, (size_t)(rfb_wire_rect_header(buf, 0, 0, 0, 0,
								     RFB_WIRE_ENCODING_LAST_RECT) -
						buf)))
			return false;
		if (!flush(e))
			return false;
	}
	return true;
}

int tight_jpeg_encoder_update(struct tight_jpeg_encoder *e, const struct tight_jpeg_frame *f,
			      const uint32_t *region, size_t n_region,
			      const struct tight_jpeg_settings *s, uint64_t now_ms,
			      const struct byte_sink *sink, struct tight_jpeg_update_stats *stats)
{
	struct tight_jpeg_update_stats dummy;
	bool gray = s->jpeg.subsamp == TJSAMP_GRAY;
	uint32_t delay = gray ? 0 : s->refresh_ms;
	uint64_t next;

	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	stats->next_refresh_ms = TIGHT_REFRESH_NEVER;
	if (f->width == 0 || f->height == 0 || f->width > 65535 || f->height > 65535 ||
	    f->stride < (size_t)f->width * 4)
		return -EINVAL;
	if (ensure_grid(e, f->width, f->height) < 0)
		return -ENOMEM;
	size_t n_tiles = (size_t)e->grid.cols * e->grid.rows;
	size_t n_update = mark_tiles(e, region, n_region);
	struct tight_classify_opts co = {
		.now_ms = now_ms,
		.delay_ms = delay,
		.slack_ms = TIGHT_REFRESH_SLACK_MS,
		.palette_max = palette_max(&s->jpeg, s->compress_level, n_update),
		.grayscale = gray,
	};
	/* Share with the other clients of this frame (tight_jpeg_cache.h): its tile facts and
	 * encoded rectangles. Generation 0: nothing was published yet, nothing to name. */
	e->share = NULL;
	e->gen = s->cache && f->generation ? generation(f) : 0;
	if (e->gen &&
	    tight_cache_tile_facts(s->cache, e->gen, f->pixels, f->stride, &e->grid, e->t.kind,
				   co.palette_max, e->t.facts) == 0)
		e->share = s->cache;
	/* since is written only here, on this thread: reading it without the lock is safe. */
	if (e->share)
		tight_classify_facts(&e->grid, e->t.facts, e->since, &co, e->t.kind, e->t.rgb,
				     e->t.colours, e->t.sent);
	else
		tight_classify_tiles(&e->grid, f->pixels, f->stride, e->since, &co, e->t.kind,
				     e->t.rgb, e->t.colours, e->t.sent, e->colour_slots);
	size_t n = tight_plan_rects(&e->grid, e->t.kind, e->t.rgb, e->t.colours, e->t.rects,
				    e->t.scratch);

	e->frame = f;
	e->settings = s;
	e->sink = sink;
	e->stats = stats;
	/* The client's compression level, as zlib's (1 fastest .. 9 smallest). */
	e->zlib_level = s->compress_level < 1 ? 1 : s->compress_level > 9 ? 9 : s->compress_level;
	e->out_len = 0;
	e->n_retry = 0;
	share_prefetch(e, n);
	bool ok = send_rects(e, n);
	share_release(e, n);
	e->out_len = 0;
	stats->retry = e->t.retry;
	stats->n_retry = e->n_retry;

	pthread_mutex_lock(&e->lock);
	tight_refresh_record(e->since, e->t.sent, n_tiles, now_ms);
	e->delay_ms = delay;
	/* Due tiles that this update did not carry (outside the region) need the timer now. */
	size_t left_due = tight_refresh_scan(e->since, n_tiles, now_ms, delay,
					     TIGHT_REFRESH_SLACK_MS, NULL, &next);
	pthread_mutex_unlock(&e->lock);
	stats->next_refresh_ms = left_due ? now_ms : next;
	return ok ? 0 : -EIO;
}
