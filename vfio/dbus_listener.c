/* The D-Bus source's GLib side: one thread with its own GMainContext owns every GDBus
 * object (dbus_source_private.h).
 *
 * Connecting (QEMU 7.2's protocol, ui/dbus-console.c): a connection to QEMU, over the bus
 * (name org.qemu) or peer to peer (qmp-dbus: a socket pair handed over with QMP); then a
 * second socket pair whose far end goes to Console_N.RegisterListener(h). QEMU serves the
 * listener as the authenticating server on that fd; we are the client, and export
 * org.qemu.Display1.Listener at /org/qemu/Display1/Listener on it before any message is
 * processed. When the listener connection closes (QEMU quit, the console went away) the
 * scanout is dropped and a reconnection is tried every second.
 *
 * Input: client threads queue events (dbus_source.c's lock); an idle source here drains
 * the queue into Keyboard/Mouse calls, sent in order without waiting for replies (the
 * replies only count failures).
 */
#include "dbus_source_private.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dbus_qmp.h"
#include "log.h"
#include "plane.h"

#define RETRY_MS 1000u
#define CALL_TIMEOUT_MS 5000
#define BUS_NAME "org.qemu"
#define LISTENER_PATH "/org/qemu/Display1/Listener"

enum dbus_event_kind { EV_KEY, EV_BUTTON, EV_MOTION, EV_UI_INFO };

/* org.qemu.Display1.Listener as QEMU 7.2 calls it (ui/dbus-display1.xml). GDBus refuses
 * calls whose signature differs, so a QEMU speaking another version is told so. */
static const char listener_xml[] =
	"<node><interface name='org.qemu.Display1.Listener'>"
	"<method name='Scanout'><arg type='u' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='u' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='ay' direction='in'/></method>"
	"<method name='Update'><arg type='i' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='i' direction='in'/><arg type='i' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='u' direction='in'/><arg type='ay' direction='in'/></method>"
	"<method name='ScanoutDMABUF'><arg type='h' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='u' direction='in'/><arg type='u' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='t' direction='in'/><arg type='b' direction='in'/></method>"
	"<method name='UpdateDMABUF'><arg type='i' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='i' direction='in'/><arg type='i' direction='in'/></method>"
	"<method name='Disable'/>"
	"<method name='MouseSet'><arg type='i' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='i' direction='in'/></method>"
	"<method name='CursorDefine'><arg type='i' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='i' direction='in'/><arg type='i' direction='in'/><arg type='ay' direction='in'/>"
	"</method></interface></node>";

struct dbus_glib {
	pthread_t thread;
	GMainContext *ctx;
	GMainLoop *loop;
	GDBusNodeInfo *node;
	/* GLib thread. */
	GDBusConnection *conn;   /* to QEMU: the bus, or peer to peer (qmp-dbus) */
	GDBusConnection *peer;   /* the listener's own connection */
	guint reg_id, props_sub;
	GSource *retry;
	bool told_down, was_up;
	bool mouse_abs;
	int32_t last_x, last_y;  /* last pointer position sent (relative mouse) */
	char path[64];           /* /org/qemu/Display1/Console_N */
	char where[300];         /* for log lines */
	uint64_t calls, failed;
	uint64_t answered;        /* calls QEMU answered, either way */
};

static const char *bus_name(const struct dbus_src *s)
{
	return strcmp(s->kind, "dbus") == 0 ? BUS_NAME : NULL;
}

/* ---- the listener object -------------------------------------------------------------- */

static const guint8 *bytes_of(GVariant *ay, gsize *len)
{
	const guint8 *p = g_variant_get_fixed_array(ay, len, 1);
	return p ? p : (const guint8 *)"";
}

static int take_dmabuf(GDBusMethodInvocation *inv, gint32 index, char *why, size_t why_len)
{
	GUnixFDList *list = g_dbus_message_get_unix_fd_list(g_dbus_method_invocation_get_message(inv));
	if (!list || index < 0 || index >= g_unix_fd_list_get_length(list)) {
		snprintf(why, why_len, "ScanoutDMABUF: fd index %d but %d fds came with the call",
			 index, list ? g_unix_fd_list_get_length(list) : 0);
		return -1;
	}
	GError *e = NULL;
	int fd = g_unix_fd_list_get(list, index, &e);
	if (fd < 0) {
		snprintf(why, why_len, "ScanoutDMABUF: %s", e ? e->message : "no fd");
		g_clear_error(&e);
	}
	return fd;
}

/* A property of the console object, of type t, or NULL (unref it). */
static GVariant *get_prop(struct dbus_src *s, const char *iface, const char *name,
			  const GVariantType *t)
{
	GVariant *v = g_dbus_connection_call_sync(
		s->glib->conn, bus_name(s), s->glib->path, "org.freedesktop.DBus.Properties", "Get",
		g_variant_new("(ss)", iface, name), G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE,
		CALL_TIMEOUT_MS, NULL, NULL);
	GVariant *inner = NULL;
	if (v) {
		g_variant_get(v, "(v)", &inner);
		g_variant_unref(v);
		if (!g_variant_is_of_type(inner, t))
			g_clear_pointer(&inner, g_variant_unref);
	}
	return inner;
}

static bool console_prop(struct dbus_src *s, const char *name, guint32 *out)
{
	GVariant *v = get_prop(s, "org.qemu.Display1.Console", name, G_VARIANT_TYPE_UINT32);
	if (v) {
		*out = g_variant_get_uint32(v);
		g_variant_unref(v);
	}
	return v != NULL;
}

/* An Update outside the scanout: QEMU 7.2 switched surfaces without a Scanout (its
 * gfx_switch only sets the console's Width and Height). Follow those. QEMU does not wait
 * on us while it sends updates, so asking it here cannot deadlock. */
static int follow_console_size(struct dbus_src *s, char *why, size_t why_len)
{
	guint32 w, h;
	if (!s->glib->conn || !console_prop(s, "Width", &w) || !console_prop(s, "Height", &h))
		return -1;
	if (dbus_frame_resize(s, w, h, why, why_len) < 0)
		return -1;
	log_info("dbus %s: the console is now %ux%u", s->glib->where, w, h);
	return 0;
}

static int dispatch(struct dbus_src *s, const char *method, GVariant *v, GDBusMethodInvocation *inv,
		    const guint8 *data, gsize len, char *why, size_t why_len)
{
	if (!strcmp(method, "Scanout")) {
		guint32 w, h, stride, fmt;
		g_variant_get(v, "(uuuu@ay)", &w, &h, &stride, &fmt, NULL);
		int r = dbus_frame_scanout(s, w, h, stride, fmt, data, len, why, why_len);
		if (r == 0)
			log_info("dbus %s: scanout %ux%u (pixman format 0x%08x)", s->glib->where, w, h, fmt);
		return r;
	}
	if (!strcmp(method, "Update")) {
		gint32 x, y, w, h;
		guint32 stride, fmt;
		g_variant_get(v, "(iiiiuu@ay)", &x, &y, &w, &h, &stride, &fmt, NULL);
		int r = dbus_frame_update(s, x, y, w, h, stride, fmt, data, len, why, why_len);
		if (r == -ERANGE && follow_console_size(s, why, why_len) == 0)
			r = dbus_frame_update(s, x, y, w, h, stride, fmt, data, len, why, why_len);
		return r;
	}
	if (!strcmp(method, "ScanoutDMABUF")) {
		gint32 index;
		guint32 w, h, stride, fourcc;
		guint64 modifier;
		gboolean y0_top;
		g_variant_get(v, "(huuuutb)", &index, &w, &h, &stride, &fourcc, &modifier, &y0_top);
		int fd = take_dmabuf(inv, index, why, why_len);
		if (fd < 0)
			return -EINVAL;
		int r = dbus_frame_scanout_dmabuf(s, fd, w, h, stride, fourcc, modifier, y0_top, why,
						  why_len);
		if (r == 0)
			log_info("dbus %s: dma-buf scanout %ux%u fourcc 0x%08x modifier 0x%llx",
				 s->glib->where, w, h, fourcc, (unsigned long long)modifier);
		return r;
	}
	if (!strcmp(method, "UpdateDMABUF")) {
		gint32 x, y, w, h;
		g_variant_get(v, "(iiii)", &x, &y, &w, &h);
		return dbus_frame_update_dmabuf(s, x, y, w, h, why, why_len);
	}
	if (!strcmp(method, "Disable")) {
		log_info("dbus %s: QEMU disabled the scanout", s->glib->where);
		dbus_frame_disable(s);
		return 0;
	}
	if (!strcmp(method, "MouseSet")) {
		gint32 x, y, on;
		g_variant_get(v, "(iii)", &x, &y, &on);
		return dbus_mouse_set(s, x, y, on, why, why_len);
	}
	if (!strcmp(method, "CursorDefine")) {
		gint32 w, h, hx, hy;
		g_variant_get(v, "(iiii@ay)", &w, &h, &hx, &hy, NULL);
		return dbus_cursor_define(s, w, h, hx, hy, data, len, why, why_len);
	}
	snprintf(why, why_len, "unknown method %s", method);
	return -ENOSYS;
}

/* The pixel data, where a call has it, is its last argument (ay). */
static int handle(struct dbus_src *s, const char *method, GVariant *v, GDBusMethodInvocation *inv,
		  char *why, size_t why_len)
{
	gsize n = g_variant_n_children(v), len = 0;
	GVariant *last = n ? g_variant_get_child_value(v, n - 1) : NULL;
	const guint8 *data = NULL;
	if (last && g_variant_is_of_type(last, G_VARIANT_TYPE_BYTESTRING))
		data = bytes_of(last, &len);
	int r = dispatch(s, method, v, inv, data, len, why, why_len);
	if (last)
		g_variant_unref(last);
	return r;
}

static void on_call(GDBusConnection *c, const gchar *sender, const gchar *path,
		    const gchar *iface, const gchar *method, GVariant *params,
		    GDBusMethodInvocation *inv, gpointer data)
{
	(void)c, (void)sender, (void)path, (void)iface;
	static struct log_ratelimit rl;
	struct dbus_src *s = data;
	char why[300] = "";
	if (handle(s, method, params, inv, why, sizeof(why)) < 0) {
		log_debug("dbus %s: refused %s: %s", s->glib->where, method, why);
		pthread_mutex_lock(&s->lock);
		s->rejected++;
		pthread_mutex_unlock(&s->lock);
		log_ratelimited(&rl, 5000, LOG_WARN, "dbus %s: refused %s from QEMU: %s",
				s->glib->where, method, why);
		g_dbus_method_invocation_return_error_literal(inv, G_IO_ERROR,
							      G_IO_ERROR_INVALID_ARGUMENT, why);
		return;
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

static const GDBusInterfaceVTable listener_vtable = {.method_call = on_call};

/* ---- connecting ---------------------------------------------------------------------- */

static void schedule_retry(struct dbus_src *s);

static void on_mouse_props(GDBusConnection *c, const gchar *sender, const gchar *path,
			   const gchar *iface, const gchar *signal, GVariant *params, gpointer data)
{
	(void)c, (void)sender, (void)path, (void)iface, (void)signal;
	struct dbus_src *s = data;
	const char *which;
	GVariant *changed;
	g_variant_get(params, "(&s@a{sv}@as)", &which, &changed, NULL);
	gboolean abs;
	if (!strcmp(which, "org.qemu.Display1.Mouse") &&
	    g_variant_lookup(changed, "IsAbsolute", "b", &abs)) {
		s->glib->mouse_abs = abs;
		log_info("dbus %s: the guest's pointer is %s", s->glib->where,
			 abs ? "absolute" : "relative");
	}
	g_variant_unref(changed);
}

static void teardown(struct dbus_src *s)
{
	struct dbus_glib *g = s->glib;
	if (g->props_sub && g->conn)
		g_dbus_connection_signal_unsubscribe(g->conn, g->props_sub);
	g->props_sub = 0;
	if (g->reg_id && g->peer)
		g_dbus_connection_unregister_object(g->peer, g->reg_id);
	g->reg_id = 0;
	if (g->peer) {
		g_signal_handlers_disconnect_by_data(g->peer, s);
		g_dbus_connection_close_sync(g->peer, NULL, NULL);
		g_clear_object(&g->peer);
	}
	if (g->conn) {
		g_signal_handlers_disconnect_by_data(g->conn, s);
		g_dbus_connection_close_sync(g->conn, NULL, NULL);
		g_clear_object(&g->conn);
	}
	pthread_mutex_lock(&s->lock);
	s->connected = false;
	s->count = 0;
	pthread_mutex_unlock(&s->lock);
}

static void on_closed(GDBusConnection *c, gboolean remote, GError *error, gpointer data)
{
	(void)c, (void)remote;
	struct dbus_src *s = data;
	log_warn("dbus %s: QEMU's display went away (%s); keeping the last frame, reconnecting "
		 "every %u ms", s->glib->where, error ? error->message : "connection closed", RETRY_MS);
	s->glib->told_down = true;
	teardown(s);
	dbus_frame_disable(s);
	schedule_retry(s);
}

/* A D-Bus peer connection on fd (taken), as the authenticating client. */
static GDBusConnection *fd_connection(int fd, GDBusConnectionFlags flags, char *why,
				      size_t why_len)
{
	GError *e = NULL;
	GSocket *sock = g_socket_new_from_fd(fd, &e);
	if (!sock) {
		snprintf(why, why_len, "socket: %s", e->message);
		g_error_free(e);
		close(fd);
		return NULL;
	}
	GSocketConnection *stream = g_socket_connection_factory_create_connection(sock);
	g_object_unref(sock);
	GDBusConnection *c = g_dbus_connection_new_sync(
		G_IO_STREAM(stream), NULL, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | flags,
		NULL, NULL, &e);
	g_object_unref(stream);
	if (!c) {
		snprintf(why, why_len, "D-Bus peer connection: %s", e->message);
		g_error_free(e);
	}
	return c;
}

/* The connection to QEMU for this source's kind. */
static GDBusConnection *connect_qemu(struct dbus_src *s, char *why, size_t why_len)
{
	GError *e = NULL;
	GDBusConnection *c = NULL;
	if (!strcmp(s->kind, "qmp-dbus")) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			snprintf(why, why_len, "socketpair: %s", strerror(errno));
			return NULL;
		}
		int r = dbus_qmp_add_client(s->arg, sv[1], why, why_len);
		close(sv[1]);
		if (r < 0) {
			close(sv[0]);
			return NULL;
		}
		return fd_connection(sv[0], G_DBUS_CONNECTION_FLAGS_NONE, why, why_len);
	} else {
		char *addr = s->arg[0] ? g_strdup(s->arg)
				       : g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SESSION, NULL, &e);
		if (addr)
			c = g_dbus_connection_new_for_address_sync(
				addr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
					      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
				NULL, NULL, &e);
		g_free(addr);
	}
	if (!c && e)
		snprintf(why, why_len, "%s", e->message);
	g_clear_error(&e);
	return c;
}

static void read_mouse_mode(struct dbus_src *s)
{
	struct dbus_glib *g = s->glib;
	GVariant *v = get_prop(s, "org.qemu.Display1.Mouse", "IsAbsolute", G_VARIANT_TYPE_BOOLEAN);
	g->mouse_abs = v && g_variant_get_boolean(v);
	if (v)
		g_variant_unref(v);
	g->props_sub = g_dbus_connection_signal_subscribe(
		g->conn, bus_name(s), "org.freedesktop.DBus.Properties", "PropertiesChanged", g->path,
		NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_mouse_props, s, NULL);
}

static int connect_once(struct dbus_src *s, char *why, size_t why_len)
{
	struct dbus_glib *g = s->glib;
	g->conn = connect_qemu(s, why, why_len);
	if (!g->conn)
		return -1;
	g_dbus_connection_set_exit_on_close(g->conn, FALSE);
	read_mouse_mode(s);
	GUnixFDList *fds = g_unix_fd_list_new();
	GError *e = NULL;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, why_len, "socketpair: %s", strerror(errno));
		g_object_unref(fds);
		return -1;
	}
	g_unix_fd_list_append(fds, sv[1], NULL); /* dups it */
	close(sv[1]);
	GVariant *ret = g_dbus_connection_call_with_unix_fd_list_sync(
		g->conn, bus_name(s), g->path, "org.qemu.Display1.Console", "RegisterListener",
		g_variant_new("(h)", 0), NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, fds, NULL,
		NULL, &e);
	g_object_unref(fds);
	if (!ret) {
		snprintf(why, why_len, "%s.RegisterListener: %s", g->path, e->message);
		g_error_free(e);
		close(sv[0]);
		return -1;
	}
	g_variant_unref(ret);
	/* QEMU now authenticates as the server on the far end. Nothing is read before the
	 * listener is exported. */
	g->peer = fd_connection(sv[0], G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING, why,
				why_len);
	if (!g->peer)
		return -1;
	g_dbus_connection_set_exit_on_close(g->peer, FALSE);
	g->reg_id = g_dbus_connection_register_object(g->peer, LISTENER_PATH, g->node->interfaces[0],
						      &listener_vtable, s, NULL, &e);
	if (!g->reg_id) {
		snprintf(why, why_len, "exporting the listener: %s", e->message);
		g_error_free(e);
		return -1;
	}
	g_signal_connect(g->peer, "closed", G_CALLBACK(on_closed), s);
	if (!bus_name(s)) /* peer to peer: QEMU's connection closing also means it is gone */
		g_signal_connect(g->conn, "closed", G_CALLBACK(on_closed), s);
	/* QEMU's main loop waits for our answers on the listener connection now (its proxy
	 * reads our properties, answered on this thread): no blocking call to QEMU until the
	 * next turn of our loop. */
	g_dbus_connection_start_message_processing(g->peer);
	pthread_mutex_lock(&s->lock);
	s->connected = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static gboolean try_connect(gpointer data)
{
	struct dbus_src *s = data;
	struct dbus_glib *g = s->glib;
	if (g->retry) {
		g_source_unref(g->retry);
		g->retry = NULL;
	}
	char why[512] = "";
	if (connect_once(s, why, sizeof(why)) == 0) {
		log_info("dbus %s: listening to %s (%s pointer)%s", g->where, g->path,
			 g->mouse_abs ? "absolute" : "relative", g->was_up ? "; the display is back" : "");
		g->told_down = false;
		g->was_up = true;
		return G_SOURCE_REMOVE;
	}
	teardown(s);
	if (!g->told_down)
		log_warn("dbus %s: %s; no display until QEMU is there (retrying every %u ms)", g->where,
			 why, RETRY_MS);
	g->told_down = true;
	schedule_retry(s);
	return G_SOURCE_REMOVE;
}

static void schedule_retry(struct dbus_src *s)
{
	struct dbus_glib *g = s->glib;
	if (g->retry)
		return;
	g->retry = g_timeout_source_new(RETRY_MS);
	g_source_set_callback(g->retry, try_connect, s, NULL);
	g_source_attach(g->retry, g->ctx);
}

/* ---- input ---------------------------------------------------------------------------- */

static void call_done(GObject *obj, GAsyncResult *res, gpointer data)
{
	static struct log_ratelimit rl;
	struct dbus_src *s = data;
	GError *e = NULL;
	GVariant *v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(obj), res, &e);
	s->glib->answered++;
	if (v) {
		g_variant_unref(v);
		return;
	}
	s->glib->failed++;
	log_ratelimited(&rl, 5000, LOG_WARN, "dbus %s: QEMU refused a call: %s", s->glib->where,
			e->message);
	g_error_free(e);
}

static void send_input(struct dbus_src *s, const char *iface, const char *method, GVariant *args)
{
	struct dbus_glib *g = s->glib;
	g->calls++;
	g_dbus_connection_call(g->conn, bus_name(s), g->path, iface, method, args, NULL,
			       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, call_done, s);
}

static void send_event(struct dbus_src *s, const struct dbus_event *ev, uint32_t w, uint32_t h)
{
	struct dbus_glib *g = s->glib;
	if (ev->kind == EV_KEY) {
		send_input(s, "org.qemu.Display1.Keyboard", ev->down ? "Press" : "Release",
			   g_variant_new("(u)", (guint32)ev->a));
	} else if (ev->kind == EV_UI_INFO) {
		/* The size in millimetres at 96 dots an inch, as QEMU's own UIs report it. */
		send_input(s, "org.qemu.Display1.Console", "SetUIInfo",
			   g_variant_new("(qqiiuu)", (guint16)(ev->a * 254 / 960),
					 (guint16)(ev->b * 254 / 960), 0, 0, (guint32)ev->a,
					 (guint32)ev->b));
	} else if (ev->kind == EV_BUTTON) {
		send_input(s, "org.qemu.Display1.Mouse", ev->down ? "Press" : "Release",
			   g_variant_new("(u)", (guint32)ev->a));
	} else if (w && h) {
		/* QEMU refuses positions outside its console. */
		int32_t x = ev->a < 0 ? 0 : ev->a >= (int32_t)w ? (int32_t)w - 1 : ev->a;
		int32_t y = ev->b < 0 ? 0 : ev->b >= (int32_t)h ? (int32_t)h - 1 : ev->b;
		if (g->mouse_abs)
			send_input(s, "org.qemu.Display1.Mouse", "SetAbsPosition",
				   g_variant_new("(uu)", (guint32)x, (guint32)y));
		else if (x != g->last_x || y != g->last_y)
			send_input(s, "org.qemu.Display1.Mouse", "RelMotion",
				   g_variant_new("(ii)", x - g->last_x, y - g->last_y));
		g->last_x = x;
		g->last_y = y;
	}
}

static gboolean flush_input(gpointer data)
{
	struct dbus_src *s = data;
	struct dbus_event evs[64];
	for (;;) {
		pthread_mutex_lock(&s->lock);
		unsigned n = 0;
		while (n < 64 && s->count) {
			evs[n++] = s->queue[s->head];
			s->head = (s->head + 1) % DBUS_INPUT_QUEUE;
			s->count--;
		}
		if (!n)
			s->flush_scheduled = false;
		bool up = s->connected;
		uint32_t w = s->prim.width, h = s->prim.height;
		pthread_mutex_unlock(&s->lock);
		if (!n)
			return G_SOURCE_REMOVE;
		for (unsigned i = 0; up && s->glib->conn && i < n; i++)
			send_event(s, &evs[i], w, h);
	}
}

void dbus_glib_schedule_flush(struct dbus_src *s)
{
	if (s->flush_scheduled)
		return;
	s->flush_scheduled = true;
	GSource *idle = g_idle_source_new();
	g_source_set_callback(idle, flush_input, s, NULL);
	g_source_attach(idle, s->glib->ctx);
	g_source_unref(idle);
}

/* Lock held. */
static void queue_event(struct dbus_src *s, struct dbus_event ev)
{
	if (!s->connected || s->count == DBUS_INPUT_QUEUE) {
		s->dropped++;
		return;
	}
	if (ev.kind == EV_MOTION && s->count) {
		struct dbus_event *last = &s->queue[(s->head + s->count - 1) % DBUS_INPUT_QUEUE];
		if (last->kind == EV_MOTION) { /* not sent yet: the newer position wins */
			*last = ev;
			return;
		}
	}
	s->queue[(s->head + s->count++) % DBUS_INPUT_QUEUE] = ev;
	dbus_glib_schedule_flush(s);
}

static void queue(struct plane_source *src, struct dbus_event ev)
{
	struct dbus_src *s = (struct dbus_src *)src;
	pthread_mutex_lock(&s->lock);
	queue_event(s, ev);
	pthread_mutex_unlock(&s->lock);
}

void dbus_source_key(struct plane_source *src, uint32_t qnum, bool down)
{
	queue(src, (struct dbus_event){.kind = EV_KEY, .down = down, .a = (int32_t)qnum});
}

void dbus_source_motion(struct plane_source *src, int x, int y)
{
	queue(src, (struct dbus_event){.kind = EV_MOTION, .a = x, .b = y});
}

void dbus_source_button(struct plane_source *src, unsigned button, bool down)
{
	queue(src, (struct dbus_event){.kind = EV_BUTTON, .down = down, .a = (int32_t)button});
}

int dbus_source_request_size(struct plane_source *src, uint32_t width, uint32_t height)
{
	struct dbus_src *s = (struct dbus_src *)src;
	if (width == 0 || height == 0 || width > PLANE_MAX_WIDTH || height > PLANE_MAX_HEIGHT)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	bool up = s->connected;
	if (up)
		queue_event(s, (struct dbus_event){.kind = EV_UI_INFO, .a = (int32_t)width,
						   .b = (int32_t)height});
	pthread_mutex_unlock(&s->lock);
	return up ? 0 : -ENODEV;
}

/* ---- the thread ----------------------------------------------------------------------- */

static void *glib_thread(void *arg)
{
	struct dbus_src *s = arg;
	struct dbus_glib *g = s->glib;
	g_main_context_push_thread_default(g->ctx);
	try_connect(s);
	g_main_loop_run(g->loop);
	/* Input that clients sent before the stop reaches QEMU, and QEMU's answers are
	 * waited for, so a closing connection does not count them as refused. Bounded:
	 * every call ends by CALL_TIMEOUT_MS, answered or not. */
	flush_input(s);
	while (g->conn && g->answered < g->calls)
		g_main_context_iteration(g->ctx, TRUE);
	if (g->retry) {
		g_source_destroy(g->retry);
		g_source_unref(g->retry);
		g->retry = NULL;
	}
	teardown(s);
	/* Let pending replies and idle sources finish with the objects gone. */
	while (g_main_context_iteration(g->ctx, FALSE))
		;
	g_main_context_pop_thread_default(g->ctx);
	return NULL;
}

int dbus_glib_start(struct dbus_src *s, char *err, size_t err_len)
{
	struct dbus_glib *g = g_new0(struct dbus_glib, 1);
	GError *e = NULL;
	g->node = g_dbus_node_info_new_for_xml(listener_xml, &e);
	if (!g->node) { /* our own constant: a bug */
		snprintf(err, err_len, "source %s: listener interface: %s", s->kind, e->message);
		g_error_free(e);
		g_free(g);
		return -EINVAL;
	}
	snprintf(g->path, sizeof(g->path), "/org/qemu/Display1/Console_%u", s->console);
	snprintf(g->where, sizeof(g->where), "%s%s%s console %u", s->kind, s->arg[0] ? ":" : "",
		 s->arg, s->console);
	g->ctx = g_main_context_new();
	g->loop = g_main_loop_new(g->ctx, FALSE);
	s->glib = g;
	int r = pthread_create(&g->thread, NULL, glib_thread, s);
	if (r != 0) {
		snprintf(err, err_len, "source %s: cannot start its thread: %s", s->kind, strerror(r));
		g_main_loop_unref(g->loop);
		g_main_context_unref(g->ctx);
		g_dbus_node_info_unref(g->node);
		g_free(g);
		s->glib = NULL;
		return -r;
	}
	return 0;
}

static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void dbus_glib_stop(struct dbus_src *s)
{
	struct dbus_glib *g = s->glib;
	if (!g)
		return;
	GSource *q = g_idle_source_new();
	g_source_set_callback(q, quit_loop, g->loop, NULL);
	g_source_attach(q, g->ctx);
	g_source_unref(q);
	pthread_join(g->thread, NULL);
	log_info("dbus %s: %llu calls to QEMU (input, sizes), %llu refused", g->where,
		 (unsigned long long)g->calls, (unsigned long long)g->failed);
	g_main_loop_unref(g->loop);
	g_main_context_unref(g->ctx);
	g_dbus_node_info_unref(g->node);
	g_free(g);
	s->glib = NULL;
}
