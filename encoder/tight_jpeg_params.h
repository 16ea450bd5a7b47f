/* JPEG quality and chroma subsampling for a Tight client, from the levels it sent.
 *
 * A client asks for JPEG with one of three pseudo-encodings, which libvncserver 0.9.14
 * parses into its client record:
 *   - quality level 0..9 (-32..-23) -> cl->tightQualityLevel, and through TurboVNC's
 *     compatibility table (below) cl->turboQualityLevel and cl->turboSubsampLevel;
 *   - fine quality 1..100 (-512..-412, TurboVNC) -> cl->turboQualityLevel;
 *   - subsampling 0..3 (-768..-765, TurboVNC: 1X, 4X, 2X, gray) -> cl->turboSubsampLevel.
 * The later pseudo-encoding in the client's list wins, as in libvncserver. TurboVNC's
 * viewer presets are fine quality + subsampling: "perceptually lossless" = 95 + 1X (4:4:4),
 * "medium" = 80 + 2X (4:2:2), "low (WAN)" = 30 + 4X (4:2:0).
 *
 * Pure functions, any thread. Every value comes from a client: anything outside the
 * ranges above is rejected (no JPEG) or replaced by the default, never used as an index.
 */
#ifndef VGPU_TIGHT_JPEG_PARAMS_H
#define VGPU_TIGHT_JPEG_PARAMS_H

#include <stdbool.h>

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

#endif
