/* What the client should see: the synthetic vGPU run in-process as the reference.
 *
 * The synthetic scene is a pure function of (tick, input events seen), so a source created
 * here with the server's spec, fed the same input in the same order and stepped to the
 * same tick shows exactly the frame the server should have sent.
 */
#ifndef VNC_CHECK_REFERENCE_H
#define VNC_CHECK_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ref_event_kind { REF_POINTER, REF_KEY };

/* One input event, as the client sends it and the source's ops take it. */
struct ref_event {
	enum ref_event_kind kind;
	int x, y;         /* REF_POINTER */
	uint32_t buttons; /* REF_POINTER: RFB button mask */
	uint32_t keysym;  /* REF_KEY */
	bool down;        /* REF_KEY */
};

/* A frame as packed R,G,B bytes (3 per pixel, no padding). */
struct ref_frame {
	uint32_t width, height;
	uint8_t *rgb;
};

/* The cursor plane: straight from the AR24 buffer, as B,G,R,A bytes (4 per pixel). */
struct ref_cursor {
	uint32_t width, height, x_hot, y_hot;
	int32_t x, y; /* top-left on the screen; negative near the top/left edge */
	uint8_t *bgra;
};

/* The primary plane of spec ("320x240:desktop:frames=30") at tick, after events.
 * 0, or -1 with a message in err. */
int ref_render(const char *spec, uint64_t tick, const struct ref_event *events,
	       size_t n_events, struct ref_frame *out, char *err, size_t err_len);

/* The cursor plane at tick, after events. 0, or -1 with a message in err (also if there
 * is none). */
int ref_cursor(const char *spec, uint64_t tick, const struct ref_event *events,
	       size_t n_events, struct ref_cursor *out, char *err, size_t err_len);

/* Blend the cursor over the frame at its position (straight alpha), as a server draws it
 * for clients that take no cursor shapes. */
void ref_blend_cursor(struct ref_frame *f, const struct ref_cursor *c);

void ref_frame_free(struct ref_frame *f);
void ref_cursor_free(struct ref_cursor *c);

/* The tick a picture shows, read from its stamp (a source spec with stamp=on; see
 * synthetic.h): each block's mean over its middle half, black below 64, white above 191,
 * anything else unreadable. Works on lossy pictures. rgb is width*height R,G,B bytes.
 * 0 and the tick's low SYNTHETIC_TICK_STAMP_BITS bits, or -1 if there is no readable
 * stamp. */
int ref_read_stamp(const uint8_t *rgb, uint32_t width, uint32_t height, uint64_t *tick);

/* True if the two frames have the same size and pixels. */
bool ref_frame_equal(const struct ref_frame *a, const struct ref_frame *b);

#endif
