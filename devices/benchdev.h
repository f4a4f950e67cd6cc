/* SPDX-License-Identifier: MIT */
/*
 * The bench device: the smallest thing a guest can exit to user space for.
 * `vmm bench exits` and the bench.elf payload use it to time port I/O and
 * MMIO exits through the VMM's buses (layout.h: PORT_BENCH, BENCH_MMIO_START).
 *
 *   port  +0 (4 bytes)  read: BENCHDEV_ID; write: scratch
 *   port  +4 (4 bytes)  notify: normally an ioeventfd, so it never gets here
 *   mmio  +0x000        read: BENCHDEV_ID
 *   mmio  +0x008        scratch, read/write
 *   mmio  +0x100        notify: normally an ioeventfd
 * Every other offset reads 0 and ignores writes. The device has no KVM in it;
 * vmm/bench.c registers it and its ioeventfds (vm_add_bench_device).
 */
#ifndef DEVICES_BENCHDEV_H
#define DEVICES_BENCHDEV_H

#include <stdint.h>

#include "bus.h"

#define BENCHDEV_ID	      0x48434e42u /* "BNCH" little-endian */
#define BENCHDEV_PIO_DATA     0
#define BENCHDEV_PIO_NOTIFY   4
#define BENCHDEV_MMIO_ID      0x000
#define BENCHDEV_MMIO_SCRATCH 0x008
#define BENCHDEV_MMIO_NOTIFY  0x100

struct benchdev {
	uint32_t scratch;
	/* Accesses that reached the device (relaxed atomics: vCPU threads). */
	uint64_t reads, writes;
	/* Notify writes that came here because no ioeventfd took them. */
	uint64_t notify_fallback;
	/* ioeventfd signals drained by the event loop. */
	uint64_t notify_events;
};

extern const struct bus_ops benchdev_pio_ops;  /* PORT_BENCH_LEN ports */
extern const struct bus_ops benchdev_mmio_ops; /* BENCH_MMIO_SIZE bytes */

#endif
