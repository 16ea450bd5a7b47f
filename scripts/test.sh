#!/usr/bin/env bash
# Install what the tests need, build twice (normal, and with AddressSanitizer +
# UndefinedBehaviorSanitizer) and run every test in both builds with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
jobs=$(nproc)
status=0
for variant in build:OFF build-asan:ON; do
	dir=${variant%%:*}
	sanitize=${variant##*:}
	echo "== $dir (sanitizers $sanitize)"
	# VGPU_TESTS=ON: a missing test package is an error here, not a quietly smaller suite;
	# VGPU_WERROR=ON: a new warning fails the build here, never on a user's machine.
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGPU_SANITIZE="$sanitize" \
		-DVGPU_TESTS=ON -DVGPU_WERROR=ON >/dev/null
	cmake --build "$dir" -j"$jobs"
	(cd "$dir" && ctest --output-on-failure -j"$jobs") || status=1
done
exit $status
