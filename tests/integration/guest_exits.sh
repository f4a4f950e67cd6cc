#!/usr/bin/env bash
# Every way a guest can end the VM gives its documented exit status.
. "$(dirname "$0")/lib.bash"
need_kvm
check() { # cmdline status message
	run_vmm 30 --kernel "$FW/power.elf" --cmdline "$1"
	expect_status "$2"
	expect_err "$3"
}
check s5 0 "guest powered off (ACPI S5)"
check reboot 3 "guest reboot (i8042 reset)"
check panic 5 "guest kernel panic (pvpanic)"
check triple 4 "triple fault"
check exit=42 42 "guest wrote 42 to the debug-exit port"
check exit=0 0 "guest wrote 0 to the debug-exit port"
echo PASS
