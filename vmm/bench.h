/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks: `vmm bench exits|startup|memory`, and the bench device glue.
 *
 * `vmm bench` runs guests as child processes (this vmm binary, the raw-KVM
 * limit program build/tests/rawkvm, and QEMU microvm), interleaved, reads the
 * bench.elf payload's result lines from their serial output and prints a
 * table or JSON. See scripts/bench.sh for the report around it.
 */
#ifndef VMM_BENCH_H
#define VMM_BENCH_H

#include "benchdev.h"
#include "evloop.h"

struct vm;

/* The bench device plus its two ioeventfds (port and MMIO notify). */
struct vm_bench {
	struct benchdev dev;
	struct ev_handler notify[2];
};

/* Register the bench device on the port and MMIO buses and its ioeventfds
 * (a missing ioeventfd is only a warning: the write then reaches the bus).
 * Set-up time only: dies on a bus conflict. */
void vm_add_bench_device(struct vm *vm, struct vm_bench *b);

/* `vmm bench ...`: argv[0] is "bench". Returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
