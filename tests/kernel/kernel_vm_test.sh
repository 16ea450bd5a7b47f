#!/bin/sh
# kernel_vm_test.sh VGPU_VNC KERNEL_CHECK WORKDIR
#
# The kernel test (ctest: kernel_vm_mbochs_mdpy). Prepares Debian's kernel with the
# mbochs/mdpy samples (cached in $VGPU_KERNEL_CACHE, default ~/.cache/vgpu-vnc/kernel)
# and an initramfs holding this build's vgpu-vnc (cached in WORKDIR), then runs
# kernel_check, which boots the VM and checks every pixel through a real client.
# Exits 77 (skipped) when this machine cannot run it, saying why.
# Accelerator: $VGPU_KERNEL_TEST_ACCEL = tcg | kvm | auto (default): KVM only when /dev/kvm
# is usable and is not kvm_pvm, which cannot boot a stock kernel.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VGPU_VNC=$1
CHECK=$2
WORK=$3
skip() {
	echo "kernel test SKIPPED: $*" >&2
	exit 77
}
[ "$(uname -m)" = x86_64 ] || skip "it needs an x86_64 host"
for tool in qemu-system-x86_64 cpio gcc make dpkg-deb dpkg-query apt-get flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool is missing (scripts/deps.sh --test installs what the test needs)"
done
# busybox-static's /bin/busybox (ldd refuses a static binary)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } ||
	skip "a static /bin/busybox is missing (package busybox-static)"
dpkg-query -W -f '${Status}' linux-headers-amd64 2>/dev/null | grep -q 'install ok installed' ||
	skip "linux-headers-amd64 is not installed (scripts/deps.sh --test)"
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || skip "static libc (libc6-dev) is missing"

t0=$(date +%s)
if [ -n "${VGPU_KERNEL_CACHE:-}" ]; then
	CACHE=$VGPU_KERNEL_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ] || [ -n "${HOME:-}" ]; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vgpu-vnc/kernel
else
	CACHE=$WORK/kernel-cache # no home: cache per build tree
fi
KDIR=$("$HERE/kernel_assets.sh" "$CACHE" | tail -1)
t1=$(date +%s)
mkdir -p "$WORK"
"$HERE/mkinitramfs.sh" "$KDIR" "$VGPU_VNC" "$WORK"
t2=$(date +%s)
echo "kernel test set-up: kernel and modules $((t1 - t0)) s, initramfs $((t2 - t1)) s" >&2

ACCEL=${VGPU_KERNEL_TEST_ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
	ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
		ACCEL=kvm
	fi
fi
rc=0
"$CHECK" --kernel "$KDIR/vmlinuz" --initrd "$WORK/initramfs.cpio" --accel "$ACCEL" \
	--workdir "$WORK" || rc=$?
echo "kernel test: $(($(date +%s) - t0)) s in all (set-up $((t2 - t0)) s)" >&2
exit $rc
