/* --help and the man page: one text, generated around the option table. See
 * config_help.h.
 */
#include "config_help.h"

#include <string.h>

#include "config_options.h"

#define HELP_WIDTH 79

/* Words wrap at HELP_WIDTH; a tab is a space that does not break ("Default:\t30."). With
 * col > 0 the text goes on from there on a line already begun. */
static void put_wrapped_at(FILE *out, int indent, int col, const char *text)
{
	bool line_start = true;
	while (*text) {
		while (*text == ' ')
			text++;
		int w = (int)strcspn(text, " ");
		if (!w)
			break;
		if (!line_start && col + 1 + w > HELP_WIDTH) {
			fputc('\n', out);
			col = 0;
			line_start = true;
		}
		if (col < indent) {
			col += fprintf(out, "%*s", indent - col, "");
		} else if (!line_start) {
			fputc(' ', out);
			col++;
		}
		for (int i = 0; i < w; i++)
			fputc(text[i] == '\t' ? ' ' : text[i], out);
		col += w;
		text += w;
		line_start = false;
	}
	if (col)
		fputc('\n', out);
}

/* The same text as a man page (config_print_man()): set only while config_help_write()
 * runs, by the one thread there is then; every put_* below writes roff instead of
 * columns. */
static bool help_roff;
static bool roff_paragraph_open; /* right after .SH, text needs no .PP of its own */

/* TEXT with roff's special characters escaped: a backslash, '-' (a hyphen, not a minus
 * sign, in option names), a '.' or '\'' that would start a request, the non-breaking tab;
 * an escaped newline ("\\\n" and the next line's indent, in EXAMPLES) joins the lines. */
static void put_roff(FILE *out, const char *text)
{
	bool line_start = true;
	for (const char *c = text; *c; c++) {
		if (line_start && (*c == '.' || *c == '\''))
			fputs("\\&", out);
		line_start = false;
		if (c[0] == '\\' && c[1] == '\n') {
			c++;
			while (c[1] == ' ')
				c++;
			continue;
		}
		if (*c == '\\')
			fputs("\\e", out);
		else if (*c == '-')
			fputs("\\-", out);
		else if (*c == '\t')
			fputs("\\ ", out);
		else
			fputc(*c, out);
		line_start = *c == '\n';
	}
}

static void put_wrapped(FILE *out, int indent, const char *text)
{
	if (help_roff) {
		if (!roff_paragraph_open)
			fputs(".PP\n", out);
		roff_paragraph_open = false;
		put_roff(out, text);
		fputc('\n', out);
		return;
	}
	put_wrapped_at(out, indent, 0, text);
}

static void put_section(FILE *out, const char *title)
{
	if (help_roff) {
		fprintf(out, ".SH %s\n", title);
		roff_paragraph_open = true;
		return;
	}
	fprintf(out, "\n%s\n", title);
}

/* A term and its description, the description on the term's line if the term is short. */
static void put_item(FILE *out, const char *term, const char *text)
{
	if (help_roff) {
		fputs(".TP\n\\fB", out);
		put_roff(out, term);
		fputs("\\fR\n", out);
		put_roff(out, text);
		fputc('\n', out);
		roff_paragraph_open = false;
		return;
	}
	if (strlen(term) < 6) {
		put_wrapped_at(out, 14, fprintf(out, "       %-7s", term), text);
		return;
	}
	fprintf(out, "       %s\n", term);
	put_wrapped(out, 14, text);
}

/* Lines shown as they are (a file's contents), indented under the paragraph before. */
static void put_verbatim(FILE *out, const char *lines)
{
	if (help_roff) {
		fputs(".PP\n.RS\n.nf\n", out);
		put_roff(out, lines);
		fputs(".fi\n.RE\n", out);
		roff_paragraph_open = false;
		return;
	}
	fputc('\n', out);
	for (const char *l = lines; *l;) {
		size_t n = strcspn(l, "\n");
		fprintf(out, "              %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

static void print_help(FILE *out)
{
	if (help_roff)
		put_section(out, "NAME");
	else
		fputs("NAME\n", out);
	put_wrapped(out, 7, PROG " - serve the display of a virtual GPU to VNC clients and browsers");

	put_section(out, "SYNOPSIS");
	put_wrapped(out, 7, PROG " [--config FILE] [OPTION]...");

	put_section(out, "DESCRIPTION");
	put_wrapped(out, 7,
		    PROG " serves the display of a VFIO mediated vGPU (Intel GVT-g, or the kernel's "
		    "mbochs and mdpy samples), or of its built-in synthetic vGPU, to VNC clients, "
		    "and to web browsers through noVNC on the same port. It reads the guest's "
		    "display planes, works out which parts of the screen changed and sends only "
		    "those, as H.264, Tight/JPEG or the classic VNC encodings, whichever each "
		    "client asks for.");

	put_section(out, "OPTIONS");
	for (int id = 0; id < N_OPTIONS; id++) {
		const struct option_spec *o = &config_options[id];
		char term[128], text[1024];
		int n = 0;
		if (o->short_name)
			n = snprintf(term, sizeof(term), "-%c, ", o->short_name);
		snprintf(term + n, sizeof(term) - (size_t)n, "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		if (o->default_text)
			snprintf(text, sizeof(text), "%s Default:\t%s.", o->help, o->default_text);
		else
			snprintf(text, sizeof(text), "%s", o->help);
		put_item(out, term, text);
	}

	put_section(out, "SOURCES");
	put_item(out, "synthetic[:WxH[:SCENE[:OPTIONS]]]",
		 "The built-in synthetic vGPU, for demos, tests and benchmarks: it behaves like a "
		 "real device (page flips, mode changes, a cursor plane) without one. WxH is the "
		 "screen size (default 1280x720). SCENE is one of static, desktop (the default), "
		 "typing, scroll, drag, video, flip, modes or hostile (a guest whose planes lie, "
		 "for tests). OPTIONS is a comma-separated list of format=XR24|XB24 (the pixel "
		 "format), frames=N (hold still after N ticks), rate=N (ticks a second, default "
		 "30), cursor=on|off and, for tests, fail=enodev@A[-B] (the device is gone from "
		 "tick A, until tick B).");
	put_item(out, "mdev:UUID",
		 "A mediated device by its UUID, opened through VFIO (/dev/vfio/N); the server "
		 "owns the device.");
	put_item(out, "sysfs:PATH", "A mediated device by its sysfs path, opened the same way.");
	put_item(out, "fd:N",
		 "A VFIO device file descriptor N inherited from the process that owns the vGPU, "
		 "such as the VM manager.");
	put_item(out, "socket:PATH",
		 "A VFIO device file descriptor received over the unix socket PATH (SCM_RIGHTS) "
		 "from the VM manager.");
	put_item(out, "dbus[:ADDRESS]",
		 "QEMU's D-Bus display (QEMU 7.0 or later with -display dbus; libvirt "
		 "<graphics type='dbus'/>) on the session bus, or on the bus at the D-Bus "
		 "ADDRESS (unix:path=...). Any VM, with a vGPU or not: QEMU keeps its devices, "
		 "the server registers a display listener on console --dbus-console and sends "
		 "keyboard and pointer input back through D-Bus. It reconnects when QEMU "
		 "restarts.");
	put_item(out, "qmp-dbus:PATH",
		 "The same display peer to peer, as libvirt does it: through QEMU's QMP socket "
		 "PATH the server hands QEMU one end of a socket pair (getfd, add_client "
		 "@dbus-display; QEMU: -display dbus,p2p=yes) and speaks D-Bus on the other; no "
		 "bus daemon.");
	put_wrapped(out, 7,
		    "mdev, sysfs, fd and socket are the real-device sources; they need a VM with a "
		    "mediated vGPU and access to its VFIO device.");

	put_section(out, "CONFIG FILE");
	put_wrapped(out, 7,
		    "--config FILE reads an INI file before the command line. Its keys are the "
		    "long option names, one \"key = value\" a line, before any section or in a "
		    "[" INI_SECTION "] section; any other section is an error. Lines starting with "
		    "# or ; are comments. insecure-no-auth and metrics-public take true or false (or "
		    "yes, no, 1, 0); listen may be given several times. The command line wins: an option "
		    "given there replaces the file's value, and --listen replaces the file's whole "
		    "list of addresses. An unknown key or a bad value is an error that names the "
		    "file and the line. For example:");
	put_verbatim(out, "[" INI_SECTION "]\n"
			  "source = mdev:4b20d080-1b54-4048-85b3-a6a62d165c01\n"
			  "listen = tcp:0.0.0.0:5900\n"
			  "listen = unix:/run/vgpu-vnc/vm1.sock\n"
			  "password-file = /etc/vgpu-vnc/vm1.passwd\n"
			  "fps = 60\n");

	put_section(out, "SECURITY");
	put_wrapped(out, 7,
		    "Without --password-file anyone who can reach an address sees the VM's screen "
		    "and controls it. So, with no password file, the server refuses to listen on "
		    "a TCP address other than loopback unless --insecure-no-auth is given (or "
		    "--tls-ca, when client certificates authenticate). Unix "
		    "sockets and loopback addresses (127.0.0.0/8, ::1, or a name that resolves "
		    "only to them) are allowed without a password. A wrong password is answered "
		    "after a delay that doubles with each wrong one in a row from the same "
		    "address range, an IPv4 address or an IPv6 /64 (0.5 s, 1 s, 2 s ... up to "
		    "16 s), and at most 4 handshakes from one range (half of --max-clients, if "
		    "that is less) run at once. A password whose first 8 bytes make a weak DES key "
		    "is refused: no client could log in with it. SIGHUP makes the server read the password file again: "
		    "connections from then on need the new password. VNC authentication protects "
		    "the password but not the session: without --tls-cert, passwords (as a DES "
		    "challenge) and pixels cross the network in the clear, and the server says so "
		    "when it starts. With --tls-cert and --tls-key, every TCP address speaks "
		    "TLS (1.2 or 1.3, GnuTLS): VNC clients get VeNCrypt X509Vnc (X509None without a "
		    "password) and browsers wss:// on the same port; an address other than "
		    "loopback offers nothing unencrypted, loopback offers both. --tls-ca asks "
		    "every TLS client for a certificate signed by that CA; such a certificate is "
		    "enough to let a client in without a password. Unix sockets stay without TLS "
		    "(file permissions guard them). SIGHUP also reads the certificate, key and CA "
		    "again: new connections use them, running sessions go on; if they cannot be "
		    "read the old ones stay, with an error in the log.");

	put_section(out, "EXIT STATUS");
	put_item(out, "0", "Stopped by SIGINT or SIGTERM, or --help or --version was printed.");
	put_item(out, "1",
		 "A runtime failure, such as a source that cannot be opened or an address that "
		 "cannot be bound.");
	put_item(out, "2", "A usage or configuration error.");

	put_section(out, "EXAMPLES");
	put_item(out, PROG,
		 "Serve the synthetic desktop on 127.0.0.1:5900, for any VNC viewer or noVNC on "
		 "the same host.");
	put_item(out, PROG " --source synthetic:1920x1080:video --fps 60",
		 "Full-HD video from the synthetic vGPU at 60 frames a second.");
	put_item(out,
		 PROG " --source mdev:4b20d080-1b54-4048-85b3-a6a62d165c01 \\\n"
		      "                --listen tcp:0.0.0.0:5900 --password-file /etc/vgpu-vnc/pw",
		 "Serve a GVT-g or mbochs vGPU to the network, behind a password.");
	put_item(out,
		 PROG " --listen tcp:0.0.0.0:5900 --password-file /etc/vgpu-vnc/pw \\\n"
		      "                --tls-cert /etc/vgpu-vnc/tls.crt --tls-key /etc/vgpu-vnc/tls.key",
		 "The same over TLS only: VeNCrypt X509Vnc for VNC viewers (TigerVNC -X509CA, "
		 "virt-viewer and gtk-vnc with ~/.pki/CA/cacert.pem), wss://HOST:5900 for noVNC.");
	put_item(out, PROG " --config /etc/vgpu-vnc/vm1.ini --log-level debug",
		 "Take the options from a file, and log more than it says.");
}

void config_help_write(FILE *out, bool roff)
{
	if (roff)
		fputs(".\\\" Generated from config/config_options.c's option table by vgpu-vnc-man; do "
		      "not edit.\n"
		      ".TH VGPU\\-VNC 1 \"\" \"" PROG " " VGPU_VERSION "\" \"User Commands\"\n",
		      out);
	help_roff = roff;
	print_help(out);
	help_roff = false;
}
