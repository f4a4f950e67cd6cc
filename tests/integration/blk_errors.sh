#!/usr/bin/env bash
# Host-side disk problems end the VMM with status 1 and one clear message
# naming the file, before any vCPU runs: no guest output, and no
# "PVH kernel ..." line (vmm -v prints it just before starting the vCPUs).
. "$(dirname "$0")/lib.bash"
need_kvm
ELF=$FW/blk.elf
[ -f "$ELF" ] || fail "$ELF missing: run make firmware"

# expect_early_error: the run just done failed before KVM_RUN with message $1.
expect_early_error() {
	expect_status 1
	expect_err "vmm: error: disk $1"
	[ ! -s "$TMP/out" ] || fail "the guest ran (console output)"
	! grep -q 'PVH kernel' "$TMP/err" || fail "the VM was started before the disk error"
	[ "$(grep -c 'error' "$TMP/err")" -eq 1 ] || fail "expected exactly one error line"
}

# Missing file, rw and ro.
for ro in "" ",ro"; do
	run_vmm 30 -v --kernel "$ELF" --disk "$TMP/missing.img$ro"
	expect_early_error "$TMP/missing.img: no such file"
done

# Size not a multiple of 512.
truncate -s 1000 "$TMP/odd.img"
for ro in "" ",ro"; do
	run_vmm 30 -v --kernel "$ELF" --disk "$TMP/odd.img$ro"
	expect_early_error "$TMP/odd.img: size 1000 is not a multiple of 512 bytes"
done

# A directory: open(O_RDWR) says so; read-only, fstat does.
mkdir "$TMP/dir"
run_vmm 30 -v --kernel "$ELF" --disk "$TMP/dir"
expect_early_error "$TMP/dir: Is a directory"
run_vmm 30 -v --kernel "$ELF" --disk "$TMP/dir,ro"
expect_early_error "$TMP/dir: not a regular file or block device"

# A character device.
run_vmm 30 -v --kernel "$ELF" --disk "/dev/null,ro"
expect_early_error "/dev/null: not a regular file or block device"

# Read-write requested on a read-only file. chmod 444 does not stop root, so
# as root the file sits on a read-only bind mount in a private mount
# namespace (gone when the VMM exits).
mkdir "$TMP/rw" "$TMP/ro"
truncate -s 64K "$TMP/rw/disk.img"
sum=$(sha256sum <"$TMP/rw/disk.img")
if [ "$(id -u)" -ne 0 ]; then
	chmod 444 "$TMP/rw/disk.img"
	ro_run() { run_vmm "$@"; }
	dir=$TMP/rw
	have_ro=1
elif unshare -m sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" &&
		! touch "$2/probe" 2>/dev/null' sh "$TMP/rw" "$TMP/ro" 2>/dev/null; then
	ro_run() {
		local t=$1
		shift
		unshare -m sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" &&
			shift 2 && exec "$@"' sh "$TMP/rw" "$TMP/ro" \
			timeout --kill-after=5 "$t" "$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
		status=$?
		echo "--- vmm $* (exit $status, on a read-only bind mount)"
		cat "$TMP/out" "$TMP/err"
	}
	dir=$TMP/ro
	have_ro=1
else
	echo "note: cannot make a read-only bind mount here (unshare -m / mount failed): rw-on-read-only-file case skipped"
	have_ro=0
fi
if [ "$have_ro" = 1 ]; then
	ro_run 30 -v --kernel "$ELF" --disk "$dir/disk.img"
	expect_early_error "$dir/disk.img: not writable (add ,ro for a read-only disk)"
	# With ,ro the same file works, and the guest's write is refused.
	ro_run 120 --kernel "$ELF" --disk "$dir/disk.img,ro" --cmdline "verify=0"
	expect_status 0
	expect_out "blk: read-only: write refused with IOERR, sector 0 unchanged"
	[ "$(sha256sum <"$TMP/rw/disk.img")" = "$sum" ] || fail "read-only disk changed"
fi
echo PASS
