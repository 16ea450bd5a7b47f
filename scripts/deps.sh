#!/usr/bin/env bash
# Install what vgpu-vnc needs to build (and, with --test, to test) from Debian 12's
# packages. Idempotent: it asks apt only for what is missing, and runs apt-get update
# only when something is. Needs root (or sudo) only when it has something to install.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
	libvncserver-dev zlib1g-dev libturbojpeg0-dev libxxhash-dev libinih-dev libyuv-dev
	libva-dev libvpl-dev libdrm-dev)
# The kernel test (tests/kernel): QEMU, Debian's kernel headers (the test fetches the
# matching kernel image and linux-source-6.1 with apt-get download), a static busybox.
test_pkgs=(libcmocka-dev
	qemu-system-x86 linux-headers-amd64 busybox-static cpio xz-utils)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "vgpu-vnc: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
