#!/usr/bin/env bash
# A bad-image matrix built from the real guest bzImage and vmlinux: each is
# refused with a message naming the problem, before the first KVM_RUN.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest

bad() { # message args...
	local msg=$1
	shift
	timeout 20 "$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	echo "--- exit $status: $(head -c 300 "$TMP/err")"
	[ "$status" -eq 1 ] || fail "expected exit status 1, got $status"
	grep -qF -- "$msg" "$TMP/err" || fail "message lacks '$msg'"
	[ ! -s "$TMP/out" ] || fail "the guest ran"
}
patch() { # file offset hexbytes
	printf "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

bz=$GUEST/bzImage
head -c 1000 "$bz" >"$TMP/trunc"
bad "bzImage truncated" --kernel "$TMP/trunc"
head -c $(($(stat -c %s "$bz") / 3)) "$bz" >"$TMP/short"
bad "bzImage truncated: syssize" --kernel "$TMP/short"
cp "$bz" "$TMP/magic" && patch "$TMP/magic" 0x202 'HdrX'
bad "not a kernel image" --kernel "$TMP/magic"
cp "$bz" "$TMP/flag" && patch "$TMP/flag" 0x1fe '\x00\x00'
bad "boot_flag" --kernel "$TMP/flag"
cp "$bz" "$TMP/old" && patch "$TMP/old" 0x206 '\x0b\x02'
bad "boot protocol version 2.11 is too old" --kernel "$TMP/old"
cp "$bz" "$TMP/not64" && patch "$TMP/not64" 0x236 '\x00\x00'
bad "XLF_KERNEL_64" --kernel "$TMP/not64"
dd if="$bz" of="$TMP/sects2" bs=512 count=40 status=none && patch "$TMP/sects2" 0x1f1 '\xff'
bad "setup_sects" --kernel "$TMP/sects2"
bad "increase --mem" --kernel "$bz" --mem 16M
head -c $((300 << 20)) /dev/zero >"$TMP/big"
bad "does not fit" --kernel "$bz" --initrd "$TMP/big" --mem 256M
bad "command line too long" --kernel "$bz" --cmdline "$(head -c 2100 /dev/zero | tr '\0' x)"
head -c 4096 "$GUEST/vmlinux" >"$TMP/vtrunc"
bad "ELF image truncated" --kernel "$TMP/vtrunc"
bad "does not fit" --kernel "$GUEST/vmlinux" --initrd "$TMP/big" --mem 256M
echo PASS
