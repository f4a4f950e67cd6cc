#!/usr/bin/env bash
# virtio-blk under Linux: the kernel finds vda and vdb, mounts an ext4 root
# read-write from vda (root=/dev/vda), which updates the ext4 superblock in
# the host image (dumpe2fs -h), and a read-only vdb stays byte-identical.
# /sbin/init on the image is /spin (no system calls), so this runs the same
# on kvm_pvm hosts and on real hardware.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 missing (e2fsprogs)"
mkdir -p "$TMP/rootfs/sbin" "$TMP/rootfs/dev" "$TMP/rootfs/proc" "$TMP/rootfs/sys"
cp "$GUEST/spin" "$TMP/rootfs/sbin/init"
truncate -s 64M "$TMP/root.img"
mkfs.ext4 -q -F -L vmmroot -d "$TMP/rootfs" "$TMP/root.img" || fail "mkfs.ext4 failed"
dumpe2fs -h "$TMP/root.img" 2>/dev/null | grep -q '^Mount count: *0$' || fail "fresh image already mounted?"
head -c $((8 << 20)) /dev/urandom >"$TMP/ro.img"
ro_sum=$(sha256sum <"$TMP/ro.img")

run_until 900 'Run /sbin/init as init process' \
	--kernel "$GUEST/vmlinux" --disk "$TMP/root.img,serial=vmm-root" \
	--disk "$TMP/ro.img,ro" --cmdline "root=/dev/vda rw rootfstype=ext4" --stats
[ "$found" = 1 ] || fail "the kernel never ran /sbin/init from the ext4 root"
expect_out "virtio_blk virtio0: [vda] 131072 512-byte logical blocks"
expect_out "virtio_blk virtio1: [vdb] 16384 512-byte logical blocks"
expect_out "EXT4-fs (vda): mounted filesystem"
expect_out "VFS: Mounted root (ext4 filesystem) on device 254:0."
grep -q "EXT4-fs error\|I/O error" "$TMP/out" && fail "block I/O errors in the guest"

sb=$(dumpe2fs -h "$TMP/root.img" 2>/dev/null)
echo "--- dumpe2fs -h root.img"
echo "$sb" | grep -E "^(Mount count|Last mount time|Last write time|Filesystem state)"
echo "$sb" | grep -q '^Mount count: *1$' || fail "the superblock's mount count was not updated"
echo "$sb" | grep -q '^Last mount time: *n/a' && fail "no last mount time in the superblock"
[ "$(sha256sum <"$TMP/ro.img")" = "$ro_sum" ] || fail "the read-only disk changed"
echo PASS
