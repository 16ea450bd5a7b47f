#!/usr/bin/env python3
"""The control socket under misuse, against the real vgpu-vnc binary.

- A second server with the same --control path is refused and leaves the first one's
  socket alone (it used to unlink it and take the path).
- The socket has mode 0600 whatever the umask.
- A request longer than the limit gets its error line: the client that is still sending
  sees no reset and reads the error.
- Idle connections are closed after --control-idle-timeout and their slots come back;
  a subscriber stays.
Usage: control_hardening_test.py PATH_TO_VGPU_VNC
"""
import json
import os
import socket
import stat
import sys

from vdi_common import Control, Fail, Server, check, run, wait_for

EXE = sys.argv[1]
SRC = ["--source", "synthetic:64x48:static", "--log-level", "info"]
IDLE = 2


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data


def main(tmp):
    path = os.path.join(tmp, "ctl.sock")
    old_umask = os.umask(0)
    try:
        srv = Server(EXE, tmp, "server", SRC + ["--listen", "unix:" + os.path.join(tmp, "v.sock"),
                                                "--control", "unix:" + path,
                                                "--control-idle-timeout", str(IDLE)])
    finally:
        os.umask(old_umask)
    srv.wait_log(r"control socket on unix:")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "the control socket has mode 0600 under umask 000 (got %04o)" % mode)

    # A second server: refused, and the first one's socket still answers.
    second = Server(EXE, tmp, "second", SRC + ["--listen", "unix:" + os.path.join(tmp, "w.sock"),
                                               "--control", "unix:" + path])
    try:
        rc = second.proc.wait(60)
    except Exception:
        second.stop()
        raise Fail("the second server did not exit")
    check(rc != 0 and "another server is listening there" in second.log_text(),
          "a second server on the same control path is refused (exit %d)" % rc)
    c = Control(path)
    check(c.call("query-source").get("ok") is True, "the first server's control socket answers")
    c.close()

    # An over-long request: the client writes all of it, then reads the error.
    s = connect(path)
    try:
        s.sendall(b"x" * (4 << 20))
    except OSError as e:
        raise Fail("sending an over-long request: %s (the server reset the connection)" % e)
    line = read_line(s)
    check(b"request longer than" in line, "the over-long request gets its error (%r)" % line[:80])
    s.close()

    # Idle connections: 16 slots filled by silent connections, then freed by the timeout.
    sub = Control(path)
    check(sub.call("subscribe").get("ok") is True, "a subscriber")
    idle = [connect(path) for _ in range(15)]
    extra = connect(path)
    check(b"too many control connections" in read_line(extra), "the 17th connection is refused")
    extra.close()
    for s in idle:
        line = read_line(s)  # the idle error, then the end of the stream
        check(b"idle" in line, "an idle connection is closed with a reason (%r)" % line)
        s.close()
    # The server frees a slot once it has read our close: until then it may say "too many".
    def answered():
        c = Control(path)
        try:
            return c.call("query-source").get("ok") is True
        except Fail:
            return False
        finally:
            c.close()
    wait_for(answered, 30, "a control connection that answers after the idle ones")
    check(True, "slots come back after the idle timeout")
    check(sub.call("query-source").get("ok") is True, "the subscriber is still connected")
    sub.close()
    srv.wait_log(r"nothing received for %d s" % IDLE)
    check(srv.stop() == 0, "exits 0 on SIGTERM")


run(main)
