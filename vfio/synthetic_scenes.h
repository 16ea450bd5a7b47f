/* Scenes of the synthetic vGPU: what the screen shows at a tick, and what input did to it.
 *
 * A picture is a pure function of (scene, geometry, tick, input). A synth_frame fixes the
 * geometry and the tick and precomputes what drawing needs (layout, text grids, where the
 * moving parts are); it can render any rect of the picture, and it can say which rects
 * differ from another frame of the same geometry. The source (synthetic.c) draws
 * incrementally by rendering only those rects plus the rects that input touched, so an
 * incremental picture equals a full render by construction.
 *
 * Called under the source's lock: no I/O, no sleeping; frames allocate their text grids.
 */
#ifndef VGPU_SYNTHETIC_SCENES_H
#define VGPU_SYNTHETIC_SCENES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthetic_draw.h"
#include "synthetic_input.h"
#include "synthetic_text.h"

enum synth_scene_kind {
	SYNTH_SCENE_STATIC,
	SYNTH_SCENE_DESKTOP,
	SYNTH_SCENE_TYPING,
	SYNTH_SCENE_SCROLL,
	SYNTH_SCENE_DRAG,
	SYNTH_SCENE_VIDEO,
	SYNTH_SCENE_FLIP,
	SYNTH_SCENE_MODES,
	SYNTH_SCENE_HOSTILE,      /* the video picture, with lying planes (synthetic_hostile.h) */
	SYNTH_SCENE_COUNT,
};

struct synth_scene {
	enum synth_scene_kind kind;
	unsigned rate;               /* ticks per second, for the clock */
	bool stamp;                  /* the tick drawn as blocks (synthetic.h, stamp=on) */
	struct synth_input input;
};

/* Where everything is for one geometry. */
struct synth_layout {
	int w, h;
	int scale;                   /* text scale: 1 at 1280x720, 2 at 1920x1080, 4 at 4K */
	int cw, ch;                  /* character cell */
	struct synth_rect panel, label;
	struct synth_rect term, photo, notes;
	struct synth_rect editor, scroll, video, mode_box;
};

/* Text colours (0xRRGGBB) of the Notes window and of the typing scene's editor. */
#define SYNTH_NOTES_FG_RGB 0x23211cu
#define SYNTH_NOTES_BG_RGB 0xfbf8ecu
#define SYNTH_EDITOR_FG_RGB 0x1b1f2au
#define SYNTH_EDITOR_BG_RGB 0xffffffu

struct synth_frame {
	const struct synth_scene *scene;
	uint64_t tick;
	struct synth_layout L;
	char label[24];              /* right end of the panel: the clock in "desktop" */
	struct synth_grid notes;     /* the typed text */
	struct synth_grid editor;    /* "typing" */
	uint64_t scroll_off;         /* "scroll": pixels scrolled */
	struct synth_rect element;   /* the scene's changing part; opaque, drawn over the
				      * desktop and under the input */
};

const char *synth_scene_name(enum synth_scene_kind kind);
/* Returns false if name[0..len) names no scene. */
bool synth_scene_from_name(const char *name, size_t len, enum synth_scene_kind *out);
/* Whether the picture depends on the tick at all (not for static and modes, unless the
 * tick is stamped on it). */
bool synth_scene_animated(enum synth_scene_kind kind);
bool synth_scene_ticks(const struct synth_scene *scene);

/* 0 or -ENOMEM. On success synth_frame_fini() must follow. The scene must outlive it. */
int synth_frame_init(struct synth_frame *f, const struct synth_scene *scene, int w, int h,
		     uint64_t tick);
void synth_frame_fini(struct synth_frame *f);
/* Draws the picture's pixels inside clip (and inside the canvas), nothing else. */
void synth_frame_render(const struct synth_frame *f, const struct synth_canvas *c,
			struct synth_rect clip);
/* Adds to d every rect where a and b (same scene and geometry) may differ. */
void synth_frame_diff(const struct synth_frame *a, const struct synth_frame *b,
		      struct synth_damage *d);

#endif
