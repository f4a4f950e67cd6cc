#!/usr/bin/env bash
# Linux from build/guest/bzImage through the 64-bit boot protocol (zero page,
# e820, command line, initrd at the top of low RAM): it decompresses itself
# and runs /init. On kvm_pvm hosts the test ends there (see linux_pvh.sh).
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
run_until 900 'Run /init as init process|vmm-guest-init: ready' \
	--kernel "$GUEST/bzImage" --initrd "$GUEST/initramfs.cpio" --mem 192M \
	--cmdline "vmm.test=poweroff" -v
[ "$found" = 1 ] || fail "the kernel never ran /init"
expect_out "Command line: console=ttyS0"
grep -q "Unpacking initramfs" "$TMP/out" || fail "the kernel did not see the initrd"
grep -q "Initramfs unpacking failed" "$TMP/out" && fail "the initrd was damaged"
expect_out "BIOS-e820: [mem 0x0000000000100000-0x000000000bffffff] usable"
if is_pvm; then
	echo "NOTE: kvm_pvm host: guest user space cannot make system calls; the test ends at 'Run /init'"
else
	expect_out "vmm-guest-init: ready"
	expect_status 0
fi
echo PASS
