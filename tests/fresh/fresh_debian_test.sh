#!/usr/bin/env bash
# The first steps of a new user, on a fresh Debian 12 (a minimal debootstrap of bookworm
# with git added, nothing else), checked from outside.
#
#   fresh_debian_test.sh run SRC_DIR   git clone SRC_DIR (committed work, HEAD), then
#                                      `bash scripts/run.sh` -- the README's first command,
#                                      verbatim -- and a VNC client on 127.0.0.1:5900
#                                      must get the synthetic desktop's pixels
#   fresh_debian_test.sh deb SRC_DIR   build the .deb in the clone (cmake + cpack), then
#                                      `apt install ./vgpu-vnc_*.deb` on a second fresh
#                                      root without any build package; the installed
#                                      vgpu-vnc must print its version, have its man pages,
#                                      units and their groups, and serve pixels with the
#                                      example config
#
# Needs root, debootstrap, unshare and python3 (the RFB client, rfb_pixels.py); exits 77
# (ctest: skipped) and says why when one is missing. The Debian mirrors are the ones apt
# is configured with on this machine (apt-get indextargets).
#
# Caches, under ${VGPU_FRESH_CACHE:-/var/cache/vgpu-vnc-test}:
#   base/          debootstrap --variant=minbase --include=git,ca-certificates bookworm
#   deps-HASH/     base + what scripts/deps.sh installs, HASH = sha256 of scripts/deps.sh:
#                  a change to the package list makes a new one (one unused for a day goes)
#   archives/      apt's downloaded .debs, shared by every root
# Each run mounts an overlay over one of them, so the checkout, the build and anything
# the run installs are new every time and thrown away at the end; the cached roots are
# never written to after they are made.
#
# The checkout's part is network-free once deps-HASH exists, so it runs in a network
# namespace of its own: 127.0.0.1:5900 in there is never someone else's port. Making a
# root (debootstrap, apt) uses the machine's network.
set -euo pipefail

mode=${1:?usage: fresh_debian_test.sh run|deb SRC_DIR}
src=$(cd "${2:?usage: fresh_debian_test.sh run|deb SRC_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${VGPU_FRESH_CACHE:-/var/cache/vgpu-vnc-test}
t0=$(date +%s)

say() { printf 'fresh[%s +%ss]: %s\n' "$mode" "$(($(date +%s) - t0))" "$*" >&2; }
skip() { say "SKIPPED: $*"; exit 77; }
die() { say "FAILED: $*"; exit 1; }

[[ $mode == run || $mode == deb ]] || die "unknown mode $mode (run or deb)"
[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, chroot, mounts)"
for tool in debootstrap unshare nsenter setsid chroot ip python3 git; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (bash scripts/deps.sh --test)"
done
git -C "$src" rev-parse HEAD >/dev/null 2>&1 || skip "$src is not a git checkout"
# Everything below in a mount namespace of its own: whatever ends this script (a ctest
# timeout's SIGKILL included), no bind mount of /dev or /proc outlives it.
if [[ -z ${VGPU_FRESH_IN_MOUNT_NS:-} ]]; then
	export VGPU_FRESH_IN_MOUNT_NS=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi

# ---- the mirrors: what apt on this machine uses for bookworm ---------------------------
mapfile -t repos < <(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' \
	'Created-By: Packages' 'Component: main' 2>/dev/null | sort -u)
mirror=
sources=
for r in "${repos[@]}"; do
	rel=${r%% *} uri=${r#* }
	case "$rel" in
	bookworm) mirror=$uri; sources+="deb $uri $rel main"$'\n' ;;
	bookworm-updates | bookworm-security) sources+="deb $uri $rel main"$'\n' ;;
	esac
done
mirror=${VGPU_FRESH_MIRROR:-$mirror}
[[ -n $mirror ]] || skip "apt has no Debian bookworm source here (set VGPU_FRESH_MIRROR)"
[[ -n $sources ]] || sources="deb $mirror bookworm main"$'\n'

# ---- mounts and cleanup ----------------------------------------------------------------
mkdir -p "$cache/archives/partial"
# What a killed run left (its mounts went with its namespace), after a day.
find "$cache" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} +
run_dir=$(mktemp -d "$cache/run.XXXXXX")
mounted=() # mount points, innermost last
pids=()
cleanup() {
	local status=$?
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true # unshare --kill-child: its namespace goes with it
	done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
	done
	safe_rm "$run_dir" || status=1
	say "took $(($(date +%s) - t0)) s in all"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# rm -rf DIR, unless something is still mounted under it (a bound /dev, say).
safe_rm() {
	[[ -e $1 ]] || return 0
	if cut -d' ' -f2 /proc/self/mounts | grep -q "^$1/"; then
		say "not removing $1: still mounted under it"
		return 1
	fi
	rm -rf "$1"
}

do_mount() { # MOUNT ARGS... TARGET
	mount "$@"
	mounted+=("${!#}")
}

# The kernel file systems, resolv.conf and the shared apt archive into ROOT.
enter_mounts() {
	local root=$1
	do_mount -t proc proc "$root/proc"
	do_mount --bind /sys "$root/sys"
	do_mount --bind /dev "$root/dev"
	do_mount --bind /dev/pts "$root/dev/pts"
	do_mount --bind "$cache/archives" "$root/var/cache/apt/archives"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}

# A throw-away root over a cached one: every write goes to the overlay's upper layer.
# Not in a $(...) subshell: the mount must be recorded in this shell's mounted[].
overlay_root() { # LOWER NAME -> the merged dir in $overlay
	local lower=$1 d="$run_dir/$2"
	mkdir -p "$d/upper" "$d/work" "$d/root"
	do_mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" \
		"$d/root"
	overlay="$d/root"
}

in_root() { # ROOT CMD: a login-like shell as root in the chroot
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$*"
}

# Leave a root's mounts (those after index FROM in mounted[]).
leave_mounts() {
	local from=$1
	for ((i = ${#mounted[@]} - 1; i >= from; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
	done
	mounted=("${mounted[@]:0:from}")
}

# ---- the cached roots (one maker at a time) ---------------------------------------------
exec 8>"$cache/lock"
flock 8
if [[ ! -d "$cache/base" ]]; then
	say "making the base root: debootstrap bookworm from $mirror (once)"
	safe_rm "$cache/base.new"
	debootstrap --variant=minbase --include=git,ca-certificates --cache-dir="$cache/archives" \
		bookworm "$cache/base.new" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $cache/debootstrap.log: $(tail -3 "$cache/debootstrap.log")"
	printf '%s' "$sources" >"$cache/base.new/etc/apt/sources.list"
	# A user's machine keeps what apt downloads; ours go to the shared archive.
	rm -f "$cache/base.new/etc/apt/apt.conf.d/docker-clean"
	mv "$cache/base.new" "$cache/base"
	say "base root made"
fi
head=$(git -C "$src" rev-parse HEAD)
deps_hash=$(git -C "$src" show "$head:scripts/deps.sh" | sha256sum | cut -c1-16)
deps="$cache/deps-$deps_hash"
if [[ ! -d "$deps" ]]; then
	say "installing the build packages into a copy of the base (deps.sh changed or first run)"
	safe_rm "$deps.new"
	cp -a "$cache/base" "$deps.new"
	git -C "$src" show "$head:scripts/deps.sh" >"$deps.new/tmp/deps.sh"
	n=${#mounted[@]}
	enter_mounts "$deps.new"
	in_root "$deps.new" "bash /tmp/deps.sh" >"$cache/deps.log" 2>&1 ||
		die "scripts/deps.sh failed in the fresh root: $(tail -5 "$cache/deps.log")"
	leave_mounts "$n"
	rm -f "$deps.new/tmp/deps.sh" "$deps.new/etc/resolv.conf"
	mv "$deps.new" "$deps"
	say "build packages installed"
fi
# Roots for other versions of deps.sh (other branches) stay while in use: a day unused,
# they go. A root's time stamp says when it was last used.
touch "$deps"
find "$cache" -maxdepth 1 -name 'deps-*' ! -name "deps-$deps_hash" -mmin +1440 -exec rm -rf {} +
flock -u 8

# ---- the checkout: a clone, as a user makes it -------------------------------------------
overlay_root "$deps" build
root=$overlay
enter_mounts "$root"
git clone -q --no-checkout "$src" "$root/root/vgpu-vnc"
git -C "$root/root/vgpu-vnc" checkout -q -B main "$head"
say "cloned ${head:0:12} into a fresh root"

# wait_listening PID PORT: until something accepts on 127.0.0.1:PORT in PID's network
# namespace, or PID is gone (then fail with its log).
wait_listening() {
	local pid=$1 port=$2 log=$3
	until nsenter --net="/proc/$pid/ns/net" \
		bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "exited before listening on $port"; }
		sleep 0.5
	done
}

# start_in_netns LOG ROOT CMD: CMD in ROOT, in a new network namespace (its own loopback)
# and a new pid namespace, where CMD is process 1: when unshare (pid in $started) is
# killed, the kernel ends everything CMD started, a half-done build included.
start_in_netns() {
	local log=$1 r=$2
	shift 2
	unshare --net --pid --fork --kill-child -- bash -c 'ip link set lo up && exec "$@"' bash \
		chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$*" >"$log" 2>&1 &
	started=$!
	pids+=("$started")
}

# check_pixels PID: the RFB client from outside the chroot, in PID's network namespace.
check_pixels() {
	nsenter --net="/proc/$1/ns/net" python3 "$here/rfb_pixels.py" 127.0.0.1 5900
}

# stop PID LOG: SIGTERM to the server (process 1 under unshare PID, run.sh having exec'd
# it), which must exit 0 (its --help: stopped by SIGTERM); unshare passes the status on.
stop() {
	local pid=$1 log=$2 status=0 server
	server=$(cat "/proc/$pid/task/$pid/children")
	kill -TERM $server
	wait "$pid" || status=$?
	pids=()
	[[ $status -eq 0 ]] || { tail -n 20 "$log" >&2; die "the server exited $status on SIGTERM"; }
}

if [[ $mode == run ]]; then
	log="$run_dir/run.log"
	say "bash scripts/run.sh"
	start_in_netns "$log" "$root" "cd /root/vgpu-vnc && exec bash scripts/run.sh"
	pid=$started
	wait_listening "$pid" 5900 "$log"
	say "listening on 127.0.0.1:5900"
	check_pixels "$pid" || { tail -n 30 "$log" >&2; die "no picture from the server"; }
	stop "$pid" "$log"
	say "PASS: bash scripts/run.sh on a fresh Debian 12 serves the synthetic desktop"
	exit 0
fi

# ---- deb: build the package in the clone, install it on a root without build packages ----
say "building the .deb (Release, cpack) in the clone"
in_root "$root" "cd /root/vgpu-vnc &&
	cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DVGPU_TESTS=OFF -DVGPU_BENCH=OFF &&
	cmake --build build-deb -j$(nproc) && cd build-deb && cpack -G DEB" \
	>"$run_dir/build.log" 2>&1 || { tail -n 30 "$run_dir/build.log" >&2; die "the .deb did not build"; }
debs=("$root"/root/vgpu-vnc/build-deb/vgpu-vnc_*.deb)
[[ -f ${debs[0]} ]] || die "cpack made no vgpu-vnc_*.deb"
say "built $(basename "${debs[0]}")"

overlay_root "$cache/base" install
target=$overlay
enter_mounts "$target"
cp "${debs[0]}" "$target/root/"
deb=$(basename "${debs[0]}")
say "apt install ./$deb on a fresh root"
in_root "$target" "export DEBIAN_FRONTEND=noninteractive; cd /root &&
	apt-get update -q && apt-get install -y -q --no-install-recommends ./$deb" \
	>"$run_dir/install.log" 2>&1 || { tail -n 30 "$run_dir/install.log" >&2; die "apt install ./$deb failed"; }

version=$(git -C "$src" show "$head:CMakeLists.txt" |
	sed -n 's/^project(vgpu-vnc VERSION \([0-9.]*\).*/\1/p')
for prog in vgpu-vnc vgpu-vncctl; do
	got=$(in_root "$target" "$prog --version") || die "$prog --version failed"
	[[ $got == "$prog $version" ]] || die "$prog --version says '$got', not '$prog $version'"
done
for f in /usr/bin/vgpu-vnc /usr/bin/vgpu-vncctl /usr/share/man/man1/vgpu-vnc.1.gz \
	/usr/share/man/man1/vgpu-vncctl.1.gz /usr/lib/systemd/system/vgpu-vnc@.service \
	/usr/lib/systemd/system/vgpu-vnc@.socket /usr/share/doc/vgpu-vnc/examples/vgpu-vnc.conf; do
	[[ -f $target$f ]] || die "the package has no $f"
done
grep -q '^ExecStart=/usr/bin/vgpu-vnc ' "$target/usr/lib/systemd/system/vgpu-vnc@.service" ||
	die "the installed unit does not start /usr/bin/vgpu-vnc"
# The postinst made the groups the units name.
for group in vgpu-vnc vfio render; do
	in_root "$target" "getent group $group" >/dev/null || die "the package made no group $group"
done
# No build package came with it: the dependencies are the run-time libraries.
if in_root "$target" "dpkg-query -W -f='\${Package}\n' | grep -E -- '-dev\$|^gcc\$|^cmake\$'"; then
	die "installing the .deb pulled in build packages"
fi
say "installed: $(in_root "$target" "dpkg-query -W -f='\${Package} \${Version}; Depends: \${Depends}' vgpu-vnc")"

log="$run_dir/serve.log"
start_in_netns "$log" "$target" \
	"exec vgpu-vnc --config /usr/share/doc/vgpu-vnc/examples/vgpu-vnc.conf"
pid=$started
wait_listening "$pid" 5900 "$log"
check_pixels "$pid" || { tail -n 30 "$log" >&2; die "no picture from the installed server"; }
stop "$pid" "$log"
say "PASS: the .deb installs with apt on a fresh Debian 12 and its vgpu-vnc serves pixels"
