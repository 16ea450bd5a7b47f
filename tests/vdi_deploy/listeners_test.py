#!/usr/bin/env python3
"""Listeners from the manager and idle exit, against the real vgpu-vnc binary.

Cases: --listen fd:N (a pre-bound listening TCP socket inherited), systemd socket
activation (LISTEN_FDS=1, LISTEN_PID = the server's pid, socket on fd 3), a handed-in
socket that is not listening (refused with a message), --unix-mode/--unix-owner on a
unix listener, $CREDENTIALS_DIRECTORY/vnc-password, and --exit-when-idle (exits 0 with
no client; stays while a client is connected, exits once it leaves).
Usage: listeners_test.py PATH_TO_VGPU_VNC
"""
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
SRC = ["--source", "synthetic:320x240:desktop", "--log-level", "info"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def wait_path(path, seconds=60):
    """Until the server's unix socket exists: it has set up its listeners."""
    end = time.time() + seconds
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.05)
    return os.path.exists(path)


def banner(sock_or_addr, family=socket.AF_INET):
    for attempt in range(1200):  # the server may not be listening yet (60 s at most)
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(sock_or_addr)
            break
        except (ConnectionRefusedError, FileNotFoundError):
            s.close()
            if attempt == 1199:
                raise
            time.sleep(0.05)
    data = b""
    while len(data) < 12:
        chunk = s.recv(12 - len(data))
        if not chunk:
            break
        data += chunk
    return s, data


def handshake_none(s):
    """Finish an RFB 3.8 handshake with security None; returns the ServerInit size."""
    s.sendall(b"RFB 003.008\n")
    n = s.recv(1)[0]
    types = s.recv(n)
    if 1 not in types:
        return None
    s.sendall(b"\x01")
    if struct.unpack(">I", s.recv(4))[0] != 0:
        return None
    s.sendall(b"\x01")  # ClientInit, shared
    init = b""
    while len(init) < 24:
        init += s.recv(24 - len(init))
    return struct.unpack(">HH", init[:4])


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.stderr.read().decode(errors="replace") if p.stderr else ""


def listening_tcp():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    return ls


def wait_exit(p, seconds):
    try:
        return p.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


# --listen fd:N
ls = listening_tcp()
port = ls.getsockname()[1]
fd = ls.fileno()
p = subprocess.Popen([BIN, *SRC, "--listen", "fd:%d" % fd], pass_fds=[fd],
                     stderr=subprocess.PIPE)
ls.close()
s, data = banner(("127.0.0.1", port))
check(data == b"RFB 003.008\n", "--listen fd:N: RFB banner on the inherited socket (%r)" % data)
check(handshake_none(s) == (320, 240), "--listen fd:N: handshake reaches ServerInit 320x240")
s.close()
log = stop(p)
check("listening on fd:%d" % fd in log, "--listen fd:N: the log names the fd")

# systemd socket activation: LISTEN_PID is the pid that execs the server.
ls = listening_tcp()
port = ls.getsockname()[1]
fd = ls.fileno()
p = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@" 3<&%d %d<&-' % (fd, fd),
                      "sh", BIN, *SRC], pass_fds=[fd], stderr=subprocess.PIPE)
ls.close()
s, data = banner(("127.0.0.1", port))
check(data == b"RFB 003.008\n", "LISTEN_FDS=1: RFB banner on fd 3 (%r)" % data)
s.close()
log = stop(p)
check("listening on fd:3" in log, "LISTEN_FDS=1: listens on fd:3 and not the default")
check("tcp:127.0.0.1:5900" not in log, "LISTEN_FDS=1: the default address is replaced")

# LISTEN_PID of another process: not ours, ignored (default address would be used; give
# a unix one so the test does not depend on port 5900).
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "vnc.sock")
    env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1")
    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path], env=env,
                         stderr=subprocess.PIPE)
    wait_path(path)
    log = stop(p)
    check("fd:3" not in log and "listening on unix:" in log,
          "LISTEN_PID of another process is ignored")

# A socket that is not listening is refused (--insecure-no-auth: past the password
# policy, which refuses an unbound socket as not local).
cs = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
fd = cs.fileno()
p = subprocess.Popen([BIN, *SRC, "--insecure-no-auth", "--listen", "fd:%d" % fd], pass_fds=[fd],
                     stderr=subprocess.PIPE)
rc = wait_exit(p, 10)
log = stop(p)
cs.close()
check(rc not in (None, 0) and "not listening" in log,
      "--listen fd:N of a non-listening socket fails and says so (rc %r)" % rc)
p = subprocess.Popen([BIN, *SRC, "--insecure-no-auth", "--listen", "fd:987"],
                     stderr=subprocess.PIPE)
rc = wait_exit(p, 10)
log = stop(p)
check(rc not in (None, 0) and "not an open file descriptor" in log,
      "--listen fd:N of a closed fd fails and says so")

# unix listener mode and owner
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "vnc.sock")
    owner = "%d:%d" % (os.getuid(), os.getgid())
    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path, "--unix-mode", "0660",
                          "--unix-owner", owner], stderr=subprocess.PIPE)
    for _ in range(1200):  # listening (mode and owner are set before listen()); 60 s at most
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            probe.close()
            break
        except OSError:
            probe.close()
            time.sleep(0.05)
    st = os.stat(path)
    check(stat.S_IMODE(st.st_mode) == 0o660, "--unix-mode 0660 (got %o)" % stat.S_IMODE(st.st_mode))
    check(st.st_uid == os.getuid() and st.st_gid == os.getgid(), "--unix-owner UID:GID")
    s, data = banner(path, socket.AF_UNIX)
    check(data == b"RFB 003.008\n", "unix listener answers")
    s.close()
    stop(p)
    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path, "--unix-owner",
                          "no-such-user-vgpu"], stderr=subprocess.PIPE)
    rc = wait_exit(p, 10)
    log = stop(p)
    check(rc not in (None, 0) and "no such user" in log, "--unix-owner of an unknown user fails")

# $CREDENTIALS_DIRECTORY/vnc-password: used when --password-file is not given.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "vnc.sock")
    with open(os.path.join(d, "vnc-password"), "w") as f:
        f.write("secret1\n")
    env = dict(os.environ, CREDENTIALS_DIRECTORY=d)
    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path], env=env,
                         stderr=subprocess.PIPE)
    s, data = banner(path, socket.AF_UNIX)
    s.sendall(b"RFB 003.008\n")
    n = s.recv(1)[0]
    types = s.recv(n)
    s.close()
    log = stop(p)
    check(2 in types and 1 not in types,
          "CREDENTIALS_DIRECTORY/vnc-password turns on VNC authentication (types %r)" % list(types))

# --exit-when-idle
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "vnc.sock")
    t0 = time.time()
    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path, "--exit-when-idle", "1"],
                         stderr=subprocess.PIPE)
    rc = wait_exit(p, 60)  # an outer limit, not a speed
    took = time.time() - t0
    log = stop(p)
    check(rc == 0 and 0.9 <= took, "--exit-when-idle 1 with no client: exit 0 after %.1f s "
          "(not before 1 s)" % took)
    check("--exit-when-idle" in log, "--exit-when-idle: the log says why it exits")

    p = subprocess.Popen([BIN, *SRC, "--listen", "unix:" + path, "--exit-when-idle", "1"],
                         stderr=subprocess.PIPE)
    wait_path(path)
    s, data = banner(path, socket.AF_UNIX)
    check(handshake_none(s) == (320, 240), "--exit-when-idle: a client connects")
    time.sleep(2.5)
    check(p.poll() is None, "--exit-when-idle: stays while a client is connected")
    s.close()
    rc = wait_exit(p, 60)
    check(rc == 0, "--exit-when-idle: exits 0 once the client left (rc %r)" % rc)
    stop(p)

if failures:
    print("%d failed" % len(failures))
    sys.exit(1)
print("all passed")
