/* Client input to the plane source's input ops. See input_source.h. */
#include "input_source.h"

#include <stddef.h>

static void source_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
	(void)keycode;
	struct plane_source *src = opaque;
	if (src->ops->key)
		src->ops->key(src, keysym, down);
}

static void source_pointer(void *opaque, int x, int y, int width, int height,
			   uint32_t buttons)
{
	(void)width, (void)height;
	struct plane_source *src = opaque;
	if (src->ops->pointer)
		src->ops->pointer(src, x, y, buttons);
}

struct input_sink input_source_sink(struct plane_source *src)
{
	if (!src)
		return (struct input_sink){0};
	return (struct input_sink){.key = source_key, .pointer = source_pointer, .opaque = src};
}
