/* Server-level cases: desktop name, password, the no-auth policy, listeners, WebSocket. */
#include "check.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "websocket.h"

bool case_desktop_name(struct run *r)
{
	static const char name[] = "vgpu integration desk #7";
	const char *extra[] = {"--desktop-name", name, NULL};
	struct vc c;
	bool ok = start_server(r, "320x240:static", extra) &&
		  connect_client(r, &c, "client", &default_opts);

	if (ok) {
		const char *got = c.cl->desktopName ? c.cl->desktopName : "(null)";

		if (strcmp(got, name) != 0) {
			say("desktop name is \"%s\", want \"%s\"", got, name);
			ok = false;
		}
		vc_close(&c);
	}
	return ok;
}

bool write_password_file(char *path, size_t len, const char *content)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;
	bool ok;

	snprintf(path, len, "%s/vnc_check_pw_XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		say("mkstemp(%s) failed", path);
		return false;
	}
	ok = write(fd, content, strlen(content)) == (ssize_t)strlen(content);
	close(fd);
	return ok;
}

bool case_auth(struct run *r)
{
	const struct scene *sc = find_scene("static");
	char path[512];
	const char *extra[] = {"--password-file", path, NULL};
	struct vc_opts right = default_opts, wrong = default_opts;
	struct ref_frame want;
	struct vc c;
	bool ok;

	right.password = "s3cret";
	wrong.password = "s3cre7";
	if (!write_password_file(path, sizeof(path), "s3cret\n"))
		return false;
	ok = render(sc, NULL, 0, &want);
	ok = ok && start_server(r, sc->spec, extra);
	if (ok && connect_client(r, &c, "client with the right password", &right)) {
		ok = settle_and_check(&c, sc, &want, &exact);
		vc_close(&c);
	} else {
		ok = false;
	}
	if (ok) {
		char err[256];

		if (vc_connect(&c, "client with a wrong password", r->port, &wrong, err,
			       sizeof(err)) == 0) {
			say("a client with a wrong password got in");
			vc_close(&c);
			ok = false;
		}
	}
	if (ok && connect_client(r, &c, "client with the right password, again", &right))
		vc_close(&c); /* the server still serves after a refusal */
	else
		ok = false;
	ref_frame_free(&want);
	unlink(path);
	return ok;
}

bool case_no_auth_refused(struct run *r)
{
	const char *refused[] = {"--source", "synthetic:320x240:static", "--listen",
				 "tcp:0.0.0.0:0", NULL};
	const char *allowed[] = {"--source", "synthetic:320x240:static", "--listen",
				 "tcp:0.0.0.0:0", "--insecure-no-auth", NULL};
	char st[64];
	struct vc c;
	int code;

	if (!start_raw(r, refused))
		return false;
	if (!server_wait_exit(&r->srv, 5)) {
		say("no password on 0.0.0.0: the server still runs after 5 s (want exit 1 or 2)");
		return false;
	}
	code = WIFEXITED(r->srv.status) ? WEXITSTATUS(r->srv.status) : -1;
	server_join_log(&r->srv);
	if (code != 1 && code != 2) {
		say("no password on 0.0.0.0: server %s, want exit status 1 or 2",
		    server_status_str(&r->srv, st, sizeof(st)));
		return false;
	}
	if (!server_log_contains(&r->srv, "--insecure-no-auth")) {
		say("the refusal does not mention --insecure-no-auth");
		return false;
	}
	if (!start_raw(r, allowed) || !wait_port(r) ||
	    !connect_client(r, &c, "client", &default_opts))
		return false;
	vc_close(&c);
	return true;
}

/* True if this machine has an IPv6 loopback to listen on. */
static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Clients on every kind of listener of one server: 127.0.0.1, [::1] (where the machine
 * has it) and a unix socket, which the server removes when it exits. */
bool case_listeners(struct run *r)
{
	const struct scene *sc = find_scene("static");
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[256], path[300], unix_listen[310], addr[320], want_addr[320];
	const char *extra[] = {"--listen", unix_listen, "--listen", "tcp:[::1]:0", NULL};
	bool v6 = have_ipv6_loopback();
	struct vc c[3], *cs[3];
	struct ref_frame want;
	size_t n = 0;
	bool ok;

	snprintf(dir, sizeof(dir), "%s/vnc_check_XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		say("mkdtemp(%s) failed", dir);
		return false;
	}
	snprintf(path, sizeof(path), "%s/vnc.sock", dir);
	snprintf(unix_listen, sizeof(unix_listen), "unix:%s", path);
	snprintf(want_addr, sizeof(want_addr), "unix:%s", path);
	if (!v6) {
		say("SKIPPED the [::1] part: no IPv6 loopback here (checking 127.0.0.1 and the "
		    "unix socket only; the case reports skipped)");
		case_skipped = true;
		extra[2] = NULL;
	}
	ok = render(sc, NULL, 0, &want) && start_server(r, sc->spec, extra);
	ok = ok && server_wait_listen(&r->srv, "unix:", addr, sizeof(addr), 5);
	if (ok && strcmp(addr, want_addr) != 0) {
		say("the server says it listens on \"%s\", want \"%s\"", addr, want_addr);
		ok = false;
	}
	if (ok && connect_client(r, &c[n], "client on 127.0.0.1", &default_opts))
		cs[n] = &c[n], n++;
	else
		ok = false;
	if (ok && connect_client_at(&c[n], "client on the unix socket", path, 0, &default_opts))
		cs[n] = &c[n], n++;
	else
		ok = false;
	if (ok && v6) {
		ok = server_wait_listen(&r->srv, "tcp:[::1]:", addr, sizeof(addr), 5) &&
		     connect_client_at(&c[n], "client on [::1]", "::1", atoi(strrchr(addr, ':') + 1),
				       &default_opts);
		if (ok)
			cs[n] = &c[n], n++;
	}
	ok = ok && settle(cs, n, sc);
	for (size_t i = 0; ok && i < n; i++)
		ok = check_client(cs[i], &want, &exact, cs[i]->label);
	for (size_t i = 0; i < n; i++)
		vc_close(cs[i]);
	if (ok && r->started) {
		ok = server_stop(&r->srv, 5);
		if (ok && access(path, F_OK) == 0) {
			say("the server left its unix socket %s behind", path);
			ok = false;
		}
	}
	unlink(path);
	rmdir(dir);
	ref_frame_free(&want);
	return ok;
}

bool case_websocket(struct run *r)
{
	return start_server(r, "320x240:static", NULL) && ws_check(r->port, 320, 240);
}
