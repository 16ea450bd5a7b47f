/* Unit tests for the Open H.264 encoding: the message framing, the shared stream's
 * bookkeeping (with a fake encoder and a fake clock), and the Annex B that the real x264
 * back end hands the stream (start codes, SPS+PPS before every IDR, one slice per
 * picture, no B slices, constrained baseline, the VUI colour description). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h264_encoder.h"
#include "open_h264.h"
#include "open_h264_stream.h"
#include "plane.h"

/* ---- framing ---------------------------------------------------------------------------- */

static void test_header(void **state)
{
	(void)state;
	uint8_t h[OPEN_H264_HEADER_SIZE];
	assert_int_equal(open_h264_header(h, 1920, 1080, 0x01020304, OPEN_H264_RESET_CONTEXT),
			 24);
	static const uint8_t want[24] = {
		0, 0, 0, 1,             /* FramebufferUpdate, padding, one rectangle */
		0, 0, 0, 0,             /* x = 0, y = 0 */
		0x07, 0x80, 0x04, 0x38, /* 1920 x 1080 */
		0, 0, 0, 50,            /* encoding 50 */
		1, 2, 3, 4,             /* length */
		0, 0, 0, 1,             /* flags: ResetContext */
	};
	assert_memory_equal(h, want, sizeof(want));
	open_h264_header(h, 321, 241, 0, OPEN_H264_RESET_CONTEXT | OPEN_H264_RESET_ALL_CONTEXTS);
	assert_int_equal(h[8] << 8 | h[9], 321);
	assert_int_equal(h[10] << 8 | h[11], 241);
	assert_int_equal(h[16] | h[17] | h[18] | h[19], 0);
	assert_int_equal(h[23], 3);
}

static void test_quality(void **state)
{
	(void)state;
	assert_int_equal(open_h264_quality(-1, -1), 6);
	for (int q = 0; q <= 9; q++)
		assert_int_equal(open_h264_quality(q, 50), q);
	assert_int_equal(open_h264_quality(-1, 100), 9);
	assert_int_equal(open_h264_quality(-1, 91), 9);
	assert_int_equal(open_h264_quality(-1, 90), 8);
	assert_int_equal(open_h264_quality(-1, 1), 0);
	/* Out of range values (libvncserver validates, but do not trust it) are ignored. */
	assert_int_equal(open_h264_quality(10, 0), 6);
	assert_int_equal(open_h264_quality(-5, 101), 6);
}

/* ---- a fake encoder and clock ------------------------------------------------------------ */

struct fake_state {
	unsigned created, encodes, idrs;
	bool last_forced;
	int fail_create, fail_encode; /* errno to fail with, 0 = work */
	size_t p_size;                /* bytes of a P access unit (IDR: 3x) */
	uint64_t now;
};
static struct fake_state fk;

struct fake_encoder {
	struct h264_encoder base;
	uint8_t buf[1 << 16];
	unsigned frames;
};

static const struct h264_encoder_impl fake_impl;

static int fake_create(const struct h264_encoder_config *cfg, struct h264_encoder **out,
		       char *why, size_t why_len)
{
	if (fk.fail_create) {
		snprintf(why, why_len, "fake create fails");
		return -fk.fail_create;
	}
	struct fake_encoder *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	e->base.impl = &fake_impl;
	e->base.cfg = *cfg;
	fk.created++;
	*out = &e->base;
	snprintf(why, why_len, "fake");
	return 0;
}

static int fake_factory(enum h264_backend backend, const struct h264_encoder_config *cfg,
			struct h264_encoder **out, char *why, size_t why_len)
{
	(void)backend;
	return fake_create(cfg, out, why, why_len);
}

static void fake_destroy(struct h264_encoder *enc)
{
	free(enc);
}

/* An "access unit": a start code, a NAL type byte (5 IDR / 1 P), the picture's number. */
static int fake_encode(struct h264_encoder *enc, const struct h264_frame *frame, bool force_idr,
		       struct h264_packet *out)
{
	struct fake_encoder *e = (struct fake_encoder *)enc;
	(void)frame;
	if (fk.fail_encode)
		return -fk.fail_encode;
	bool idr = force_idr || e->frames == 0;
	size_t len = idr ? 3 * fk.p_size : fk.p_size;
	assert_true(len <= sizeof(e->buf) && len >= 8);
	memset(e->buf, 0xab, len);
	memcpy(e->buf, "\0\0\0\1", 4);
	e->buf[4] = idr ? 0x65 : 0x41;
	e->buf[5] = (uint8_t)e->frames;
	e->frames++;
	fk.encodes++;
	fk.idrs += idr;
	fk.last_forced = force_idr;
	out->data = e->buf;
	out->len = len;
	out->idr = idr;
	return 0;
}

static const struct h264_encoder_impl fake_impl = {
	.name = "fake", .create = fake_create, .destroy = fake_destroy, .encode = fake_encode,
};

static uint64_t fake_now(void)
{
	return fk.now;
}

/* The picture source: a generation the test sets. */
static uint64_t src_gen;
static unsigned src_gets, src_puts;

static int src_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	(void)opaque;
	static const uint8_t px[4];
	f->pixels = px;
	f->stride = 4;
	f->fourcc = PLANE_FORMAT_XRGB8888;
	*gen = src_gen;
	*overlay = 0;
	src_gets++;
	return 0;
}

static void src_put(void *opaque, struct h264_frame *f)
{
	(void)opaque;
	(void)f;
	src_puts++;
}

static const struct h264_source fake_src = {.get = src_get, .put = src_put};

struct tclient {
	struct h264_stream_pos pos;
	struct h264_au *slots[64];
	struct h264_batch b;
};

/* A stream test's picture size and the limits of its hub. */
struct run_spec {
	unsigned w, h;
	struct h264_limits limits;
};

/* Room for every test's limits; the tests that are about a limit lower one. */
#define ROOMY_LIMITS {64, 1 << 20, 1 << 20, 0}
static struct run_spec roomy = {320, 240, ROOMY_LIMITS};

/* What each stream test works on: a hub on the fake encoder and clock, the stream of one
 * key, and up to three clients. The fake's state starts afresh with every run, so a test
 * sees only its own counts. The test's run_spec comes in as its prestate. */
struct run {
	struct h264_hub *hub;
	struct h264_stream_key key;
	struct h264_stream *s;
	struct tclient c[3];
};

static int run_setup(void **state)
{
	const struct run_spec *spec = *state;
	memset(&fk, 0, sizeof(fk));
	fk.p_size = 100;
	fk.now = 1000000;
	src_gen = 1;
	src_gets = src_puts = 0;
	struct run *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct h264_hub_config cfg = {
		.backend = H264_BACKEND_X264, .fps = 30, .threads = 1, .limits = spec->limits,
		.create = fake_factory, .now_ms = fake_now,
	};
	assert_int_equal(h264_hub_create(&cfg, &r->hub), 0);
	r->key = (struct h264_stream_key){spec->w, spec->h, 6, false};
	r->s = h264_hub_acquire(r->hub, &r->key);
	assert_non_null(r->s);
	*state = r;
	return 0;
}

/* The clients' last batches go back before the stream and the hub they point into. */
static int run_teardown(void **state)
{
	struct run *r = *state;
	for (size_t i = 0; i < sizeof(r->c) / sizeof(r->c[0]); i++)
		h264_batch_release(&r->c[i].b);
	h264_hub_release(r->hub, r->s);
	h264_hub_destroy(r->hub);
	free(r);
	return 0;
}

#define STREAM_TEST(f, spec) \
	cmocka_unit_test_prestate_setup_teardown(f, run_setup, run_teardown, &(spec))

/* One turn of a client: it took damage (or not) and reads the generation now. */
static int turn(struct run *r, struct tclient *c, bool damage, bool reset)
{
	char why[256];
	h264_batch_release(&c->b);
	c->b.aus = c->slots;
	c->b.cap = 64;
	struct h264_need need = {.gen = src_gen, .damage = damage, .reset = reset};
	return h264_stream_update(r->hub, r->s, &c->pos, &need, &fake_src, &c->b, why,
				  sizeof(why));
}

/* The pictures (fake numbers) a client got in its last turn, as "I0 P1 P2". */
static const char *got(const struct tclient *c)
{
	static char buf[512];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->b.n; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%c%u", i ? " " : "",
				      c->b.aus[i]->idr ? 'I' : 'P', c->b.aus[i]->data[5]);
	return buf;
}

/* A turn that works and sends exactly the pictures want names. */
static void turn_gets(struct run *r, struct tclient *c, bool damage, bool reset,
		      const char *want)
{
	assert_int_equal(turn(r, c, damage, reset), 0);
	assert_string_equal(got(c), want);
}

/* ---- stream bookkeeping ---------------------------------------------------------------- */

/* 640x480 at quality 6: the test checks that 640x480 at 9 and 800x600 at 6 are other streams. */
static struct run_spec vga = {640, 480, ROOMY_LIMITS};

static void test_join_and_share(void **state)
{
	struct run *r = *state;
	struct tclient *a = &r->c[0], *b = &r->c[1];

	/* The first client starts the stream: an IDR, as a new context. */
	turn_gets(r, a, true, false, "I0");
	assert_true(a->b.reset);
	assert_true(a->b.encoded);
	assert_int_equal(fk.created, 1);

	/* Two new pictures; a second client joins after them: everything since the IDR, as
	 * a new context, with no encode of its own. */
	src_gen = 2;
	turn_gets(r, a, true, false, "P1");
	assert_false(a->b.reset);
	src_gen = 3;
	turn_gets(r, a, true, false, "P2");
	unsigned encodes = fk.encodes;
	turn_gets(r, b, true, false, "I0 P1 P2");
	assert_true(b->b.reset);
	assert_false(b->b.encoded);
	assert_int_equal(fk.encodes, encodes);
	assert_int_equal(b->b.bytes, 300 + 100 + 100);

	/* Encode once, send to many: both need generation 4, one encodes it. */
	src_gen = 4;
	turn_gets(r, b, true, false, "P3");
	assert_true(b->b.encoded);
	turn_gets(r, a, true, false, "P3");
	assert_false(a->b.encoded);
	assert_int_equal(fk.encodes, encodes + 1);

	/* Nothing newer: nothing to send and no encode (the caller answers the request). */
	assert_int_equal(turn(r, a, true, false), 0);
	assert_int_equal(a->b.n, 0);
	assert_int_equal(fk.encodes, encodes + 1);
	assert_int_equal(a->b.newest_gen, 4);

	/* Every encode fetched one frame and gave it back. */
	assert_int_equal(src_gets, fk.encodes);
	assert_int_equal(src_puts, fk.encodes);

	/* The same key is the same stream; another quality or size is another. */
	struct h264_stream *same = h264_hub_acquire(r->hub, &r->key);
	assert_ptr_equal(same, r->s);
	h264_hub_release(r->hub, same);
	struct h264_stream_key k2 = {640, 480, 9, false}, k3 = {800, 600, 6, false};
	struct h264_stream_key k4 = {640, 480, 6, true}; /* the cursor drawn in */
	struct h264_stream *s2 = h264_hub_acquire(r->hub, &k2), *s3 = h264_hub_acquire(r->hub, &k3);
	struct h264_stream *s4 = h264_hub_acquire(r->hub, &k4);
	assert_true(s2 != r->s && s3 != r->s && s2 != s3);
	assert_true(s4 != r->s && s4 != s2 && s4 != s3);
	h264_hub_release(r->hub, s2);
	h264_hub_release(r->hub, s3);
	h264_hub_release(r->hub, s4);

	const struct h264_hub_stats *st = h264_hub_stats(r->hub);
	assert_int_equal(atomic_load(&st->encodes), fk.encodes);
	assert_int_equal(atomic_load(&st->idrs), 1);
}

static void test_slow_client_gets_glued_frames(void **state)
{
	struct run *r = *state;
	struct tclient *fast = &r->c[0], *slow = &r->c[1];
	assert_int_equal(turn(r, fast, true, false), 0);
	turn_gets(r, slow, true, false, "I0");
	for (int i = 0; i < 5; i++) {
		src_gen++;
		assert_int_equal(turn(r, fast, true, false), 0);
		assert_int_equal(fast->b.n, 1);
	}
	/* The slow client's turn comes: the five pictures it missed, in order, in one
	 * message, still in its context. */
	turn_gets(r, slow, true, false, "P1 P2 P3 P4 P5");
	assert_false(slow->b.reset);
	assert_false(slow->b.encoded);
	assert_int_equal(fk.encodes, 6);
}

/* At most 4 pictures since the IDR: the 5th encode is an IDR and the list restarts. */
static struct run_spec four_frames = {320, 240, {4, 1 << 20, 1 << 20, 0}};

static void test_bound_forces_idr(void **state)
{
	struct run *r = *state;
	struct tclient *fast = &r->c[0], *slow = &r->c[1], *late = &r->c[2];
	assert_int_equal(turn(r, fast, true, false), 0);
	assert_int_equal(turn(r, slow, true, false), 0);
	for (int i = 0; i < 3; i++) {
		src_gen++;
		assert_int_equal(turn(r, fast, true, false), 0);
	}
	assert_int_equal(fk.idrs, 1);
	src_gen++;
	turn_gets(r, fast, true, false, "I4");
	assert_true(fk.last_forced);
	assert_false(fast->b.reset); /* it had everything before: the IDR just goes on */
	src_gen++;
	turn_gets(r, fast, true, false, "P5");

	/* The slow client missed P1..P3, which are gone: a new context from the IDR. */
	turn_gets(r, slow, true, false, "I4 P5");
	assert_true(slow->b.reset);

	/* A joiner gets the list from its IDR. */
	turn_gets(r, late, true, false, "I4 P5");
	assert_true(late->b.reset);
}

/* IDR 300 bytes + P 100 each; at 500 bytes the next encode is an IDR. */
static struct run_spec five_hundred_bytes = {320, 240, {64, 500, 1 << 20, 0}};

static void test_byte_bound_forces_idr(void **state)
{
	struct run *r = *state;
	const char *want[] = {"I0", "P1", "P2", "I3", "P4", "P5", "I6"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		src_gen++;
		turn_gets(r, &r->c[0], true, false, want[i]);
	}
}

/* A context start would replay more than 450 bytes: encode an IDR now instead. */
static struct run_spec short_replay = {320, 240, {64, 1 << 20, 450, 0}};

static void test_long_replay_forces_idr(void **state)
{
	struct run *r = *state;
	struct tclient *a = &r->c[0], *b = &r->c[1];
	assert_int_equal(turn(r, a, true, false), 0);
	src_gen++;
	assert_int_equal(turn(r, a, true, false), 0); /* 400 bytes: fits */
	turn_gets(r, b, false, false, "I0 P1");
	assert_false(b->b.encoded);
	src_gen++;
	assert_int_equal(turn(r, a, true, false), 0); /* 500 bytes */
	/* b asks for the whole screen again (non-incremental): a fresh IDR rather than a
	 * 500-byte replay, though nothing changed. */
	turn_gets(r, b, false, true, "I3");
	assert_true(b->b.reset);
	assert_true(b->b.encoded);
	assert_true(fk.last_forced);
	/* a just goes on with the IDR. */
	turn_gets(r, a, true, false, "I3");
	assert_false(a->b.reset);
}

static void test_reset_replays_from_idr(void **state)
{
	struct run *r = *state;
	struct tclient *c = &r->c[0];
	assert_int_equal(turn(r, c, true, false), 0);
	src_gen++;
	assert_int_equal(turn(r, c, true, false), 0);
	/* A non-incremental request on a still screen: the same pictures again, as a new
	 * context, without an encode. */
	unsigned encodes = fk.encodes;
	turn_gets(r, c, true, true, "I0 P1");
	assert_true(c->b.reset);
	assert_int_equal(fk.encodes, encodes);
}

/* An IDR at least every 2 s. */
static struct run_spec idr_every_2s = {320, 240, {64, 1 << 20, 1 << 20, 2000}};

static void test_periodic_idr(void **state)
{
	struct run *r = *state;
	struct tclient *c = &r->c[0];
	turn_gets(r, c, true, false, "I0");
	for (int i = 1; i < 4; i++) {
		fk.now += 500;
		src_gen++;
		assert_int_equal(turn(r, c, true, false), 0);
		assert_false(c->b.aus[0]->idr);
	}
	/* 2 s after the IDR: the next picture is one. */
	fk.now += 500;
	src_gen++;
	turn_gets(r, c, true, false, "I4");
	assert_true(fk.last_forced);
	/* A still screen sends nothing, periodic or not. */
	fk.now += 10000;
	assert_int_equal(turn(r, c, true, false), 0);
	assert_int_equal(c->b.n, 0);
	src_gen++;
	turn_gets(r, c, true, false, "I5");
}

static void test_encoder_failure(void **state)
{
	struct run *r = *state;
	struct tclient *c = &r->c[0], *d = &r->c[1];
	fk.fail_create = ENODEV;
	assert_int_equal(turn(r, c, true, false), -ENODEV);
	assert_int_equal(c->b.n, 0);
	/* Broken for good: no new attempt each frame. */
	fk.fail_create = 0;
	assert_int_equal(turn(r, c, true, false), -EIO);
	assert_int_equal(fk.created, 0);
	h264_hub_release(r->hub, r->s);

	r->s = h264_hub_acquire(r->hub, &r->key); /* a new stream for the key */
	turn_gets(r, d, true, false, "I0");
	/* A frame that fails is skipped, not the end: nothing goes out, and the next turn
	 * encodes it although the screen stands still (no new generation, no new damage). */
	fk.fail_encode = EIO;
	src_gen++;
	assert_int_equal(turn(r, d, true, false), H264_STREAM_SKIPPED);
	assert_int_equal(d->b.n, 0);
	assert_int_equal(turn(r, d, false, false), H264_STREAM_SKIPPED);
	fk.fail_encode = 0;
	turn_gets(r, d, false, false, "P1");
	assert_false(d->b.reset);
	assert_int_equal(d->b.aus[0]->gen, src_gen);
	assert_int_equal(atomic_load(&h264_hub_stats(r->hub)->skipped), 2);
	/* On x264, H264_STREAM_MAX_FAILURES in a row end the stream. */
	fk.fail_encode = EIO;
	src_gen++;
	for (unsigned i = 1; i < H264_STREAM_MAX_FAILURES; i++)
		assert_int_equal(turn(r, d, true, false), H264_STREAM_SKIPPED);
	assert_int_equal(turn(r, d, true, false), -EIO);
	assert_int_equal(turn(r, d, true, false), -EIO);
}

/* ---- Annex B from the real x264 back end ---------------------------------------------- */

struct nal {
	const uint8_t *p; /* after the start code */
	size_t len;
	unsigned type;
};

/* Split Annex B into NALs; every byte must belong to one (a start code first). */
static size_t split_nals(const uint8_t *d, size_t n, struct nal *out, size_t max)
{
	size_t count = 0, i = 0;
	assert_true(n >= 4);
	assert_true(!memcmp(d, "\0\0\1", 3) || !memcmp(d, "\0\0\0\1", 4));
	while (i < n) {
		size_t sc = !memcmp(d + i, "\0\0\1", 3) ? 3 : (!memcmp(d + i, "\0\0\0\1", 4) ? 4 : 0);
		assert_true(sc != 0);
		size_t start = i + sc, end = start;
		while (end < n && !(end + 3 <= n && !memcmp(d + end, "\0\0\1", 3)) &&
		       !(end + 4 <= n && !memcmp(d + end, "\0\0\0\1", 4)))
			end++;
		assert_true(count < max);
		assert_true(end > start);
		out[count].p = d + start;
		out[count].len = end - start;
		out[count].type = d[start] & 0x1f;
		count++;
		i = end;
	}
	return count;
}

/* An RBSP bit reader (emulation prevention bytes removed). */
struct bits {
	uint8_t buf[512];
	size_t len, pos;
};

static void bits_init(struct bits *b, const struct nal *nal)
{
	b->len = b->pos = 0;
	for (size_t i = 1; i < nal->len && b->len < sizeof(b->buf); i++) {
		if (i >= 3 && nal->p[i] == 3 && nal->p[i - 1] == 0 && nal->p[i - 2] == 0)
			continue;
		b->buf[b->len++] = nal->p[i];
	}
}

static unsigned u(struct bits *b, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++, b->pos++) {
		assert_true(b->pos / 8 < b->len);
		v = v << 1 | ((b->buf[b->pos / 8] >> (7 - b->pos % 8)) & 1);
	}
	return v;
}

static unsigned ue(struct bits *b)
{
	int zeros = 0;
	while (u(b, 1) == 0)
		zeros++;
	assert_true(zeros < 32);
	return (1u << zeros) - 1 + u(b, zeros);
}

struct sps_facts {
	unsigned profile_idc, constraints, level;
	bool vui, signal, full_range, colour;
	unsigned primaries, transfer, matrix;
};

static struct sps_facts parse_sps(const struct nal *nal)
{
	struct sps_facts f = {0};
	struct bits b;
	bits_init(&b, nal);
	f.profile_idc = u(&b, 8);
	f.constraints = u(&b, 8);
	f.level = u(&b, 8);
	ue(&b); /* seq_parameter_set_id */
	assert_int_equal(f.profile_idc, 66); /* no chroma_format_idc & co. for baseline */
	ue(&b);                              /* log2_max_frame_num_minus4 */
	unsigned poc_type = ue(&b);
	if (poc_type == 0) {
		ue(&b);
	} else if (poc_type == 1) {
		u(&b, 1);
		ue(&b);
		ue(&b);
		for (unsigned n = ue(&b); n; n--)
			ue(&b);
	}
	ue(&b);  /* max_num_ref_frames */
	u(&b, 1); /* gaps_in_frame_num_value_allowed_flag */
	ue(&b);  /* pic_width_in_mbs_minus1 */
	ue(&b);  /* pic_height_in_map_units_minus1 */
	if (!u(&b, 1)) /* frame_mbs_only_flag */
		u(&b, 1);
	u(&b, 1); /* direct_8x8_inference_flag */
	if (u(&b, 1)) { /* frame_cropping_flag */
		ue(&b);
		ue(&b);
		ue(&b);
		ue(&b);
	}
	f.vui = u(&b, 1);
	if (!f.vui)
		return f;
	if (u(&b, 1)) { /* aspect_ratio_info_present_flag */
		if (u(&b, 8) == 255)
			u(&b, 32);
	}
	if (u(&b, 1)) /* overscan_info_present_flag */
		u(&b, 1);
	f.signal = u(&b, 1);
	if (f.signal) {
		u(&b, 3); /* video_format */
		f.full_range = u(&b, 1);
		f.colour = u(&b, 1);
		if (f.colour) {
			f.primaries = u(&b, 8);
			f.transfer = u(&b, 8);
			f.matrix = u(&b, 8);
		}
	}
	return f;
}

/* slice_type of a slice NAL, and that it starts the picture. */
static unsigned slice_type(const struct nal *nal, unsigned *first_mb)
{
	struct bits b;
	bits_init(&b, nal);
	*first_mb = ue(&b);
	return ue(&b);
}

/* A desktop-ish XRGB picture that changes with t. */
static void draw(uint8_t *px, unsigned w, unsigned h, unsigned t)
{
	for (unsigned y = 0; y < h; y++) {
		for (unsigned x = 0; x < w; x++) {
			uint8_t *p = px + ((size_t)y * w + x) * 4;
			bool box = x >= 20 + 7 * t && x < 120 + 7 * t && y >= 30 && y < 90;
			p[0] = box ? 40 : (uint8_t)(x * 255 / w);
			p[1] = box ? 200 : (uint8_t)(y * 255 / h);
			p[2] = box ? 90 : (uint8_t)((x ^ y) & 0xff);
			p[3] = 0;
		}
	}
}

struct pic_source {
	uint8_t *px;
	unsigned w, h;
};

static int pic_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	struct pic_source *ps = opaque;
	f->pixels = ps->px;
	f->stride = (size_t)ps->w * 4;
	f->fourcc = PLANE_FORMAT_XRGB8888;
	*gen = src_gen;
	*overlay = 0;
	return 0;
}

static void pic_put(void *opaque, struct h264_frame *f)
{
	(void)opaque;
	(void)f;
}

static void check_access_unit(const struct h264_au *au, bool *seen_sps)
{
	struct nal nals[16];
	size_t n = split_nals(au->data, au->len, nals, 16);
	unsigned slices = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned t = nals[i].type;
		/* Only what noVNC's parser knows: slices, SPS, PPS. No AUD, no SEI. */
		assert_true(t == 1 || t == 5 || t == 7 || t == 8);
		if (t == 7) {
			struct sps_facts f = parse_sps(&nals[i]);
			/* Constrained baseline: profile 66 with constraint_set1 (x264 sets set0 too). */
			assert_int_equal(f.profile_idc, 66);
			assert_true(f.constraints & 0x40);
			assert_true(f.vui && f.signal && f.colour);
			assert_true(f.full_range);
			assert_int_equal(f.primaries, 1);
			assert_int_equal(f.transfer, 13);
			assert_int_equal(f.matrix, 6);
			*seen_sps = true;
		}
		if (t == 1 || t == 5) {
			unsigned first_mb, st = slice_type(&nals[i], &first_mb);
			assert_int_equal(first_mb, 0);
			assert_true(st % 5 != 1); /* no B slices */
			assert_true(t == 1 || st % 5 == 2); /* an IDR slice is an I slice */
			slices++;
		}
	}
	assert_int_equal(slices, 1); /* one slice per picture */
	if (au->idr) {
		/* SPS, PPS, then the IDR slice. */
		assert_int_equal(n, 3);
		assert_int_equal(nals[0].type, 7);
		assert_int_equal(nals[1].type, 8);
		assert_int_equal(nals[2].type, 5);
	} else {
		assert_int_equal(n, 1);
		assert_int_equal(nals[0].type, 1);
	}
}

static void test_x264_annexb(void **state)
{
	(void)state;
	const unsigned w = 320, h = 240;
	struct h264_hub_config cfg = {
		.backend = H264_BACKEND_X264, .fps = 30, .threads = 1,
		.limits = {5, 1 << 20, 1 << 20, 0},
	};
	struct h264_hub *hub;
	assert_int_equal(h264_hub_create(&cfg, &hub), 0);
	struct h264_stream_key key = {w, h, 6, false};
	struct h264_stream *s = h264_hub_acquire(hub, &key);
	struct pic_source ps = {.px = malloc((size_t)w * h * 4), .w = w, .h = h};
	assert_non_null(ps.px);
	struct h264_source src = {.get = pic_get, .put = pic_put, .opaque = &ps};
	struct tclient a = {0}, b = {0};
	unsigned idrs = 0;
	bool seen_sps = false;
	char why[256];
	src_gen = 0;
	for (unsigned t = 0; t < 12; t++) {
		draw(ps.px, w, h, t);
		src_gen++;
		a.b.aus = a.slots;
		a.b.cap = 64;
		/* The 5th turn asks afresh: it gets the list from the IDR again. The bound (5)
		 * makes every 5th picture an IDR. */
		struct h264_need need = {.gen = src_gen, .damage = true, .reset = t == 4};
		assert_int_equal(h264_stream_update(hub, s, &a.pos, &need, &src, &a.b, why,
						    sizeof(why)), 0);
		assert_true(a.b.n >= 1);
		/* Every message starts a context with an IDR that has SPS and PPS. */
		if (a.b.reset)
			assert_true(a.b.aus[0]->idr);
		for (size_t i = 0; i < a.b.n; i++) {
			check_access_unit(a.b.aus[i], &seen_sps);
		}
		idrs += a.b.aus[a.b.n - 1]->idr;
		h264_batch_release(&a.b);
	}
	assert_true(seen_sps);
	assert_int_equal(idrs, 3); /* pictures 0, 5, 10 */
	/* A client joining now starts at the last IDR. */
	b.b.aus = b.slots;
	b.b.cap = 64;
	struct h264_need need = {.gen = src_gen, .damage = true};
	assert_int_equal(h264_stream_update(hub, s, &b.pos, &need, &src, &b.b, why, sizeof(why)),
			 0);
	assert_int_equal(b.b.n, 2);
	assert_true(b.b.reset && b.b.aus[0]->idr && !b.b.aus[1]->idr);
	for (size_t i = 0; i < b.b.n; i++)
		check_access_unit(b.b.aus[i], &seen_sps);
	h264_batch_release(&b.b);
	h264_hub_release(hub, s);
	h264_hub_destroy(hub);
	free(ps.px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_quality),
		STREAM_TEST(test_join_and_share, vga),
		STREAM_TEST(test_slow_client_gets_glued_frames, roomy),
		STREAM_TEST(test_bound_forces_idr, four_frames),
		STREAM_TEST(test_byte_bound_forces_idr, five_hundred_bytes),
		STREAM_TEST(test_long_replay_forces_idr, short_replay),
		STREAM_TEST(test_reset_replays_from_idr, roomy),
		STREAM_TEST(test_periodic_idr, idr_every_2s),
		STREAM_TEST(test_encoder_failure, roomy),
		cmocka_unit_test(test_x264_annexb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
