#!/usr/bin/env bash
# blk.elf's own virtio-blk driver writes a per-sector pattern over a whole
# 4 MiB disk, flushes, reads it back and checks it, and checks GET_ID; the host
# then checks the file itself (tests/tools/blkcheck). Runs on a file in $TMP,
# on one under build/ (a real file system: O_DIRECT) and, when /dev/shm is a
# tmpfs, on one there (O_DIRECT refused: the page-cache fallback). A read-only
# run must see its write refused and leave the file byte-identical.
. "$(dirname "$0")/lib.bash"
need_kvm
ELF=$FW/blk.elf
BLKCHECK=$ROOT/build/tests/blkcheck
[ -f "$ELF" ] || fail "$ELF missing: run make firmware"
[ -x "$BLKCHECK" ] || make -s -C "$ROOT" build/tests/blkcheck >/dev/null ||
	fail "cannot build build/tests/blkcheck"
SERIAL=vmm-test-serial
BDIR=$(mktemp -d "$ROOT/build/blk-test.XXXXXX")
SHM=
trap 'rm -rf "$TMP" "$BDIR" ${SHM:+"$SHM"}' EXIT

fstype() { stat -f -c %T "$(dirname "$1")"; }

# pattern_run FILE SEED: fresh 4 MiB file, guest pattern run, host check.
pattern_run() {
	local f=$1 seed=$2 t0
	rm -f "$f"
	truncate -s 4M "$f" || fail "cannot create $f"
	t0=$(date +%s%N)
	run_vmm 300 --kernel "$ELF" --disk "$f,serial=$SERIAL" \
		--cmdline "mode=pattern seed=$seed serial=$SERIAL"
	echo "--- $(fstype "$f"): $((($(date +%s%N) - t0) / 1000000)) ms"
	expect_status 0
	expect_out "blk: id 'vmm-test-serial'"
	expect_out "blk: id ok"
	expect_out "blk: pattern ok sectors=8192 seed=$seed"
	"$BLKCHECK" pattern "$f" "$seed" || fail "host sees a wrong pattern in $f"
	[ "$(stat -c %s "$f")" -eq $((4 << 20)) ] || fail "$f changed size"
}

# 1. $TMP (often tmpfs elsewhere; ext4 on some machines).
pattern_run "$TMP/disk.img" 7
if grep -q 'O_DIRECT refused' "$TMP/err"; then
	echo "note: $TMP is $(fstype "$TMP/disk.img"): page-cache fallback used"
fi

# 2. build/: a real file system, where O_DIRECT must be used.
pattern_run "$BDIR/disk.img" 11
case $(fstype "$BDIR/disk.img") in
ext2/ext3 | ext4 | xfs | btrfs)
	! grep -q 'O_DIRECT refused' "$TMP/err" || fail "O_DIRECT refused on $(fstype "$BDIR/disk.img")"
	;;
*) grep -q 'O_DIRECT refused' "$TMP/err" && echo "note: build/ is $(fstype "$BDIR/disk.img"): no O_DIRECT" ;;
esac

# 3. tmpfs: before Linux 6.6 it refuses O_DIRECT and the VMM falls back to
# the page cache (with a warning); newer kernels accept O_DIRECT there.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && SHM=$(mktemp -d /dev/shm/vmm-blk.XXXXXX); then
	pattern_run "$SHM/disk.img" 13
	if grep -q 'O_DIRECT refused' "$TMP/err"; then
		echo "note: tmpfs refused O_DIRECT: page-cache fallback exercised"
	else
		echo "note: tmpfs accepted O_DIRECT (Linux >= 6.6): fallback not exercised"
	fi
else
	echo "note: no tmpfs at /dev/shm: page-cache fallback not exercised"
fi

# The host checker itself must notice a wrong seed and a flipped byte.
! "$BLKCHECK" pattern "$BDIR/disk.img" 12 >/dev/null || fail "blkcheck accepted a wrong seed"
cp "$BDIR/disk.img" "$TMP/flip.img"
printf '\xff' | dd of="$TMP/flip.img" bs=1 seek=$((5000 * 512 + 100)) conv=notrunc status=none
out=$("$BLKCHECK" pattern "$TMP/flip.img" 11) && fail "blkcheck missed a flipped byte"
grep -q 'sector 5000 word 12' <<<"$out" || fail "blkcheck: wrong report: $out"

# 4. Read-only: the write is refused with IOERR, nothing on the host changes,
# and the guest still reads the pattern written above.
f=$BDIR/disk.img
sum=$(sha256sum <"$f")
run_vmm 300 --kernel "$ELF" --disk "$f,ro,serial=$SERIAL" --cmdline "seed=11 serial=$SERIAL"
expect_status 0
expect_out "read-only, interrupts"
expect_out "blk: read-only: write refused with IOERR, sector 0 unchanged"
expect_out "blk: pattern ok sectors=8192 seed=11 (read-only"
[ "$(sha256sum <"$f")" = "$sum" ] || fail "read-only disk $f changed"

# The guest's check fails when the data is not what it expects (wrong seed).
run_vmm 300 --kernel "$ELF" --disk "$f,ro" --cmdline "seed=12"
expect_status 1
expect_out "blk: pattern FAILED: 8192 of 8192 sectors bad"
[ "$(sha256sum <"$f")" = "$sum" ] || fail "read-only disk $f changed"
echo PASS
