#!/usr/bin/env python3
"""--qmp: client input to the VM through QMP, against the real vgpu-vnc binary.

fake:  a fake QMP server checks the JSON it receives: greeting and qmp_capabilities,
       absolute pointer coordinates scaled to 0..0x7FFF, buttons and the wheel, keys by
       QKeyCode (with shift added around a shifted character), the QEMU Extended Key
       Event pseudo-encoding (acknowledged with an empty -258 rectangle; key numbers
       forwarded), motion coalescing, and reconnecting after QEMU goes away.
qemu:  a real qemu-system-x86_64 (TCG, running: a paused VM refuses input; USB tablet) accepts every command, checked
       on QEMU's side: its input trace events (-trace input_event_*) show every key, button and
       position the client sent, one input sync per command, as many as the server sent. Exit 77 without QEMU.
Usage: qmp_test.py fake|qemu PATH_TO_VGPU_VNC
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MODE, BIN = sys.argv[1], sys.argv[2]
W, H = 320, 240
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def rfb_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    for _ in range(100):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.05)
    recv_exact(s, 12)
    s.sendall(b"RFB 003.008\n")
    n = recv_exact(s, 1)[0]
    assert 1 in recv_exact(s, n)
    s.sendall(b"\x01")
    assert recv_exact(s, 4) == b"\0\0\0\0"
    s.sendall(b"\x01")
    init = recv_exact(s, 24)
    recv_exact(s, struct.unpack(">I", init[20:24])[0])
    return s


def set_encodings(s, encs):
    s.sendall(struct.pack(">BxH", 2, len(encs)) + b"".join(struct.pack(">i", e) for e in encs))


def pointer(s, mask, x, y):
    s.sendall(struct.pack(">BBHH", 5, mask, x, y))


def key(s, down, keysym):
    s.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, keysym))


def ext_key(s, down, keysym, keycode):
    s.sendall(struct.pack(">BBHII", 255, 0, 1 if down else 0, keysym, keycode))


def scale(v, size):
    return 0 if v <= 0 else 0x7FFF if v >= size - 1 else v * 0x7FFF // (size - 1)


def start_server(path, qmp_path):
    return subprocess.Popen([BIN, "--source", "synthetic:%dx%d:desktop" % (W, H), "--listen",
                             "unix:" + path, "--qmp", "unix:" + qmp_path, "--log-level", "debug"],
                            stderr=subprocess.PIPE)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p.stderr.read().decode(errors="replace")


class FakeQmp:
    """Accepts one connection at a time; answers every command with an empty return."""

    def __init__(self, path):
        self.path, self.commands, self.connections = path, [], 0
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(1)
        self.conn = None
        self.greeting_ok = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            conn, _ = self.ls.accept()
        except OSError:
            return
        self.conn = conn
        with self.lock:
            self.connections += 1
        conn.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, '
                     b'"capabilities": []}}\r\n')
        f = conn.makefile("rb")
        first = True
        for line in f:
            cmd = json.loads(line)
            if first:
                self.greeting_ok = cmd == {"execute": "qmp_capabilities"}
                first = False
            else:
                with self.lock:
                    self.commands.append(cmd)
            # An asynchronous event before the reply now and then: must be skipped.
            if len(self.commands) % 3 == 1:
                conn.sendall(b'{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}\r\n')
            conn.sendall(b'{"return": {}}\r\n')

    def events(self):
        with self.lock:
            cmds = list(self.commands)
        out = []
        for c in cmds:
            assert c["execute"] == "input-send-event", c
            out.append(c["arguments"]["events"])
        return out

    def close(self):
        self.ls.close()
        if self.conn:
            self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()
        os.unlink(self.path)


def wait_for(pred, seconds=30):
    """Wait for an event; seconds is only the hang limit, never a timing under test."""
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def keyev(down, kind, data):
    return {"type": "key", "data": {"down": down, "key": {"type": kind, "data": data}}}


def absev(x, y):
    return [{"type": "abs", "data": {"axis": "x", "value": x}},
            {"type": "abs", "data": {"axis": "y", "value": y}}]


def btn(down, name):
    return {"type": "btn", "data": {"down": down, "button": name}}


def run_fake(d):
    path, qmp_path = os.path.join(d, "vnc.sock"), os.path.join(d, "qmp.sock")
    p = start_server(path, qmp_path)  # QEMU is not there yet
    time.sleep(0.5)
    fake = FakeQmp(qmp_path)
    check(wait_for(lambda: fake.connections == 1), "connects once QEMU's socket appears")
    check(wait_for(lambda: fake.greeting_ok), "greeting read, qmp_capabilities sent first")
    time.sleep(0.2)
    s = rfb_connect(path)
    set_encodings(s, [0, -258])
    hdr = recv_exact(s, 16)
    check(struct.unpack(">BxHHHHHi", hdr) == (0, 1, 0, 0, 0, 0, -258),
          "-258 acknowledged with one empty pseudo-rectangle (%s)" % hdr.hex())

    def expect(n_before, want, what):
        ok = wait_for(lambda: len(fake.events()) >= n_before + len(want))
        got = fake.events()[n_before:n_before + len(want)]
        check(ok and got == want, "%s: %s" % (what, json.dumps(got) if got != want else "ok"))
        return n_before + len(want)

    n = 0
    pointer(s, 0, 0, 0)
    n = expect(n, [absev(0, 0)], "motion to 0,0")
    time.sleep(0.05)
    pointer(s, 1, 160, 120)
    n = expect(n, [absev(scale(160, W), scale(120, H)) + [btn(True, "left")]], "left press at 160,120")
    pointer(s, 0, 160, 120)
    n = expect(n, [absev(scale(160, W), scale(120, H)) + [btn(False, "left")]], "left release")
    pointer(s, 4, W - 1, H - 1)
    n = expect(n, [absev(0x7FFF, 0x7FFF) + [btn(True, "right")]], "right press at the corner = 0x7FFF")
    pointer(s, 0, W - 1, H - 1)
    n = expect(n, [absev(0x7FFF, 0x7FFF) + [btn(False, "right")]], "right release")
    pointer(s, 8, 10, 10)
    pointer(s, 0, 10, 10)
    n = expect(n, [absev(scale(10, W), scale(10, H)) + [btn(True, "wheel-up"), btn(False, "wheel-up")]],
               "wheel up = press and release")
    pointer(s, 16, 10, 10)
    pointer(s, 0, 10, 10)
    n = expect(n, [absev(scale(10, W), scale(10, H)) + [btn(True, "wheel-down"), btn(False, "wheel-down")]],
               "wheel down = press and release")
    pointer(s, 2, 20, 20)
    n = expect(n, [absev(scale(20, W), scale(20, H)) + [btn(True, "middle")]], "middle press")
    pointer(s, 0, 20, 20)
    n = expect(n, [absev(scale(20, W), scale(20, H)) + [btn(False, "middle")]], "middle release")

    # Coalescing: 200 motions as fast as the socket takes them.
    time.sleep(0.1)
    before = len(fake.events())
    t0 = time.time()
    for i in range(200):
        pointer(s, 0, i, i % H)
    took = time.time() - t0
    last = absev(scale(199, W), scale(199 % H, H))
    wait_for(lambda: fake.events()[-1:] == [last])
    motions = fake.events()[before:]
    check(0 < len(motions) <= 20 + int(took * 100) * 2,
          "200 motions in %.3f s coalesced into %d commands" % (took, len(motions)))
    check(motions and motions[-1] == last, "the last position wins")
    n = len(fake.events())

    # Keys by keysym
    key(s, True, ord("a"))
    key(s, False, ord("a"))
    n = expect(n, [[keyev(True, "qcode", "a")], [keyev(False, "qcode", "a")]], "'a' -> qcode a")
    key(s, True, ord("!"))
    key(s, False, ord("!"))
    n = expect(n, [[keyev(True, "qcode", "shift"), keyev(True, "qcode", "1"), keyev(False, "qcode", "shift")],
                   [keyev(False, "qcode", "1")]], "'!' without shift -> shift around qcode 1")
    key(s, True, 0xFFE1)
    key(s, True, ord("A"))
    key(s, False, ord("A"))
    key(s, True, ord("{"))
    key(s, False, ord("{"))
    key(s, False, 0xFFE1)
    n = expect(n, [[keyev(True, "qcode", "shift")], [keyev(True, "qcode", "a")], [keyev(False, "qcode", "a")],
                   [keyev(True, "qcode", "bracket_left")], [keyev(False, "qcode", "bracket_left")],
                   [keyev(False, "qcode", "shift")]], "Shift_L + 'A' and '{' with shift held")
    for ks, qc in ((0xFFBE, "f1"), (0xFF0D, "ret"), (0xFF8D, "kp_enter"), (0xFF51, "left"),
                   (0xFFE3, "ctrl"), (0xFFB7, "kp_7"), (0xFF1B, "esc"), (ord("/"), "slash")):
        key(s, True, ks)
        n = expect(n, [[keyev(True, "qcode", qc)]], "keysym 0x%x -> %s" % (ks, qc))
        key(s, False, ks)
        n = expect(n, [[keyev(False, "qcode", qc)]], "keysym 0x%x release" % ks)
    key(s, True, 0x20AC)  # EuroSign: no key on a US layout, nothing sent
    key(s, True, ord("b"))
    n = expect(n, [[keyev(True, "qcode", "b")]], "unmapped keysym sends nothing")
    key(s, False, ord("b"))
    n = expect(n, [[keyev(False, "qcode", "b")]], "'b' release")

    # Extended key events: numbers; 0 falls back to the keysym.
    ext_key(s, True, ord("a"), 0x1E)
    ext_key(s, False, ord("a"), 0x1E)
    ext_key(s, True, 0xFFE4, 0x9D)  # Control_R: 0xE0 0x1D
    ext_key(s, True, ord("c"), 0)
    n = expect(n, [[keyev(True, "number", 30)], [keyev(False, "number", 30)], [keyev(True, "number", 0x9D)],
                   [keyev(True, "qcode", "c")]], "QEMU extended key events -> key numbers")
    s.close()

    # QEMU goes away and comes back.
    fake.close()
    time.sleep(0.5)
    fake2 = FakeQmp(qmp_path)
    check(wait_for(lambda: fake2.connections == 1), "reconnects when QEMU is back")
    time.sleep(0.2)
    s = rfb_connect(path)
    key(s, True, ord("z"))
    check(wait_for(lambda: fake2.events() == [[keyev(True, "qcode", "z")]]), "input flows after reconnecting")
    s.close()
    # A malformed extended key event closes the client.
    s = rfb_connect(path)
    set_encodings(s, [-258])
    recv_exact(s, 16)
    s.sendall(struct.pack(">BBHII", 255, 7, 1, 0, 0))
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    check(closed, "malformed extended key event closes the client")
    s.close()
    log = stop(p)
    check(p.returncode == 0, "server exits 0")
    if p.returncode != 0:
        print(log[-4000:])
    check(log.count("input is dropped until") == 2, "logs once per outage (%d)" % log.count("input is dropped until"))
    fake2.close()


def run_qemu(d):
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        print("SKIP: qemu-system-x86_64 not installed (Debian: qemu-system-x86)")
        sys.exit(77)
    path, qmp_path = os.path.join(d, "vnc.sock"), os.path.join(d, "qmp.sock")
    trace = os.path.join(d, "qemu-trace.log")
    q = subprocess.Popen([qemu, "-M", "pc", "-accel", "tcg", "-display", "none", "-nodefaults", "-m", "64",
                          "-usb", "-device", "usb-tablet", "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                          "-trace", "input_event_*", "-D", trace],
                         stderr=subprocess.PIPE)
    if not wait_for(lambda: os.path.exists(qmp_path)):
        q.kill()
        print(q.stderr.read().decode(errors="replace"))
        check(False, "QEMU started")
        return
    try:
        qemu_session(path, qmp_path, q, trace)
    finally:
        if q.poll() is None:
            q.kill()
            q.wait()


def read_trace(trace):
    try:
        with open(trace, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def qemu_session(path, qmp_path, q, trace):
    import re
    p = start_server(path, qmp_path)
    s = rfb_connect(path)
    set_encodings(s, [0, -258])
    recv_exact(s, 16)
    # Connected to QMP once QEMU itself saw an event: move the pointer until it does.
    def seen_move():
        pointer(s, 0, 7, 7)
        return "input_event_abs" in read_trace(trace)
    check(wait_for(seen_move, 60), "QEMU sees the first pointer move")
    for mask, x, y in ((0, 5, 5), (1, 100, 100), (0, 100, 100), (4, 319, 239), (0, 319, 239),
                       (8, 50, 50), (0, 50, 50), (16, 50, 50), (0, 50, 50), (2, 1, 1), (0, 1, 1)):
        pointer(s, mask, x, y)
    for ks in (ord("a"), ord("!"), ord("Z"), 0xFFBE, 0xFF0D, 0xFF8D, 0xFFE1, 0xFFE3, 0xFFE9, 0xFF51,
               0xFFB5, 0xFFAB, ord("{"), ord("~"), ord("`"), ord("\\"), ord(" "), 0xFF08, 0xFFFF, 0xFF63):
        key(s, True, ks)
        key(s, False, ks)
    ext_key(s, True, ord("a"), 0x1E)
    ext_key(s, False, ord("a"), 0x1E)
    ext_key(s, True, 0xFFE4, 0x9D)
    ext_key(s, False, 0xFFE4, 0x9D)
    # The last event sent (right Ctrl up, as key number 0x9D) shows on QEMU's side.
    check(wait_for(lambda: "qcode ctrl_r, down 0" in read_trace(trace)),
          "QEMU sees the last key (right Ctrl up)")
    s.close()
    log = stop(p)
    q.kill()
    q.wait()
    t = read_trace(trace)
    line = [l for l in log.splitlines() if "commands sent" in l]
    print(line[-1] if line else log)
    print("\n".join(l for l in log.splitlines() if "refused:" in l)[:2000])
    m = re.search(r"(\d+) commands sent, (\d+) accepted, (\d+) refused", line[-1] if line else "")
    sent = int(m.group(1)) if m else -1
    syncs = t.count("input_event_sync")
    # QEMU's side: one sync per input-send-event it carried out, every one the server sent
    # (the probing moves before the script included), plus one more for each key sent as a
    # key number (the 4 extended key events): QEMU turns a number into a qcode key event,
    # which syncs by itself.
    check(sent >= 40 and syncs == sent + 4, "QEMU carried out every command the server sent: "
          "%d input syncs in QEMU's trace, %d commands sent + 4" % (syncs, sent))
    # And what they carried: buttons, the corners of the screen, the keys.
    for want in ("button left, down 1", "button left, down 0", "button right, down 1",
                 "button middle, down 1", "button wheel-up, down 1", "button wheel-down, down 1",
                 "qcode a, down 1", "qcode a, down 0", "qcode shift, down 1", "qcode 1, down 1",
                 "qcode z, down 1", "qcode f1, down 1", "qcode ret, down 1", "qcode kp_enter, down 1",
                 "qcode ctrl, down 1", "qcode alt, down 1", "qcode left, down 1", "qcode backspace, down 1",
                 "qcode insert, down 1", "qcode spc, down 1", "qcode grave_accent, down 1",
                 "qcode backslash, down 1", "qcode bracket_left, down 1"):
        check(want in t, "QEMU's trace has \"%s\"" % want)
    check(re.search(r"input_event_abs .*axis x, value 0x7fff", t) and
          re.search(r"input_event_abs .*axis y, value 0x7fff", t),
          "QEMU saw the bottom-right corner (absolute 0x7fff, 0x7fff)")
    if failures:
        print("---- QEMU's input trace (tail) ----")
        print("\n".join(t.splitlines()[-60:]))
    check(m is not None and m.group(1) == m.group(2) and m.group(3) == "0",
          "the server saw every command accepted")
    check("refused:" not in log, "no error replies")


with tempfile.TemporaryDirectory() as d:
    (run_fake if MODE == "fake" else run_qemu)(d)
if failures:
    print("%d failed" % len(failures))
    sys.exit(1)
print("all passed")
