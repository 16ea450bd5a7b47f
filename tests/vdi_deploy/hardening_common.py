"""Helpers for the hardening tests: start vgpu-vnc, read its log, a small RFB client.

Everything talks to the real binary over loopback TCP or unix sockets.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vdi"))
from vdi_common import Fail, Server, check, wait_for, run  # noqa: E402,F401

SRC = ["--source", "synthetic:64x48:static", "--log-level", "info"]


class Proc(Server):
    """vgpu-vnc from a whole argv, its log in a file; a log line counts even once it exited."""

    def __init__(self, tmp, name, argv, **kw):
        super().__init__(argv[0], tmp, name, argv[1:], **kw)

    def text(self):
        return self.log_text()

    def wait_log(self, pattern, timeout=20):
        return super().wait_log(pattern, timeout, after_exit=True)

    def exit_code(self, timeout=60):
        """Wait (generously) for the process to exit; None if it did not."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def term(self, timeout=60):
        """SIGTERM, then wait for the exit; a server that hangs is killed and None returned."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.exit_code(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return rc

    def port(self):
        return int(self.wait_log(r"listening on tcp:127\.0\.0\.1:(\d+)").group(1))


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        d = s.recv(n - len(data))
        if not d:
            raise Fail("connection closed after %d of %d bytes" % (len(data), n))
        data += d
    return data


def rfb_connect(addr, family=socket.AF_INET, timeout=20):
    """Connect, do the RFB 3.8 handshake with security None; returns (socket, w, h)."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    if recv_exact(s, 12) != b"RFB 003.008\n":
        raise Fail("no RFB 3.8 banner")
    s.sendall(b"RFB 003.008\n")
    n = recv_exact(s, 1)[0]
    types = recv_exact(s, n)
    if 1 not in types:
        raise Fail("security None not offered: %r" % list(types))
    s.sendall(b"\x01")
    if struct.unpack(">I", recv_exact(s, 4))[0] != 0:
        raise Fail("SecurityResult not OK")
    s.sendall(b"\x01")
    init = recv_exact(s, 24)
    w, h = struct.unpack(">HH", init[:4])
    recv_exact(s, struct.unpack(">I", init[20:24])[0])
    bpp = init[4]
    s.sendall(struct.pack(">BBHi", 2, 0, 1, 0))  # SetEncodings: raw only
    return s, w, h, bpp


def rfb_full_update(s, w, h, bpp):
    """Ask for the whole screen and read one FramebufferUpdate of raw rectangles; returns
    the number of pixel bytes received."""
    s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    head = recv_exact(s, 4)
    if head[0] != 0:
        raise Fail("expected FramebufferUpdate, got message type %d" % head[0])
    total = 0
    for _ in range(struct.unpack(">H", head[2:4])[0]):
        x, y, rw, rh, enc = struct.unpack(">HHHHi", recv_exact(s, 12))
        if enc != 0:
            raise Fail("unexpected encoding %d" % enc)
        total += len(recv_exact(s, rw * rh * bpp // 8))
    return total
