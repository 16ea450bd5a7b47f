#!/bin/sh
# kernel_assets.sh CACHE_DIR
#
# Debian's stock kernel and the kernel's sample mdev display drivers, built out of tree,
# cached in CACHE_DIR/KVER (KVER = the ABI that the installed linux-headers-amd64 points
# at: the image must match the headers or insmod refuses the modules on vermagic).
#   vmlinuz                          from linux-image-KVER (apt-get download, not installed)
#   modules/{vfio,vfio_iommu_type1,mdev,e1000}.ko   from the same package
#   modules/{mbochs,mbochs_rw,mdpy}.ko              samples/vfio-mdev from linux-source-6.1
# mbochs_rw is mbochs with two fixes, so that a display server can use it the way it
# uses a real vGPU:
#  - its dma-buf is exported O_RDWR, so that it can be mapped (the stock sample exports
#    O_RDONLY, and its mmap handler then always fails);
#  - every export takes its own page references. The stock sample takes them once, when
#    the mode's buffer is made, but drops them at every dma-buf release: exporting the same
#    id a second time (a server restarted, a cache that evicted it, a device handed over
#    again) frees VRAM pages that are still mapped ("BUG: Bad page state"). The fixed
#    module leaks the first set of references when the device closes instead: harmless
#    in a test VM.
# Rebuilt only when KVER or this script changes. Prints the cache directory last.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$1
mkdir -p "$CACHE"

HDR=$(dpkg-query -W -f '${Depends}' linux-headers-amd64 2>/dev/null |
	tr ',' '\n' | sed -n 's/^ *\(linux-headers-[0-9][^ ]*-amd64\).*/\1/p' | head -1)
KVER=${HDR#linux-headers-}
if [ -z "$KVER" ] || [ ! -d "/usr/src/linux-headers-$KVER" ]; then
	echo "kernel_assets: linux-headers-amd64 is not installed (scripts/deps.sh --test)" >&2
	exit 3
fi
KDIR=$CACHE/$KVER
STAMP="$KVER $(sha256sum "$0" | cut -c1-16)"
if [ -f "$KDIR/.stamp" ] && [ "$(cat "$KDIR/.stamp")" = "$STAMP" ]; then
	echo "$KDIR"
	exit 0
fi

# One builder at a time (two build trees may run their tests at once).
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$KDIR/.stamp" ] && [ "$(cat "$KDIR/.stamp")" = "$STAMP" ]; then
	echo "$KDIR"
	exit 0
fi

echo "kernel_assets: preparing kernel $KVER in $KDIR" >&2
T=$(mktemp -d "$CACHE/tmp.XXXXXX")
trap 'rm -rf "$T"' EXIT
LOG=$T/log
fail() {
	echo "kernel_assets: $*" >&2
	sed 's/^/kernel_assets|   /' "$LOG" >&2 2>/dev/null || true
	exit 1
}
t0=$(date +%s)
MOD=./lib/modules/$KVER/kernel
(cd "$T" && apt-get download -o APT::Sandbox::User=root "linux-image-$KVER" >"$LOG" 2>&1) ||
	fail "cannot download linux-image-$KVER (apt-get update? network?)"
mkdir "$T/img"
dpkg-deb --fsys-tarfile "$T"/linux-image-"$KVER"_*.deb |
	tar -x -C "$T/img" "./boot/vmlinuz-$KVER" "$MOD/drivers/vfio/vfio.ko" \
		"$MOD/drivers/vfio/vfio_iommu_type1.ko" "$MOD/drivers/vfio/mdev/mdev.ko" \
		"$MOD/drivers/net/ethernet/intel/e1000/e1000.ko" >"$LOG" 2>&1 ||
	fail "cannot unpack linux-image-$KVER"
rm -f "$T"/linux-image-*.deb
t1=$(date +%s)

(cd "$T" && apt-get download -o APT::Sandbox::User=root linux-source-6.1 >"$LOG" 2>&1) ||
	fail "cannot download linux-source-6.1"
# Only samples/vfio-mdev (about 60 KB) is unpacked from the 139 MB package.
dpkg-deb --fsys-tarfile "$T"/linux-source-6.1_*_all.deb |
	tar -xO ./usr/src/linux-source-6.1.tar.xz |
	tar -xJ -C "$T" --wildcards 'linux-source-6.1/samples/vfio-mdev/*' >"$LOG" 2>&1 ||
	fail "cannot unpack samples/vfio-mdev from linux-source-6.1"
rm -f "$T"/linux-source-*.deb
t2=$(date +%s)

B=$T/build
mkdir "$B"
S=$T/linux-source-6.1/samples/vfio-mdev
cp "$S/mbochs.c" "$S/mdpy.c" "$S/mdpy-defs.h" "$B/"
sed 's/^\(\s*\)exp_info.priv = dmabuf;/&\n\1exp_info.flags = O_RDWR;/' "$S/mbochs.c" >"$B/mbochs_rw.c"
sed -i 's/^\(\s*\)dmabuf->buf = buf;/&\n\1for (pgoff_t pg = 0; pg < dmabuf->pagecount; pg++)\n\1\tget_page(dmabuf->pages[pg]);/' \
	"$B/mbochs_rw.c"
grep -q 'exp_info.flags = O_RDWR;' "$B/mbochs_rw.c" &&
	grep -q 'get_page(dmabuf->pages\[pg\]);' "$B/mbochs_rw.c" ||
	fail "the mbochs_rw patches no longer apply"
# The samples' Makefile keys on CONFIG_SAMPLE_VFIO_MDEV_*; a one-line Kbuild instead.
echo 'obj-m += mbochs.o mbochs_rw.o mdpy.o' >"$B/Kbuild"
make -C "/usr/src/linux-headers-$KVER" M="$B" -j"$(nproc)" modules >"$LOG" 2>&1 ||
	fail "building the sample modules failed"
t3=$(date +%s)

rm -rf "$KDIR"
mkdir -p "$KDIR/modules"
cp "$T/img/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
find "$T/img" -name '*.ko' -exec cp {} "$KDIR/modules/" \;
cp "$B/mbochs.ko" "$B/mbochs_rw.ko" "$B/mdpy.ko" "$KDIR/modules/"
echo "$STAMP" >"$KDIR/.stamp"
echo "kernel_assets: kernel $KVER ready: download+unpack $((t1 - t0))+$((t2 - t1)) s," \
	"module build $((t3 - t2)) s" >&2
echo "$KDIR"
