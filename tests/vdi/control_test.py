#!/usr/bin/env python3
"""The control socket, vgpu-vncctl and /metrics against a real vgpu-vnc (issue 8 items 3, 4).

usage: control_test.py VGPU_VNC VGPU_VNCCTL RFB_PROBE
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

from vdi_common import (Control, Fail, Server, check, http_get, parse_prometheus, probe,
                        probe_bg, run, wait_for)

VNC, CTL, PROBE = sys.argv[1:4]


def ctl(sock, *args, pass_fds=(), stdin=None):
    p = subprocess.run([CTL, "--socket", sock] + list(args), capture_output=True, text=True,
                       timeout=30, pass_fds=pass_fds, input=stdin)
    return p.returncode, p.stdout, p.stderr


def main(tmp):
    vnc = "unix:" + os.path.join(tmp, "vnc.sock")
    sock = os.path.join(tmp, "ctl.sock")

    # A non-loopback metrics address is refused without --metrics-public.
    p = subprocess.run([VNC, "--source", "synthetic:64x64:static", "--listen", vnc,
                        "--metrics", "tcp:0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "not loopback" in p.stderr,
          "--metrics on 0.0.0.0 refused without --metrics-public (exit %d)" % p.returncode)

    srv = Server(VNC, tmp, "server", [
        "--source", "synthetic:320x200:modes", "--fps", "60", "--listen", vnc,
        "--control", "unix:" + sock, "--metrics", "tcp:127.0.0.1:0", "--desktop-name", "vm1",
        "--log-level", "debug"])
    port = int(srv.wait_log(r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
    srv.wait_log(r"serving")
    check(oct(os.stat(sock).st_mode & 0o777) == "0o600", "control socket mode 0600")

    c = Control(sock)
    # Errors: bad JSON, not an object, unknown command, bad arguments. The server lives on.
    c.send_raw(b"{this is not json\n")
    r = c.reply()
    check("error" in r and "JSON" in r["error"], "bad JSON answered with an error: %s" % r)
    c.send_raw(b"[1,2]\n")
    check("command" in c.reply().get("error", ""), "a non-object request is an error")
    r = c.call("frobnicate", tag="t1")
    check("unknown command" in r.get("error", "") and r.get("tag") == "t1",
          "unknown command named, tag echoed: %s" % r)
    check("expires" in c.call("set-password", password="x", expires="later").get("error", ""),
          "set-password with a bad expires is an error")
    check("password" in c.call("set-password").get("error", ""),
          "set-password without a password is an error")
    check("id" in c.call("disconnect", id="one").get("error", ""), "disconnect needs an id")
    check("no client 999" in c.call("disconnect", id=999).get("error", ""),
          "disconnect of an unknown client is an error")
    check("no socket" in c.call("add-client").get("error", ""), "add-client without an fd")
    c.send_raw(b"x" * 70000)
    r = c.reply()
    check("longer" in r.get("error", ""), "an overlong request is refused: %s" % r)
    c.close()
    c = Control(sock)
    q = c.call("query-source")
    check(q.get("ok") and q["width"] == 320 and q["height"] == 200 and q["format"] == "XR24"
          and q["mode"] == "320x200" and isinstance(q["dmabuf_id"], int) and q["encoder"],
          "query-source: %s" % q)

    # Several control connections at once; one subscribes.
    ev = Control(sock)
    check(ev.call("subscribe").get("subscribed") is True, "subscribe")

    # Passwords: none set yet -> refused; set -> admitted; wrong -> refused.
    st, out = probe(PROBE, vnc, "secret", 0)
    check(st == 3, "before set-password a client is refused (%d %s)" % (st, out))
    srv.wait_log(r"no password set yet")
    st, out, err = ctl(sock, "set-password", stdin="secret\n")
    check(st == 0 and '"ok":true' in out, "vgpu-vncctl set-password: %s %s" % (out, err))
    st, out = probe(PROBE, vnc, "secret", 0)
    check(st == 0 and out.startswith("ok 320x200 vm1"), "the password admits: %s" % out)
    st, out = probe(PROBE, vnc, "wrong", 0)
    check(st == 3, "a wrong password is refused (%d %s)" % (st, out))
    e = ev.wait_event(lambda e: e["event"] == "client-connected", 5, "client-connected")
    check(e["id"] > 0 and e["address"].startswith("unix:"), "client-connected event: %s" % e)
    ev.wait_event(lambda e: e["event"] == "client-authenticated", 5, "client-authenticated")
    ev.wait_event(lambda e: e["event"] == "client-disconnected", 5, "client-disconnected")

    # Expiry: "now" refuses at once; "+600" works (a limit no loaded machine reaches during
    # the probe); "+1" expires by itself: wait for that event, not for a number of seconds.
    check(c.call("set-password", password="secret", expires="now").get("ok"), "expire now")
    st, out = probe(PROBE, vnc, "secret", 0)
    check(st == 3, "after expiry the password is refused (%d %s)" % (st, out))
    srv.wait_log(r"refused: the password has expired")
    check(c.call("set-password", password="secret", expires="+600").get("ok"), "expire in 600 s")
    st, out = probe(PROBE, vnc, "secret", 0)
    check(st == 0, "before it expires the password works (%d %s)" % (st, out))
    check(c.call("set-password", password="secret", expires="+1").get("ok"), "expire in 1 s")
    wait_for(lambda: probe(PROBE, vnc, "secret", 0)[0] == 3, 60, "the +1 s password to expire")
    check(True, "after +1 s the password is refused")
    check(c.call("set-password", password="secret", expires="never").get("ok"), "never")

    # list-clients, metrics while a client is connected, mode-changed events, disconnect.
    m0 = parse_prometheus(http_get(port, "/metrics")[1])
    held = probe_bg(PROBE, vnc, "secret", 30)
    try:
        held_part(c, ev, held, sock, port, m0)
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
    added_part(c, ev, sock)
    finish(c, ev, srv, sock)


def held_part(c, ev, held, sock, port, m0):
    line = held.stdout.readline().strip()
    m = re.fullmatch(r"ok (\d+)x(\d+) vm1", line)
    check(m, "a held client is in: %s" % line)
    first_w = int(m.group(1))
    cid = wait_for(lambda: [x["id"] for x in c.call("list-clients")["clients"]], 5,
                   "the held client listed")[0]
    e = ev.wait_event(lambda e: e["event"] == "client-authenticated" and e["id"] == cid, 5,
                      "client-authenticated for the held client")
    e = ev.wait_event(lambda e: e["event"] == "mode-changed" and e["width"] != first_w, 10,
                      "mode-changed to another mode")
    check((e["width"], e["height"]) in ((320, 200), (640, 480), (800, 600), (1024, 768))
          and e["format"] == "XR24", "mode-changed event: %s" % e)
    ev.wait_event(lambda e: e["event"] == "display-off", 10, "display-off between modes")

    def listed():
        r = c.call("list-clients")
        cl = [x for x in r.get("clients", []) if x["id"] == cid]
        return cl and cl[0]["bytes_sent"] > 0 and cl[0]
    x = wait_for(listed, 5, "list-clients with bytes sent")
    check(x["address"].startswith("unix:") and x["encoding"] == "library" and x["fps"] >= 0,
          "list-clients: %s" % x)
    st, out, err = ctl(sock, "list-clients")
    check(st == 0 and '"id":%d' % cid in out, "vgpu-vncctl list-clients")

    status, body = http_get(port, "/metrics")
    m1 = parse_prometheus(body)
    check(status == 200, "GET /metrics is 200")
    for name in ("vgpu_vnc_frames_captured_total", "vgpu_vnc_bytes_sent_total",
                 "vgpu_vnc_frames_changed_total"):
        check(m1[name] > m0[name], "%s grew: %g -> %g" % (name, m0[name], m1[name]))
    check(m1["vgpu_vnc_clients"] == 1, "vgpu_vnc_clients is 1")
    # Exactly the refusals above: unset, wrong, expired "now", expired "+1" (the probes
    # before that one succeeded). Nothing else may count, nothing may be missed.
    check(m0["vgpu_vnc_auth_failures_total"] == 4 and m1["vgpu_vnc_auth_failures_total"] == 4,
          "auth failures are exactly the 4 refusals: %g, %g" %
          (m0["vgpu_vnc_auth_failures_total"], m1["vgpu_vnc_auth_failures_total"]))
    check(m1["vgpu_vnc_frames_rejected_total"] == 0, "no synthetic plane rejected: %g" %
          m1["vgpu_vnc_frames_rejected_total"])
    check(m1["vgpu_vnc_frames_captured_total"] == m1["vgpu_vnc_frames_changed_total"] +
          m1["vgpu_vnc_frames_unchanged_total"], "captured = changed + unchanged")
    check(m1["vgpu_vnc_bytes_sent_total"] >= x["bytes_sent"],
          "bytes_sent_total %g covers the held client's %d" %
          (m1["vgpu_vnc_bytes_sent_total"], x["bytes_sent"]))
    check(0 < m1["vgpu_vnc_damage_ratio"] <= 1, "damage ratio in (0, 1]")
    check("vgpu_vnc_frames_unchanged_total" in m1, "frames_unchanged_total present")
    check(any(k.startswith('vgpu_vnc_encode_seconds_bucket{encoder="tight-jpeg"') for k in m1)
          and any(k.startswith('vgpu_vnc_encode_seconds_count{encoder="h264-') for k in m1),
          "encode histograms for tight-jpeg and h264")
    check(http_get(port, "/other")[0] == 404, "GET /other is 404")
    check(http_get(port, None, raw=b"POST /metrics HTTP/1.0\r\n\r\n")[0] == 405, "POST is 405")
    check(http_get(port, None, raw=b"G" * 4096)[0] == 431, "an oversized request is refused")
    st, out, err = ctl(sock, "metrics")
    check(st == 0 and "vgpu_vnc_clients 1" in parse_and_return(out), "vgpu-vncctl metrics")

    st, out, err = ctl(sock, "disconnect", str(cid))
    check(st == 0, "vgpu-vncctl disconnect %d: %s%s" % (cid, out, err))
    rest = held.stdout.read().strip()
    held.wait(10)
    check(held.returncode == 4 and rest.startswith("closed"),
          "the client was closed (%d %s)" % (held.returncode, rest))
    ev.wait_event(lambda e: e["event"] == "client-disconnected" and e["id"] == cid, 5,
                  "client-disconnected after disconnect")
    wait_for(lambda: not c.call("list-clients")["clients"], 5, "an empty client list")



def added_part(c, ev, sock):
    # add-client: one end of a socketpair through vgpu-vncctl, RFB on the other.
    a, b = socket.socketpair()
    st, out, err = ctl(sock, "add-client", str(b.fileno()), "pair", pass_fds=(b.fileno(),))
    b.close()
    check(st == 0, "vgpu-vncctl add-client: %s%s" % (out, err))
    st, out = probe(PROBE, "fd:%d" % a.fileno(), "secret", 1, pass_fds=(a.fileno(),))
    check(st == 0 and re.fullmatch(r"ok \d+x\d+ vm1\nheld \d+", out),
          "the added socket is served: %d %s" % (st, out))
    a.close()
    e = ev.wait_event(lambda e: e["event"] == "client-connected", 5, "added client connected")
    check(e["address"] == "added:pair", "the added client's name: %s" % e)
    # add-client through the raw protocol with SCM_RIGHTS.
    a, b = socket.socketpair()
    c.send_raw(b'{"command":"add-client","name":"raw"}\n', fds=[b.fileno()])
    b.close()
    check(c.reply().get("ok"), "add-client with SCM_RIGHTS from a raw connection")
    st, out = probe(PROBE, "fd:%d" % a.fileno(), "secret", 0, pass_fds=(a.fileno(),))
    check(st == 0, "the second added socket is served: %s" % out)
    a.close()



def finish(c, ev, srv, sock):
    # vgpu-vncctl events streams event lines.
    evp = subprocess.Popen([CTL, "--socket", sock, "events"], stdout=subprocess.PIPE, text=True)
    first = evp.stdout.readline()
    check('"subscribed":true' in first, "vgpu-vncctl events subscribed: %s" % first.strip())
    st, out = probe(PROBE, "unix:" + os.path.join(os.path.dirname(sock), "vnc.sock"),
                    "secret", 0)
    got, new_id = [], None
    while len(got) < 3:  # other events (modes, earlier clients) may come in between
        line = evp.stdout.readline()
        if not line:
            break
        e = json.loads(line)
        if new_id is None and e["event"] == "client-connected" and \
                e["address"].startswith("unix:"):
            new_id = e["id"]
        if new_id is not None and e.get("id") == new_id:
            got.append(e["event"])
    evp.terminate()
    evp.wait(10)
    check(got == ["client-connected", "client-authenticated", "client-disconnected"],
          "vgpu-vncctl events printed connect, auth, disconnect: %s" % got)

    # A subscriber that never reads does not block anything; the server still answers.
    lazy = Control(sock)
    lazy.call("subscribe")
    check(c.call("query-source").get("ok"), "still answering")
    st, out, err = ctl(sock, "--help")
    check(st == 0 and "set-password" in out, "vgpu-vncctl --help")
    st, out, err = ctl(sock, "no-such-command")
    check(st == 2, "vgpu-vncctl refuses an unknown command with exit 2")
    ev.close()
    c.close()
    lazy.close()
    check(srv.stop() == 0, "the server exits 0 on SIGTERM")
    check(not os.path.exists(sock), "the control socket is removed at exit")


def parse_and_return(text):
    parse_prometheus(text)
    return text


run(main)
