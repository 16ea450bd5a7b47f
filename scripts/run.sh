#!/usr/bin/env bash
# Build vgpu-vnc and run it. With no arguments it serves the built-in synthetic vGPU on
# 127.0.0.1:5900 (connect any VNC viewer, or noVNC to ws://127.0.0.1:5900); any
# arguments are passed to vgpu-vnc (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Only the server: the tests are configured too when their packages are there
# (VGPU_TESTS=AUTO), but nothing here needs them.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vgpu-vnc
exec build/vgpu-vnc "$@"
