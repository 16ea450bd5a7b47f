/* Input to the VM through QEMU's D-Bus display (input_dbus.h). */
#include "input_dbus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dbus_source.h"
#include "keymap.h"
#include "log.h"

#define SHIFT_NUMBER 0x2au

struct input_dbus {
	struct plane_source *src;
	pthread_mutex_t lock;
	/* Under lock. */
	uint32_t buttons;
	bool shift_down[2];
};

static void dbus_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
	struct input_dbus *d = opaque;
	if (keycode >= 1 && keycode <= 0xff) {
		dbus_source_key(d->src, keycode, down);
		return;
	}
	enum keymap_shift shift;
	const char *qcode = keymap_qcode(keysym, &shift);
	uint32_t num = keymap_qcode_number(qcode);
	if (!num) {
		log_debug("dbus: no key for keysym 0x%x", keysym);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (!strcmp(qcode, "shift") || !strcmp(qcode, "shift_r"))
		d->shift_down[qcode[5] == '_'] = down;
	bool add_shift = down && shift == KEYMAP_SHIFT_YES && !d->shift_down[0] && !d->shift_down[1];
	/* Queued under our lock so that a shifted character's three events stay together. */
	if (add_shift)
		dbus_source_key(d->src, SHIFT_NUMBER, true);
	dbus_source_key(d->src, num, down);
	if (add_shift)
		dbus_source_key(d->src, SHIFT_NUMBER, false);
	pthread_mutex_unlock(&d->lock);
}

static void dbus_pointer(void *opaque, int x, int y, int width, int height, uint32_t buttons)
{
	(void)width, (void)height; /* the source clips to QEMU's own console size */
	struct input_dbus *d = opaque;
	static const unsigned qemu_button[5] = {DBUS_BUTTON_LEFT, DBUS_BUTTON_MIDDLE,
						DBUS_BUTTON_RIGHT, DBUS_BUTTON_WHEEL_UP,
						DBUS_BUTTON_WHEEL_DOWN};
	pthread_mutex_lock(&d->lock);
	/* The position first: a click lands where the pointer is. */
	dbus_source_motion(d->src, x, y);
	uint32_t changed = (buttons ^ d->buttons) & 0x1f;
	for (unsigned b = 0; b < 5; b++) {
		if (!(changed & (1u << b)))
			continue;
		bool down = buttons & (1u << b);
		if (b < 3) {
			dbus_source_button(d->src, qemu_button[b], down);
		} else if (down) { /* the wheel: a press is a whole click */
			dbus_source_button(d->src, qemu_button[b], true);
			dbus_source_button(d->src, qemu_button[b], false);
		}
	}
	d->buttons = buttons & 0x1f;
	pthread_mutex_unlock(&d->lock);
}

int input_dbus_start(struct plane_source *src, struct input_dbus **out)
{
	struct input_dbus *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->src = src;
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

void input_dbus_stop(struct input_dbus *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct input_sink input_dbus_sink(struct input_dbus *d)
{
	return (struct input_sink){
		.key = dbus_key, .pointer = dbus_pointer, .takes_keycodes = true, .opaque = d};
}
