/* SPDX-License-Identifier: MIT */
/* virtio-net on a tap device: opening the tap and the KVM/epoll wiring. */
#ifndef VMM_VM_NET_H
#define VMM_VM_NET_H

#include "vm.h"

/*
 * Open the tap `name` (created if absent, a persistent one reused) as
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking, vnet header size 12.
 * Errors are logged with the tap's name and the likely cause. fd or -errno.
 */
int tap_open(const char *name);

/*
 * Add virtio-net device `index` (command-line order) on nc->tap: open the
 * tap, claim a virtio-mmio slot, register the MMIO window, an ioeventfd per
 * queue, an irqfd, the tap on the event loop and a stats printer. 0 or
 * -errno (already logged). Call before the vCPUs start.
 */
int vm_add_net(struct vm *vm, const struct net_config *nc, unsigned index);

#endif
