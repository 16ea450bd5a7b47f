#!/bin/sh
# systemd-analyze verify on config/vgpu-vnc@.service and .socket (instantiated with a
# UUID). Exit 77 (skip) without systemd-analyze. Usage: units_test.sh CONFIG_DIR
set -eu
dir=$1
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed (Debian: systemd)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
uuid=4b20d080-1b54-4048-85b3-a6a62d165c01
cp "$dir/vgpu-vnc@.service" "$dir/vgpu-vnc@.socket" "$tmp/"
# verify wants the ExecStart binary to exist: point it at a stand-in in the temp dir.
printf '#!/bin/sh\nexit 0\n' >"$tmp/vgpu-vnc"
chmod +x "$tmp/vgpu-vnc"
sed -i "s|/usr/local/bin/vgpu-vnc|$tmp/vgpu-vnc|" "$tmp/vgpu-vnc@.service"
ln -s "vgpu-vnc@.service" "$tmp/vgpu-vnc@$uuid.service"
ln -s "vgpu-vnc@.socket" "$tmp/vgpu-vnc@$uuid.socket"
out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	"$tmp/vgpu-vnc@$uuid.socket" "$tmp/vgpu-vnc@$uuid.service" 2>&1) || {
	echo "$out"; echo "FAIL: systemd-analyze verify"; exit 1; }
echo "$out"
# Anything it complains about in our units is a failure even when it exits 0.
if echo "$out" | grep -q "vgpu-vnc@"; then echo "FAIL: warnings about the units"; exit 1; fi
grep -q '^ExecStart=.*--source mdev:%i' "$dir/vgpu-vnc@.service"
grep -q '^LoadCredential=vnc-password:' "$dir/vgpu-vnc@.service"
grep -q '^DeviceAllow=char-vfio rw' "$dir/vgpu-vnc@.service"
echo "ok"
