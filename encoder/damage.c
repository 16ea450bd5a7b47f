/* Tile hashing in one pass over the frame, in memory order, optionally copying as it goes.
 *
 * Each tile's hash is XXH3's long-input core run over the tile's bytes (its row segments,
 * top to bottom): eight 64-bit accumulators per tile column, fed one 64-byte stripe at a
 * time (XXH3's accumulate step: data ^ key, 32x32->64 multiply, add), scrambled after
 * every 16 stripes (four rows of a 64-pixel tile, XXH3's block), and merged and avalanched
 * once per tile at the end of its tile row. The frame is walked row by row, left to right,
 * so it is read exactly once and sequentially; the accumulators of a tile row (64 bytes a
 * column) stay in L1.
 *
 * Why not XXH3_64bits() per row segment, as before: a 256-byte call pays XXH3's set-up and
 * merge every time, which made the pass 3-5x slower than one XXH3 pass over the same
 * bytes (bench/results, capture_bench: 0.80 ms against 0.16 ms for a static 1080p frame on
 * the benchmark machine). Keeping the accumulators per column pays that once per tile.
 *
 * Why copy while hashing (damage_refine_copy): hashing and then copying the changed tiles
 * reads a changing frame twice; a tile that changed in the last frame (video, a dragged
 * window, a full-screen change) most likely changes again, so its bytes are stored to the
 * destination straight from the registers that hashed them, and the frame is read once.
 * That made a fully changed 1080p frame cost less than one memcpy() of it instead of ~2.5x.
 *
 * Two implementations of the same arithmetic, selected once at damage_init(): AVX2 where
 * the CPU has it (x86-64 only), portable C elsewhere. They give identical hashes and copy
 * the same tiles, so the choice never matters for correctness; VGPU_DAMAGE_PORTABLE=1 in
 * the environment forces the portable one (to test it, or to measure the difference).
 */
#include "damage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pixel_copy.h"
#include "plane.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DAMAGE_HAVE_AVX2 1
#endif

#define SEG_BYTES (DAMAGE_TILE * 4u)    /* bytes of a whole tile's row segment */
#define STRIPE 64u                      /* bytes per accumulate step */
#define LANES 8u                        /* 64-bit accumulators per tile column */
#define ROWS_PER_BLOCK 4u               /* 4 rows x 4 stripes = XXH3's 16-stripe block */
#define PRIME32_1 0x9E3779B1u
#define PRIME64_1 0x9E3779B185EBCA87ull

/* Keys: any fixed pseudo-random bytes will do (they are not a secret from anyone; they
 * only make each stripe position count differently). Stripe n of a block uses words
 * n..n+7, the scramble words 16..23; the merge reads 64 bytes from byte 11, as XXH3's. */
static const uint64_t keys[24] = {
	0x7ae671b77f7407a2ull, 0x7778f6f9473dd32aull, 0x00e1b967c177d994ull,
	0xbcb94a330da96360ull, 0x83d520edf06c2bdfull, 0x8d9ec96e9f8aeddbull,
	0x2e0c4110f379b534ull, 0x22df6cdb2ec983f2ull, 0x0d0766d979ced508ull,
	0x667bd86dff4a35adull, 0x141a9835d0237df3ull, 0xe92cb25a7486a335ull,
	0x03b6a57639ccb277ull, 0x9cfbf09d034f0b59ull, 0x82eaf2dd9c83f012ull,
	0x2f3cd16aef8cda4cull, 0xf7d39fc60f2e6b26ull, 0x142f04790224322bull,
	0x468717ded0cd7555ull, 0xcce0938159fde948ull, 0x14e904b92a878615ull,
	0x587795a62e20d94aull, 0x05a403fa5c39ab5bull, 0xf4c5a4c9c7cd43d1ull,
};

/* XXH3's initial accumulators. */
static const uint64_t init_acc[LANES] = {
	0xC2B2AE3Dull,         0x9E3779B185EBCA87ull, 0xC2B2AE3D27D4EB4Full,
	0x165667B19E3779F9ull, 0x85EBCA77C2B2AE63ull, 0x85EBCA77ull,
	0x27D4EB2F165667C5ull, 0x9E3779B1ull,
};

/* What to copy while hashing a tile row: whole columns tx with copy[tx] set go to dst
 * (R and B swapped if swap_rb). NULL: hash only. */
struct band_copy {
	const uint8_t *copy;
	uint8_t *dst;
	size_t dst_stride;
	bool swap_rb;
};

/* Accumulate each tile column's segments of rows y0..y1 (one tile row). */
typedef void (*band_fn)(uint64_t *acc, const uint8_t *frame, size_t stride, uint32_t y0,
			uint32_t y1, uint32_t width, uint32_t cols, const struct band_copy *cp);

/* ---- portable ---------------------------------------------------------------------- */

static inline uint64_t read64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void accumulate_scalar(uint64_t *acc, const uint8_t *p, const uint64_t *key)
{
	for (unsigned i = 0; i < LANES; i++) {
		uint64_t data = read64(p + 8 * i), dk = data ^ key[i];
		acc[i ^ 1] += data;
		acc[i] += (dk & 0xffffffffu) * (dk >> 32);
	}
}

static inline void scramble_scalar(uint64_t *acc)
{
	for (unsigned i = 0; i < LANES; i++) {
		uint64_t a = acc[i];
		a ^= a >> 47;
		a ^= keys[16 + i];
		acc[i] = a * PRIME32_1;
	}
}

/* The stripes of one row segment of len bytes (a multiple of 4, 1..256); a last partial
 * stripe is zero-padded. n0 is the segment's first stripe number in its block. */
static void segment_scalar(uint64_t *acc, const uint8_t *p, size_t len, unsigned n0)
{
	unsigned n = n0;
	for (; len >= STRIPE; len -= STRIPE, p += STRIPE, n++)
		accumulate_scalar(acc, p, keys + n);
	if (len) {
		uint8_t tail[STRIPE] = {0};
		memcpy(tail, p, len);
		accumulate_scalar(acc, tail, keys + n);
	}
}

static void copy_segment_scalar(uint8_t *dst, const uint8_t *src, bool swap_rb)
{
	if (!swap_rb) {
		memcpy(dst, src, SEG_BYTES);
		return;
	}
	for (unsigned i = 0; i < SEG_BYTES; i += 4) {
		dst[i] = src[i + 2];
		dst[i + 1] = src[i + 1];
		dst[i + 2] = src[i];
		dst[i + 3] = src[i + 3];
	}
}

static void band_scalar(uint64_t *acc, const uint8_t *frame, size_t stride, uint32_t y0,
			uint32_t y1, uint32_t width, uint32_t cols, const struct band_copy *cp)
{
	const size_t row_bytes = (size_t)width * 4;
	for (uint32_t y = y0; y < y1; y++) {
		const uint8_t *row = frame + (size_t)y * stride;
		unsigned r = (y - y0) % ROWS_PER_BLOCK;
		for (uint32_t tx = 0; tx < cols; tx++) {
			size_t off = (size_t)tx * SEG_BYTES;
			size_t len = row_bytes - off < SEG_BYTES ? row_bytes - off : SEG_BYTES;
			segment_scalar(acc + (size_t)tx * LANES, row + off, len, r * (SEG_BYTES / STRIPE));
			if (cp && len == SEG_BYTES && cp->copy[tx])
				copy_segment_scalar(cp->dst + (size_t)y * cp->dst_stride + off, row + off,
						    cp->swap_rb);
		}
		if (r == ROWS_PER_BLOCK - 1)
			for (uint32_t tx = 0; tx < cols; tx++)
				scramble_scalar(acc + (size_t)tx * LANES);
	}
}

/* ---- AVX2: the same arithmetic, four lanes at a time (XXH3's AVX2 form) ------------- */

#ifdef DAMAGE_HAVE_AVX2
__attribute__((target("avx2"))) static inline void
accumulate_avx2(__m256i *a0, __m256i *a1, __m256i d0, __m256i d1, const uint64_t *key)
{
	__m256i k0 = _mm256_xor_si256(d0, _mm256_loadu_si256((const __m256i *)key));
	__m256i k1 = _mm256_xor_si256(d1, _mm256_loadu_si256((const __m256i *)(key + 4)));
	/* acc[i] += lo32(dk) * hi32(dk); acc[i ^ 1] += data */
	__m256i p0 = _mm256_mul_epu32(k0, _mm256_srli_epi64(k0, 32));
	__m256i p1 = _mm256_mul_epu32(k1, _mm256_srli_epi64(k1, 32));
	*a0 = _mm256_add_epi64(*a0, _mm256_add_epi64(p0, _mm256_shuffle_epi32(d0, 0x4E)));
	*a1 = _mm256_add_epi64(*a1, _mm256_add_epi64(p1, _mm256_shuffle_epi32(d1, 0x4E)));
}

__attribute__((target("avx2"))) static inline void
stripe_avx2(__m256i *a0, __m256i *a1, const uint8_t *p, const uint64_t *key)
{
	accumulate_avx2(a0, a1, _mm256_loadu_si256((const __m256i *)p),
			_mm256_loadu_si256((const __m256i *)(p + 32)), key);
}

/* A whole segment, hashed and stored to q (through the byte shuffle when swapping). */
__attribute__((target("avx2"))) static inline void
segment_copy_avx2(__m256i *a0, __m256i *a1, const uint8_t *p, uint8_t *q, const uint64_t *key,
		  bool swap_rb)
{
	/* bytes R,G,B,X <-> B,G,R,X in every pixel */
	const __m256i swz = _mm256_setr_epi8(2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15,
					     2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15);
	for (unsigned s = 0; s < SEG_BYTES / STRIPE; s++) {
		__m256i d0 = _mm256_loadu_si256((const __m256i *)(p + s * STRIPE));
		__m256i d1 = _mm256_loadu_si256((const __m256i *)(p + s * STRIPE + 32));
		accumulate_avx2(a0, a1, d0, d1, key + s);
		if (swap_rb) {
			d0 = _mm256_shuffle_epi8(d0, swz);
			d1 = _mm256_shuffle_epi8(d1, swz);
		}
		_mm256_storeu_si256((__m256i *)(q + s * STRIPE), d0);
		_mm256_storeu_si256((__m256i *)(q + s * STRIPE + 32), d1);
	}
}

__attribute__((target("avx2"))) static inline __m256i scramble_avx2(__m256i a, const uint64_t *key)
{
	const __m256i prime = _mm256_set1_epi32((int)PRIME32_1);
	a = _mm256_xor_si256(a, _mm256_srli_epi64(a, 47));
	a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)key));
	/* 64-bit lanes times a 32-bit prime, mod 2^64: lo*p + (hi*p << 32) */
	__m256i lo = _mm256_mul_epu32(a, prime);
	__m256i hi = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), prime);
	return _mm256_add_epi64(lo, _mm256_slli_epi64(hi, 32));
}

/* The last column when it is narrower than a tile: the same steps, its tail zero-padded. */
__attribute__((target("avx2"))) static void partial_avx2(uint64_t *acc, const uint8_t *p,
							size_t len, const uint64_t *key)
{
	__m256i *a = (__m256i *)acc;
	__m256i a0 = _mm256_loadu_si256(a), a1 = _mm256_loadu_si256(a + 1);
	for (; len >= STRIPE; len -= STRIPE, p += STRIPE, key++)
		stripe_avx2(&a0, &a1, p, key);
	if (len) {
		uint8_t tail[STRIPE] = {0};
		memcpy(tail, p, len);
		stripe_avx2(&a0, &a1, tail, key);
	}
	_mm256_storeu_si256(a, a0);
	_mm256_storeu_si256(a + 1, a1);
}

__attribute__((target("avx2"))) static void band_avx2(uint64_t *acc, const uint8_t *frame,
						     size_t stride, uint32_t y0, uint32_t y1,
						     uint32_t width, uint32_t cols,
						     const struct band_copy *cp)
{
	const size_t row_bytes = (size_t)width * 4;
	const uint32_t whole = (uint32_t)(row_bytes / SEG_BYTES);
	for (uint32_t y = y0; y < y1; y++) {
		const uint8_t *row = frame + (size_t)y * stride;
		uint8_t *drow = cp ? cp->dst + (size_t)y * cp->dst_stride : NULL;
		unsigned r = (y - y0) % ROWS_PER_BLOCK;
		const uint64_t *key = keys + r * (SEG_BYTES / STRIPE);
		for (uint32_t tx = 0; tx < whole; tx++) {
			__m256i *a = (__m256i *)(acc + (size_t)tx * LANES);
			__m256i a0 = _mm256_loadu_si256(a), a1 = _mm256_loadu_si256(a + 1);
			const uint8_t *p = row + (size_t)tx * SEG_BYTES;
			if (cp && cp->copy[tx]) {
				segment_copy_avx2(&a0, &a1, p, drow + (size_t)tx * SEG_BYTES, key,
						  cp->swap_rb);
			} else {
				stripe_avx2(&a0, &a1, p, key);
				stripe_avx2(&a0, &a1, p + 64, key + 1);
				stripe_avx2(&a0, &a1, p + 128, key + 2);
				stripe_avx2(&a0, &a1, p + 192, key + 3);
			}
			_mm256_storeu_si256(a, a0);
			_mm256_storeu_si256(a + 1, a1);
		}
		if (whole < cols)
			partial_avx2(acc + (size_t)whole * LANES, row + (size_t)whole * SEG_BYTES,
				     row_bytes - (size_t)whole * SEG_BYTES, key);
		if (r == ROWS_PER_BLOCK - 1) {
			for (uint32_t tx = 0; tx < cols; tx++) {
				__m256i *a = (__m256i *)(acc + (size_t)tx * LANES);
				_mm256_storeu_si256(a, scramble_avx2(_mm256_loadu_si256(a), keys + 16));
				_mm256_storeu_si256(a + 1,
						    scramble_avx2(_mm256_loadu_si256(a + 1), keys + 20));
			}
		}
	}
}
#endif

static band_fn choose_band(void)
{
	const char *env = getenv("VGPU_DAMAGE_PORTABLE");
	if (env && env[0] == '1')
		return band_scalar;
#ifdef DAMAGE_HAVE_AVX2
	/* libgcc checks that the OS saves the YMM state before it reports AVX2. */
	if (__builtin_cpu_supports("avx2"))
		return band_avx2;
#endif
	return band_scalar;
}

/* ---- the tile hash and the API ------------------------------------------------------- */

/* The low and high halves of a 64x64-bit product, xored (XXH3's mul128_fold64). */
static inline uint64_t mul128_fold64(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 m = (unsigned __int128)a * b;
	return (uint64_t)m ^ (uint64_t)(m >> 64);
#else
	uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
	uint64_t ll = al * bl, hl = ah * bl, lh = al * bh, hh = ah * bh;
	uint64_t cross = (ll >> 32) + (hl & 0xffffffffu) + lh;
	uint64_t hi = hh + (hl >> 32) + (cross >> 32);
	return ((cross << 32) | (ll & 0xffffffffu)) ^ hi;
#endif
}

/* XXH3's merge: fold the eight accumulators pairwise through 128-bit products. */
static uint64_t merge(const uint64_t *acc)
{
	const uint8_t *k = (const uint8_t *)keys + 11;
	uint64_t h = PRIME64_1 * (uint64_t)(DAMAGE_TILE * DAMAGE_TILE * 4);
	for (unsigned i = 0; i < LANES; i += 2)
		h += mul128_fold64(acc[i] ^ read64(k + 8 * i), acc[i + 1] ^ read64(k + 8 * i + 8));
	/* XXH3's avalanche */
	h ^= h >> 37;
	h *= 0x165667919E3779F9ull;
	return h ^ (h >> 32);
}

int damage_init(struct damage *d, uint32_t width, uint32_t height)
{
	memset(d, 0, sizeof(*d));
	if (width == 0 || height == 0 || width > 65535 || height > 65535)
		return -EINVAL;
	d->width = width;
	d->height = height;
	d->cols = (width + DAMAGE_TILE - 1) / DAMAGE_TILE;
	d->rows = (height + DAMAGE_TILE - 1) / DAMAGE_TILE;
	d->hashes = calloc((size_t)d->cols * d->rows, sizeof(*d->hashes));
	d->row_acc = calloc((size_t)d->cols * LANES, sizeof(*d->row_acc));
	d->hot = calloc((size_t)d->cols * d->rows, 1);
	if (!d->hashes || !d->row_acc || !d->hot) {
		damage_destroy(d);
		return -ENOMEM;
	}
	d->band = (void (*)(void))choose_band();
	return 0;
}

void damage_destroy(struct damage *d)
{
	free(d->hashes);
	free(d->row_acc);
	free(d->hot);
	memset(d, 0, sizeof(*d));
}

void damage_invalidate(struct damage *d)
{
	d->valid = false;
}

void damage_tile_rect(const struct damage *d, size_t i, uint32_t *x, uint32_t *y, uint32_t *w,
		      uint32_t *h)
{
	uint32_t tx = (uint32_t)(i % d->cols), ty = (uint32_t)(i / d->cols);
	*x = tx * DAMAGE_TILE;
	*y = ty * DAMAGE_TILE;
	*w = d->width - *x < DAMAGE_TILE ? d->width - *x : DAMAGE_TILE;
	*h = d->height - *y < DAMAGE_TILE ? d->height - *y : DAMAGE_TILE;
}

size_t damage_tile_runs(uint32_t width, uint32_t height, const uint8_t *flags, uint32_t *rects)
{
	uint32_t cols = (width + DAMAGE_TILE - 1) / DAMAGE_TILE;
	uint32_t rows = (height + DAMAGE_TILE - 1) / DAMAGE_TILE;
	size_t n = 0;

	for (uint32_t ty = 0; ty < rows; ty++) {
		const uint8_t *f = flags + (size_t)ty * cols;
		uint32_t y = ty * DAMAGE_TILE;

		for (uint32_t tx = 0; tx < cols; tx++) {
			if (!f[tx])
				continue;
			uint32_t end = tx + 1;
			while (end < cols && f[end])
				end++;
			uint32_t *r = rects + 4 * n++;
			uint32_t x_end = end * DAMAGE_TILE < width ? end * DAMAGE_TILE : width;
			r[0] = tx * DAMAGE_TILE;
			r[1] = y;
			r[2] = x_end - r[0];
			r[3] = height - y < DAMAGE_TILE ? height - y : DAMAGE_TILE;
			tx = end - 1;
		}
	}
	return n;
}

/* Changed tiles of tile row ty that were not copied while hashing: copy them now, from
 * cache, as runs of adjacent tiles (one call a run). */
static void copy_rest(const struct damage *d, uint32_t ty, const uint8_t *out,
		      const uint8_t *copied, const uint8_t *frame, size_t stride, uint32_t fourcc,
		      uint8_t *dst, size_t dst_stride)
{
	uint32_t y = ty * DAMAGE_TILE;
	uint32_t h = d->height - y < DAMAGE_TILE ? d->height - y : DAMAGE_TILE;
	for (uint32_t tx = 0; tx < d->cols; tx++) {
		if (!out[tx] || copied[tx])
			continue;
		uint32_t end = tx + 1;
		while (end < d->cols && out[end] && !copied[end])
			end++;
		uint32_t x = tx * DAMAGE_TILE;
		uint32_t x_end = end * DAMAGE_TILE < d->width ? end * DAMAGE_TILE : d->width;
		pixel_copy_rect(dst, dst_stride, frame, stride, fourcc, x, y, x_end - x, h);
		tx = end - 1;
	}
}

/* One tile row: hash (copying where cp says), merge, compare, and copy the rest. */
static size_t refine_band(struct damage *d, uint32_t ty, const uint8_t *frame, size_t stride,
			  const struct band_copy *cp, uint32_t fourcc, uint8_t *changed)
{
	uint32_t y0 = ty * DAMAGE_TILE;
	uint32_t y1 = y0 + DAMAGE_TILE < d->height ? y0 + DAMAGE_TILE : d->height;
	for (uint32_t tx = 0; tx < d->cols; tx++)
		memcpy(d->row_acc + (size_t)tx * LANES, init_acc, sizeof(init_acc));
	((band_fn)d->band)(d->row_acc, frame, stride, y0, y1, d->width, d->cols, cp);
	uint64_t *stored = d->hashes + (size_t)ty * d->cols;
	uint8_t *out = changed + (size_t)ty * d->cols;
	size_t n_changed = 0;
	for (uint32_t tx = 0; tx < d->cols; tx++) {
		uint64_t h = merge(d->row_acc + (size_t)tx * LANES);
		bool diff = !d->valid || stored[tx] != h;
		stored[tx] = h;
		out[tx] = diff;
		n_changed += diff;
	}
	if (cp && n_changed) {
		/* Only whole columns are copied while hashing; a narrower last one never is. */
		uint8_t copied[(65535 + DAMAGE_TILE - 1) / DAMAGE_TILE];
		uint32_t whole = d->width / DAMAGE_TILE;
		for (uint32_t tx = 0; tx < d->cols; tx++)
			copied[tx] = tx < whole && cp->copy[tx];
		copy_rest(d, ty, out, copied, frame, stride, fourcc, cp->dst, cp->dst_stride);
	}
	return n_changed;
}

size_t damage_refine(struct damage *d, const uint8_t *frame, size_t stride, uint8_t *changed)
{
	size_t n_changed = 0;
	for (uint32_t ty = 0; ty < d->rows; ty++)
		n_changed += refine_band(d, ty, frame, stride, NULL, 0, changed);
	/* This frame's changes predict the next frame's (damage_refine_copy). */
	memcpy(d->hot, changed, damage_tile_count(d));
	d->valid = true;
	return n_changed;
}

size_t damage_refine_copy(struct damage *d, const uint8_t *frame, size_t stride, uint32_t fourcc,
			  uint8_t *dst, size_t dst_stride, uint8_t *changed)
{
	struct band_copy cp = {.dst = dst, .dst_stride = dst_stride};
	switch (fourcc) {
	case PLANE_FORMAT_XRGB8888:
	case PLANE_FORMAT_ARGB8888:
		break;
	case PLANE_FORMAT_XBGR8888:
	case PLANE_FORMAT_ABGR8888:
		cp.swap_rb = true;
		break;
	default:
		return damage_refine(d, frame, stride, changed); /* nothing we could copy */
	}
	/* After invalidation every tile will be reported, so every tile is copied in the
	 * pass; otherwise the tiles that changed last time. */
	if (!d->valid)
		memset(d->hot, 1, damage_tile_count(d));
	size_t n_changed = 0;
	for (uint32_t ty = 0; ty < d->rows; ty++) {
		cp.copy = d->hot + (size_t)ty * d->cols;
		n_changed += refine_band(d, ty, frame, stride, &cp, fourcc, changed);
	}
	memcpy(d->hot, changed, damage_tile_count(d));
	d->valid = true;
	return n_changed;
}

size_t damage_copy_tiles(struct damage *d, const uint8_t *frame, size_t stride, uint32_t fourcc,
			 uint8_t *dst, size_t dst_stride, const uint8_t *changed)
{
	static const uint8_t none[(65535 + DAMAGE_TILE - 1) / DAMAGE_TILE];
	size_t n_changed = 0;
	for (size_t i = 0; i < damage_tile_count(d); i++)
		n_changed += changed[i] != 0;
	for (uint32_t ty = 0; n_changed && ty < d->rows; ty++)
		copy_rest(d, ty, changed + (size_t)ty * d->cols, none, frame, stride, fourcc, dst,
			  dst_stride);
	d->valid = false; /* the hashes no longer describe dst */
	return n_changed;
}
