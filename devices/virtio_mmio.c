// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register file. Every value the guest writes is
 * either range-checked here or stored and validated at DRIVER_OK by
 * vq_setup(); queue registers are frozen once a queue is ready, and the
 * device only sees notifications while it is live.
 */
#include "virtio_mmio.h"

#include <errno.h>
#include <string.h>

#include "../vmm/util.h"

int virtio_mmio_init(struct virtio_mmio *t, const struct guest_mem *gm,
		     uint32_t device_id, uint64_t features, unsigned nr_queues,
		     uint16_t queue_max, const void *config, size_t config_len,
		     const struct virtio_dev_ops *ops, void *dev,
		     void (*irq)(void *opaque), void *irq_opaque)
{
	int err;

	memset(t, 0, sizeof(*t));
	if (!nr_queues || nr_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    !(features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) || !queue_max ||
	    queue_max > VQ_MAX_SIZE || (queue_max & (queue_max - 1)) ||
	    config_len > VIRTIO_MMIO_SIZE_CONFIG_MAX)
		return -EINVAL;
	err = -pthread_mutex_init(&t->lock, NULL);
	if (err)
		return err;
	t->gm = gm;
	t->device_id = device_id;
	t->device_features = features;
	t->nr_queues = nr_queues;
	t->queue_max = queue_max;
	t->config = config;
	t->config_len = config_len;
	t->ops = ops;
	t->dev = dev;
	t->irq = irq;
	t->irq_opaque = irq_opaque;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

static void vmmio_raise(struct virtio_mmio *t, uint32_t why)
{
	t->isr |= why;
	if (t->irq)
		t->irq(t->irq_opaque);
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q)
{
	if (q >= t->nr_queues || !t->vq[q].ready)
		return;
	if (vq_should_notify(&t->vq[q]))
		vmmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	t->live = false;
	/* A guest can repeat this at will: log the first few only. */
	if (++t->needs_reset_events <= 10)
		pr_warn(
		    "virtio device %u: guest broke the protocol, needs reset",
		    t->device_id);
	/* The driver learns about NEEDS_RESET through a config interrupt. */
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

static void vmmio_reset(struct virtio_mmio *t)
{
	/* The device drains in-flight I/O before its buffers are forgotten. */
	if (t->ops && t->ops->reset)
		t->ops->reset(t->dev);
	t->driver_features = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	t->status = 0;
	t->isr = 0;
	t->live = false;
	memset(t->qcfg, 0, sizeof(t->qcfg));
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		vq_reset(&t->vq[i]);
}

/* DRIVER_OK: validate every ready queue, then start the device. */
static int vmmio_activate(struct virtio_mmio *t)
{
	int err;

	if (!(t->status & VIRTIO_STATUS_FEATURES_OK))
		return -EINVAL;
	for (unsigned i = 0; i < t->nr_queues; i++) {
		struct virtio_mmio_queue *q = &t->qcfg[i];

		if (!q->ready)
			continue;
		err = vq_setup(&t->vq[i], t->gm, q->num, t->queue_max, q->desc,
			       q->driver, q->device, t->driver_features);
		if (err) {
			if (t->needs_reset_events < 10)
				pr_warn(
				    "virtio device %u: queue %u rejected (num %u, "
				    "desc 0x%llx avail 0x%llx used 0x%llx): %s",
				    t->device_id, i, q->num,
				    (unsigned long long)q->desc,
				    (unsigned long long)q->driver,
				    (unsigned long long)q->device,
				    strerror(-err));
			return err;
		}
	}
	if (t->ops && t->ops->activate) {
		err = t->ops->activate(t->dev);
		if (err)
			return err;
	}
	return 0;
}

static void vmmio_kick(struct virtio_mmio *t, unsigned q)
{
	/* Kicks before DRIVER_OK are dropped: activation rescans anyway. */
	if (q >= t->nr_queues || !t->live || !t->vq[q].ready)
		return;
	if (t->ops && t->ops->notify)
		t->ops->notify(t->dev, q);
}

static void vmmio_write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;

	if (!v) {
		vmmio_reset(t);
		return;
	}
	v &= 0xff;
	/* The driver cannot clear NEEDS_RESET except by a reset. */
	v = (v & ~VIRTIO_STATUS_NEEDS_RESET) |
	    (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !(t->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		v &= ~VIRTIO_STATUS_FEATURES_OK; /* legacy drivers: refused */
	t->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    !(v & VIRTIO_STATUS_NEEDS_RESET)) {
		if (vmmio_activate(t)) {
			virtio_mmio_set_needs_reset(t);
			return;
		}
		t->live = true;
		/* Buffers made available before DRIVER_OK get processed now. */
		for (unsigned i = 0; i < t->nr_queues && t->live; i++)
			vmmio_kick(t, i);
	}
}

static struct virtio_mmio_queue *vmmio_cur_queue(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->nr_queues)
		return NULL;
	return &t->qcfg[t->queue_sel];
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffff00000000ULL) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | ((uint64_t)v << 32);
}

static void vmmio_config_read(struct virtio_mmio *t, uint64_t off, void *data,
			      uint32_t len)
{
	uint64_t end;

	/* Bytes past the end of config space read as zero. */
	memset(data, 0, len);
	if (__builtin_add_overflow(off, len, &end) || off >= t->config_len)
		return;
	if (end > t->config_len)
		end = t->config_len;
	memcpy(data, (const uint8_t *)t->config + off, end - off);
}

static uint32_t vmmio_reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_queue *q = vmmio_cur_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >> (32 * t->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? t->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_gen;
	default: /* write-only or unknown registers */
		return 0;
	}
}

static void vmmio_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_mmio_queue *q = vmmio_cur_queue(t);
	/* Queue registers are frozen while the selected queue is ready. */
	bool qw = q && !q->ready;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only during negotiation; never more than offered. */
		if (t->drv_feat_sel > 1 ||
		    (t->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		if (t->drv_feat_sel == 0)
			set_lo(&t->driver_features, v);
		else
			set_hi(&t->driver_features, v);
		t->driver_features &= t->device_features;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_feat_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		/* Out-of-range selections are kept but make queue regs inert. */
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (qw)
			q->num = v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		/* Once the device runs, the queue set is fixed until reset. */
		if (q && !(t->status & VIRTIO_STATUS_DRIVER_OK))
			q->ready = v & 1;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vmmio_kick(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		vmmio_write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		if (qw)
			set_lo(&q->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (qw)
			set_hi(&q->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		if (qw)
			set_lo(&q->driver, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (qw)
			set_hi(&q->driver, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		if (qw)
			set_lo(&q->device, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (qw)
			set_hi(&q->device, v);
		break;
	default: /* read-only or unknown: dropped */
		break;
	}
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, void *data,
		      uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		vmmio_config_read(t, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len != 4 || (off & 3)) {
		memset(data, 0, len); /* registers are 32-bit only */
	} else {
		v = vmmio_reg_read(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const void *data,
		       uint32_t len)
{
	uint64_t coff, end;
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		coff = off - VIRTIO_MMIO_CONFIG;
		if (t->ops && t->ops->config_write &&
		    !__builtin_add_overflow(coff, len, &end) &&
		    end <= t->config_len)
			t->ops->config_write(t->dev, coff, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		vmmio_reg_write(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_notify(struct virtio_mmio *t, unsigned q)
{
	pthread_mutex_lock(&t->lock);
	vmmio_kick(t, q);
	pthread_mutex_unlock(&t->lock);
}

static void bus_read_cb(void *dev, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(dev, off, data, len);
}

static void bus_write_cb(void *dev, uint64_t off, const void *data,
			 uint32_t len)
{
	virtio_mmio_write(dev, off, data, len);
}

const struct bus_ops virtio_mmio_bus_ops = {
    .read = bus_read_cb,
    .write = bus_write_cb,
};
