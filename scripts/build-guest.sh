#!/usr/bin/env bash
# Build the vmm guest: Linux kernel (bzImage + PVH vmlinux) from Debian's
# linux-source-6.1 and an uncompressed newc initramfs with our /init.
#
# Usage: bash scripts/build-guest.sh [--out DIR] [--force]
#   --out DIR   output directory (default: <repo>/build/guest)
#   --force     rebuild the kernel even if the cache has a matching build
#
# Environment:
#   VMM_CACHE_DIR   kernel source/build cache (default /var/cache/vmm)
#   JOBS            parallel make jobs (default: nproc)
#
# Outputs: bzImage, vmlinux, initramfs.cpio, kernel.config, init
#
# The kernel is built once per machine: the cache key is a hash of
# guest.config, this script, the linux-source-6.1 package version and the
# compiler version. A cache hit only rebuilds init + initramfs (seconds).
set -euo pipefail

die() { echo "build-guest: error: $*" >&2; exit 1; }
log() { echo "build-guest: $*"; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
OUT_DIR="$REPO_ROOT/build/guest"
FORCE=0

while [ $# -gt 0 ]; do
	case "$1" in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; OUT_DIR=$2; shift 2 ;;
	--out=*) OUT_DIR=${1#--out=}; shift ;;
	--force) FORCE=1; shift ;;
	-h|--help) sed -n '2,17p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (try --help)" ;;
	esac
done

FRAGMENT="$REPO_ROOT/guest-firmware/linux/guest.config"
INIT_SRC="$REPO_ROOT/guest-firmware/init/init.c"
KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC_PKG=linux-source-6.1
CACHE_DIR=${VMM_CACHE_DIR:-/var/cache/vmm}
JOBS=${JOBS:-$(nproc)}

[ -f "$FRAGMENT" ] || die "missing kernel config fragment $FRAGMENT"
[ -f "$INIT_SRC" ] || die "missing init source $INIT_SRC"

# ---------------------------------------------------------------- packages
need_pkgs=()
for p in build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils lz4 \
	libc6-dev "$KSRC_PKG"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		need_pkgs+=("$p")
	fi
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing missing packages: ${need_pkgs[*]}"
	[ "$(id -u)" -eq 0 ] || die "packages missing (${need_pkgs[*]}) and not root; run: sudo apt-get install -y ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${need_pkgs[@]}" ||
		{ apt-get update && apt-get install -y --no-install-recommends "${need_pkgs[@]}"; } ||
		die "apt-get install ${need_pkgs[*]} failed"
fi
[ -f "$KSRC_TARBALL" ] || die "$KSRC_TARBALL not found (package $KSRC_PKG installed?)"

# ---------------------------------------------------------------- cache key
KSRC_VERSION=$(dpkg-query -W -f='${Version}' "$KSRC_PKG")
CC_VERSION=$(gcc --version | head -n1)
KEY=$( {
	echo "linux-source: $KSRC_PKG $KSRC_VERSION"
	echo "cc: $CC_VERSION"
	sha256sum <"$FRAGMENT"
	sha256sum <"$SCRIPT_PATH"
} | sha256sum | cut -c1-16)

mkdir -p "$CACHE_DIR" || die "cannot create cache directory $CACHE_DIR (set VMM_CACHE_DIR)"
[ -w "$CACHE_DIR" ] || die "cache directory $CACHE_DIR is not writable (set VMM_CACHE_DIR)"
SRC_DIR="$CACHE_DIR/linux-source-6.1_$KSRC_VERSION"   # unpacked source
KBUILD_DIR="$CACHE_DIR/guest-kbuild"                   # O= build dir (reused, incremental)
ART_DIR="$CACHE_DIR/guest-kernel-$KEY"                 # finished artifacts for this key

# Serialize concurrent builds on this machine.
exec 9>"$CACHE_DIR/.build-guest.lock"
if ! flock -n 9; then
	log "another guest build holds $CACHE_DIR/.build-guest.lock; waiting..."
	flock 9
fi

# ---------------------------------------------------------------- kernel
build_kernel() {
	local t0 t1
	t0=$(date +%s)

	if [ ! -f "$SRC_DIR/.vmm-unpacked" ]; then
		log "unpacking $KSRC_TARBALL into $SRC_DIR (once per machine)..."
		rm -rf "$SRC_DIR" "$SRC_DIR.tmp"
		mkdir -p "$SRC_DIR.tmp"
		tar -xJf "$KSRC_TARBALL" -C "$SRC_DIR.tmp" --strip-components=1 ||
			die "unpacking $KSRC_TARBALL failed"
		[ -f "$SRC_DIR.tmp/Makefile" ] || die "unexpected layout in $KSRC_TARBALL"
		# Remove source trees of other versions/patch sets.
		find "$CACHE_DIR" -maxdepth 1 -name 'linux-source-6.1_*' \
			! -name "$(basename "$SRC_DIR")" ! -name "$(basename "$SRC_DIR").tmp" -exec rm -rf {} +
		touch "$SRC_DIR.tmp/.vmm-unpacked"
		mv "$SRC_DIR.tmp" "$SRC_DIR"
	fi

	# The object tree belongs to one source tree; start over for a new one.
	if [ "$(cat "$KBUILD_DIR/.vmm-srcdir" 2>/dev/null || true)" != "$SRC_DIR" ]; then
		rm -rf "$KBUILD_DIR"
	fi
	mkdir -p "$KBUILD_DIR"
	echo "$SRC_DIR" >"$KBUILD_DIR/.vmm-srcdir"
	local kmake=(make -C "$SRC_DIR" O="$KBUILD_DIR" ARCH=x86_64)

	log "configuring: tinyconfig + $(basename "$FRAGMENT")"
	rm -f "$KBUILD_DIR/.config"
	"${kmake[@]}" -s tinyconfig >/dev/null || die "make tinyconfig failed"
	# merge_config.sh: fragment values replace the base values.
	(cd "$KBUILD_DIR" && "$SRC_DIR/scripts/kconfig/merge_config.sh" -m -O "$KBUILD_DIR" \
		"$KBUILD_DIR/.config" "$FRAGMENT" >/dev/null) || die "merge_config.sh failed"
	"${kmake[@]}" -s olddefconfig >/dev/null || die "make olddefconfig failed"
	verify_config "$KBUILD_DIR/.config"

	if [ -f "$KBUILD_DIR/vmlinux" ]; then
		log "rebuilding guest kernel (incremental, usually under a minute, up to ~5)..."
	else
		log "building guest kernel (first time, ~$((JOBS >= 4 ? 3 : 5)) minutes with -j$JOBS)..."
	fi
	# KBUILD_BUILD_* keep the output reproducible-ish across machines.
	if ! KBUILD_BUILD_USER=vmm KBUILD_BUILD_HOST=vmm \
		"${kmake[@]}" -j"$JOBS" bzImage vmlinux 2>&1 |
		awk '/^  [A-Z][A-Z0-9_]* / {
			n++; if (n % 200 == 0) { printf "build-guest:   ... %d steps (%s)\n", n, $2; fflush() }
			next }
			{ print; fflush() }
			END { printf "build-guest:   %d build steps\n", n }'; then
		die "kernel build failed (see output above; tree: $KBUILD_DIR)"
	fi
	# make's status is lost in the pipe without pipefail; pipefail is set,
	# but double-check the artifacts.
	[ -f "$KBUILD_DIR/arch/x86/boot/bzImage" ] || die "no bzImage produced"
	[ -f "$KBUILD_DIR/vmlinux" ] || die "no vmlinux produced"

	# The tool to build the initramfs without root-owned device nodes.
	"${kmake[@]}" -s usr/gen_init_cpio >/dev/null 2>&1 ||
		gcc -O2 -o "$KBUILD_DIR/usr/gen_init_cpio" "$SRC_DIR/usr/gen_init_cpio.c" ||
		die "building usr/gen_init_cpio failed"

	rm -rf "$ART_DIR.tmp"
	mkdir -p "$ART_DIR.tmp"
	cp "$KBUILD_DIR/arch/x86/boot/bzImage" "$ART_DIR.tmp/bzImage"
	# Drop debug info (tinyconfig has none, but be safe); keep symbols.
	objcopy --strip-debug "$KBUILD_DIR/vmlinux" "$ART_DIR.tmp/vmlinux"
	cp "$KBUILD_DIR/.config" "$ART_DIR.tmp/kernel.config"
	cp "$KBUILD_DIR/usr/gen_init_cpio" "$ART_DIR.tmp/gen_init_cpio"
	rm -rf "$ART_DIR"
	mv "$ART_DIR.tmp" "$ART_DIR"
	# Keep only the artifacts of the current key.
	find "$CACHE_DIR" -maxdepth 1 -name 'guest-kernel-*' ! -name "guest-kernel-$KEY" \
		-exec rm -rf {} +
	t1=$(date +%s)
	log "kernel built in $((t1 - t0)) s"
}

# Every CONFIG_ line of the fragment must hold in the final .config.
verify_config() {
	local cfg=$1 line name want have bad=0
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			name=${BASH_REMATCH[1]}
			want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			name=${BASH_REMATCH[1]}
			want=n
		else
			continue
		fi
		have=$(grep -E "^$name=" "$cfg" | tail -n1 | cut -d= -f2-) || true
		[ -n "$have" ] || have=n
		if [ "$have" != "$want" ]; then
			echo "build-guest: error: $name requested '$want' but is '$have' after olddefconfig (missing dependency?)" >&2
			bad=1
		fi
	done <"$FRAGMENT"
	[ "$bad" -eq 0 ] || die "kernel config verification failed; fix $FRAGMENT"
	log "config verified: all options of $(basename "$FRAGMENT") hold"
}

if [ "$FORCE" -eq 0 ] && [ -f "$ART_DIR/vmlinux" ] && [ -f "$ART_DIR/bzImage" ] &&
	[ -x "$ART_DIR/gen_init_cpio" ]; then
	log "guest kernel cache hit ($ART_DIR)"
else
	build_kernel
fi

# ---------------------------------------------------------------- outputs
mkdir -p "$OUT_DIR"
cp "$ART_DIR/bzImage" "$OUT_DIR/bzImage.tmp" && mv "$OUT_DIR/bzImage.tmp" "$OUT_DIR/bzImage"
cp "$ART_DIR/vmlinux" "$OUT_DIR/vmlinux.tmp" && mv "$OUT_DIR/vmlinux.tmp" "$OUT_DIR/vmlinux"
cp "$ART_DIR/kernel.config" "$OUT_DIR/kernel.config"

# ---------------------------------------------------------------- initramfs
log "building init and initramfs"
gcc -static -Os -Wall -Wextra -o "$OUT_DIR/init.tmp" "$INIT_SRC" ||
	die "compiling $INIT_SRC failed (static glibc from libc6-dev needed)"
strip "$OUT_DIR/init.tmp"
mv "$OUT_DIR/init.tmp" "$OUT_DIR/init"
gcc -static -nostdlib -o "$OUT_DIR/spin" "$REPO_ROOT/guest-firmware/init/spin.S" ||
	die "assembling guest-firmware/init/spin.S failed"

LIST="$OUT_DIR/initramfs.list"
cat >"$LIST" <<EOF
# generated by scripts/build-guest.sh; format: usr/gen_init_cpio
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0555 0 0
dir /sys 0555 0 0
dir /mnt 0755 0 0
dir /tmp 01777 0 0
dir /root 0700 0 0
file /init $OUT_DIR/init 0755 0 0
file /spin $OUT_DIR/spin 0755 0 0
EOF
"$ART_DIR/gen_init_cpio" "$LIST" >"$OUT_DIR/initramfs.cpio.tmp" ||
	die "gen_init_cpio failed"
mv "$OUT_DIR/initramfs.cpio.tmp" "$OUT_DIR/initramfs.cpio"

log "done: $OUT_DIR"
for f in bzImage vmlinux initramfs.cpio; do
	printf 'build-guest:   %-16s %9d bytes\n' "$f" "$(stat -c %s "$OUT_DIR/$f")"
done
