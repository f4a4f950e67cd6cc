#!/usr/bin/env bash
# --stats prints the exit and device tables; --dump-dtb writes a device tree
# that dtc reads and that describes the machine we asked for.
. "$(dirname "$0")/lib.bash"
need_kvm
command -v dtc >/dev/null || fail "dtc missing (device-tree-compiler)"
run_vmm 30 --kernel "$FW/hello.elf" --cpus 3 --mem 96M --stats --dump-dtb "$TMP/m.dtb"
expect_status 0
for s in "exit reason" "IO " "serial COM1" "debug-exit" "0x3f8-0x3ff" "(no device)"; do
	expect_err "$s"
done
# The COM1 row counts the hello line's bytes (at least 26 THR writes).
writes=$(awk '$1 == "serial" && $2 == "COM1" && $3 ~ /^0x3f8/ {print $5}' "$TMP/err")
[ -n "$writes" ] && [ "$writes" -ge 26 ] || fail "COM1 write count '$writes' too small"
dtc -I dtb -O dts -o "$TMP/m.dts" "$TMP/m.dtb" || fail "dtc rejected the dtb"
[ "$(grep -c 'device_type = "cpu"' "$TMP/m.dts")" -eq 3 ] || fail "not 3 cpus in the dtb"
grep -q 'reg = <0x00 0x00 0x00 0x6000000>' "$TMP/m.dts" || fail "memory reg is not 96 MiB"
grep -q 'compatible = "ns16550a"' "$TMP/m.dts" || fail "no serial node"
echo PASS
