#!/bin/sh
# dbus_assets.sh CACHE_DIR OUT_DIR
#
# The D-Bus display test's guest: Debian's stock kernel (the ABI the installed
# linux-headers-amd64 points at, as the kernel test uses) with its virtio-input and evdev
# modules, cached in CACHE_DIR/KVER (apt-get download of linux-image-KVER once), and an
# initramfs OUT_DIR/initramfs.cpio whose /init is dbus_guest.c built static. Prints the
# kernel's path last. Exit 3: something the test needs is missing (it says what).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$1
OUT=$2
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_input evdev"
HDR=$(dpkg-query -W -f '${Depends}' linux-headers-amd64 2>/dev/null |
	tr ',' '\n' | sed -n 's/^ *linux-headers-\([0-9][^ ]*-amd64\).*/\1/p' | head -1)
[ -n "$HDR" ] || { echo "dbus_assets: linux-headers-amd64 is not installed" >&2; exit 3; }
KDIR=$CACHE/$HDR
mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$KDIR/.done" ]; then
	T=$(mktemp -d "$CACHE/tmp.XXXXXX")
	trap 'rm -rf "$T"' EXIT
	(cd "$T" && apt-get download -o APT::Sandbox::User=root "linux-image-$HDR" >"$T/log" 2>&1) ||
		{ cat "$T/log" >&2; echo "dbus_assets: cannot download linux-image-$HDR" >&2; exit 3; }
	mkdir "$T/img"
	dpkg-deb --fsys-tarfile "$T"/linux-image-*.deb | tar -x -C "$T/img" --wildcards \
		"./boot/vmlinuz-$HDR" './lib/modules/*/kernel/drivers/virtio/*' \
		'./lib/modules/*/kernel/drivers/input/evdev.ko'
	rm -rf "$KDIR"
	mkdir -p "$KDIR/modules"
	cp "$T/img/boot/vmlinuz-$HDR" "$KDIR/vmlinuz"
	for m in $MODS; do
		find "$T/img/lib/modules" -name "$m.ko" -exec cp {} "$KDIR/modules/" \;
		[ -f "$KDIR/modules/$m.ko" ] || { echo "dbus_assets: no $m.ko in the image" >&2; exit 3; }
	done
	touch "$KDIR/.done"
fi
STAMP=$(cat "$HERE/dbus_guest.c" "$0" | sha256sum | cut -c1-16)-$HDR
if [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" != "$STAMP" ]; then
	R=$OUT/root
	rm -rf "$R"
	mkdir -p "$R/dev" "$R/proc" "$R/sys" "$R/lib/modules"
	gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror -o "$R/init" "$HERE/dbus_guest.c"
	for m in $MODS; do
		cp "$KDIR/modules/$m.ko" "$R/lib/modules/"
		echo "$m.ko" >>"$R/lib/modules/order"
	done
	(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio"
	rm -rf "$R"
	echo "$STAMP" >"$OUT/initramfs.stamp"
fi
echo "$KDIR/vmlinuz"
