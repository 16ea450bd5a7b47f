#!/usr/bin/env python3
"""No-auth on unix sockets only when other users cannot connect, against the real binary.

Without a password the server must refuse to listen on: a unix:PATH socket made with
--unix-mode 0666, or under umask 000; an inherited (--listen fd:N) abstract-namespace
unix socket; an inherited socket file that others can connect to. It must serve without
a password on a socket only its owner can reach, and log the peer's pid, uid and gid.
Usage: unix_policy_test.py PATH_TO_VGPU_VNC
"""
import os
import socket
import sys

from hardening_common import SRC, Proc, check, rfb_connect, run

BIN = sys.argv[1]


def refused(p, name):
    rc = p.exit_code(30)
    if rc is None:
        p.term()
    text = p.text()
    check(rc == 2 and "refusing to listen on" in text and "without a password" in text,
          "%s: refused without a password (exit %s)" % (name, rc))


def inherited(tmp, name, ls):
    fd = ls.fileno()
    p = Proc(tmp, name, [BIN, *SRC, "--listen", "fd:%d" % fd], pass_fds=[fd])
    ls.close()
    return p


def main(tmp):
    d = os.path.join(tmp, "sock")
    os.mkdir(d)
    os.chmod(d, 0o755)  # others may enter: the socket's own mode decides
    path = os.path.join(d, "vnc.sock")

    refused(Proc(tmp, "mode-0666", [BIN, *SRC, "--listen", "unix:" + path,
                                    "--unix-mode", "0666"]), "--unix-mode 0666")
    refused(Proc(tmp, "umask-000", [BIN, *SRC, "--listen", "unix:" + path],
                 preexec_fn=lambda: os.umask(0)), "umask 000")

    # The same socket behind a directory others cannot enter: private.
    d2 = os.path.join(tmp, "private")
    os.mkdir(d2, 0o700)
    p = Proc(tmp, "mode-0666-private-dir", [BIN, *SRC, "--listen",
                                            "unix:" + os.path.join(d2, "vnc.sock"),
                                            "--unix-mode", "0666"])
    p.wait_log(r"serving .* without authentication")
    check(p.term() == 0, "--unix-mode 0666 in a 0700 directory: serves without a password")

    # Only its owner: serves, and says who connected.
    p = Proc(tmp, "mode-0600", [BIN, *SRC, "--listen", "unix:" + path, "--unix-mode", "0600"])
    p.wait_log(r"serving .* without authentication")
    s, w, h, _ = rfb_connect(path, socket.AF_UNIX)
    check((w, h) == (64, 48), "--unix-mode 0600: a client gets in without a password")
    m = p.wait_log(r"connection on unix:\S+ from pid (\d+), uid (\d+), gid (\d+)")
    check((int(m.group(1)), int(m.group(2)), int(m.group(3))) ==
          (os.getpid(), os.geteuid(), os.getegid()),
          "the log names the peer's pid, uid and gid (%s)" % m.group(0))
    s.close()
    check(p.term() == 0, "--unix-mode 0600: exits 0 on SIGTERM")

    # Inherited abstract-namespace socket: anyone in the network namespace can connect.
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind("\0vgpu-vnc-test-%d" % os.getpid())
    ls.listen(4)
    refused(inherited(tmp, "fd-abstract", ls), "inherited abstract socket")

    # Inherited socket file: 0666 in an open directory is refused, 0600 is served.
    ipath = os.path.join(d, "inherited.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(ipath)
    ls.listen(4)
    os.chmod(ipath, 0o666)
    refused(inherited(tmp, "fd-file-0666", ls), "inherited socket file with mode 0666")
    os.unlink(ipath)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(ipath)
    ls.listen(4)
    os.chmod(ipath, 0o600)
    p = inherited(tmp, "fd-file-0600", ls)
    p.wait_log(r"serving .* without authentication")
    s, w, h, _ = rfb_connect(ipath, socket.AF_UNIX)
    check((w, h) == (64, 48), "inherited socket file with mode 0600: served without a password")
    s.close()
    check(p.term() == 0, "inherited socket file with mode 0600: exits 0 on SIGTERM")

    # A password makes any of them fine.
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write("secret12\n")
    os.chmod(pw, 0o600)
    p = Proc(tmp, "mode-0666-password", [BIN, *SRC, "--listen", "unix:" + path,
                                         "--unix-mode", "0666", "--password-file", pw])
    p.wait_log(r"serving .* with VNC password")
    check(p.term() == 0, "--unix-mode 0666 with --password-file: serves")


run(main)
