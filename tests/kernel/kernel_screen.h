/* What the guest shows (a model the script keeps in step with its commands) and a real
 * VNC client (libvncclient, tests/integration/vnc_client.c) that must show exactly that.
 *
 * A page is a base picture (kpat_pixel with a salt, mdpy's gradient, or black) with
 * rectangles drawn over it; the model has two pages (mbochs page flips) and says which is
 * shown, and from which pixel on the picture reads black (a plane size that is not a page
 * multiple: its last partial page cannot be mapped). Single-threaded.
 */
#ifndef VGPU_KERNEL_SCREEN_H
#define VGPU_KERNEL_SCREEN_H

#include <stdbool.h>
#include <stdint.h>

#include "vnc_client.h"

#define KS_SALT_BLACK 0xfffffffeu
#define KS_MAX_LAYERS 8
#define KS_MAX_RECTS 8192

struct ks_rect {
	uint32_t x, y, w, h;
};

struct ks_page {
	uint32_t base;                         /* salt, KPAT_SALT_GRADIENT or KS_SALT_BLACK */
	struct ks_rect layer[KS_MAX_LAYERS];
	uint32_t layer_salt[KS_MAX_LAYERS];
	int n_layers;
};

struct ks_model {
	uint32_t width, height;
	struct ks_page page[2];
	int shown;
	uint64_t black_from;                   /* pixel index; UINT64_MAX = none */
};

/* A mode: both pages black until drawn. */
void ks_model_mode(struct ks_model *m, uint32_t width, uint32_t height);
void ks_model_fill(struct ks_model *m, int page, uint32_t salt);
void ks_model_fill_rect(struct ks_model *m, int page, uint32_t salt, struct ks_rect r);
uint32_t ks_model_pixel(const struct ks_model *m, uint32_t x, uint32_t y);

/* The client, connected to the forwarded port, retrying until the server speaks RFB
 * (slirp accepts before the guest listens: pitfall P11). Raw encoding, exact pixels. */
bool ks_connect(struct vc *c, int port, double timeout);
void ks_disconnect(struct vc *c);

/* Rectangles that carried pixels since the last ks_rects_reset(). */
void ks_rects_reset(void);
int ks_rects(const struct ks_rect **out);

/* Pump the client until its framebuffer equals the model (size and every pixel), up to
 * timeout seconds; false with a report of the differences. */
bool ks_expect(struct vc *c, const struct ks_model *m, double timeout, const char *what);

/* Pump for `seconds` and check the framebuffer still equals the model. */
bool ks_expect_still(struct vc *c, const struct ks_model *m, double seconds, const char *what);

/* Every rectangle received since the reset lies inside `r` grown to whole tiles of `tile`
 * pixels, and at least one arrived. */
bool ks_damage_within(struct ks_rect r, uint32_t tile, const char *what);

#endif
