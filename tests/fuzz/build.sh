#!/usr/bin/env bash
# Build the fuzz targets: the whole project again, with Debian's clang, libFuzzer,
# AddressSanitizer and UBSan, in a build directory of its own (the gcc build is not
# touched). Incremental: run again, only what changed is compiled.
#   tests/fuzz/build.sh SOURCE_DIR BUILD_DIR
# Exit 77 (ctest: SKIPPED) when clang or its libFuzzer runtime is missing.
set -euo pipefail
src=$1
out=$2
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null; then
	echo "SKIPPED: no $cc (scripts/deps.sh --test installs Debian's clang)"
	exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	echo "SKIPPED: $cc cannot build a libFuzzer target: $(head -c 300 "$probe/err")"
	exit 77
fi
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
flags="$flags -fno-omit-frame-pointer -g"
if [[ ! -f "$out/CMakeCache.txt" ]]; then
	cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS="$flags" -DVGPU_FUZZ_BUILD=ON >"$out.configure.log" 2>&1 || {
		cat "$out.configure.log"
		exit 1
	}
fi
cmake --build "$out" -j"$(nproc)" --target fuzz_plane fuzz_damage fuzz_config fuzz_client
