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

int vm_virtio_wire(struct vm *vm, struct vm_virtio_wiring *w)
{
	int err;

	err = vm_virtio_slot(vm, w->name, &w->base, &w->gsi);
	if (err) {
		pr_err("%s: no virtio-mmio slot left", w->name);
		return err;
	}
	err = vm_irqfd(vm, w->gsi, w->irqfd);
	if (err) {
		pr_err("%s: irqfd on GSI %u: %s", w->name, w->gsi,
		       strerror(-err));
		return err;
	}
	err = bus_register(&vm->mmio, w->base, VIRTIO_MMIO_SIZE, w->name,
			   &virtio_mmio_bus_ops, w->mmio);
	if (err) {
		pr_err("%s: MMIO window 0x%llx: %s", w->name,
		       (unsigned long long)w->base, strerror(-err));
		return err;
	}
	for (unsigned q = 0; q < w->nqueues; q++) {
		err = vm_ioeventfd(vm, w->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				   false, true, q, w->kickfd[q]);
		if (err) {
			pr_err("%s: ioeventfd: %s", w->name, strerror(-err));
			return err;
		}
		w->kick_h[q] = (struct ev_handler){
		    .fd = w->kickfd[q], .cb = w->kick, .opaque = w->opaque};
		err = evloop_add(&vm->ev, &w->kick_h[q], EPOLLIN);
		if (err) {
			pr_err("%s: event loop: %s", w->name, strerror(-err));
			return err;
		}
	}
	return 0;
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
	if (vm->cfg && dc >= vm->cfg->disks &&
	    dc < vm->cfg->disks + vm->cfg->ndisks)
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

	struct vm_virtio_wiring w = {.name = d->name,
				     .mmio = &d->blk->mmio,
				     .irqfd = d->irqfd,
				     .nqueues = 1,
				     .kickfd = &d->kickfd,
				     .kick_h = &d->kick_h,
				     .kick = vm_disk_kick,
				     .opaque = d};

	err = vm_virtio_wire(vm, &w);
	if (err == -ENOSPC)
		goto fail_blk; /* nothing in the VM refers to the device yet */
	if (err)
		return err;
	base = w.base;
	gsi = w.gsi;
	d->aio_h = (struct ev_handler){.fd = virtio_blk_completion_fd(d->blk),
				       .cb = vm_disk_aio,
				       .opaque = d};
	err = evloop_add(&vm->ev, &d->aio_h, EPOLLIN);
	if (err) {
		pr_err("disk %s: event loop: %s", dc->path, strerror(-err));
		return err;
	}
	vm_add_stats(vm, virtio_blk_print_stats, d->blk);
	pr_info("%s: %s%s, %llu sectors, MMIO 0x%llx, GSI %u", d->name,
		dc->path, dc->readonly ? " (ro)" : "",
		(unsigned long long)d->blk->capacity, (unsigned long long)base,
		gsi);
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
