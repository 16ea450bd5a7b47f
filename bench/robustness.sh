#!/usr/bin/env bash
# bench/robustness.sh BUILD_DIR: the speeds that the hostile tests used to assert and now only
# log (a test waits for events; how fast they come is measured here, never pass/fail):
#   slow            a fast client's updates/s alone and beside a client reading ~100 KB/s
#   stalled-resize  the fast client's longest wait for an update while another never reads
#                   and the guest changes mode
#   sigterm-heavy   seconds from SIGTERM to exit with six busy clients
#   auth-delay      each wrong password's refusal time against its nominal delay, and the
#                   updates another client got meanwhile
# Runs the real server through tests/hostile's hostile_check (BUILD_DIR/tests/hostile) and
# prints a Markdown table; the run's full logs go to BUILD_DIR/bench-robustness/.
set -euo pipefail
build=${1:?usage: bench/robustness.sh BUILD_DIR}
check=$build/tests/hostile/hostile_check
server=$build/vgpu-vnc
[ -x "$check" ] && [ -x "$server" ] || { echo "build $build first (hostile_check, vgpu-vnc)" >&2; exit 1; }
out=$build/bench-robustness
mkdir -p "$out"
echo "| case | figure |"
echo "|---|---|"
for c in slow stalled-resize sigterm-heavy auth-delay; do
	"$check" "$server" "$c" >"$out/$c.log" 2>&1 || echo "| $c | (the case failed: see $out/$c.log) |"
	grep -E "updates/s alone|longest wait|server exited in|refused after|updates during" \
		"$out/$c.log" | sed -e 's/^[a-z_]*: //' -e "s/^/| $c | /" -e 's/$/ |/'
done
