// SPDX-License-Identifier: MIT
/*
 * The KVM side of virtio-mmio devices. The device models in devices/ know
 * nothing of KVM; here they get:
 *  - their MMIO window on vm->mmio (register accesses from vCPU threads);
 *  - an ioeventfd per queue on QueueNotify (datamatch = queue index), so
 *    kicks never exit to user space and are handled on the event loop;
 *  - an irqfd on the slot's GSI: raising the interrupt is one eventfd
 *    write (edge), safe from any thread with the device lock held;
 *  - the aio completion eventfd on the event loop.
 */
#define _GNU_SOURCE
#include "vm_virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../devices/virtio_blk.h"
#include "util.h"

struct vm_disk {
	struct vm *vm;
	struct virtio_blk *blk;
	int irqfd;
	int kickfd;
	struct ev_handler kick_h; /* queue 0: virtio-blk has one queue */
	struct ev_handler aio_h;
	char name[32];
};

static void vm_disk_irq(void *opaque)
{
	struct vm_disk *d = opaque;
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: an interrupt is pending. */
	if (write(d->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: irqfd write: %s", d->name, strerror(errno));
}

static void vm_disk_kick(struct ev_handler *h, uint32_t events)
{
	struct vm_disk *d = h->opaque;
	uint64_t cnt;

	(void)events;
	if (read(h->fd, &cnt, sizeof(cnt)) < 0)
		return; /* EAGAIN: spurious wake-up */
	virtio_mmio_notify(&d->blk->mmio, 0);
}

static void vm_disk_aio(struct ev_handler *h, uint32_t events)
{
	struct vm_disk *d = h->opaque;

	(void)events;
	virtio_blk_complete(d->blk);
}

int vm_add_disk(struct vm *vm, const struct disk_config *dc)
{
	struct vm_disk *d;
	uint64_t base;
	unsigned gsi, index;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->irqfd = d->kickfd = -1;

	/* The default serial counts disks in command-line order. */
	index = vm->nr_virtio;
	if (vm->cfg && dc >= vm->cfg->disks && dc < vm->cfg->disks + vm->cfg->ndisks)
		index = (unsigned)(dc - vm->cfg->disks);
	snprintf(d->name, sizeof(d->name), "virtio-blk%u", index);

	d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irqfd < 0 || d->kickfd < 0) {
		err = -errno;
		pr_err("%s: eventfd: %s", d->name, strerror(-err));
		goto fail;
	}

	/* Open and check the file before claiming anything in the VM. */
	err = virtio_blk_create(&d->blk, &vm->mem, dc, index, vm_disk_irq, d);
	if (err)
		goto fail;

	err = vm_virtio_slot(vm, d->name, &base, &gsi);
	if (err) {
		pr_err("disk %s: no virtio-mmio slot left", dc->path);
		goto fail_blk;
	}
	err = vm_irqfd(vm, gsi, d->irqfd);
	if (err) {
		pr_err("disk %s: irqfd on GSI %u: %s", dc->path, gsi, strerror(-err));
		goto fail_blk;
	}
	err = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, d->name,
			   &virtio_mmio_bus_ops, &d->blk->mmio);
	if (err) {
		pr_err("disk %s: MMIO window 0x%llx: %s", dc->path,
		       (unsigned long long)base, strerror(-err));
		goto fail_blk;
	}
	/* From here on the bus points at the device: never free it. */
	err = vm_ioeventfd(vm, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false, true, 0,
			   d->kickfd);
	if (err) {
		pr_err("disk %s: ioeventfd: %s", dc->path, strerror(-err));
		return err;
	}
	d->kick_h = (struct ev_handler){.fd = d->kickfd, .cb = vm_disk_kick,
					.opaque = d};
	d->aio_h = (struct ev_handler){.fd = virtio_blk_completion_fd(d->blk),
				       .cb = vm_disk_aio, .opaque = d};
	err = evloop_add(&vm->ev, &d->kick_h, EPOLLIN);
	if (!err)
		err = evloop_add(&vm->ev, &d->aio_h, EPOLLIN);
	if (err) {
		pr_err("disk %s: event loop: %s", dc->path, strerror(-err));
		return err;
	}
	vm_add_stats(vm, virtio_blk_print_stats, d->blk);
	pr_info("%s: %s%s, %llu sectors, MMIO 0x%llx, GSI %u", d->name, dc->path,
		dc->readonly ? " (ro)" : "", (unsigned long long)d->blk->capacity,
		(unsigned long long)base, gsi);
	return 0;

	/*
	 * Set-up failures end the VMM (the caller dies), so a claimed slot or
	 * a registered KVM object is not unwound; only host resources are,
	 * and only while nothing in the VM refers to them.
	 */
fail_blk:
	virtio_blk_destroy(d->blk);
fail:
	if (d->irqfd >= 0)
		close(d->irqfd);
	if (d->kickfd >= 0)
		close(d->kickfd);
	free(d);
	return err;
}
