#!/usr/bin/env python3
"""The websockify token recipe (issue 8 item 6, docs/deploying.md): two vgpu-vnc servers on
per-VM unix sockets in one directory, a real websockify (Debian package) with its
UnixDomainSocketDirectory token plugin, and a WebSocket RFB client (standard library only)
that asks for ?token=vm1 and ?token=vm2 and checks each reaches its own screen.

usage: websockify_test.py VGPU_VNC     (exit 77 = skipped: no websockify)
"""
import base64
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

from vdi_common import Fail, Server, check, run, wait_for

VNC = sys.argv[1]


class WebSocket:
    def __init__(self, port, path):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
                        "Origin: http://127.0.0.1\r\n\r\n" % (path, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.s.recv(1)
            if not d:
                raise Fail("websockify closed during the upgrade: %r" % head)
            head += d
        if not head.startswith(b"HTTP/1.1 101"):
            raise Fail("no WebSocket upgrade: %r" % head[:200])
        self.buf = b""

    def send(self, data):
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _frame(self):
        def need(k):
            while len(raw) < k:
                d = self.s.recv(65536)
                if not d:
                    raise Fail("WebSocket closed")
                raw.extend(d)
        raw = bytearray(self._pending if hasattr(self, "_pending") else b"")
        need(2)
        op, n = raw[0] & 0x0F, raw[1] & 0x7F
        off = 2
        if n == 126:
            need(4)
            n, off = struct.unpack(">H", raw[2:4])[0], 4
        elif n == 127:
            need(10)
            n, off = struct.unpack(">Q", raw[2:10])[0], 10
        need(off + n)
        payload = bytes(raw[off:off + n])
        self._pending = bytes(raw[off + n:])
        if op == 8:
            raise Fail("WebSocket close frame")
        return payload

    def recv(self, k):
        while len(self.buf) < k:
            self.buf += self._frame()
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


def rfb_server_init(port, token):
    ws = WebSocket(port, "/websockify?token=" + token)
    ver = ws.recv(12)
    check(ver.startswith(b"RFB 003."), "%s: RFB version %r" % (token, ver))
    ws.send(b"RFB 003.008\n")
    n = ws.recv(1)[0]
    types = ws.recv(n)
    check(1 in types, "%s: security None offered" % token)
    ws.send(b"\x01")
    check(ws.recv(4) == b"\0\0\0\0", "%s: security result ok" % token)
    ws.send(b"\x01")
    init = ws.recv(24)
    w, h = struct.unpack(">HH", init[:4])
    name = ws.recv(struct.unpack(">I", init[20:24])[0]).decode()
    ws.s.close()
    return w, h, name


def main(tmp):
    sockets = os.path.join(tmp, "vms")
    os.mkdir(sockets)
    servers = [
        Server(VNC, tmp, "vm1", ["--source", "synthetic:320x200:desktop", "--desktop-name",
                                 "vm1", "--listen", "unix:" + os.path.join(sockets, "vm1")]),
        Server(VNC, tmp, "vm2", ["--source", "synthetic:400x300:static", "--desktop-name",
                                 "vm2", "--listen", "unix:" + os.path.join(sockets, "vm2")]),
    ]
    for s in servers:
        s.wait_log(r"serving")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    wlog = open(os.path.join(tmp, "websockify.log"), "w")
    ws = subprocess.Popen(["websockify", "--token-plugin", "UnixDomainSocketDirectory",
                           "--token-source", sockets, "127.0.0.1:%d" % port],
                          stdout=wlog, stderr=wlog)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return ws.poll() is not None and (_ for _ in ()).throw(Fail("websockify exited"))
        wait_for(up, 15, "websockify to listen")
        w, h, name = rfb_server_init(port, "vm1")
        check((w, h, name) == (320, 200, "vm1"), "token vm1 reaches vm1: %dx%d %s" % (w, h, name))
        w, h, name = rfb_server_init(port, "vm2")
        check((w, h, name) == (400, 300, "vm2"), "token vm2 reaches vm2: %dx%d %s" % (w, h, name))
        # The refusal websockify gives a token it has no socket for: it closes the
        # connection before answering the upgrade (no 101, not a byte of RFB) and logs
        # "Token 'vm3' not found". Anything else (a 101 and then a close, a timeout, an
        # RFB greeting, another error) is not that refusal.
        try:
            rfb_server_init(port, "vm3")
            raise Fail("an unknown token reached a server")
        except Fail as e:
            check(str(e) == "websockify closed during the upgrade: b''",
                  "unknown token: closed before the upgrade with nothing sent (%s)" % e)
        except OSError as e:
            raise Fail("unknown token: %r, not the refusal (a close before the upgrade)" % e)

        def refused_in_log():
            with open(os.path.join(tmp, "websockify.log")) as f:
                return "Token 'vm3' not found" in f.read()
        wait_for(refused_in_log, 30, "websockify to log \"Token 'vm3' not found\"")
        check(True, "websockify logged \"Token 'vm3' not found\"")
    finally:
        ws.terminate()
        ws.wait(10)
        wlog.close()
    for s in servers:
        check(s.stop() == 0, "server exits 0")


if shutil.which("websockify") is None:
    print("SKIP: websockify is not installed (scripts/deps.sh --test)")
    sys.exit(77)
run(main)
