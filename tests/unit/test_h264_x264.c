/* Unit tests for the x264 back end: the parameters it builds (quality → CRF, threads →
 * slices, low latency, baseline, VUI), and a round trip through libavcodec's decoder of
 * synthetic desktop frames.
 *
 * Threshold: at quality 9 (CRF 18) every decoded frame is within PSNR >= 35 dB of its
 * source (RGB, all channels). A wrong channel order, range or matrix, a stale or shifted
 * picture, or a broken odd-size pad is far below that (typically < 20 dB).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libyuv.h>

#include "h264_encoder.h"
#include "h264_x264.h"
#include "plane.h"

#define PSNR_MIN_Q9 35.0

/* ---- parameters ----------------------------------------------------------------------- */

static void test_crf_mapping(void **state)
{
	(void)state;
	static const float want[] = {38, 36, 34, 32, 30, 28, 26, 24, 21, 18};
	for (unsigned q = 0; q <= 9; q++) {
		assert_true(h264_x264_crf(q) == want[q]);
		if (q)
			assert_true(h264_x264_crf(q) < h264_x264_crf(q - 1)); /* better = lower */
	}
	assert_true(h264_x264_crf(10) == 18);
	assert_true(h264_x264_crf(1000) == 18);
}

static void test_params(void **state)
{
	(void)state;
	struct h264_encoder_config cfg = {.width = 1920, .height = 1080, .fps = 60, .quality = 6,
					  .threads = 1};
	x264_param_t p;
	char why[256];
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), 0);
	assert_int_equal(p.i_width, 1920);
	assert_int_equal(p.i_height, 1080);
	assert_int_equal(p.i_csp, X264_CSP_I420);
	assert_int_equal(p.i_fps_num, 60);
	assert_int_equal(p.i_fps_den, 1);
	/* One thread, one slice, no delay. */
	assert_int_equal(p.i_threads, 1);
	assert_int_equal(p.i_slice_count, 0);
	assert_int_equal(p.i_slice_max_mbs, 0);
	assert_int_equal(p.i_slice_max_size, 0);
	assert_int_equal(p.i_sync_lookahead, 0);
	assert_int_equal(p.rc.i_lookahead, 0);
	assert_int_equal(p.rc.b_mb_tree, 0);
	assert_int_equal(p.i_bframe, 0);
	/* IDR only when forced. */
	assert_int_equal(p.i_keyint_max, X264_KEYINT_MAX_INFINITE);
	assert_int_equal(p.i_scenecut_threshold, 0);
	assert_int_equal(p.b_intra_refresh, 0);
	/* Baseline: CAVLC, no 8x8 transform, no weighted prediction. */
	assert_int_equal(p.b_cabac, 0);
	assert_int_equal(p.analyse.b_transform_8x8, 0);
	assert_int_equal(p.analyse.i_weighted_pred, 0);
	/* Stream form. */
	assert_int_equal(p.b_repeat_headers, 1);
	assert_int_equal(p.b_annexb, 1);
	assert_int_equal(p.b_aud, 0);
	/* VUI: what libyuv's J420 makes. */
	assert_int_equal(p.vui.b_fullrange, 1);
	assert_int_equal(p.vui.i_colorprim, 1);
	assert_int_equal(p.vui.i_transfer, 13);
	assert_int_equal(p.vui.i_colmatrix, 6);
	/* Rate control. */
	assert_int_equal(p.rc.i_rc_method, X264_RC_CRF);
	assert_true(p.rc.f_rf_constant == 26);
	assert_int_equal(p.rc.i_vbv_buffer_size, 0);
	assert_int_equal(p.rc.i_vbv_max_bitrate, 0);

	/* More threads: sliced, a slice each. */
	cfg.threads = 3;
	cfg.quality = 9;
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), 0);
	assert_int_equal(p.i_threads, 3);
	assert_int_equal(p.b_sliced_threads, 1);
	assert_int_equal(p.i_slice_count, 3);
	assert_true(p.rc.f_rf_constant == 18);
	/* 0 threads is one, not x264's "auto" (which would mean several slices). */
	cfg.threads = 0;
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), 0);
	assert_int_equal(p.i_threads, 1);

	/* Odd sizes are coded one larger. */
	cfg.width = 321;
	cfg.height = 241;
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), 0);
	assert_int_equal(p.i_width, 322);
	assert_int_equal(p.i_height, 242);
	unsigned cw, ch;
	h264_x264_coded_size(640, 480, &cw, &ch);
	assert_int_equal(cw, 640);
	assert_int_equal(ch, 480);

	cfg.width = 0;
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), -EINVAL);
	cfg.width = 20000;
	assert_int_equal(h264_x264_params(&cfg, &p, why, sizeof(why)), -EINVAL);
}

/* ---- synthetic frames ------------------------------------------------------------------ */

/* A desktop: gradient wallpaper, a white window with black "text" rows, a coloured
 * button, and a box that moves with t. Bytes B,G,R,X (or R,G,B,X when xbgr). Edges
 * between saturated colours sit on even coordinates: 4:2:0 keeps one chroma sample per
 * 2x2 pixels, and on an odd-aligned orange/blue edge that alone costs several dB of PSNR
 * (measured: 31 dB in that quadrant), which is the format, not the encoder. */
static void draw(uint8_t *px, unsigned w, unsigned h, unsigned t, bool xbgr)
{
	unsigned wx0 = (w / 8) & ~1u, wx1 = (w * 7 / 8) & ~1u;
	unsigned wy0 = (h / 6) & ~1u, wy1 = (h * 5 / 6) & ~1u;
	unsigned bx = ((t * 9) % (w > 60 ? w - 60 : 1)) & ~1u;
	unsigned by0 = (h - 60) & ~1u, by1 = (h - 12) & ~1u;
	for (unsigned y = 0; y < h; y++) {
		for (unsigned x = 0; x < w; x++) {
			uint8_t r = (uint8_t)(40 + x * 100 / w), g = (uint8_t)(60 + y * 120 / h),
				b = (uint8_t)(160 + (x + y) * 60 / (w + h));
			if (x >= wx0 && x < wx1 && y >= wy0 && y < wy1) {
				r = g = b = 245;
				unsigned row = (y - wy0) % 12, col = (x * 7 + (y / 12) * 13) % 11;
				if (row >= 3 && row < 10 && col < 6 && ((x / 6 + y / 12 + t / 4) % 5))
					r = g = b = 20;
			}
			if (y >= wy0 + 4 && y < wy0 + 20 && x >= wx0 + 8 && x < wx0 + 60) {
				r = 30;
				g = 110;
				b = 220;
			}
			if (x >= bx && x < bx + 48 && y >= by0 && y < by1) {
				r = 230;
				g = 150;
				b = 20;
			}
			uint8_t *p = px + ((size_t)y * w + x) * 4;
			p[0] = xbgr ? r : b;
			p[1] = g;
			p[2] = xbgr ? b : r;
			p[3] = 0xff;
		}
	}
}

struct dec {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
};

static void dec_open(struct dec *d)
{
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
	assert_non_null(codec);
	d->ctx = avcodec_alloc_context3(codec);
	assert_non_null(d->ctx);
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->ctx->thread_count = 1;
	assert_int_equal(avcodec_open2(d->ctx, codec, NULL), 0);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	assert_non_null(d->pkt);
	assert_non_null(d->frame);
}

static void dec_close(struct dec *d)
{
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->ctx);
}

/* Decode one access unit; it must give its picture at once (no reordering, no delay). */
static void dec_one(struct dec *d, const struct h264_packet *au)
{
	assert_int_equal(av_new_packet(d->pkt, (int)au->len), 0);
	memcpy(d->pkt->data, au->data, au->len);
	assert_int_equal(avcodec_send_packet(d->ctx, d->pkt), 0);
	av_packet_unref(d->pkt);
	assert_int_equal(avcodec_receive_frame(d->ctx, d->frame), 0);
}

/* PSNR over RGB of the decoded frame's top-left w x h against the source. */
static double psnr(const AVFrame *f, const uint8_t *src, unsigned w, unsigned h, bool xbgr)
{
	assert_true(f->format == AV_PIX_FMT_YUVJ420P || f->format == AV_PIX_FMT_YUV420P);
	assert_true((unsigned)f->width >= w && (unsigned)f->height >= h);
	uint8_t *rgb = malloc((size_t)w * h * 4);
	assert_non_null(rgb);
	/* Full-range BT.601, as the VUI says. */
	assert_int_equal(J420ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1],
				    f->data[2], f->linesize[2], rgb, (int)w * 4, (int)w, (int)h),
			 0);
	double se = 0;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		const uint8_t *a = rgb + i * 4, *s = src + i * 4;
		int sb = xbgr ? s[2] : s[0], sr = xbgr ? s[0] : s[2];
		int d0 = a[0] - sb, d1 = a[1] - s[1], d2 = a[2] - sr;
		se += d0 * d0 + d1 * d1 + d2 * d2;
	}
	free(rgb);
	double mse = se / (3.0 * w * h);
	return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

/* Encode n frames at quality q (IDR first and at frame 3), decode each, check PSNR. */
static void round_trip(unsigned w, unsigned h, unsigned q, bool xbgr, unsigned n, double min)
{
	struct h264_encoder_config cfg = {.width = w, .height = h, .fps = 30, .quality = q,
					  .threads = 1};
	struct h264_encoder *enc;
	char why[256];
	assert_int_equal(h264_x264_impl.create(&cfg, &enc, why, sizeof(why)), 0);
	assert_ptr_equal(enc->impl, &h264_x264_impl);
	assert_int_equal(enc->impl->caps, H264_TAKES_PIXELS);
	struct dec d;
	dec_open(&d);
	uint8_t *px = malloc((size_t)w * h * 4);
	assert_non_null(px);
	for (unsigned t = 0; t < n; t++) {
		draw(px, w, h, t, xbgr);
		struct h264_frame f = {
			.pixels = px, .stride = (size_t)w * 4, .dmabuf_fd = -1,
			.fourcc = xbgr ? PLANE_FORMAT_XBGR8888 : PLANE_FORMAT_XRGB8888,
		};
		struct h264_packet pkt;
		bool force = t == 0 || t == 3;
		assert_int_equal(h264_encoder_encode(enc, &f, force, &pkt), 0);
		assert_true(pkt.len > 0);
		assert_int_equal(pkt.idr, force);
		dec_one(&d, &pkt);
		assert_int_equal(d.frame->width, (int)(w + (w & 1)));
		assert_int_equal(d.frame->height, (int)(h + (h & 1)));
		/* The decoder sees the colour description the encoder wrote. */
		assert_int_equal(d.frame->color_range, AVCOL_RANGE_JPEG);
		assert_int_equal(d.frame->colorspace, AVCOL_SPC_SMPTE170M);
		assert_int_equal(d.frame->color_primaries, AVCOL_PRI_BT709);
		assert_int_equal(d.frame->color_trc, AVCOL_TRC_IEC61966_2_1);
		double db = psnr(d.frame, px, w, h, xbgr);
		if (getenv("H264_TEST_VERBOSE"))
			print_message("%ux%u q%u frame %u: %.2f dB, %zu bytes\n", w, h, q, t, db, pkt.len);
		if (db < min)
			fail_msg("%ux%u q%u %s frame %u: PSNR %.2f dB < %.1f", w, h, q,
				 xbgr ? "XBGR" : "XRGB", t, db, min);
	}
	free(px);
	dec_close(&d);
	h264_encoder_destroy(enc);
}

static void test_round_trip_q9(void **state)
{
	(void)state;
	round_trip(640, 480, 9, false, 6, PSNR_MIN_Q9);
}

static void test_round_trip_xbgr(void **state)
{
	(void)state;
	round_trip(320, 240, 9, true, 4, PSNR_MIN_Q9);
}

static void test_round_trip_odd_size(void **state)
{
	(void)state;
	/* Padded to 322x242 by repeating the last column and row; the client crops. */
	round_trip(321, 241, 9, false, 4, PSNR_MIN_Q9);
}

/* Lower quality: smaller, still a faithful picture (30 dB, the integration threshold). */
static void test_quality_trades_size(void **state)
{
	(void)state;
	const unsigned w = 640, h = 480;
	uint8_t *px = malloc((size_t)w * h * 4);
	assert_non_null(px);
	draw(px, w, h, 0, false);
	size_t sizes[3];
	const unsigned qs[3] = {0, 6, 9};
	for (int i = 0; i < 3; i++) {
		struct h264_encoder_config cfg = {.width = w, .height = h, .fps = 30,
						  .quality = qs[i], .threads = 1};
		struct h264_encoder *enc;
		char why[256];
		assert_int_equal(h264_x264_impl.create(&cfg, &enc, why, sizeof(why)), 0);
		struct h264_frame f = {.pixels = px, .stride = w * 4, .dmabuf_fd = -1,
				       .fourcc = PLANE_FORMAT_XRGB8888};
		struct h264_packet pkt;
		assert_int_equal(h264_encoder_encode(enc, &f, true, &pkt), 0);
		sizes[i] = pkt.len;
		if (qs[i] == 6) {
			struct dec d;
			dec_open(&d);
			dec_one(&d, &pkt);
			assert_true(psnr(d.frame, px, w, h, false) >= 30.0);
			dec_close(&d);
		}
		h264_encoder_destroy(enc);
	}
	assert_true(sizes[0] < sizes[1] && sizes[1] < sizes[2]);
	free(px);
}

/* Count the slice NALs (types 1 and 5) of an access unit. */
static unsigned count_slices(const uint8_t *p, size_t n)
{
	unsigned slices = 0;
	for (size_t i = 0; i + 3 < n; i++) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			unsigned t = p[i + 3] & 0x1f;
			slices += t == 1 || t == 5;
			i += 2;
		}
	}
	return slices;
}

static void test_threads_make_slices(void **state)
{
	(void)state;
	const unsigned w = 320, h = 240;
	uint8_t *px = malloc((size_t)w * h * 4);
	assert_non_null(px);
	for (unsigned threads = 1; threads <= 3; threads++) {
		struct h264_encoder_config cfg = {.width = w, .height = h, .fps = 30, .quality = 6,
						  .threads = threads};
		struct h264_encoder *enc;
		char why[256];
		assert_int_equal(h264_x264_impl.create(&cfg, &enc, why, sizeof(why)), 0);
		for (unsigned t = 0; t < 3; t++) {
			draw(px, w, h, t, false);
			struct h264_frame f = {.pixels = px, .stride = w * 4, .dmabuf_fd = -1,
					       .fourcc = PLANE_FORMAT_XRGB8888};
			struct h264_packet pkt;
			/* Even with several threads: an access unit for every frame at once. */
			assert_int_equal(h264_encoder_encode(enc, &f, t == 0, &pkt), 0);
			assert_int_equal(count_slices(pkt.data, pkt.len), threads);
		}
		h264_encoder_destroy(enc);
	}
	free(px);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct h264_encoder_config cfg = {.width = 64, .height = 64, .fps = 30, .quality = 6,
					  .threads = 1};
	struct h264_encoder *enc;
	char why[256];
	assert_int_equal(h264_x264_impl.create(&cfg, &enc, why, sizeof(why)), 0);
	uint8_t px[64 * 64 * 4] = {0};
	struct h264_packet pkt;
	struct h264_frame f = {.pixels = NULL, .stride = 256, .dmabuf_fd = 3,
			       .fourcc = PLANE_FORMAT_XRGB8888};
	/* x264 needs pixels; a dma-buf alone will not do. */
	assert_int_equal(h264_encoder_encode(enc, &f, true, &pkt), -EINVAL);
	f.pixels = px;
	f.stride = 255;
	assert_int_equal(h264_encoder_encode(enc, &f, true, &pkt), -EINVAL);
	f.stride = 256;
	f.fourcc = PLANE_FOURCC('N', 'V', '1', '2');
	assert_int_equal(h264_encoder_encode(enc, &f, true, &pkt), -ENOTSUP);
	/* The dma-buf's format differs from the pixels': pixels_fourcc is what x264 reads. */
	f.pixels_fourcc = PLANE_FORMAT_XRGB8888;
	assert_int_equal(h264_encoder_encode(enc, &f, true, &pkt), 0);
	assert_true(pkt.idr);
	h264_encoder_destroy(enc);

	cfg.width = 0;
	assert_int_equal(h264_x264_impl.create(&cfg, &enc, why, sizeof(why)), -EINVAL);
	assert_null(enc);
	assert_non_null(strstr(why, "x264"));
}

static void test_backend_names(void **state)
{
	(void)state;
	enum h264_backend b;
	assert_int_equal(h264_backend_parse("auto", &b), 0);
	assert_int_equal(b, H264_BACKEND_AUTO);
	assert_int_equal(h264_backend_parse("vpl", &b), 0);
	assert_int_equal(b, H264_BACKEND_VPL);
	assert_int_equal(h264_backend_parse("x264", &b), 0);
	assert_int_equal(b, H264_BACKEND_X264);
	assert_int_equal(h264_backend_parse("", &b), -EINVAL);
	assert_int_equal(h264_backend_parse("vpl ", &b), -EINVAL);
	assert_string_equal(h264_backend_name(H264_BACKEND_AUTO), "auto");
	assert_string_equal(h264_backend_name(H264_BACKEND_VPL), "vpl");
	assert_string_equal(h264_backend_name(H264_BACKEND_X264), "x264");
	assert_string_equal(h264_backend_name((enum h264_backend)7), "?");

	/* x264 asked for by name: x264, and the reason says so. */
	struct h264_encoder_config cfg = {.width = 64, .height = 64, .fps = 30, .quality = 6};
	struct h264_encoder *enc;
	char why[512];
	assert_int_equal(h264_encoder_create(H264_BACKEND_X264, &cfg, &enc, why, sizeof(why)), 0);
	assert_ptr_equal(enc->impl, &h264_x264_impl);
	assert_string_equal(why, "using x264 (software)");
	h264_encoder_destroy(enc);
	/* auto on a machine without an Intel GPU (CI): x264, and why not VPL. */
	assert_int_equal(h264_encoder_create(H264_BACKEND_AUTO, &cfg, &enc, why, sizeof(why)), 0);
	if (enc->impl == &h264_x264_impl) {
		assert_non_null(strstr(why, "VPL unavailable ("));
		assert_non_null(strstr(why, "); using x264 (software)"));
	}
	h264_encoder_destroy(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crf_mapping),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_round_trip_q9),
		cmocka_unit_test(test_round_trip_xbgr),
		cmocka_unit_test(test_round_trip_odd_size),
		cmocka_unit_test(test_quality_trades_size),
		cmocka_unit_test(test_threads_make_slices),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_backend_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
