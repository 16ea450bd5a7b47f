#!/usr/bin/env python3
"""dbus_test.py MODE VGPU_VNC WORKDIR [KERNEL INITRAMFS]

The D-Bus display tests (ctest dbus.*): real QEMU 7.2 under TCG with -display dbus,gl=off
and the real vgpu-vnc serving it, checked through a plain RFB client (raw encoding,
32-bit pixels) against QEMU's own QMP screendump of the same, still, picture.

MODE bus: a private dbus-daemon; --source dbus:ADDRESS. One boot of Debian's kernel with
  the guest of dbus_guest.c: two patterns drawn on /dev/fb0 must arrive pixel for pixel;
  keys typed through the client reach the guest's keyboard (evdev codes on its serial
  line, a plain KeyEvent and a QEMU Extended Key Event); a click lands at the right
  place of its virtio tablet. Then QEMU is killed: the server says so, the client stays
  connected; a new QEMU (BIOS only) on the same bus: the server says the display is back
  and the client shows the new picture.
MODE p2p: --source qmp-dbus:PATH with QEMU -display dbus,p2p=yes, no bus daemon; the BIOS
  screen must arrive pixel for pixel; a client's SetDesktopSize must reach the console's
  SetUIInfo (which -vga std refuses, and QEMU says so); keys and clicks sent through the
  client must be accepted by QEMU (of the server's calls, logged at exit, only SetUIInfo
  was refused).

Exit 0 pass, 1 fail (with why), 77 skipped (with why). Every wait is for an event (a
line from the guest, a frame that matches), bounded only by a generous socket timeout.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fresh"))
from rfb_pixels import recv_exact  # noqa: E402  (the plain client's exact read)

TIMEOUT = 120  # seconds any one wait may take before the test fails: TCG is slow
QEMU = "qemu-system-x86_64"


def fail(why):
    print(f"dbus test FAILED: {why}", file=sys.stderr)
    sys.exit(1)


def skip(why):
    print(f"dbus test SKIPPED: {why}", file=sys.stderr)
    sys.exit(77)


def wait_path(path, proc, what):
    """Wait for a socket to appear (inotify would be nicer; the process's death ends it)."""
    for _ in range(TIMEOUT * 20):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            fail(f"{what} exited ({proc.returncode}) before {path} appeared")
        time.sleep(0.05)
    fail(f"{path} never appeared")


def connect_unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


class Rfb:
    """A plain RFB 3.8 client: no authentication, raw pixels, DesktopSize."""

    def __init__(self, path, extra_encodings=()):
        self.s = connect_unix(path)
        if not recv_exact(self.s, 12).startswith(b"RFB 003."):
            fail("not an RFB server")
        self.s.sendall(b"RFB 003.008\n")
        types = recv_exact(self.s, recv_exact(self.s, 1)[0])
        if 1 not in types:
            fail(f"no None security type: {list(types)}")
        self.s.sendall(b"\x01")
        if struct.unpack(">I", recv_exact(self.s, 4))[0] != 0:
            fail("security result not OK")
        self.s.sendall(b"\x01")
        self.w, self.h = struct.unpack(">HH", recv_exact(self.s, 4))
        recv_exact(self.s, 16)
        recv_exact(self.s, struct.unpack(">I", recv_exact(self.s, 4))[0])
        # 32 bpp, depth 24, little endian, true colour, 255 max, shifts 16/8/0.
        self.s.sendall(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        encs = [0, -223, -258] + list(extra_encodings)  # raw, DesktopSize, QEMU keys
        self.s.sendall(struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs))
        self.fb = bytearray(self.w * self.h * 4)
        self.ext_keys = False

    def update(self, incremental):
        self.s.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.w, self.h))
        while True:
            t = recv_exact(self.s, 1)[0]
            if t == 0:
                break
            if t == 2:  # bell
                continue
            if t == 3:
                recv_exact(self.s, 3)
                recv_exact(self.s, struct.unpack(">I", recv_exact(self.s, 4))[0])
                continue
            fail(f"unexpected server message {t}")
        recv_exact(self.s, 1)
        (n,) = struct.unpack(">H", recv_exact(self.s, 2))
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", recv_exact(self.s, 12))
            if enc == 0:
                data = recv_exact(self.s, w * h * 4)
                for row in range(h):
                    o = ((y + row) * self.w + x) * 4
                    self.fb[o:o + w * 4] = data[row * w * 4:(row + 1) * w * 4]
            elif enc == -223:
                self.w, self.h = w, h
                self.fb = bytearray(w * h * 4)
            elif enc == -258:
                self.ext_keys = True
            elif enc == -308:  # ExtendedDesktopSize: the screens follow
                screens = recv_exact(self.s, 4)[0]
                recv_exact(self.s, 16 * screens)
                if (w, h) != (self.w, self.h):
                    self.w, self.h = w, h
                    self.fb = bytearray(w * h * 4)
            else:
                fail(f"unexpected encoding {enc}")

    def rgb(self):
        """The framebuffer as packed RGB, like a PPM's pixels."""
        out = bytearray(self.w * self.h * 3)
        out[0::3] = self.fb[2::4]
        out[1::3] = self.fb[1::4]
        out[2::3] = self.fb[0::4]
        return bytes(out)

    def key(self, keysym, down):
        self.s.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, keysym))

    def ext_key(self, keysym, keycode, down):
        self.s.sendall(struct.pack(">BBHII", 255, 0, 1 if down else 0, keysym, keycode))

    def set_desktop_size(self, w, h):
        self.s.sendall(struct.pack(">BxHHBx", 251, w, h, 1) + struct.pack(">IHHHHI", 0, 0, 0, w, h, 0))

    def pointer(self, x, y, buttons):
        self.s.sendall(struct.pack(">BBHH", 5, buttons, x, y))


class Qmp:
    def __init__(self, path):
        self.s = connect_unix(path)
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        import json
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                fail(f"QMP {name}: {r['error']}")


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    if not m:
        fail(f"{path} is not a PPM")
    return int(m.group(1)), int(m.group(2)), data[m.end():]


def match_screendump(rfb, qmp, work, what):
    """Wait until the client's picture equals QEMU's screendump (the guest holds still)."""
    ppm = os.path.join(work, "screen.ppm")
    qmp.cmd("screendump", filename=ppm)
    w, h, ref = read_ppm(ppm)
    rfb.update(False)
    for _ in range(200):
        if (rfb.w, rfb.h) == (w, h) and rfb.rgb() == ref:
            print(f"{what}: {w}x{h}, every pixel equals QEMU's screendump")
            return
        rfb.update(True)  # answered when the server has more
    bad = sum(1 for i in range(0, min(len(ref), w * h * 3), 3) if rfb.rgb()[i:i + 3] != ref[i:i + 3])
    fail(f"{what}: client {rfb.w}x{rfb.h} vs screendump {w}x{h}, {bad} pixels differ")


class Serial:
    def __init__(self, path):
        self.s = connect_unix(path)
        self.buf = b""
        self.log = []

    def line(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(4096)
            except socket.timeout:
                fail("the guest said nothing more; last lines: " + " | ".join(self.log[-8:]))
            if not chunk:
                fail("the guest's serial line closed; last lines: " + " | ".join(self.log[-5:]))
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        text = ln.decode(errors="replace").strip()
        self.log.append(text)
        return text

    def expect(self, pattern):
        while True:
            text = self.line()
            m = re.search(pattern, text)
            if m:
                return m
            if text.startswith("GUEST: FAIL"):
                fail(text)

    def send(self, text):
        self.s.sendall(text.encode() + b"\n")


class Run:
    def __init__(self, work):
        self.work = work
        self.procs = []

    def spawn(self, args, log, env=None):
        p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def stop_all(self):
        live = [p for p in self.procs if p.poll() is None]
        for p in live:
            p.terminate()
        for p in live:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def log_has(path, pattern):
    with open(path, errors="replace") as f:
        return re.search(pattern, f.read())


def wait_log(path, pattern, proc):
    for _ in range(TIMEOUT * 20):
        if log_has(path, pattern):
            return
        if proc.poll() is not None:
            fail(f"the server exited ({proc.returncode}) before logging /{pattern}/")
        time.sleep(0.05)
    fail(f"the server never logged /{pattern}/; see {path}")


def qemu_args(work, tag, display, extra):
    return [QEMU, "-accel", "tcg", "-m", "256", "-nodefaults", "-vga", "std", "-display", display,
            "-qmp", f"unix:{work}/{tag}.qmp,server=on,wait=off", "-no-reboot"] + extra


def mode_bus(vgpu, work, kernel, initrd, run):
    conf = os.path.join(work, "bus.conf")
    bus = os.path.join(work, "bus")
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={bus}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
""")
    daemon = run.spawn(["dbus-daemon", "--config-file=" + conf, "--nofork"], f"{work}/dbus-daemon.log")
    wait_path(bus, daemon, "dbus-daemon")
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={bus}")
    ser = f"{work}/serial.sock"
    q1 = run.spawn(qemu_args(work, "q1", "dbus,gl=off", [
        "-cpu", "max", "-device", "virtio-tablet-pci", "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 quiet vga=0x342 panic=-1",
        "-chardev", f"socket,id=s0,path={ser},server=on,wait=off", "-serial", "chardev:s0"]),
        f"{work}/qemu1.log", env)
    wait_path(ser, q1, "QEMU")
    serial = Serial(ser)
    vlog = f"{work}/vgpu-vnc.log"
    vnc_sock = f"{work}/vnc.sock"
    srv = run.spawn([vgpu, "--source", f"dbus:unix:path={bus}", "--listen", f"unix:{vnc_sock}",
                     "--insecure-no-auth", "--log-level", "debug"], vlog)
    wait_path(vnc_sock, srv, "vgpu-vnc")
    m = serial.expect(r"GUEST: READY (\d+)x(\d+)")
    print(f"guest ready, framebuffer {m.group(1)}x{m.group(2)}")
    wait_path(f"{work}/q1.qmp", q1, "QEMU")
    qmp = Qmp(f"{work}/q1.qmp")
    rfb = Rfb(vnc_sock)
    for n in (1, 2):
        serial.send(f"P {n}")
        serial.expect(rf"GUEST: DRAWN {n} ")
        match_screendump(rfb, qmp, work, f"pattern {n}")
    # Keys: 'a' as a plain KeyEvent (KEY_A = 30); '!' with no shift pressed: the server
    # presses shift (42) around the 1 key (2); Escape as a QEMU Extended Key Event (XT
    # 0x01 = KEY_ESC 1).
    rfb.key(0x61, True)
    rfb.key(0x61, False)
    serial.expect(r"GUEST: EV 1 30 1")
    serial.expect(r"GUEST: EV 1 30 0")
    rfb.key(0x21, True)
    rfb.key(0x21, False)
    for want in ("42 1", "2 1", "42 0", "2 0"):
        serial.expect(rf"GUEST: EV 1 {want}$")
    if not rfb.ext_keys:
        fail("the server did not offer the QEMU Extended Key Event")
    rfb.ext_key(0xff1b, 0x01, True)
    rfb.ext_key(0xff1b, 0x01, False)
    serial.expect(r"GUEST: EV 1 1 1")
    serial.expect(r"GUEST: EV 1 1 0")
    print("keys: a, ! (shift added), Esc (extended key event) reached the guest's keyboard")
    # A click at (320, 240) of 640x480: the tablet's axes run 0..32767.
    wait_log(vlog, r"pointer is absolute|absolute pointer", srv)
    rfb.pointer(320, 240, 0)
    rfb.pointer(320, 240, 1)
    rfb.pointer(320, 240, 0)
    ax = {}
    while "x" not in ax or "y" not in ax:
        m = serial.expect(r"GUEST: EV 3 (\d+) (\d+)")
        ax["xy"[int(m.group(1))] if int(m.group(1)) < 2 else "z"] = int(m.group(2))
    serial.expect(r"GUEST: EV 1 272 1")
    serial.expect(r"GUEST: EV 1 272 0")
    want_x, want_y = 320 * 0x7fff // 640, 240 * 0x7fff // 480
    if abs(ax["x"] - want_x) > 64 or abs(ax["y"] - want_y) > 64:
        fail(f"the click landed at tablet {ax['x']},{ax['y']}, not near {want_x},{want_y}")
    print(f"pointer: a left click at 320,240 reached the tablet at {ax['x']},{ax['y']}")
    # QEMU goes away: the server says so; the client stays and keeps its picture.
    last = rfb.rgb()
    q1.kill()
    q1.wait()
    wait_log(vlog, r"QEMU's display went away", srv)
    rfb.update(False)
    if rfb.rgb() != last:
        fail("the client's picture changed when QEMU went away")
    print("QEMU killed: the server logged it, the client kept the last frame")
    os.unlink(f"{work}/q1.qmp")
    q2 = run.spawn(qemu_args(work, "q2", "dbus,gl=off", []), f"{work}/qemu2.log", env)
    wait_log(vlog, r"the display is back", srv)
    wait_path(f"{work}/q2.qmp", q2, "QEMU")
    match_screen_when_still(rfb, Qmp(f"{work}/q2.qmp"), work, "a new QEMU (BIOS screen)")


def match_screen_when_still(rfb, qmp, work, what):
    """The BIOS draws for a while, then stays: compare once two screendumps agree."""
    ppm = os.path.join(work, "still.ppm")
    prev = None
    for _ in range(TIMEOUT * 4):
        qmp.cmd("screendump", filename=ppm)
        cur = read_ppm(ppm)
        if cur == prev and len(set(cur[2])) > 1:
            break
        prev = cur
        time.sleep(0.25)
    match_screendump(rfb, qmp, work, what)


def mode_p2p(vgpu, work, run):
    qmp_path = f"{work}/p.qmp"
    q = run.spawn(qemu_args(work, "p", "dbus,p2p=yes,gl=off", []), f"{work}/qemu.log")
    wait_path(qmp_path, q, "QEMU")
    # QEMU's monitor serves one client at a time: the server's hand-over is done and its
    # QMP connection closed once it listens, so the test's own comes after it.
    vlog = f"{work}/vgpu-vnc.log"
    vnc_sock = f"{work}/vnc.sock"
    srv = run.spawn([vgpu, "--source", f"qmp-dbus:{qmp_path}", "--listen", f"unix:{vnc_sock}",
                     "--insecure-no-auth", "--log-level", "debug"], vlog)
    wait_log(vlog, r"listening to /org/qemu/Display1/Console_0", srv)
    rfb = Rfb(vnc_sock, [-308])  # ExtendedDesktopSize: the client may ask for a size
    match_screen_when_still(rfb, Qmp(qmp_path), work, "qmp-dbus peer to peer (BIOS screen)")
    # A client's size goes to the console's SetUIInfo; -vga std cannot follow, and QEMU
    # says so: the call reached it.
    rfb.set_desktop_size(800, 600)
    wait_log(vlog, r"QEMU refused a call: .*SetUIInfo is not supported", srv)
    print("resize: the client's 800x600 reached QEMU's SetUIInfo (refused by -vga std, as it must)")
    for sym in (0x61, 0xff0d):
        rfb.key(sym, True)
        rfb.key(sym, False)
    rfb.pointer(10, 10, 1)
    rfb.pointer(10, 10, 0)
    rfb.update(False)  # the input went before this answer
    srv.send_signal(signal.SIGTERM)
    if srv.wait(60) != 0:  # also a sanitizer's report, in the ASan build
        fail(f"the server exited with {srv.returncode} on SIGTERM; see {vlog}")
    m = log_has(vlog, r"(\d+) calls to QEMU \(input, sizes\), (\d+) refused")
    if not m or int(m.group(1)) < 7 or int(m.group(2)) != 1:
        fail(f"input through D-Bus: {m.group(0) if m else 'no count logged'} "
             "(want >= 7 calls, only SetUIInfo refused)")
    print(f"input: {m.group(0)}")


def main():
    mode, vgpu, work = sys.argv[1], sys.argv[2], sys.argv[3]
    for tool in (QEMU, "dbus-daemon"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            skip(f"{tool} is missing (scripts/deps.sh --test installs it)")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/qemu/ui-dbus.so"):
        skip("QEMU's D-Bus display module (ui-dbus.so) is missing")
    os.makedirs(work, exist_ok=True)
    # The sanitizer build: libvncserver 0.9.14's own SetDesktopSize leak is known.
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "lsan.supp")
    os.environ["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    for f in os.listdir(work):
        if f.endswith((".sock", ".qmp", ".ppm")) or f == "bus":
            os.unlink(os.path.join(work, f))
    run = Run(work)
    try:
        if mode == "bus":
            mode_bus(vgpu, work, sys.argv[4], sys.argv[5], run)
        else:
            mode_p2p(vgpu, work, run)
    finally:
        run.stop_all()
    print(f"dbus.{mode}: passed")


if __name__ == "__main__":
    main()
