/* SPDX-License-Identifier: MIT */
/* KVM wiring of virtio-mmio devices: slots, MMIO window, ioeventfd, irqfd. */
#ifndef VMM_VM_VIRTIO_H
#define VMM_VM_VIRTIO_H

#include "vm.h"

/*
 * Add a virtio-blk disk: claim a virtio-mmio slot, open and check the
 * file (errors name it), register the MMIO window, one ioeventfd per
 * queue on QueueNotify, an irqfd on the slot's GSI, the aio completion
 * eventfd on the event loop, and a stats printer. 0 or -errno. Call
 * before the vCPUs start; the device lives until the process exits.
 */
int vm_add_disk(struct vm *vm, const struct disk_config *dc);

#endif
