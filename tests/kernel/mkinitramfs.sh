#!/bin/sh
# mkinitramfs.sh KDIR VGPU_VNC OUTDIR
#
# The kernel test's initramfs, OUTDIR/initramfs.cpio (uncompressed: TCG unpacks it much
# faster than it decompresses it): busybox-static, guest_init as /init, the modules from
# KDIR/modules (kernel_assets.sh), the static vm_manager built here (with the project's
# hand-over owner side, vfio/vfio_handover.c, and the util/ files it needs), and the real
# vgpu-vnc binary with every shared library ldd names and the dynamic loader, at their
# own paths, and lsan.supp (libvncserver's own leaks, for the sanitizer build). Rebuilt
# only when one of these inputs changes.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
MANAGER_SRCS="$HERE/vm_manager.c $SRC/vfio/vfio_handover.c $SRC/util/log.c $SRC/util/clock.c
	$SRC/util/unix_path.c"
MANAGER_HDRS="$HERE/kernel_patterns.h $SRC/vfio/vfio_handover.h $SRC/util/log.h $SRC/util/clock.h
	$SRC/util/unix_path.h"
KDIR=$1
VGPU_VNC=$2
OUT=$3
mkdir -p "$OUT"

LIBS=$(ldd "$VGPU_VNC" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | sort -u)
[ -n "$LIBS" ] || { echo "mkinitramfs: ldd found no libraries for $VGPU_VNC" >&2; exit 1; }
# shellcheck disable=SC2086
INPUTS=$(cat "$0" "$HERE/guest_init" $MANAGER_SRCS $MANAGER_HDRS "$HERE/lsan.supp" \
	"$KDIR/.stamp" "$VGPU_VNC" /bin/busybox $LIBS | sha256sum | cut -c1-32)
if [ -f "$OUT/initramfs.cpio" ] && [ "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" = "$INPUTS" ]; then
	exit 0
fi

R=$OUT/root
rm -rf "$R"
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/etc" "$R/lib/modules"
cp "$HERE/lsan.supp" "$R/etc/lsan.supp"
cp /bin/busybox "$R/bin/busybox"
cp "$HERE/guest_init" "$R/init"
chmod 755 "$R/init"
cp "$KDIR"/modules/*.ko "$R/lib/modules/"
# shellcheck disable=SC2086
gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$HERE" -I"$SRC/vfio" \
	-I"$SRC/util" -o "$R/bin/vm_manager" $MANAGER_SRCS -lpthread
cp "$VGPU_VNC" "$R/bin/vgpu-vnc"
for l in $LIBS; do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
rm -rf "$R"
echo "$INPUTS" >"$OUT/initramfs.stamp"
echo "mkinitramfs: $(du -h "$OUT/initramfs.cpio" | cut -f1) initramfs with $(echo "$LIBS" | wc -l) libraries" >&2
