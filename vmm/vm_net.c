// SPDX-License-Identifier: MIT
/*
 * The host side of virtio-net: the tap file descriptor and the KVM wiring.
 * The device model (devices/virtio_net.c) knows neither; here it gets:
 *  - its MMIO window (register accesses from vCPU threads);
 *  - one ioeventfd per queue on QueueNotify (datamatch = queue index), so
 *    kicks are handled on the event loop; the device's wake hook writes
 *    the same eventfds when a kick reaches it another way (a vCPU MMIO
 *    write, DRIVER_OK), so every tap read and write runs on the loop;
 *  - an irqfd on the slot's GSI;
 *  - the tap fd on the event loop, watched for exactly the events the
 *    device asks for after each call (EPOLLIN only while the guest has RX
 *    buffers, EPOLLOUT only while a write waits).
 */
#define _GNU_SOURCE
#include "vm_net.h"
#include "vm_virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../devices/virtio_net.h"
#include "util.h"

struct vm_net {
	struct vm *vm;
	struct virtio_net *dev;
	int irqfd;
	int kickfd[2];
	struct ev_handler kick_h[2];
	struct ev_handler tap_h;
	bool tap_gone;
	char slot[16]; /* "virtio-net0": bus and FDT name */
	char name[48]; /* "virtio-net0 (tap vmmtap0)": logs and stats */
};

int tap_open(const char *name)
{
	struct ifreq ifr;
	unsigned features = 0;
	int hdr = VIRTIO_NET_HDR_LEN;
	int fd, err;

	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		pr_err("tap '%s': name must be 1 to %d characters",
		       name ? name : "", IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
			pr_err(
			    "tap %s: /dev/net/tun is missing (load the tun module)",
			    name);
		else if (err == -EACCES || err == -EPERM)
			pr_err("tap %s: cannot open /dev/net/tun: %s", name,
			       strerror(-err));
		else
			pr_err("tap %s: /dev/net/tun: %s", name,
			       strerror(-err));
		return err;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) < 0 ||
	    !(features & IFF_VNET_HDR)) {
		pr_err("tap %s: the kernel's tun driver lacks IFF_VNET_HDR",
		       name);
		err = -EOPNOTSUPP;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		switch (err) {
		case -EBUSY:
			pr_err(
			    "tap %s: busy (another process has it open, or it "
			    "is a multi-queue tap)",
			    name);
			break;
		case -EPERM:
		case -EACCES:
			pr_err(
			    "tap %s: not allowed to create or attach it (needs "
			    "CAP_NET_ADMIN, or a persistent tap owned by this "
			    "user: ip tuntap add %s mode tap user $USER)",
			    name, name);
			break;
		case -EINVAL:
			pr_err(
			    "tap %s: exists but is not a tap (a tun device, or "
			    "another interface with that name)",
			    name);
			break;
		default:
			pr_err("tap %s: TUNSETIFF: %s", name, strerror(-err));
		}
		goto fail;
	}
	/* The guest's virtio_net_hdr_v1 (with num_buffers) is the tap's. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = -errno;
		pr_err("tap %s: TUNSETVNETHDRSZ %d: %s", name, hdr,
		       strerror(-err));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

static void vm_net_irq(void *opaque)
{
	struct vm_net *d = opaque;
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: an interrupt is pending. */
	if (write(d->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: irqfd write: %s", d->name, strerror(errno));
}

/* Device lock held, any thread: process queue q on the event loop. */
static void vm_net_wake(void *opaque, unsigned q)
{
	struct vm_net *d = opaque;
	uint64_t one = 1;

	if (q < 2 && write(d->kickfd[q], &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		pr_warn("%s: kick eventfd write: %s", d->name, strerror(errno));
}

/* Event-loop thread only: it owns tap_h.events. */
static void vm_net_watch(struct vm_net *d, uint32_t want)
{
	int err;

	if (d->tap_gone)
		return;
	err = evloop_mod(&d->vm->ev, &d->tap_h, want);
	if (err)
		pr_warn("%s: epoll: %s", d->name, strerror(-err));
}

static void vm_net_kick(struct ev_handler *h, uint32_t events)
{
	struct vm_net *d = h->opaque;
	unsigned q = (unsigned)(h - d->kick_h);
	uint64_t cnt;

	(void)events;
	if (read(h->fd, &cnt, sizeof(cnt)) < 0)
		return; /* EAGAIN: spurious wake-up */
	vm_net_watch(d, virtio_net_kicked(d->dev, q));
}

static void vm_net_tap(struct ev_handler *h, uint32_t events)
{
	struct vm_net *d = h->opaque;
	uint32_t want = virtio_net_tap_event(d->dev, events);

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The interface went away: epoll would report it forever. */
		pr_err(
		    "%s: the tap reports an error or hang-up; no more traffic",
		    d->name);
		evloop_del(&d->vm->ev, h);
		d->tap_gone = true;
		return;
	}
	vm_net_watch(d, want);
}

int vm_add_net(struct vm *vm, const struct net_config *nc, unsigned index)
{
	struct virtio_net_params p = {.index = index};
	struct vm_net *d;
	uint64_t base;
	unsigned gsi;
	int err, fd;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->irqfd = d->kickfd[0] = d->kickfd[1] = -1;
	snprintf(d->slot, sizeof(d->slot), "virtio-net%u", index);
	snprintf(d->name, sizeof(d->name), "%s (tap %s)", d->slot, nc->tap);

	d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->kickfd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->kickfd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irqfd < 0 || d->kickfd[0] < 0 || d->kickfd[1] < 0) {
		err = -errno;
		pr_err("%s: eventfd: %s", d->name, strerror(-err));
		goto fail;
	}

	/* Get the tap before claiming anything in the VM. */
	fd = tap_open(nc->tap);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	p.fd = fd;
	p.mac = nc->has_mac ? nc->mac : NULL;
	p.name = d->name;
	p.irq = vm_net_irq;
	p.irq_opaque = d;
	p.wake = vm_net_wake;
	p.wake_opaque = d;
	err = virtio_net_create(&d->dev, &vm->mem, &p); /* owns fd from here */
	if (err) {
		pr_err("%s: %s", d->name, strerror(-err));
		goto fail;
	}

	struct vm_virtio_wiring w = {.name = d->slot,
				     .mmio = &d->dev->mmio,
				     .irqfd = d->irqfd,
				     .nqueues = 2,
				     .kickfd = d->kickfd,
				     .kick_h = d->kick_h,
				     .kick = vm_net_kick,
				     .opaque = d};

	err = vm_virtio_wire(vm, &w);
	if (err == -ENOSPC)
		goto fail_dev; /* nothing in the VM refers to the device yet */
	if (err)
		return err;
	base = w.base;
	gsi = w.gsi;
	/* Registered with no events: the device asks once the guest is ready. */
	d->tap_h = (struct ev_handler){
	    .fd = d->dev->fd, .cb = vm_net_tap, .opaque = d};
	err = evloop_add(&vm->ev, &d->tap_h, 0);
	if (err) {
		pr_err("%s: event loop: %s", d->name, strerror(-err));
		return err;
	}
	vm_add_stats(vm, virtio_net_print_stats, d->dev);
	{
		const uint8_t *m = d->dev->cfg.mac;

		pr_info(
		    "%s: mac %02x:%02x:%02x:%02x:%02x:%02x, MMIO 0x%llx, GSI %u",
		    d->name, m[0], m[1], m[2], m[3], m[4], m[5],
		    (unsigned long long)base, gsi);
	}
	return 0;

	/*
	 * Set-up failures end the VMM (the caller exits), so a claimed slot
	 * or a registered KVM object is not unwound; only host resources are,
	 * while nothing in the VM refers to them.
	 */
fail_dev:
	virtio_net_destroy(d->dev);
fail:
	if (d->irqfd >= 0)
		close(d->irqfd);
	for (unsigned q = 0; q < 2; q++)
		if (d->kickfd[q] >= 0)
			close(d->kickfd[q]);
	free(d);
	return err;
}
