#!/usr/bin/env bash
# hello.elf prints its line and ends the VMM with status 0 through debug-exit.
. "$(dirname "$0")/lib.bash"
need_kvm
run_vmm 30 --kernel "$FW/hello.elf"
expect_status 0
grep -qx 'Hello from guest-firmware' "$TMP/out" || fail "no exact hello line"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "unexpected extra output"
echo PASS
