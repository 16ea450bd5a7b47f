/* The Tight-JPEG encoder: a client's framebuffer update as RFB bytes, without a server.
 *
 * In: a frame (XRGB8888 pixels, stride, size), a region (the rectangles to send: the
 * client's pending damage, which the capture thread reports by 64x64 damage tile) and the
 * client's settings (JPEG quality and subsampling, Tight compression level, LastRect,
 * the lossless refresh delay, the cache to share JPEGs through). Out: one
 * FramebufferUpdate with the exact rectangle count, written into a byte_sink (a client's
 * socket in the server, a buffer in tests and the benchmark).
 *
 * What an update is: by tile (tight_jpeg_plan.h), one-colour tiles as Tight fills; tiles
 * of a few colours (text, flat UI: up to 24 in small updates, 8 in large ones; more from
 * compression level 2 up) exactly, with Tight's palette filter; others as JPEG compressed
 * straight from the frame (TJPF_BGRX, with its stride, no copy); all merged into as few
 * rectangles as clients decode. A tile that was sent as JPEG and then stayed unchanged
 * for the refresh delay is sent once more losslessly (Tight basic on zlib stream 3,
 * tight_jpeg_lossless.h); tight_jpeg_encoder_due tells the caller's timer which tiles are
 * due, so that a still screen gets its refresh too. The rectangle count is known before
 * the first byte goes out, so the update carries it (LastRect only past 65535
 * rectangles, if the client takes it). Clients of one frame share its tile facts, and
 * clients with equal settings its encoded JPEG and lossless rectangles, through a
 * tight_cache (tight_jpeg_cache.h): per client remain the refresh decision, the merge
 * into rectangles and the writing.
 *
 * Threads: an encoder belongs to one client. tight_jpeg_encoder_update, _forget and
 * _destroy run on one thread at a time (the client's output thread); the refresh state
 * they share with tight_jpeg_encoder_due (the timer thread) is under the encoder's own
 * lock, never held while writing into the sink. The params, compressor and hash
 * functions are pure or per-object: any thread.
 */
#ifndef VGPU_TIGHT_JPEG_ENCODER_H
#define VGPU_TIGHT_JPEG_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byte_sink.h"

struct tight_cache;
struct tight_jpeg_encoder;

/* ---- JPEG quality and subsampling from the client's levels ------------------------- *
 *
 * A client asks for JPEG with one of three pseudo-encodings, which libvncserver 0.9.14
 * parses into its client record:
 *   - quality level 0..9 (-32..-23) -> cl->tightQualityLevel, and through TurboVNC's
 *     compatibility table (below) cl->turboQualityLevel and cl->turboSubsampLevel;
 *   - fine quality 1..100 (-512..-412, TurboVNC) -> cl->turboQualityLevel;
 *   - subsampling 0..3 (-768..-765, TurboVNC: 1X, 4X, 2X, gray) -> cl->turboSubsampLevel.
 * The later pseudo-encoding in the client's list wins, as in libvncserver. TurboVNC's
 * viewer presets are fine quality + subsampling: "perceptually lossless" = 95 + 1X (4:4:4),
 * "medium" = 80 + 2X (4:2:2), "low (WAN)" = 30 + 4X (4:2:0). Every value comes from a
 * client: anything outside the ranges above is rejected (no JPEG) or replaced by the
 * default, never used as an index. */

struct tight_jpeg_params {
	int quality; /* libjpeg quality 1..100 */
	int subsamp; /* TJSAMP_444, TJSAMP_422, TJSAMP_420 or TJSAMP_GRAY */
};

/* TurboVNC's subsampling levels (cl->turboSubsampLevel). */
enum tight_jpeg_subsamp_level {
	TIGHT_JPEG_SUBSAMP_1X = 0,   /* 4:4:4 */
	TIGHT_JPEG_SUBSAMP_4X = 1,   /* 4:2:0 */
	TIGHT_JPEG_SUBSAMP_2X = 2,   /* 4:2:2 */
	TIGHT_JPEG_SUBSAMP_GRAY = 3, /* grayscale */
};

/* The compatibility table (TigerVNC's and TurboVNC's, the one libvncserver 0.9.14 uses):
 * Tight quality level 0..9 -> JPEG quality and subsampling. False for other levels. */
bool tight_jpeg_preset(int tight_quality_level, struct tight_jpeg_params *out);

/* The parameters for a client's levels (-1 = not sent). Quality: turbo_quality if it is
 * 1..100, else the preset of tight_quality; neither -> false (the client asked for no
 * JPEG). Subsampling: turbo_subsamp if it is 0..3, else the preset's, else 4:4:4. */
bool tight_jpeg_params_from_levels(int tight_quality, int turbo_quality, int turbo_subsamp,
				   struct tight_jpeg_params *out);

/* ---- the encoder -------------------------------------------------------------------- */

struct tight_jpeg_frame {
	const uint8_t *pixels;  /* XRGB8888 little-endian: bytes B, G, R, X (TJPF_BGRX) */
	size_t stride;          /* bytes a row, at least width * 4 */
	uint32_t width, height; /* 1..65535: the update's tile grid covers this */
	/* A number that changes whenever a capture tick writes pixels (the frame store's
	 * generation; 0 before the first), read once at the start of an update: it names the
	 * pixels in the cache's keys, so clients of one frame share tile facts and encoded
	 * rectangles without hashing pixels. Sharing what was read while the capture thread
	 * wrote the next generation is as right as sending it to one client: the capture
	 * thread publishes that generation and then marks its tiles modified in every
	 * client, all of which took their update's region before reading the generation, so
	 * each of them gets those tiles again. NULL: nothing is shared (settings.cache is not
	 * used); for pixels that are not the frame store's (a drawn cursor's copy). */
	uint64_t (*generation)(void *opaque);
	void *generation_opaque;
};

struct tight_jpeg_settings {
	struct tight_jpeg_params jpeg;
	int compress_level;  /* the client's Tight compression level: zlib's 1..9 (clamped);
			      * from 2 up, larger palettes */
	bool last_rect;      /* the client takes LastRect (used past 65535 rectangles only) */
	uint32_t refresh_ms; /* lossless refresh delay, 0 = off (always off in grayscale) */
	struct tight_cache *cache; /* shared with clients of equal settings; NULL: none */
	/* Called with each JPEG compression's time in seconds (metrics); NULL: none. */
	void (*jpeg_timed)(double seconds);
};

/* What one update was. */
struct tight_jpeg_update_stats {
	unsigned messages; /* FramebufferUpdate messages written (more than one only past
			    * 65535 rectangles without LastRect) */
	unsigned jpeg_rects, jpeg_shared; /* shared: taken from the cache */
	unsigned fill_rects, palette_rects, lossless_rects;
	uint64_t jpeg_bytes, palette_bytes, lossless_bytes;
	/* Rectangles that could not be encoded: the first pixel's colour went out in their
	 * place (the count was on the wire already). Send them again: x, y, w, h each, valid
	 * until the next call. */
	const uint32_t *retry;
	size_t n_retry;
	/* When the next lossless refresh falls due (ms; TIGHT_REFRESH_NEVER: none). */
	uint64_t next_refresh_ms;
};

/* 0 or -ENOMEM. */
int tight_jpeg_encoder_create(struct tight_jpeg_encoder **out);
void tight_jpeg_encoder_destroy(struct tight_jpeg_encoder *e);

/* Write the update for region (n rectangles x, y, w, h: 4 values each, clipped to the
 * frame) into sink: always one message at least, so that a request is answered even when
 * nothing of the region lies on the frame. now_ms is the monotonic clock (the refresh
 * times). 0; -ENOMEM before any byte was written (the update may go another way); -EIO
 * when the sink failed (the peer is gone: stop). stats may be NULL. */
int tight_jpeg_encoder_update(struct tight_jpeg_encoder *e, const struct tight_jpeg_frame *f,
			      const uint32_t *region, size_t n, const struct tight_jpeg_settings *s,
			      uint64_t now_ms, const struct byte_sink *sink,
			      struct tight_jpeg_update_stats *stats);

/* Something else drew on the client's screen (the library answered a request itself,
 * maybe with its own JPEG): every tile counts as sent lossy at now at the latest, so all
 * of it gets a lossless refresh unless it changes. */
void tight_jpeg_encoder_forget(struct tight_jpeg_encoder *e, uint64_t now_ms);

/* Any thread (the refresh timer): the tiles due for their lossless refresh at now, as
 * rectangles (one per run of due tiles in a tile row), each passed to add under the
 * encoder's lock (add must not call the encoder). Returns the next deadline
 * (TIGHT_REFRESH_NEVER: none). */
uint64_t tight_jpeg_encoder_due(struct tight_jpeg_encoder *e, uint64_t now_ms,
				void (*add)(void *opaque, const uint32_t rect[4]), void *opaque);

/* ---- the JPEG compressor and the pixel hash ------------------------------------------ *
 *
 * tight_jpeg_compress compresses a rectangle of XRGB8888 pixels (TJPF_BGRX) straight from
 * where they are, with their stride: no copy. Its output buffer holds the worst case of
 * the largest rectangle seen (tjBufSize), so libjpeg-turbo never reallocates it. The
 * functions come from libturbojpeg itself (see the .c: libvncserver exports look-alikes).
 * One compressor per thread at a time (a TurboJPEG handle is not for two at once). */

struct tight_jpeg_compressor {
	void *tj; /* tjhandle, made on first use */
	uint8_t *buf;
	unsigned long cap;
};

/* Compress the w x h block; on 0, *out / *len is the JPEG, valid until the next call.
 * -ENOMEM, -EINVAL (size) or -EIO (libjpeg-turbo). */
int tight_jpeg_compress(struct tight_jpeg_compressor *c, const uint8_t *px, size_t stride,
			uint32_t w, uint32_t h, const struct tight_jpeg_params *p,
			const uint8_t **out, size_t *len);

void tight_jpeg_compressor_destroy(struct tight_jpeg_compressor *c);

/* Where the TurboJPEG functions come from, for the log. */
const char *tight_jpeg_library(void);

/* A 64-bit hash of the block's pixels (X bytes included), row by row: rows of a frame are
 * not contiguous. */
uint64_t tight_jpeg_rect_hash(const uint8_t *px, size_t stride, uint32_t w, uint32_t h);

#endif
