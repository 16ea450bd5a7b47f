/* The VA seam for programs that run the real VPL back end on the fake runtime without a
 * GPU: vaCreateSurfaces / vaDestroySurfaces that hand out surface ids and check nothing
 * (tests/unit/vpl_harness.c has the ones that check descriptors as the driver would, fake_va.h), and an
 * H.264 encoder factory (open_h264_stream.h's hub create) that makes VPL encoders on a
 * fake display through h264_vpl_create_with_display() and x264 ones as they are.
 *
 * Header-only, static: for tests/unit and bench/ programs that put ONEVPL_SEARCH_PATH on
 * the fake runtime's directory.
 */
#ifndef FAKE_VPL_FAKE_VA_FACTORY_H
#define FAKE_VPL_FAKE_VA_FACTORY_H

#include <stddef.h>

#include <va/va.h>

#include "h264_encoder.h"
#include "h264_vpl.h"

static int fake_va_display_storage;
static VASurfaceID fake_va_next_surface;

static VAStatus fake_va_create(VADisplay dpy, unsigned int format, unsigned int width,
			       unsigned int height, VASurfaceID *surfaces, unsigned int n,
			       VASurfaceAttrib *attrs, unsigned int num_attrs)
{
	(void)dpy, (void)format, (void)width, (void)height, (void)attrs, (void)num_attrs;
	for (unsigned i = 0; i < n; i++)
		surfaces[i] = ++fake_va_next_surface;
	return VA_STATUS_SUCCESS;
}

static VAStatus fake_va_destroy(VADisplay dpy, VASurfaceID *surfaces, int n)
{
	(void)dpy, (void)surfaces, (void)n;
	return VA_STATUS_SUCCESS;
}

static const struct h264_vpl_va_fns fake_va_fns = {.create_surfaces = fake_va_create,
						   .destroy_surfaces = fake_va_destroy};

static inline int fake_va_factory(enum h264_backend backend,
				  const struct h264_encoder_config *cfg,
				  struct h264_encoder **out, char *why, size_t why_len)
{
	if (backend == H264_BACKEND_VPL)
		return h264_vpl_create_with_display(cfg, (VADisplay)&fake_va_display_storage,
						    &fake_va_fns, out, why, why_len);
	return h264_encoder_create(backend, cfg, out, why, why_len);
}

#endif
