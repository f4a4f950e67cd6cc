#!/usr/bin/env bash
# Debian's stock cloud kernel (linux-image-cloud-amd64 6.1: ACPI on, virtio
# as modules, no virtio_mmio.device= support) booted as a bzImage with our
# initramfs and 2 vCPUs. It must start, load our ACPI tables without error,
# bring up both CPUs from the MADT and find COM1 through ACPI PnP; on real
# hardware it must also reach /init. How far it got is written to
# build/test-logs/stock-kernel.txt (the README's support table).
# On kvm_pvm hosts the emulated stock kernel takes minutes to get there and
# later stops on LDMXCSR, an instruction kvm_pvm cannot emulate, so the test
# stops once ACPI PnP has run.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
kernel=$("$ROOT/scripts/stock-kernel.sh") || fail "cannot fetch the stock kernel"
goal='Run /init as init process'
is_pvm && goal='pnp: PnP ACPI: found|Run /init as init process'
run_until 1200 "$goal" --kernel "$kernel" \
	--initrd "$GUEST/initramfs.cpio" --cpus 2 --mem 512M -v
report=$ROOT/build/test-logs/stock-kernel.txt
{
	echo "kernel: $(basename "$kernel")"
	for m in "Linux version" "ACPI: RSDP" "ACPI: Interpreter enabled" \
		"smp: Brought up 1 node, 2 CPUs" "pnp: PnP ACPI: found 1 devices" \
		"ttyS0 at I/O 0x3f8" "Run /init as init process"; do
		if grep -qF "$m" "$TMP/out"; then echo "reached: $m"; else echo "not reached: $m"; fi
	done
	grep -F "instruction emulation failed" "$TMP/err" | sed 's/^/stopped: /'
} | tee "$report"
expect_out "Linux version"
grep -q "ACPI Error\|ACPI BIOS Error" "$TMP/out" && fail "the stock kernel rejected our ACPI tables"
expect_out "ACPI: Interpreter enabled"
expect_out "smp: Brought up 1 node, 2 CPUs"
expect_out "pnp: PnP ACPI: found 1 devices"
if is_pvm; then
	echo "NOTE: kvm_pvm host: stopped after ACPI PnP (see the header of this test)"
else
	[ "$found" = 1 ] || fail "the stock kernel never ran /init"
	expect_out "ttyS0 at I/O 0x3f8"
fi
echo PASS
