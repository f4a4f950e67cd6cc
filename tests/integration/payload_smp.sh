#!/usr/bin/env bash
# smp.elf wakes every secondary vCPU with INIT-SIPI-SIPI and exits with the
# number of vCPUs it saw run: it must equal --cpus.
. "$(dirname "$0")/lib.bash"
need_kvm
for n in 1 2 4; do
	run_vmm 60 --kernel "$FW/smp.elf" --cpus "$n"
	expect_status "$n"
	expect_out "smp: $n of $n vCPUs ran"
done
echo PASS
