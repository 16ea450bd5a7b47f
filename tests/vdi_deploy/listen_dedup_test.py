#!/usr/bin/env python3
"""The same inherited socket given twice, against the real vgpu-vnc binary.

systemd socket activation (LISTEN_FDS=1, the socket on fd 3) together with
--listen fd:3 names one socket twice; so do LISTEN_FDS=2 with fds 3 and 4 both copies of
one socket. The server must listen on it once, serve clients, and exit 0 on SIGTERM
(it used to accept on it twice and hang for ever in the second, blocking, accept()).
Usage: listen_dedup_test.py PATH_TO_VGPU_VNC
"""
import os
import socket
import sys

from hardening_common import SRC, Fail, Proc, check, rfb_connect, run

BIN = sys.argv[1]


def case(tmp, name, shell_fds, n_fds, extra):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]
    fd = 7  # not 3 or 4, which the shell sets; below 10 for sh
    os.dup2(ls.fileno(), fd)
    # LISTEN_PID must be the pid that execs the server: a shell sets it to its own.
    script = 'LISTEN_PID=$$ LISTEN_FDS=%d exec "$@" %s %d<&-' % (n_fds, shell_fds % {"fd": fd}, fd)
    p = Proc(tmp, name, ["sh", "-c", script, "sh", BIN, *SRC, *extra], pass_fds=[fd])
    ls.close()
    os.close(fd)
    p.wait_log(r"serving ")
    # Clients get in (more than one: each would have woken both accepts).
    for i in range(3):
        s, w, h, _ = rfb_connect(("127.0.0.1", port))
        check((w, h) == (64, 48), "%s: client %d reaches ServerInit 64x48" % (name, i))
        s.close()
    rc = p.term(timeout=60)
    log = p.text()
    check(rc == 0, "%s: SIGTERM: the server exits 0 (got %s)" % (name, rc))
    check(log.count("listening on fd:3") == 1,
          "%s: 'listening on fd:3' logged once (%d)" % (name, log.count("listening on fd:3")))
    check("same socket as fd:3" in log, "%s: the log says the second is the same socket" % name)


def main(tmp):
    case(tmp, "activation+listen-fd3", "3<&%(fd)d", 1, ["--listen", "fd:3"])
    case(tmp, "two-fds-one-socket", "3<&%(fd)d 4<&%(fd)d", 2, [])


run(main)
