/* Events (util/events.h) as the control socket's JSON lines. See control.h. */
#include "control_events.h"

#include <jansson.h>

#include "events.h"
#include "plane.h"

static const char *const names[] = {
	[EVENT_CLIENT_CONNECTED] = "client-connected",
	[EVENT_CLIENT_AUTHENTICATED] = "client-authenticated",
	[EVENT_CLIENT_DISCONNECTED] = "client-disconnected",
	[EVENT_MODE_CHANGED] = "mode-changed",
	[EVENT_DISPLAY_OFF] = "display-off",
	[EVENT_DEVICE_LOST] = "device-lost",
};

static json_t *fields(const struct event *e)
{
	char fcc[5];
	switch (e->type) {
	case EVENT_CLIENT_CONNECTED:
	case EVENT_CLIENT_AUTHENTICATED:
	case EVENT_CLIENT_DISCONNECTED:
		return json_pack("{s:I,s:s}", "id", (json_int_t)e->client_id, "address", e->text);
	case EVENT_MODE_CHANGED:
		return json_pack("{s:I,s:I,s:s,s:I}", "width", (json_int_t)e->width, "height",
				 (json_int_t)e->height, "format", plane_fourcc_str(e->fourcc, fcc),
				 "dmabuf_id", (json_int_t)e->dmabuf_id);
	case EVENT_DISPLAY_OFF:
		return json_object();
	case EVENT_DEVICE_LOST:
		return json_pack("{s:s}", "reason", e->text);
	}
	return NULL;
}

char *control_events_next(void)
{
	struct event e;
	while (events_pop(&e)) {
		json_t *ev = fields(&e);
		if (!ev)
			continue;
		json_object_set_new(ev, "event", json_string(names[e.type]));
		json_object_set_new(ev, "time", json_real(e.time));
		char *text = json_dumps(ev, JSON_COMPACT);
		json_decref(ev);
		if (text)
			return text;
	}
	return NULL;
}
