/* Client levels -> JPEG parameters. See tight_jpeg_params.h. */
#include "tight_jpeg_params.h"

#include <turbojpeg.h>

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
