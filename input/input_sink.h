/* Where client input goes: the interface between the front end, which decodes the RFB
 * input messages, and what delivers them to the VM (QEMU's QMP socket, input_qmp.h, or
 * the plane source's own input ops, input_source.h).
 *
 * The front end is given one sink before it starts (main picks it) and calls it only for
 * clients that passed authentication, on their input threads: a sink's functions run on
 * any client thread, concurrently, and must not block on the VM (queue, or hand over at
 * once). A NULL function drops that kind of input.
 */
#ifndef VGPU_INPUT_SINK_H
#define VGPU_INPUT_SINK_H

#include <stdbool.h>
#include <stdint.h>

struct input_sink {
	/* A key. keysym is an X keysym; keycode the XT key number a QEMU Extended Key Event
	 * carried (QEMU numbering: 0xE0-prefixed keys as 0x80 | code), unchecked, or 0 for a
	 * plain KeyEvent. */
	void (*key)(void *opaque, uint32_t keysym, uint32_t keycode, bool down);
	/* The pointer at x, y within a width x height screen (clipped to it); buttons is the
	 * RFB button mask (bit 0 left ... bits 3/4 wheel up/down). */
	void (*pointer)(void *opaque, int x, int y, int width, int height, uint32_t buttons);
	/* key() makes use of keycode: the front end offers clients the QEMU Extended Key
	 * Event pseudo-encoding (-258). */
	bool takes_keycodes;
	void *opaque;
};

#endif
