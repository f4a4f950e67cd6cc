/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.x only). It owns the register
 * file and the virtqueues; a device plugs in with struct virtio_dev_ops and
 * a config-space buffer. Nothing here calls KVM: interrupts go through the
 * irq callback, so unit tests and fuzzers drive it with fake guest memory.
 *
 * Locking: t->lock protects the registers, the virtqueues and all device
 * state. vCPU threads take it in the bus handlers, the event-loop thread in
 * virtio_mmio_notify() and in device completion handlers. Every
 * virtio_dev_ops hook and the irq callback run with it held, so they must
 * not take it again and must not block for long (reset may wait for
 * in-flight I/O: that is the point of reset).
 */
#ifndef DEVICES_VIRTIO_MMIO_H
#define DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/bus.h"
#include "../vmm/guest_mem.h"
#include "virtio.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_MAX_QUEUES 8
/* Config space runs from 0x100 to the end of the 4 KiB window. */
#define VIRTIO_MMIO_SIZE_CONFIG_MAX (0x1000 - VIRTIO_MMIO_CONFIG)

struct virtio_dev_ops {
	/* DRIVER_OK with valid queues; 0 or -errno (then NEEDS_RESET). */
	int (*activate)(void *dev);
	/* Queue q has new buffers (only called while the device is live). */
	void (*notify)(void *dev, unsigned q);
	/* Device reset: must finish or cancel all in-flight I/O first. */
	void (*reset)(void *dev);
	/* Optional: a write into config space, already bounds-checked. */
	void (*config_write)(void *dev, uint64_t off, const void *data,
			     uint32_t len);
};

struct virtio_mmio_queue {
	uint32_t num;
	bool ready;
	uint64_t desc, driver, device;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct guest_mem *gm;
	const struct virtio_dev_ops *ops;
	void *dev;
	void (*irq)(void *opaque); /* raise the device's interrupt (edge) */
	void *irq_opaque;

	uint32_t device_id;
	uint64_t device_features;
	uint64_t driver_features; /* always a subset of device_features */
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t status, isr, config_gen;
	bool live; /* DRIVER_OK accepted and no NEEDS_RESET since */

	unsigned nr_queues;
	uint16_t queue_max;
	struct virtio_mmio_queue qcfg[VIRTIO_MMIO_MAX_QUEUES];
	struct virtqueue vq[VIRTIO_MMIO_MAX_QUEUES];

	const void *config; /* device-owned config space */
	size_t config_len;

	uint64_t needs_reset_events;
};

extern const struct bus_ops virtio_mmio_bus_ops;

/* 0 or -EINVAL (no queues, too many, VERSION_1 not offered, bad max). */
int virtio_mmio_init(struct virtio_mmio *t, const struct guest_mem *gm,
		     uint32_t device_id, uint64_t features, unsigned nr_queues,
		     uint16_t queue_max, const void *config, size_t config_len,
		     const struct virtio_dev_ops *ops, void *dev,
		     void (*irq)(void *opaque), void *irq_opaque);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Register access (what virtio_mmio_bus_ops does); takes t->lock. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, void *data,
		      uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const void *data,
		       uint32_t len);
/* ioeventfd path: queue q was kicked. Takes t->lock. */
void virtio_mmio_notify(struct virtio_mmio *t, unsigned q);

/* For devices, t->lock held: */
/* Used buffers were pushed on queue q: interrupt if the driver wants one. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q);
/* The guest broke the protocol: stop processing, tell it (NEEDS_RESET). */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);
static inline bool virtio_mmio_has_feature(const struct virtio_mmio *t,
					   unsigned bit)
{
	return t->driver_features & VIRTIO_BIT(bit);
}

#endif
