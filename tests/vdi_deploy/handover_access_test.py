#!/usr/bin/env python3
"""Who may hand a device over on socket:PATH, against the real vgpu-vnc binary.

The hand-over socket must be made with mode 0600 (whatever the umask), --handover-mode
widens it, and a connecting process that is not root, the server's user or named by
--handover-allow-uid/--handover-allow-gid is refused before its fd is looked at. A second
server on the same path is refused while the first one lives.
Usage: handover_access_test.py PATH_TO_VGPU_VNC
The peer check needs a second user: run as root (the check runs as 'nobody', 65534);
otherwise that part is skipped with a message.
"""
import os
import socket
import stat
import sys

from hardening_common import Proc, check, run

BIN = sys.argv[1]
ARGS = ["--listen", "tcp:127.0.0.1:0", "--log-level", "info"]
NOBODY = 65534


def offer_as(path, uid):
    """In a child running as uid: connect, send an fd, return the answer line."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            s.connect(path)
            try:
                socket.send_fds(s, [b"vfio-device\n"], [os.open("/dev/null", os.O_RDONLY)])
            except OSError:
                pass  # refused at once: the answer is still there to read
            answer = s.recv(200)
        except Exception as e:  # the parent checks what comes back
            answer = ("exception: %s" % e).encode()
        os.write(w, answer)
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        d = os.read(r, 4096)
        if not d:
            break
        data += d
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode(errors="replace")


def main(tmp):
    d = os.path.join(tmp, "h")
    os.mkdir(d)
    os.chmod(d, 0o755)
    os.chmod(tmp, 0o755)
    path = os.path.join(d, "handover.sock")

    # Default: 0600 even under umask 000.
    p = Proc(tmp, "default", [BIN, "--source", "socket:" + path, *ARGS],
             preexec_fn=lambda: os.umask(0))
    p.wait_log(r"serving ")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "socket:PATH is made with mode 0600 under umask 000 (got %04o)" % mode)
    # A second server must not take the path of a live one.
    q = Proc(tmp, "second", [BIN, "--source", "socket:" + path, *ARGS])
    rc = q.exit_code(30)
    if rc is None:
        q.term()
    check(rc not in (None, 0) and "another process is listening" in q.text(),
          "a second server on the same socket:PATH is refused (exit %s)" % rc)
    check(os.path.exists(path), "the first server's socket is still there")
    check(p.term() == 0, "default: exits 0 on SIGTERM")

    # --handover-mode 0666 lets others reach the socket; the peer check still refuses them.
    p = Proc(tmp, "mode-0666", [BIN, "--source", "socket:" + path, "--handover-mode", "0666",
                                *ARGS])
    p.wait_log(r"serving ")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o666, "--handover-mode 0666 (got %04o)" % mode)
    if os.geteuid() != 0:
        print("skip: the peer check needs root to run a client as another user", flush=True)
    else:
        answer = offer_as(path, NOBODY)
        check(answer.startswith("error:") and "may not hand over" in answer,
              "uid %d is refused by the peer check (%r)" % (NOBODY, answer))
        p.wait_log(r"refused a connection from pid \d+, uid %d, gid %d" % (NOBODY, NOBODY))
        # Root passes the peer check (its /dev/null is then refused as a device, which
        # says that the fd was looked at).
        answer = offer_as(path, 0)
        check(answer.startswith("error:") and "may not hand over" not in answer,
              "root passes the peer check (%r)" % answer)
    check(p.term() == 0, "mode-0666: exits 0 on SIGTERM")

    if os.geteuid() == 0:
        # Named by uid or by (primary) group: either lets nobody through the peer check.
        for name, option in (("allow", "--handover-allow-uid"),
                             ("allow-gid", "--handover-allow-gid")):
            p = Proc(tmp, name, [BIN, "--source", "socket:" + path, "--handover-mode", "0666",
                                 option, str(NOBODY), *ARGS])
            p.wait_log(r"serving ")
            answer = offer_as(path, NOBODY)
            check(answer.startswith("error:") and "may not hand over" not in answer,
                  "%s %d lets it through to the device check (%r)" % (option, NOBODY, answer))
            check(p.term() == 0, "%s: exits 0 on SIGTERM" % name)


run(main)
