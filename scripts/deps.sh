#!/usr/bin/env bash
# Install the Debian packages a make target needs, only when some are missing.
# usage: scripts/deps.sh GROUP...   (build check guest bench fuzz)
set -euo pipefail

pkgs=()
for group in "$@"; do
	case "$group" in
	build) pkgs+=(build-essential libaio-dev libfdt-dev pkg-config) ;;
	check) pkgs+=(libcmocka-dev device-tree-compiler acpica-tools e2fsprogs iproute2 iputils-ping util-linux jq) ;;
	guest) pkgs+=(linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils) ;;
	bench) pkgs+=(qemu-system-x86 gnuplot-nox jq) ;;
	fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
	*) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root: run 'apt-get install -y ${missing[*]}' as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt (a parallel make, unattended-upgrades) may hold the lock: wait.
lock=(-o DPkg::Lock::Timeout=600)
# Package lists on a fresh machine are empty or stale: refresh once.
apt-get "${lock[@]}" update -q >/dev/null || apt-get "${lock[@]}" update
apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
	apt-get "${lock[@]}" install -y --no-install-recommends "${missing[@]}"
