/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue core shared by every virtio device. The guest owns the
 * rings; everything read from them is validated before use:
 *  - vq_setup() checks the size and that each ring lies, aligned, inside
 *    guest RAM, then keeps host pointers to the rings;
 *  - vq_pop() copies each descriptor once, checks indices, loops, direction
 *    and every buffer with gm_ptr(), and hands out checked host pointers;
 *  - vq_push() publishes a used element; vq_should_notify() implements
 *    VIRTIO_RING_F_EVENT_IDX (or the NO_INTERRUPT flag without it).
 * A malformed ring makes the queue "broken": the device must then set
 * NEEDS_RESET; vq_pop() keeps failing until vq_setup() runs again.
 * None of this is thread-safe: the device's lock protects it.
 */
#ifndef DEVICES_VIRTQUEUE_H
#define DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/guest_mem.h"
#include "virtio.h"

#define VQ_MAX_SIZE 256 /* largest queue any device here offers */

/* One guest buffer: a checked host pointer (NULL when len is 0). */
struct vq_seg {
	uint8_t *ptr;
	uint32_t len;
};

/*
 * A popped chain. seg[0, nr_out) are device-readable, seg[nr_out,
 * nr_out + nr_in) device-writable (the ring forbids readable after
 * writable). Totals are 64-bit: 256 descriptors of 4 GiB cannot overflow.
 */
struct vq_elem {
	uint16_t head;
	uint16_t nr_out, nr_in;
	uint64_t out_len, in_len;
	struct vq_seg seg[VQ_MAX_SIZE];
};

struct virtqueue {
	const struct guest_mem *gm;
	bool ready;	/* vq_setup() succeeded */
	bool broken;	/* malformed ring seen: device needs reset */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t num;
	uint16_t last_avail; /* next avail entry to consume */
	uint16_t used_idx;   /* shadow of used->idx */
	uint16_t signalled_used;
	bool signalled_valid;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

/*
 * Validate and attach the rings. num must be a nonzero power of two <= max;
 * desc (16-aligned, 16*num bytes), avail (2-aligned, 6+2*num) and used
 * (4-aligned, 6+8*num) must each lie inside one RAM region.
 * 0, -EINVAL (size) or -EFAULT (placement).
 */
int vq_setup(struct virtqueue *vq, const struct guest_mem *gm, uint32_t num,
	     uint32_t max, uint64_t desc, uint64_t avail, uint64_t used,
	     uint64_t features);
void vq_reset(struct virtqueue *vq);

/*
 * Take the next available chain into *elem. 1: got one; 0: ring empty;
 * -EPROTO: the ring is malformed (index jump, bad head/next, loop,
 * indirect misuse, buffer outside RAM, readable after writable); the chain
 * is consumed and the queue is broken.
 */
int vq_pop(struct virtqueue *vq, struct vq_elem *elem);
/* Return chain head to the driver, len = bytes written into its buffers. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/*
 * Return n chains at once: the driver sees used->idx move once, after all
 * elements are written (virtio-net mergeable RX: a frame's buffers must
 * appear together).
 */
void vq_push_many(struct virtqueue *vq, const struct vring_used_elem *el,
		  unsigned n);
/*
 * Give back the last n popped chains unused (nothing written to the used
 * ring); the next vq_pop() takes them again, re-reading every descriptor.
 */
void vq_unpop(struct virtqueue *vq, uint16_t n);
/* After one or more vq_push(): must the driver be interrupted? */
bool vq_should_notify(struct virtqueue *vq);
/*
 * Tell the driver we will look at the ring again (avail_event with
 * EVENT_IDX) and return true if new entries appeared meanwhile, so the
 * caller polls again instead of missing them.
 */
bool vq_enable_notify(struct virtqueue *vq);
/* Entries the driver has made available that we have not taken yet. */
uint16_t vq_avail_pending(const struct virtqueue *vq);

/* Copy helpers over the segments of an element (skip bytes first). */
uint64_t vq_elem_read(const struct vq_elem *e, bool writable, uint64_t skip,
		      void *dst, uint64_t len);
uint64_t vq_elem_write(const struct vq_elem *e, uint64_t skip, const void *src,
		       uint64_t len);

#endif
