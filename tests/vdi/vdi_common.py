"""Helpers for the VDI tests (tests/vdi): start vgpu-vnc, talk to its control socket."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok:", what, flush=True)


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Fail("timed out waiting for " + what)


class Server:
    """vgpu-vnc with its log (stdout and stderr) in TMP/NAME.log; kw goes to Popen."""

    def __init__(self, exe, tmp, name, args, **kw):
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([exe] + list(args), stdout=self.log, stderr=self.log, **kw)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, pattern, timeout=10, after_exit=False):
        """The match of pattern in the log once it is there; a server that exits first
        fails, unless after_exit and its log has the line."""
        def found():
            if self.proc.poll() is not None:
                m = re.search(pattern, self.log_text()) if after_exit else None
                if m:
                    return m
                raise Fail("server exited %d:\n%s" % (self.proc.returncode, self.log_text()))
            return re.search(pattern, self.log_text())
        return wait_for(found, timeout, "log line /%s/" % pattern)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail("server did not exit on SIGTERM")
        self.log.close()
        return self.proc.returncode


class Control:
    """One control connection: request/reply lines, and events after subscribe."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(10)
        self.buf = b""
        self.events = []

    def send_raw(self, data, fds=None):
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)

    def line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise Fail("control connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        while True:
            m = self.line()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def call(self, command, **args):
        req = dict(args, command=command)
        self.send_raw((json.dumps(req) + "\n").encode())
        return self.reply()

    def wait_event(self, pred, timeout, what):
        end = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    del self.events[: i + 1]
                    return e
            left = end - time.time()
            if left <= 0:
                raise Fail("no event: " + what)
            try:
                m = self.line(left)
            except socket.timeout:
                raise Fail("no event: " + what)
            self.events.append(m)

    def close(self):
        self.sock.close()


def probe(exe, addr, password, hold, pass_fds=()):
    """Run rfb_probe; returns (exit status, stdout)."""
    p = subprocess.run([exe, addr, password, str(hold)], capture_output=True, text=True,
                       timeout=60, pass_fds=pass_fds)
    return p.returncode, p.stdout.strip()


def probe_bg(exe, addr, password, hold):
    return subprocess.Popen([exe, addr, password, str(hold)], stdout=subprocess.PIPE, text=True)


def http_get(port, target, raw=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw if raw is not None else ("GET %s HTTP/1.0\r\n\r\n" % target).encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode()


def parse_prometheus(text):
    """name{labels} -> value; raises Fail on a line that is not the text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("#") and not re.match(r"# (HELP|TYPE) \w+ ", line):
                raise Fail("bad comment line: " + line)
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)', line)
        if not m:
            raise Fail("bad metrics line: " + line)
        out[m.group(1)] = float(m.group(3))
    return out


def run(main):
    tmp = tempfile.mkdtemp(prefix="vgpu-vdi-")
    try:
        main(tmp)
    except Fail as e:
        print("FAIL:", e, flush=True)
        for f in sorted(os.listdir(tmp)):
            if f.endswith(".log"):
                print("---- %s" % f)
                print(open(os.path.join(tmp, f)).read())
        sys.exit(1)
    print("PASS")
