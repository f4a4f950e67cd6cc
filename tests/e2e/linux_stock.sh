#!/usr/bin/env bash
# Debian's stock cloud kernel (linux-image-cloud-amd64: ACPI on, virtio as
# modules, no virtio_mmio.device= support) booted as a bzImage with our
# initramfs. It records how far the kernel gets (build/test-logs/
# stock-kernel.txt, summarised in the README's support table) and requires
# at least: it starts, reads our ACPI tables without error, finds the
# serial port, and runs /init.
. "$(dirname "$0")/../integration/lib.bash"
need_kvm
need_guest
kernel=$("$ROOT/scripts/stock-kernel.sh") || fail "cannot fetch the stock kernel"
run_until 1200 'Run /init as init process' --kernel "$kernel" \
	--initrd "$GUEST/initramfs.cpio" --cpus 2 --mem 512M -v
report=$ROOT/build/test-logs/stock-kernel.txt
{
	echo "kernel: $(basename "$kernel")"
	for m in "Linux version" "ACPI: RSDP" "ACPI: Interpreter enabled" \
		"smp: Brought up 1 node, 2 CPUs" "serial8250: ttyS0" \
		"Run /init as init process"; do
		if grep -qF "$m" "$TMP/out"; then echo "reached: $m"; else echo "missing: $m"; fi
	done
} | tee "$report"
expect_out "Linux version"
grep -q "ACPI Error\|ACPI BIOS Error" "$TMP/out" && fail "the stock kernel rejected our ACPI tables"
expect_out "ACPI: Interpreter enabled"
expect_out "ttyS0 at I/O 0x3f8"
[ "$found" = 1 ] || fail "the stock kernel never ran /init"
echo PASS
