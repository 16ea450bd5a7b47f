#!/usr/bin/env bash
# Run one fuzz target for a fixed number of runs over its seed corpus (what ctest does).
#   tests/fuzz/run.sh BUILD_DIR NAME RUNS
# New inputs the fuzzer finds go to a temporary directory, not into the repository. The
# last lines say how many inputs ran ("stat::number_of_executed_units"). A crash, a leak,
# a sanitizer report or a failed check is a failure, with the input saved as crash-* in
# the current directory (reproduce: BUILD_DIR/tests/fuzz/fuzz_NAME crash-...).
set -euo pipefail
# An allocation too large to satisfy returns NULL, as it does in production (libvncserver
# 0.9.14 asks realloc for SIZE_MAX when tjBufSize() refuses a rectangle; it then drops
# that client). Without this ASan would stop at the request itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
# The one leak inside libvncserver 0.9.14 itself (24 bytes per SetDesktopSize it answers,
# read in its source) is listed there; anything else LeakSanitizer finds is a failure.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$(cd "$(dirname "$0")/.." && pwd)/kernel/lsan.supp:print_suppressions=0"
build=$1
name=$2
runs=$3
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/tests/fuzz/fuzz_$name
if [[ ! -x "$bin" ]]; then
	echo "SKIPPED: $bin was not built (fuzz.build skipped: no clang with libFuzzer)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# libFuzzer's own exit code for a finding is 77, which ctest reads as SKIPPED: 1 instead.
exec "$bin" -error_exitcode=1 -timeout_exitcode=1 -runs="$runs" -max_len=4096 -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
	"$work" "$here/corpus/$name"
