#!/usr/bin/env bash
# A long fuzzing run of one target: build the fuzz targets (build-fuzz/ at the top of the
# tree), then fuzz for SECONDS, keeping what it finds in build-fuzz/corpus-NAME (start
# again there next time; copy small, interesting inputs into tests/fuzz/corpus/NAME).
#   tests/fuzz/run-long.sh NAME SECONDS [JOBS]
# NAME: plane, damage, config or client.
set -euo pipefail
# An allocation too large to satisfy returns NULL, as it does in production (libvncserver
# 0.9.14 asks realloc for SIZE_MAX when tjBufSize() refuses a rectangle; it then drops
# that client). Without this ASan would stop at the request itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
name=${1:?usage: tests/fuzz/run-long.sh NAME SECONDS [JOBS]}
seconds=${2:?usage: tests/fuzz/run-long.sh NAME SECONDS [JOBS]}
jobs=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
"$here/build.sh" "$root" "$root/build-fuzz"
corpus=$root/build-fuzz/corpus-$name
mkdir -p "$corpus"
cd "$root/build-fuzz"
exec "./tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len=4096 -timeout=20 \
	-rss_limit_mb=3072 -print_final_stats=1 -jobs="$jobs" -workers="$jobs" \
	"$corpus" "$here/corpus/$name"
