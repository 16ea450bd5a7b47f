#!/bin/sh
# dbus_test.sh MODE VGPU_VNC WORKDIR: the D-Bus display tests (ctest dbus.MODE, see
# dbus_test.py). MODE bus boots Debian's kernel: its guest comes from dbus_assets.sh,
# cached in $VGPU_KERNEL_CACHE/dbus-guest (default ~/.cache/vgpu-vnc/dbus-guest).
# Exits 77 (skipped) when this machine cannot run it, saying why.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=$1
VGPU_VNC=$2
WORK=$3
command -v python3 >/dev/null 2>&1 || { echo "dbus test SKIPPED: python3 is missing" >&2; exit 77; }
[ "$(uname -m)" = x86_64 ] || { echo "dbus test SKIPPED: it needs an x86_64 host" >&2; exit 77; }
mkdir -p "$WORK"
if [ "$MODE" != bus ]; then
	exec python3 "$HERE/dbus_test.py" "$MODE" "$VGPU_VNC" "$WORK"
fi
for tool in gcc cpio dpkg-deb apt-get flock; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "dbus test SKIPPED: $tool is missing (scripts/deps.sh --test)" >&2; exit 77; }
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] ||
	{ echo "dbus test SKIPPED: static libc (libc6-dev) is missing" >&2; exit 77; }
if [ -n "${VGPU_KERNEL_CACHE:-}" ]; then
	CACHE=$VGPU_KERNEL_CACHE/dbus-guest
elif [ -n "${XDG_CACHE_HOME:-}" ] || [ -n "${HOME:-}" ]; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vgpu-vnc/dbus-guest
else
	CACHE=$WORK/dbus-guest-cache
fi
rc=0
KERNEL=$("$HERE/dbus_assets.sh" "$CACHE" "$WORK" | tail -1) || rc=$?
if [ "$rc" = 3 ]; then
	echo "dbus test SKIPPED: the guest's kernel could not be prepared (see above)" >&2
	exit 77
fi
[ "$rc" = 0 ] || exit "$rc"
exec python3 "$HERE/dbus_test.py" bus "$VGPU_VNC" "$WORK" "$KERNEL" "$WORK/initramfs.cpio"
