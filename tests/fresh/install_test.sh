#!/usr/bin/env bash
# install_test.sh BUILD_DIR VERSION: `cmake --install BUILD_DIR --prefix` a temporary
# directory, then check the layout: both programs (printing VERSION for --version), the
# two man pages, the systemd units with ExecStart= naming the installed binary, the
# example config (the installed vgpu-vnc must run with it), and a man page that
# documents every option --help lists.
set -euo pipefail
build=${1:?usage: install_test.sh BUILD_DIR VERSION}
version=${2:?usage: install_test.sh BUILD_DIR VERSION}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/usr" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "cmake --install"; }
p=$tmp/usr
for f in bin/vgpu-vnc bin/vgpu-vncctl lib/systemd/system/vgpu-vnc@.service \
	lib/systemd/system/vgpu-vnc@.socket share/doc/vgpu-vnc/examples/vgpu-vnc.conf; do
	[[ -f $p/$f ]] || fail "no $f"
done
for prog in vgpu-vnc vgpu-vncctl; do
	page=$(ls "$p/share/man/man1/$prog.1"* 2>/dev/null | head -1)
	[[ -n $page ]] || fail "no man page $prog.1"
	got=$("$p/bin/$prog" --version)
	[[ $got == "$prog $version" ]] || fail "$prog --version: '$got', not '$prog $version'"
done
grep -q "^ExecStart=$p/bin/vgpu-vnc " "$p/lib/systemd/system/vgpu-vnc@.service" ||
	fail "ExecStart= does not name $p/bin/vgpu-vnc"

# The example config must load and serve: a bad key or value would end the server with
# status 2 before it listens; --exit-when-idle ends it (status 0) when nobody connects.
status=0
timeout 120 "$p/bin/vgpu-vnc" --config "$p/share/doc/vgpu-vnc/examples/vgpu-vnc.conf" \
	--listen tcp:127.0.0.1:0 --exit-when-idle 1 >"$tmp/serve.log" 2>&1 || status=$?
[[ $status -eq 0 ]] || fail "vgpu-vnc with the example config exited $status: $(tail -3 "$tmp/serve.log")"

# Every option of --help is in the man page (one source: config/config_options.c's table).
page=$(ls "$p/share/man/man1/vgpu-vnc.1"* | head -1)
roff=$(if [[ $page == *.gz ]]; then gzip -dc "$page"; else cat "$page"; fi)
grep -q '^\.TH VGPU\\-VNC 1 ' <<<"$roff" || fail "vgpu-vnc.1 has no .TH header"
opts=$("$p/bin/vgpu-vnc" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | sed 's/.*--//')
[[ $(wc -w <<<"$opts") -ge 10 ]] || fail "--help lists only: $opts"
for o in $opts; do
	grep -qF "\\fB\\-\\-${o//-/\\-}" <<<"$roff" || grep -qF "\\-\\-${o//-/\\-}" <<<"$roff" ||
		fail "--$o is in --help but not in vgpu-vnc(1)"
done
echo "install: layout, versions, units, example config and the $(wc -w <<<"$opts") options of vgpu-vnc(1) are right"
