/* The lossless refresh: timing, Tight basic (palette or copy filter + zlib stream 3), and
 * the timer thread. See tight_jpeg_lossless.h. */
#include "tight_jpeg_lossless.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "rfb_wire.h"

/* ---- when: refresh timing ---- */

bool tight_refresh_due(uint64_t since, uint64_t now_ms, uint32_t delay_ms, uint32_t slack_ms)
{
	if (since == TIGHT_REFRESH_NOT_LOSSY || delay_ms == 0)
		return false;
	/* A timestamp from the future (clock read on another thread a moment later) is not
	 * due; subtracting first would wrap around. */
	if (now_ms < since)
		return false;
	return now_ms - since + slack_ms >= delay_ms;
}

size_t tight_refresh_scan(const uint64_t *since, size_t n, uint64_t now_ms, uint32_t delay_ms,
			  uint32_t slack_ms, uint8_t *due, uint64_t *next_ms)
{
	uint64_t next = TIGHT_REFRESH_NEVER;
	size_t n_due = 0;

	for (size_t i = 0; i < n; i++) {
		bool d = tight_refresh_due(since[i], now_ms, delay_ms, slack_ms);

		if (due)
			due[i] = d;
		if (d) {
			n_due++;
		} else if (since[i] != TIGHT_REFRESH_NOT_LOSSY && delay_ms) {
			uint64_t at = since[i] + delay_ms;

			if (at < next)
				next = at;
		}
	}
	*next_ms = next;
	return n_due;
}

void tight_refresh_record(uint64_t *since, const uint8_t *sent, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		if (sent[i] == TIGHT_REFRESH_LOSSY)
			since[i] = now_ms;
		else if (sent[i] == TIGHT_REFRESH_EXACT)
			since[i] = TIGHT_REFRESH_NOT_LOSSY;
	}
}

void tight_refresh_mark_all_lossy(uint64_t *since, size_t n, uint64_t now_ms)
{
	/* A tile already lossy keeps its older time: its refresh is not put off. */
	for (size_t i = 0; i < n; i++)
		if (since[i] > now_ms)
			since[i] = now_ms;
}

/* ---- what: Tight basic rectangles ---- */

/* Below this many filtered bytes the data goes uncompressed, without a length: the
 * protocol's TIGHT_MIN_TO_COMPRESS, which the client applies to decide how to read. */
#define MIN_TO_COMPRESS 12u

#define CTL_EXPLICIT_FILTER 0x04u
#define FILTER_PALETTE 0x01u
#define SLOTS (2 * TIGHT_LOSSLESS_MAX_PALETTE)
_Static_assert(SLOTS == 1u << TIGHT_COLOUR_BITS, "tight_colour_slot() indexes SLOTS");

void tight_lossless_init(struct tight_lossless *s)
{
	memset(s, 0, sizeof(*s));
}

void tight_lossless_reset(struct tight_lossless *s)
{
	if (s->active)
		deflateEnd(&s->z);
	s->active = false;
}

void tight_lossless_destroy(struct tight_lossless *s)
{
	tight_lossless_reset(s);
	free(s->raw);
	free(s->zbuf);
	free(s->out);
	memset(s, 0, sizeof(*s));
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	uint8_t *p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* Palette index of rgb, adding it if there is room; -1 when the palette is full. */
static int palette_index(struct tight_lossless *s, unsigned *n, uint32_t rgb)
{
	uint32_t slot = tight_colour_slot(rgb);

	for (;; slot = (slot + 1) & (SLOTS - 1)) {
		if (s->slot_idx[slot] < 0) {
			if (*n == TIGHT_LOSSLESS_MAX_PALETTE)
				return -1;
			s->slot_idx[slot] = (int16_t)*n;
			s->slot_rgb[slot] = rgb;
			s->palette[*n] = rgb;
			return (int)(*n)++;
		}
		if (s->slot_rgb[slot] == rgb)
			return s->slot_idx[slot];
	}
}

/* Index every pixel into s->raw (one byte each). Returns the number of colours, or 0 if
 * there are more than the palette holds. */
static unsigned index_pixels(struct tight_lossless *s, const uint8_t *px, size_t stride,
			     uint32_t w, uint32_t h)
{
	unsigned n = 0;
	uint32_t last = 0xffffffffu;
	int last_idx = 0;
	uint8_t *dst = s->raw;

	for (size_t i = 0; i < SLOTS; i++)
		s->slot_idx[i] = -1;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = px + (size_t)y * stride;

		for (uint32_t x = 0; x < w; x++) {
			uint32_t v = tight_pixel_rgb(row, x);

			if (v != last) {
				last_idx = palette_index(s, &n, v);
				if (last_idx < 0)
					return 0;
				last = v;
			}
			*dst++ = (uint8_t)last_idx;
		}
	}
	return n;
}

/* Two colours: rows of w bits, most significant first, each row padded to a byte. */
static size_t pack_mono(uint8_t *buf, uint32_t w, uint32_t h)
{
	size_t row_bytes = (w + 7) / 8, out = 0;
	const uint8_t *src = buf;

	/* In place: the packed data never overtakes the indices it reads. */
	for (uint32_t y = 0; y < h; y++) {
		for (size_t b = 0; b < row_bytes; b++) {
			uint8_t v = 0;

			for (uint32_t bit = 0; bit < 8 && b * 8 + bit < w; bit++)
				v |= (uint8_t)((src[b * 8 + bit] & 1u) << (7 - bit));
			buf[out + b] = v;
		}
		src += w;
		out += row_bytes;
	}
	return out;
}

static void copy_rgb(uint8_t *dst, const uint8_t *px, size_t stride, uint32_t w, uint32_t h)
{
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = px + (size_t)y * stride;

		for (uint32_t x = 0; x < w; x++) {
			*dst++ = row[x * 4 + 2];
			*dst++ = row[x * 4 + 1];
			*dst++ = row[x * 4];
		}
	}
}

static int deflate_rect(struct tight_lossless *s, size_t raw_len, int level, size_t *z_len)
{
	if (s->active && s->fresh && deflateReset(&s->z) != Z_OK)
		return -EIO;
	if (!s->active) {
		memset(&s->z, 0, sizeof(s->z));
		if (deflateInit2(&s->z, level, Z_DEFLATED, MAX_WBITS, MAX_MEM_LEVEL,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		s->active = true;
		s->level = level;
	}
	/* deflateParams may flush what it has under the old level into next_out; those bytes
	 * belong to this rectangle's data, so point next_out at our buffer first. A sync
	 * flush adds at most 5 bytes (+6 for the parameters change) beyond the bound. */
	if (reserve(&s->zbuf, &s->zbuf_cap, deflateBound(&s->z, raw_len) + 64) < 0)
		return -ENOMEM;
	s->z.next_out = s->zbuf;
	s->z.avail_out = (uInt)s->zbuf_cap;
	if (level != s->level) {
		if (deflateParams(&s->z, level, Z_DEFAULT_STRATEGY) != Z_OK)
			return -EIO;
		s->level = level;
	}
	s->z.next_in = s->raw;
	s->z.avail_in = (uInt)raw_len;
	if (deflate(&s->z, Z_SYNC_FLUSH) != Z_OK || s->z.avail_in != 0 || s->z.avail_out == 0)
		return -EIO;
	*z_len = s->zbuf_cap - s->z.avail_out;
	return 0;
}

int tight_lossless_encode(struct tight_lossless *s, const uint8_t *px, size_t stride, uint32_t w,
			  uint32_t h, int level, const uint8_t **data, size_t *len)
{
	size_t pixels = (size_t)w * h, raw_len, row_size, n = 0;
	unsigned colours;
	uint8_t ctl;
	int r;

	if (w == 0 || h == 0 || w > 2048 || pixels > 65536)
		return -EINVAL;
	if (level < 1)
		level = 1;
	if (level > 9)
		level = 9;
	if (reserve(&s->raw, &s->raw_cap, pixels * 3) < 0 ||
	    reserve(&s->out, &s->out_cap, 3 + 3 * TIGHT_LOSSLESS_MAX_PALETTE + 3) < 0)
		return -ENOMEM;

	colours = index_pixels(s, px, stride, w, h);
	/* A palette costs 3 bytes a colour and saves 2 (or 23/8) bytes a pixel. */
	bool palette = colours > 0 && (size_t)colours * 3 < pixels * 2;
	if (palette && colours < 2) {
		/* The palette filter needs two entries; a second, unused one is harmless. */
		s->palette[1] = s->palette[0];
		colours = 2;
	}
	if (palette && colours == 2) {
		row_size = (w + 7) / 8;
		raw_len = pack_mono(s->raw, w, h);
	} else if (palette) {
		row_size = w;
		raw_len = pixels;
	} else {
		copy_rgb(s->raw, px, stride, w, h);
		row_size = (size_t)w * 3;
		raw_len = pixels * 3;
	}

	bool zlib = h * row_size >= MIN_TO_COMPRESS;
	ctl = TIGHT_LOSSLESS_STREAM << 4;
	if (palette)
		ctl |= CTL_EXPLICIT_FILTER << 4;
	if (zlib && (!s->active || s->fresh))
		ctl |= 1u << TIGHT_LOSSLESS_STREAM; /* reset the client's stream 3 */
	s->out[n++] = ctl;
	if (palette) {
		s->out[n++] = FILTER_PALETTE;
		s->out[n++] = (uint8_t)(colours - 1);
		for (unsigned i = 0; i < colours; i++) {
			s->out[n++] = (uint8_t)(s->palette[i] >> 16);
			s->out[n++] = (uint8_t)(s->palette[i] >> 8);
			s->out[n++] = (uint8_t)s->palette[i];
		}
	}
	if (!zlib) {
		memcpy(s->out + n, s->raw, raw_len);
		n += raw_len;
	} else {
		size_t z_len;

		r = deflate_rect(s, raw_len, level, &z_len);
		if (r < 0) {
			tight_lossless_reset(s);
			return r;
		}
		if (z_len > RFB_WIRE_TIGHT_MAX_COMPACT ||
		    reserve(&s->out, &s->out_cap, n + 3 + z_len) < 0) {
			tight_lossless_reset(s);
			return -ENOMEM;
		}
		n = (size_t)(rfb_wire_tight_compact_len(s->out + n, (uint32_t)z_len) - s->out);
		memcpy(s->out + n, s->zbuf, z_len);
		n += z_len;
	}
	*data = s->out;
	*len = n;
	return 0;
}

/* ---- the timer ---- */

static pthread_mutex_t waker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waker_cond; /* CLOCK_MONOTONIC; set up once */
static pthread_once_t waker_once = PTHREAD_ONCE_INIT;
static struct tight_waker_entry *waker_head;
static unsigned waker_n;
/* Each thread serves one generation; removing the last entry ends the generation, so a
 * thread that has not noticed yet never serves entries added after that. */
static uint64_t waker_gen;
static bool waker_running;

static void waker_cond_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&waker_cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void *timer_thread(void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;

	pthread_mutex_lock(&waker_lock);
	while (waker_gen == gen) {
		uint64_t now = clock_now_ms(), next = TIGHT_WAKER_NEVER;

		for (struct tight_waker_entry *e = waker_head; e; e = e->next) {
			if (e->deadline <= now)
				e->deadline = e->fire(e, now);
			if (e->deadline < next)
				next = e->deadline;
		}
		if (next == TIGHT_WAKER_NEVER) {
			pthread_cond_wait(&waker_cond, &waker_lock);
		} else {
			struct timespec at = {.tv_sec = (time_t)(next / 1000),
					      .tv_nsec = (long)(next % 1000) * 1000000L};
			pthread_cond_timedwait(&waker_cond, &waker_lock, &at);
		}
	}
	pthread_mutex_unlock(&waker_lock);
	return NULL;
}

int tight_waker_add(struct tight_waker_entry *e)
{
	pthread_once(&waker_once, waker_cond_init);
	pthread_mutex_lock(&waker_lock);
	if (!waker_running) {
		pthread_t t;
		pthread_attr_t attr;
		int r;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, timer_thread, (void *)(uintptr_t)waker_gen);
		pthread_attr_destroy(&attr);
		if (r != 0) {
			pthread_mutex_unlock(&waker_lock);
			return -EAGAIN;
		}
		waker_running = true;
	}
	e->deadline = TIGHT_WAKER_NEVER;
	e->prev = NULL;
	e->next = waker_head;
	if (waker_head)
		waker_head->prev = e;
	waker_head = e;
	e->linked = true;
	waker_n++;
	pthread_mutex_unlock(&waker_lock);
	return 0;
}

void tight_waker_remove(struct tight_waker_entry *e)
{
	pthread_mutex_lock(&waker_lock);
	if (e->linked) {
		if (e->prev)
			e->prev->next = e->next;
		else
			waker_head = e->next;
		if (e->next)
			e->next->prev = e->prev;
		e->linked = false;
		e->prev = e->next = NULL;
		if (--waker_n == 0) {
			waker_gen++;
			waker_running = false;
			pthread_cond_broadcast(&waker_cond);
		}
	}
	pthread_mutex_unlock(&waker_lock);
}

void tight_waker_schedule(struct tight_waker_entry *e, uint64_t deadline_ms)
{
	pthread_mutex_lock(&waker_lock);
	if (e->linked) {
		bool earlier = deadline_ms < e->deadline;

		e->deadline = deadline_ms;
		if (earlier)
			pthread_cond_broadcast(&waker_cond);
	}
	pthread_mutex_unlock(&waker_lock);
}

unsigned tight_waker_count(bool *thread_running)
{
	pthread_mutex_lock(&waker_lock);
	unsigned n = waker_n;
	if (thread_running)
		*thread_running = waker_running;
	pthread_mutex_unlock(&waker_lock);
	return n;
}
