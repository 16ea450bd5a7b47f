#!/usr/bin/env python3
"""Client sockets past FD_SETSIZE, against the real vgpu-vnc binary.

libvncserver watches clients with a fortified select(): an fd >= 1024 there aborts the
process. The server is started with about 940 files already open (inherited from this
harness), so that its client sockets land near 1024; a good client connects, then silent
connections (one per loopback address, so that no per-address limit stops them) push
the fds past 1024. The server must refuse those cleanly (a log line), keep serving the
good client, let a new client in once the silent ones are gone, and exit 0 on SIGTERM.
Also: --max-clients beyond what fits below FD_SETSIZE is refused at start-up.
Usage: fd_limit_test.py PATH_TO_VGPU_VNC
"""
import os
import resource
import socket
import sys

from hardening_common import (SRC, Fail, Proc, check, rfb_connect, rfb_full_update, run,
                              wait_for)

BIN = sys.argv[1]
INHERITED = 940
SILENT = 110


def main(tmp):
    p = Proc(tmp, "max-clients-400", [BIN, *SRC, "--listen", "tcp:127.0.0.1:0",
                                      "--max-clients", "400"])
    rc = p.exit_code(30)
    if rc is None:
        p.term()
    check(rc == 2 and "--max-clients 400: at most" in p.text(),
          "--max-clients 400 is refused at start-up (exit %s)" % rc)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = INHERITED + SILENT + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        print("skip: RLIMIT_NOFILE hard limit %d < %d needed by the harness" % (hard, need))
        sys.exit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(INHERITED)]
    p = Proc(tmp, "high-fds", [BIN, *SRC, "--listen", "tcp:127.0.0.1:0", "--max-clients",
                               str(SILENT + 10), "--handshake-timeout", "120"], pass_fds=fds)
    for fd in fds:
        os.close(fd)
    port = p.port()
    p.wait_log(r"serving ")
    good, w, h, bpp = rfb_connect(("127.0.0.1", port))
    check(rfb_full_update(good, w, h, bpp) == w * h * bpp // 8, "a good client gets a frame")

    silent = []
    try:
        for i in range(SILENT):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.%d" % (2 + i), 0))
            s.connect(("127.0.0.1", port))
            silent.append(s)
        p.wait_log(r"refused: its socket is fd \d+, and libvncserver's select\(\) only "
                   r"takes fds below 1024", timeout=60)
        check(p.proc.poll() is None, "the server lives with client fds past FD_SETSIZE")
        check(rfb_full_update(good, w, h, bpp) == w * h * bpp // 8,
              "the good client still gets frames")
    finally:
        for s in silent:
            s.close()
    # Once the silent ones are gone (their handshakes end), a new client gets in.
    def new_client():
        try:
            s, w2, h2, bpp2 = rfb_connect(("127.0.0.1", port), timeout=5)
        except (Fail, OSError):
            return None
        return s, w2, h2, bpp2
    s, w2, h2, bpp2 = wait_for(new_client, 60, "a new client after the silent ones left")
    check(rfb_full_update(s, w2, h2, bpp2) == w2 * h2 * bpp2 // 8, "a new client gets a frame")
    s.close()
    good.close()
    rc = p.term()
    check(rc == 0, "SIGTERM: exits 0 (got %s)" % rc)


run(main)
