#!/usr/bin/env bash
# Fetch Debian's stock cloud kernel (linux-image-cloud-amd64) and print the
# path of its vmlinuz (a bzImage). Cached under ${VMM_CACHE_DIR:-/var/cache/vmm}.
set -euo pipefail
cache=${VMM_CACHE_DIR:-/var/cache/vmm}/stock-kernel
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
	apt-get update -q >/dev/null
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$pkg" ] || { echo "stock-kernel: linux-image-cloud-amd64 not found in apt" >&2; exit 1; }
dir=$cache/$pkg
if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	echo "stock-kernel: downloading $pkg" >&2
	(cd "$dir.tmp" && apt-get download -q "$pkg" >&2)
	dpkg-deb -x "$dir.tmp"/*.deb "$dir.tmp/root"
	rm -rf "$dir" && mv "$dir.tmp/root" "$dir" && rm -rf "$dir.tmp"
fi
ls "$dir"/boot/vmlinuz-*
