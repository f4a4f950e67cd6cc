#!/usr/bin/env bash
# Linux from build/guest/vmlinux through the PVH entry, with 2 vCPUs and the
# initramfs: the kernel finds its devices in our ACPI tables (no ACPI error,
# both CPUs from the MADT), brings up the second CPU, and runs /init.
# Real hardware: /init prints its marker and powers off (exit status 0).
# kvm_pvm hosts: guest user space cannot make system calls, so /init dies on
# its first one; the kernel panics and pvpanic ends vmm with status 5.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
run_until 900 'Run /init as init process|vmm-guest-init: ready' \
	--kernel "$GUEST/vmlinux" --initrd "$GUEST/initramfs.cpio" --cpus 2 \
	--cmdline "vmm.test=poweroff" -v
[ "$found" = 1 ] || fail "the kernel never ran /init"
expect_out "smpboot: Allowing 2 CPUs, 0 hotplug CPUs"
expect_out "smp: Brought up 1 node, 2 CPUs"
grep -q "ACPI Error\|ACPI BIOS Error" "$TMP/out" && fail "the kernel rejected our ACPI tables"
expect_out "ACPI: Interpreter enabled"
expect_out "ttyS0 at I/O 0x3f8"
expect_out "pnp: PnP ACPI: found 1 devices"
expect_out "ACPI: PM: (supports S0 S5)"
if is_pvm; then
	echo "NOTE: kvm_pvm host: guest user space cannot make system calls; the test ends at 'Run /init'"
	# /init segfaults at once, the kernel panics and pvpanic tells us; if
	# that took longer than run_until's grace period it stopped the VM.
	[ "$status" = running ] || expect_status 5
else
	expect_out "vmm-guest-init: ready"
	expect_status 0
fi
echo PASS
