// SPDX-License-Identifier: MIT
/*
 * Split virtqueue: the only code that reads the rings the guest writes.
 *
 * Memory ordering (the driver runs concurrently on another CPU):
 *  - pop: load avail->idx with acquire before reading the ring entry and
 *    the descriptors it names, pairing with the driver's write barrier
 *    between filling them and bumping avail->idx;
 *  - push: write the used element, then store used->idx with release, so
 *    the driver never sees the index before the element;
 *  - notify decisions: a full barrier between the used->idx store and the
 *    load of used_event / avail->flags (and between the avail_event store
 *    and re-reading avail->idx), because the driver does the mirror image
 *    (store event, full barrier, load index); without it both sides could
 *    miss each other's update and the queue would stall.
 */
#include "virtqueue.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
/* Keeps the compiler from re-reading guest memory instead of our copy. */
#define vq_barrier() __asm__ __volatile__("" ::: "memory")

static bool is_pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

void vq_reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int vq_setup(struct virtqueue *vq, const struct guest_mem *gm, uint32_t num,
	     uint32_t max, uint64_t desc, uint64_t avail, uint64_t used,
	     uint64_t features)
{
	vq_reset(vq);
	if (!is_pow2(num) || num > max || num > VQ_MAX_SIZE)
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EFAULT;
	vq->desc = gm_ptr(gm, desc, VRING_DESC_SIZE(num));
	vq->avail = gm_ptr(gm, avail, VRING_AVAIL_SIZE(num));
	vq->used = gm_ptr(gm, used, VRING_USED_SIZE(num));
	if (!vq->desc || !vq->avail || !vq->used) {
		vq_reset(vq);
		return -EFAULT;
	}
	vq->gm = gm;
	vq->num = (uint16_t)num;
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	vq->ready = true;
	return 0;
}

static uint16_t *vq_used_event(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *vq_avail_event(struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

uint16_t vq_avail_pending(const struct virtqueue *vq)
{
	uint16_t idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);

	return (uint16_t)(idx - vq->last_avail);
}

/* Read one descriptor exactly once; only the copy is used afterwards. */
static void vq_read_desc(const void *src, struct vring_desc *d)
{
	memcpy(d, src, sizeof(*d));
	vq_barrier();
}

static int vq_broken(struct virtqueue *vq)
{
	vq->broken = true;
	return -EPROTO;
}

int vq_pop(struct virtqueue *vq, struct vq_elem *e)
{
	const uint8_t *table;
	uint32_t table_len, limit, count = 0;
	bool in_indirect = false;
	uint16_t pending, idx;

	if (!vq->ready || vq->broken)
		return -EPROTO;
	pending = vq_avail_pending(vq); /* acquire: see the entries below */
	if (pending > vq->num)
		return vq_broken(vq); /* never spin on a bogus index */
	if (!pending)
		return 0;

	/* num is a power of two (vq_setup): mask, never divide. */
	idx = __atomic_load_n(&vq->avail->ring[vq->last_avail & (vq->num - 1)],
			      __ATOMIC_RELAXED);
	vq->last_avail++;
	if (idx >= vq->num)
		return vq_broken(vq);

	memset(e, 0, offsetof(struct vq_elem, seg));
	e->head = idx;
	table = (const uint8_t *)vq->desc;
	table_len = limit = vq->num;
	for (;;) {
		struct vring_desc d;
		struct vq_seg *s;

		/* A chain visits each descriptor at most once: more is a loop. */
		if (count >= limit)
			return vq_broken(vq);
		vq_read_desc(table + (uint64_t)idx * sizeof(d), &d);
		count++;

		if (d.flags & VRING_DESC_F_INDIRECT) {
			/*
			 * Only as the head of a chain, alone (no NEXT), never
			 * nested, and only if negotiated; a table holds whole
			 * descriptors and at most VQ_MAX_SIZE of them.
			 */
			if (!vq->indirect || in_indirect || count != 1 ||
			    (d.flags & VRING_DESC_F_NEXT) || !d.len ||
			    d.len % sizeof(d) ||
			    d.len / sizeof(d) > VQ_MAX_SIZE)
				return vq_broken(vq);
			table = gm_ptr(vq->gm, d.addr, d.len);
			if (!table)
				return vq_broken(vq);
			table_len = limit = d.len / sizeof(d);
			in_indirect = true;
			count = 0;
			idx = 0;
			continue;
		}

		if (d.flags & VRING_DESC_F_WRITE) {
			s = &e->seg[e->nr_out + e->nr_in++];
			e->in_len += d.len;
		} else {
			if (e->nr_in) /* readable after writable */
				return vq_broken(vq);
			s = &e->seg[e->nr_out++];
			e->out_len += d.len;
		}
		s->len = d.len;
		s->ptr = NULL;
		/* Zero-length buffers are legal and never dereferenced. */
		if (d.len) {
			s->ptr = gm_ptr(vq->gm, d.addr, d.len);
			if (!s->ptr) /* wraps, outside RAM or across the hole */
				return vq_broken(vq);
		}

		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		idx = d.next;
		if (idx >= table_len)
			return vq_broken(vq);
	}
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *u =
	    &vq->used->ring[vq->used_idx & (vq->num - 1)];

	__atomic_store_n(&u->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, len, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* release: the element is visible before the index that covers it */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void vq_push_many(struct virtqueue *vq, const struct vring_used_elem *el,
		  unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vring_used_elem *u =
		    &vq->used
			 ->ring[(uint16_t)(vq->used_idx + i) & (vq->num - 1)];

		__atomic_store_n(&u->id, el[i].id, __ATOMIC_RELAXED);
		__atomic_store_n(&u->len, el[i].len, __ATOMIC_RELAXED);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* release: every element is visible before the index that covers it */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old, new, event;
	bool valid;

	vq_mb(); /* used->idx store before used_event / flags load */
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);

	old = vq->signalled_used;
	new = vq->used_idx;
	valid = vq->signalled_valid;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(vq_used_event(vq), __ATOMIC_RELAXED);
	/* vring_need_event(): did we cross used_event since the last signal? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool vq_enable_notify(struct virtqueue *vq)
{
	if (vq->event_idx)
		__atomic_store_n(vq_avail_event(vq), vq->last_avail,
				 __ATOMIC_RELAXED);
	vq_mb(); /* avail_event store before re-reading avail->idx */
	return vq_avail_pending(vq) != 0;
}

/* Copy between buf and segments [first, end) of e, after skipping `skip`
 * bytes of them; to_guest picks the direction. Returns bytes copied. */
static uint64_t elem_copy(const struct vq_elem *e, unsigned first, unsigned end,
			  uint64_t skip, uint8_t *buf, uint64_t len,
			  bool to_guest)
{
	uint64_t done = 0;

	for (unsigned i = first; i < end && done < len; i++) {
		const struct vq_seg *s = &e->seg[i];
		uint64_t n;

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(s->ptr + skip, buf + done, n);
		else
			memcpy(buf + done, s->ptr + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

uint64_t vq_elem_read(const struct vq_elem *e, bool writable, uint64_t skip,
		      void *dst, uint64_t len)
{
	unsigned first = writable ? e->nr_out : 0;
	unsigned end = writable ? e->nr_out + e->nr_in : e->nr_out;

	return elem_copy(e, first, end, skip, dst, len, false);
}

uint64_t vq_elem_write(const struct vq_elem *e, uint64_t skip, const void *src,
		       uint64_t len)
{
	/* elem_copy only reads from buf when copying to the guest. */
	return elem_copy(e, e->nr_out, e->nr_out + e->nr_in, skip,
			 (uint8_t *)src, len, true);
}
