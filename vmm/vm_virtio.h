/* SPDX-License-Identifier: MIT */
/* KVM wiring of virtio-mmio devices: slots, MMIO window, ioeventfd, irqfd. */
#ifndef VMM_VM_VIRTIO_H
#define VMM_VM_VIRTIO_H

#include "vm.h"

struct virtio_mmio;

/*
 * What every virtio-mmio device needs from KVM, in one place: a slot (MMIO
 * window and GSI) named `name`, an irqfd on the GSI, the window on vm->mmio,
 * and per queue q an ioeventfd on QueueNotify with datamatch q whose
 * eventfd kickfd[q] runs kick(&kick_h[q]) on the event loop. Fills base and
 * gsi. 0 or -errno, logged. Once the window is registered the device must
 * live as long as the VM.
 */
struct vm_virtio_wiring {
	const char *name;
	struct virtio_mmio *mmio;
	int irqfd;
	unsigned nqueues;
	const int *kickfd;
	struct ev_handler *kick_h;
	void (*kick)(struct ev_handler *h, uint32_t events);
	void *opaque;
	uint64_t base; /* out */
	unsigned gsi;  /* out */
};
int vm_virtio_wire(struct vm *vm, struct vm_virtio_wiring *w);

/*
 * Add a virtio-blk disk: claim a virtio-mmio slot, open and check the
 * file (errors name it), register the MMIO window, one ioeventfd per
 * queue on QueueNotify, an irqfd on the slot's GSI, the aio completion
 * eventfd on the event loop, and a stats printer. 0 or -errno. Call
 * before the vCPUs start; the device lives until the process exits.
 */
int vm_add_disk(struct vm *vm, const struct disk_config *dc);

#endif
