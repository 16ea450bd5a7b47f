#!/usr/bin/env bash
# Install what vgpu-vnc needs to build (and, with --test, to test) from Debian 12's
# packages. Idempotent: it asks apt only for what is missing, and runs apt-get update
# only when something is. Needs root (or sudo) only when it has something to install.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
	libvncserver-dev zlib1g-dev libturbojpeg0-dev libxxhash-dev libinih-dev libyuv-dev
	libva-dev libvpl-dev libdrm-dev
	libx264-dev libjansson-dev libgnutls28-dev
	libneatvnc-dev libaml-dev # bench/: neatvnc, the peer measured beside vgpu-vnc
	# QEMU's D-Bus display source (vfio/dbus_*.c): GDBus.
	libglib2.0-dev
	# The .deb (cpack -G DEB): dpkg-shlibdeps (dpkg-dev, with build-essential) reads
	# each binary's libraries with file(1); gzip compresses the man pages.
	dpkg-dev file gzip)
# The kernel test (tests/kernel): QEMU, Debian's kernel headers (the test fetches the
# matching kernel image and linux-source-6.1 with apt-get download), a static busybox.
test_pkgs=(libcmocka-dev
	qemu-system-x86 linux-headers-amd64 busybox-static cpio xz-utils
	# The D-Bus display tests (tests/dbus): a private bus daemon next to QEMU's ui-dbus.
	dbus-daemon
	# tests/vdi_deploy: python3 drives the binary; systemd-analyze verifies the units.
	python3 systemd
	# The H.264 tests decode the server's stream with libavcodec.
	libavcodec-dev
	# The VDI proxy test (tests/vdi): a real websockify with its token plugin.
	websockify
	# The browser test (tests/browser): noVNC in Debian's headless Chromium.
	chromium
	# The TLS tests (tests/tls): certtool makes the certificates; the clients are gtk-vnc's
	# gvnccapture (in gvncviewer) and TigerVNC's viewer under Xvfb.
	gnutls-bin gvncviewer tigervnc-viewer xvfb
	# The fuzz tests (tests/fuzz): libFuzzer, ASan and UBSan come with Debian's clang.
	clang
	# The fresh-Debian tests (tests/fresh): a minimal bookworm root made by debootstrap,
	# entered with a loopback of its own (ip from iproute2, unshare from util-linux).
	debootstrap iproute2 util-linux)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

# Node.js for the browser test, from Debian unless the machine already has a node.
[[ "${1:-}" == "--test" ]] && ! command -v node >/dev/null && want+=(nodejs npm)

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "vgpu-vnc: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browser test's npm packages (noVNC 1.7.0, playwright-core), pinned by the lock file;
# installed again only when the lock file is newer than what was installed.
if [[ "${1:-}" == "--test" ]]; then
	browser_dir="$(dirname "$0")/../tests/browser"
	stamp="$browser_dir/node_modules/.package-lock.json"
	if [[ ! -f "$stamp" || "$browser_dir/package-lock.json" -nt "$stamp" ]]; then
		echo "vgpu-vnc: installing the browser test's npm packages" >&2
		(cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
