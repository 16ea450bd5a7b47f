#!/bin/bash
# --selftest against the synthetic vGPU: what an operator's first run on a host prints.
#   modes    the modes scene (four sizes, "no plane" between them) encoded with x264: every
#            check passes, IDRs carry SPS + PPS, one slice a picture, every mode change is
#            followed, no fd growth; exit status 0
#   gone     a device that fails every query: the plane check fails, exit status 1
# Usage: selftest_check.sh VGPU_VNC CASE
set -u
bin=$1 case=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
want() { grep -Eq "$1" "$out" || fail "no line matching '$1'"; }

case $case in
modes)
	# 240 scene ticks a second: each mode lasts about a quarter second, so the 5 s run
	# sees every mode and every "no plane" phase several times.
	"$bin" --selftest --encoder x264 --fps 60 --source synthetic:320x240:modes:rate=240 \
		>"$out" 2>&1
	rc=$?
	[[ $rc == 0 ]] || fail "exit status $rc, want 0"
	want '^PASS plane +320x240 XR24'
	want '^PASS readback +mapped directly'
	want '^PASS encoder +x264'
	want '^PASS idr +([0-9]+) of \1 IDRs'
	want '^PASS slices +0 of [1-9]'
	want '^PASS follow +[1-9][0-9]* mode changes followed, [1-9][0-9]* frame periods without'
	want '^PASS fds '
	# Warnings allowed: the timing line is a WARN on a loaded machine, never a failure.
	want '^self-test: [0-9]+ passed, [0-9]+ warnings?, 0 failed'
	;;
gone)
	"$bin" --selftest --encoder x264 --source synthetic:320x240:static:fail=enodev@0 \
		>"$out" 2>&1
	rc=$?
	[[ $rc == 1 ]] || fail "exit status $rc, want 1"
	want '^FAIL plane +query failed: No such device'
	want '^self-test: 0 passed, 0 warnings, 1 failed'
	;;
*) fail "unknown case $case" ;;
esac
echo "selftest.$case: ok"
cat "$out"
