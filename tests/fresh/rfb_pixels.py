#!/usr/bin/env python3
"""rfb_pixels.py HOST PORT: connect to a VNC server as a plain RFB 3.8 client (no
authentication, raw encoding), ask for the whole screen and check that a real picture
arrives: every pixel covered, and more than a handful of colours (the synthetic desktop
has windows, text and a gradient; a black or one-colour screen fails). Exit 0 and one
line saying what arrived, or 1 and why. Python's standard library only, so it runs
anywhere outside the root under test."""
import socket
import struct
import sys

TIMEOUT = 30  # seconds for any one read: generous, the server answers at once


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"the server closed the connection ({len(buf)}/{n} bytes)")
        buf += chunk
    return bytes(buf)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB 003."):
        raise ValueError(f"not an RFB server: {version!r}")
    s.sendall(b"RFB 003.008\n")
    n = recv_exact(s, 1)[0]
    if n == 0:
        length = struct.unpack(">I", recv_exact(s, 4))[0]
        raise ValueError(f"refused: {recv_exact(s, length).decode(errors='replace')}")
    types = recv_exact(s, n)
    if 1 not in types:
        raise ValueError(f"no 'None' security type offered: {list(types)}")
    s.sendall(b"\x01")
    if struct.unpack(">I", recv_exact(s, 4))[0] != 0:
        raise ValueError("security handshake failed")
    s.sendall(b"\x01")  # ClientInit, shared
    w, h = struct.unpack(">HH", recv_exact(s, 4))
    bpp, depth, big_endian, true_colour = struct.unpack(">BBBB", recv_exact(s, 16)[:4])
    name = recv_exact(s, struct.unpack(">I", recv_exact(s, 4))[0]).decode(errors="replace")
    if bpp not in (8, 16, 32) or not true_colour or w == 0 or h == 0:
        raise ValueError(f"odd server format {w}x{h} bpp {bpp} true colour {true_colour}")
    # SetEncodings [raw], then a full (non-incremental) update request.
    s.sendall(struct.pack(">BxHi", 2, 1, 0))
    s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    px = bpp // 8
    covered = 0
    colours = set()
    while covered < w * h:
        msg = recv_exact(s, 1)[0]
        if msg == 2:  # Bell
            continue
        if msg == 3:  # ServerCutText
            recv_exact(s, 3)
            recv_exact(s, struct.unpack(">I", recv_exact(s, 4))[0])
            continue
        if msg != 0:
            raise ValueError(f"unexpected server message type {msg}")
        _, nrects = struct.unpack(">BH", recv_exact(s, 3))
        for _ in range(nrects):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", recv_exact(s, 12))
            if enc != 0:
                raise ValueError(f"encoding {enc} though only raw (0) was asked for")
            if x + rw > w or y + rh > h:
                raise ValueError(f"rectangle {rw}x{rh}+{x}+{y} outside the {w}x{h} screen")
            data = recv_exact(s, rw * rh * px)
            # Every 7th pixel is plenty to tell a picture from a blank screen.
            for i in range(0, len(data), px * 7):
                colours.add(data[i:i + px])
            covered += rw * rh
        if covered < w * h:  # the rest in another update
            s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    s.close()
    if len(colours) < 16:
        raise ValueError(f"{w}x{h} arrived but only {len(colours)} colours: no picture")
    print(f"rfb_pixels: '{name}' {w}x{h}, {bpp} bpp: {covered} pixels, "
          f"{len(colours)} colours (sampled)")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        print(f"rfb_pixels: {e}", file=sys.stderr)
        sys.exit(1)
