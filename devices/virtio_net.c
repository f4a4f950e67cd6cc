// SPDX-License-Identifier: MIT
/*
 * virtio-net device model. All state is protected by n->mmio.lock (see
 * virtio_mmio.h); the transport hooks run with it held, and the owner's
 * event-loop calls (virtio_net_kicked, virtio_net_tap_event) take it.
 *
 * TX: pop a chain, check it (device-readable only, header present, at most
 * VIRTIO_NET_MAX_TX bytes, offloads negotiated), then one writev() of our
 * copy of the header plus the guest's buffers. EAGAIN gives the chain back
 * (vq_unpop) and waits for EPOLLOUT.
 * RX: read one frame into a staging buffer only when the guest has posted
 * buffers, then copy it into one chain (or, with MRG_RXBUF, as many chains
 * as it takes, published together). A frame that does not fit is dropped
 * and counted; a frame waiting for buffers stays staged and the tap is not
 * read until the guest kicks the RX queue.
 */
#define _GNU_SOURCE
#include "virtio_net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../vmm/util.h"

_Static_assert(VIRTIO_NET_TUN_F_CSUM == TUN_F_CSUM &&
		   VIRTIO_NET_TUN_F_TSO4 == TUN_F_TSO4 &&
		   VIRTIO_NET_TUN_F_TSO6 == TUN_F_TSO6 &&
		   VIRTIO_NET_TUN_F_UFO == TUN_F_UFO,
	       "TUN_F_* values");

static bool has(const struct virtio_net *n, unsigned bit)
{
	return virtio_mmio_has_feature(&n->mmio, bit);
}

static bool queue_live(struct virtio_net *n, unsigned q)
{
	return n->mmio.live && n->mmio.vq[q].ready && !n->mmio.vq[q].broken;
}

/* A malformed ring: stop everything until the driver resets us. */
static void net_broken(struct virtio_net *n)
{
	n->rx_len = 0;
	virtio_mmio_set_needs_reset(&n->mmio);
}

/* ---- TX ---- */

/* Is this csum/GSO request something the driver negotiated? */
static bool tx_hdr_ok(const struct virtio_net *n,
		      const struct virtio_net_hdr_v1 *h)
{
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !has(n, VIRTIO_NET_F_CSUM))
		return false;
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(n, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(n, VIRTIO_NET_F_HOST_TSO6);
	default: /* UDP (HOST_UFO), ECN, unknown: not offered */
		return false;
	}
}

/* Send one chain. 0 (sent or dropped and counted) or -EAGAIN. */
static int tx_one(struct virtio_net *n, const struct vq_elem *e)
{
	struct iovec iov[VQ_MAX_SIZE + 1];
	struct virtio_net_hdr_v1 h;
	uint64_t skip = VIRTIO_NET_HDR_LEN;
	unsigned cnt = 1;
	ssize_t r;

	if (e->nr_in) {
		n->stats.tx_bad_chain++;
		goto drop;
	}
	if (e->out_len < VIRTIO_NET_HDR_LEN) {
		n->stats.tx_too_small++;
		goto drop;
	}
	if (e->out_len > VIRTIO_NET_MAX_TX) {
		n->stats.tx_too_big++;
		goto drop;
	}
	/* Our copy of the header is checked and sent: the guest may rewrite
	 * its own meanwhile. */
	vq_elem_read(e, false, 0, &h, sizeof(h));
	if (!tx_hdr_ok(n, &h)) {
		n->stats.tx_bad_offload++;
		goto drop;
	}
	h.num_buffers = 0;
	iov[0] = (struct iovec){&h, sizeof(h)};
	for (unsigned i = 0; i < e->nr_out; i++) {
		const struct vq_seg *s = &e->seg[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		iov[cnt++] = (struct iovec){s->ptr + skip, s->len - skip};
		skip = 0;
	}
	do
		r = writev(n->fd, iov, (int)cnt);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		n->stats.tx_eagain++;
		return -EAGAIN;
	}
	if (r < 0) {
		if (++n->stats.tx_errors <= 5)
			pr_warn("%s: tap write: %s", n->name, strerror(errno));
		goto drop;
	}
	n->stats.tx.packets++;
	n->stats.tx.bytes += e->out_len - VIRTIO_NET_HDR_LEN;
	return 0;
drop:
	n->stats.tx.dropped++;
	return 0;
}

static void tx_process(struct virtio_net *n)
{
	struct virtqueue *vq = &n->mmio.vq[VIRTIO_NET_TXQ];
	unsigned done = 0, pushed = 0;

	if (!queue_live(n, VIRTIO_NET_TXQ) || n->tx_wait_write)
		return;
	while (done < VIRTIO_NET_BUDGET) {
		int r = vq_pop(vq, &n->elem);

		if (r < 0) {
			net_broken(n);
			break;
		}
		if (!r) {
			if (vq_enable_notify(vq))
				continue; /* raced with the driver: look again */
			break;
		}
		if (tx_one(n, &n->elem) == -EAGAIN) {
			/* Not consumed: the same chain goes out on EPOLLOUT. */
			vq_unpop(vq, 1);
			n->tx_wait_write = true;
			break;
		}
		vq_push(vq, n->elem.head, 0);
		pushed++;
		done++;
	}
	if (pushed)
		virtio_mmio_signal_used(&n->mmio, VIRTIO_NET_TXQ);
	/* Out of budget with work left: come back after other events. */
	if (done == VIRTIO_NET_BUDGET && n->wake)
		n->wake(n->wake_opaque, VIRTIO_NET_TXQ);
}

/* ---- RX ---- */

/* Make the tap's header what this driver may see; false: drop the frame. */
static bool rx_fix_hdr(const struct virtio_net *n, struct virtio_net_hdr_v1 *h)
{
	if (!has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		/* No offloads were set: the frame is complete, flags must be 0. */
		h->flags = 0;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(n, VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(n, VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(n, VIRTIO_NET_F_GUEST_UFO);
	default:
		return false;
	}
}

static void rx_drop_too_small(struct virtio_net *n)
{
	n->stats.rx_too_small++;
	n->stats.rx.dropped++;
}

/*
 * Put the staged frame into guest buffers. 1: delivered; 0: not enough
 * buffers yet (frame stays staged, nothing consumed); -1: dropped.
 */
static int rx_deliver(struct virtio_net *n)
{
	struct virtqueue *vq = &n->mmio.vq[VIRTIO_NET_RXQ];
	struct virtio_net_hdr_v1 *h = (void *)n->rxbuf;
	uint32_t len = n->rx_len, off = 0;
	uint16_t nbuf = 0;
	int r;

	if (!rx_fix_hdr(n, h)) {
		n->stats.rx_errors++;
		n->stats.rx.dropped++;
		return -1;
	}
	if (!has(n, VIRTIO_NET_F_MRG_RXBUF)) {
		r = vq_pop(vq, &n->elem);
		if (r <= 0) {
			if (r < 0)
				net_broken(n);
			return r;
		}
		if (n->elem.in_len < len) {
			/* Never truncate: drop the frame, keep the buffer for
			 * the next (maybe smaller) one. */
			vq_unpop(vq, 1);
			rx_drop_too_small(n);
			return -1;
		}
		h->num_buffers = 1;
		vq_elem_write(&n->elem, 0, n->rxbuf, len);
		vq_push(vq, n->elem.head, len);
		goto delivered;
	}

	while (off < len) {
		struct vq_elem *e = nbuf ? &n->elem : &n->first;
		uint32_t chunk;

		if (nbuf == vq->num) {
			/* The whole ring cannot hold it: it never will. */
			vq_unpop(vq, nbuf);
			rx_drop_too_small(n);
			return -1;
		}
		r = vq_pop(vq, e);
		if (r < 0) {
			net_broken(n);
			return -1;
		}
		if (!r) {
			vq_unpop(vq,
				 nbuf); /* nothing published: try again later */
			return 0;
		}
		if (!nbuf && e->in_len < VIRTIO_NET_HDR_LEN) {
			/* The header must sit in the first buffer. */
			vq_unpop(vq, 1);
			rx_drop_too_small(n);
			return -1;
		}
		chunk = e->in_len < len - off ? (uint32_t)e->in_len : len - off;
		vq_elem_write(e, 0, n->rxbuf + off, chunk);
		n->used[nbuf] = (struct vring_used_elem){e->head, chunk};
		nbuf++;
		off += chunk;
	}
	h->num_buffers = nbuf;
	vq_elem_write(&n->first,
		      offsetof(struct virtio_net_hdr_v1, num_buffers),
		      &h->num_buffers, sizeof(h->num_buffers));
	vq_push_many(vq, n->used, nbuf);
delivered:
	n->stats.rx.packets++;
	n->stats.rx.bytes += len - VIRTIO_NET_HDR_LEN;
	return 1;
}

/* Read one frame into the staging buffer. 1: staged; 0: nothing to read. */
static int rx_read(struct virtio_net *n)
{
	ssize_t r;

	for (;;) {
		r = read(n->fd, n->rxbuf, VIRTIO_NET_RXBUF);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		/* A level-triggered error would spin: stop reading for good. */
		pr_err("%s: tap read: %s; receiving stops", n->name,
		       strerror(errno));
		n->stats.rx_errors++;
		n->rx_failed = true;
		return 0;
	}
	if (r == 0)
		return 0;
	if ((size_t)r >= VIRTIO_NET_RXBUF) {
		n->stats.rx_truncated++;
		n->stats.rx.dropped++;
		return -1;
	}
	if ((size_t)r < VIRTIO_NET_HDR_LEN) {
		n->stats.rx_errors++;
		n->stats.rx.dropped++;
		return -1;
	}
	n->rx_len = (uint32_t)r;
	return 1;
}

static void rx_process(struct virtio_net *n)
{
	struct virtqueue *vq = &n->mmio.vq[VIRTIO_NET_RXQ];
	unsigned pushed = 0;

	if (!queue_live(n, VIRTIO_NET_RXQ) || n->rx_failed)
		return;
	for (unsigned i = 0; i < VIRTIO_NET_BUDGET; i++) {
		int r;

		if (!n->rx_len) {
			/* No buffers: leave frames in the tap, stop polling it. */
			if (!vq_avail_pending(vq) && !vq_enable_notify(vq)) {
				n->rx_wait_bufs = true;
				n->stats.rx_no_buffers++;
				break;
			}
			r = rx_read(n);
			if (!r)
				break;
			if (r < 0)
				continue;
		}
		r = rx_deliver(n);
		if (!r) {
			n->rx_wait_bufs = true;
			n->stats.rx_no_buffers++;
			break;
		}
		n->rx_len = 0;
		if (r > 0)
			pushed++;
		if (!queue_live(n, VIRTIO_NET_RXQ))
			break;
	}
	if (pushed)
		virtio_mmio_signal_used(&n->mmio, VIRTIO_NET_RXQ);
	/* Out of budget: EPOLLIN is level-triggered, the loop comes back. */
}

/* ---- event-loop entry points ---- */

static uint32_t net_events(const struct virtio_net *n)
{
	uint32_t ev = 0;

	if (n->mmio.live && n->mmio.vq[VIRTIO_NET_RXQ].ready &&
	    !n->rx_wait_bufs && !n->rx_failed)
		ev |= EPOLLIN;
	if (n->mmio.live && n->tx_wait_write)
		ev |= EPOLLOUT;
	return ev;
}

uint32_t virtio_net_tap_events(struct virtio_net *n)
{
	uint32_t ev;

	pthread_mutex_lock(&n->mmio.lock);
	ev = net_events(n);
	pthread_mutex_unlock(&n->mmio.lock);
	return ev;
}

uint32_t virtio_net_kicked(struct virtio_net *n, unsigned q)
{
	uint32_t ev;

	pthread_mutex_lock(&n->mmio.lock);
	if (q == VIRTIO_NET_RXQ) {
		n->rx_wait_bufs = false; /* new buffers: read the tap again */
		rx_process(n);
	} else if (q == VIRTIO_NET_TXQ) {
		tx_process(n);
	}
	ev = net_events(n);
	pthread_mutex_unlock(&n->mmio.lock);
	return ev;
}

uint32_t virtio_net_tap_event(struct virtio_net *n, uint32_t events)
{
	uint32_t ev;

	pthread_mutex_lock(&n->mmio.lock);
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && n->tx_wait_write) {
		n->tx_wait_write = false;
		tx_process(n);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rx_process(n);
	ev = net_events(n);
	pthread_mutex_unlock(&n->mmio.lock);
	return ev;
}

/* ---- transport hooks (lock held, any thread) ---- */

static unsigned offload_flags(const struct virtio_net *n)
{
	unsigned f = 0;

	/* TUN_F_TSO* and UFO are only valid together with TUN_F_CSUM. */
	if (!has(n, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f = VIRTIO_NET_TUN_F_CSUM;
	if (has(n, VIRTIO_NET_F_GUEST_TSO4))
		f |= VIRTIO_NET_TUN_F_TSO4;
	if (has(n, VIRTIO_NET_F_GUEST_TSO6))
		f |= VIRTIO_NET_TUN_F_TSO6;
	if (has(n, VIRTIO_NET_F_GUEST_UFO))
		f |= VIRTIO_NET_TUN_F_UFO;
	return f;
}

static int net_activate(void *dev)
{
	struct virtio_net *n = dev;
	unsigned f = offload_flags(n);
	int err;

	/* Tell the tap what the guest accepts, before any frame is read. */
	err = n->set_offload(n->fd, f);
	if (err) {
		pr_warn("%s: TUNSETOFFLOAD 0x%x: %s", n->name, f,
			strerror(-err));
		return err;
	}
	n->offload = f;
	/* The tap is read once an RX kick has seen buffers (DRIVER_OK kicks). */
	n->rx_wait_bufs = true;
	n->tx_wait_write = false;
	n->rx_len = 0;
	return 0;
}

static void net_notify(void *dev, unsigned q)
{
	struct virtio_net *n = dev;

	/* Possibly a vCPU thread: hand the work to the event loop. */
	if (n->wake && q < 2)
		n->wake(n->wake_opaque, q);
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	/* Nothing is in flight: writes are synchronous. Drop the staged frame. */
	n->rx_len = 0;
	n->rx_wait_bufs = n->tx_wait_write = false;
	if (n->offload && !n->set_offload(n->fd, 0))
		n->offload = 0;
}

static const struct virtio_dev_ops net_ops = {
    .activate = net_activate,
    .notify = net_notify,
    .reset = net_reset,
};

/* ---- set-up ---- */

static int tun_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

void virtio_net_default_mac(unsigned index, uint8_t mac[6])
{
	/* 52:54:00 is locally administered and unicast. */
	const uint8_t base[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)(0x56 + index);
}

int virtio_net_create(struct virtio_net **out, const struct guest_mem *gm,
		      const struct virtio_net_params *p)
{
	static const struct {
		unsigned tun;
		uint64_t feat;
	} probe[] = {
	    {VIRTIO_NET_TUN_F_CSUM, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)},
	    {VIRTIO_NET_TUN_F_TSO4, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)},
	    {VIRTIO_NET_TUN_F_TSO6, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6)},
	    {VIRTIO_NET_TUN_F_UFO, VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO)},
	};
	const uint64_t guest_off = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
				   VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
				   VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
				   VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO);
	struct virtio_net *n;
	unsigned ok = 0;
	int err;

	n = calloc(1, sizeof(*n));
	if (!n) {
		close(p->fd);
		return -ENOMEM;
	}
	n->fd = p->fd;
	n->gm = gm;
	n->wake = p->wake;
	n->wake_opaque = p->wake_opaque;
	n->set_offload = p->set_offload ? p->set_offload : tun_set_offload;
	snprintf(n->name, sizeof(n->name), "%s",
		 p->name ? p->name : "virtio-net");
	n->rxbuf = malloc(VIRTIO_NET_RXBUF);
	if (!n->rxbuf) {
		err = -ENOMEM;
		goto fail;
	}
	if (p->mac)
		memcpy(n->cfg.mac, p->mac, 6);
	else
		virtio_net_default_mac(p->index, n->cfg.mac);
	n->cfg.status = VIRTIO_NET_S_LINK_UP;

	/*
	 * Offer a guest-side offload only if the tap takes the flag together
	 * with the ones accepted so far (TSO and UFO need CSUM). Then back to none until a
	 * driver negotiates.
	 */
	n->features = VIRTIO_NET_FEATURES & ~guest_off;
	for (unsigned i = 0; i < ARRAY_SIZE(probe); i++) {
		if (n->set_offload(n->fd, ok | probe[i].tun)) {
			if (!ok)
				break; /* no CSUM: nothing else can work */
			continue;
		}
		ok |= probe[i].tun;
		n->features |= probe[i].feat;
	}
	if (!(ok & VIRTIO_NET_TUN_F_CSUM)) {
		/* Also the host side: a tap without vnet offloads gets none. */
		n->features &= ~(VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
				 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
				 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
	}
	if (ok && (err = n->set_offload(n->fd, 0))) {
		pr_err("%s: TUNSETOFFLOAD 0: %s", n->name, strerror(-err));
		goto fail;
	}

	err = virtio_mmio_init(&n->mmio, gm, VIRTIO_ID_NET, n->features, 2,
			       VIRTIO_NET_QUEUE_MAX, &n->cfg, sizeof(n->cfg),
			       &net_ops, n, p->irq, p->irq_opaque);
	if (err)
		goto fail;
	*out = n;
	return 0;
fail:
	close(n->fd);
	free(n->rxbuf);
	free(n);
	return err;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_mmio_destroy(&n->mmio);
	close(n->fd);
	free(n->rxbuf);
	free(n);
}

static void print_dir(FILE *out, const char *dir,
		      const struct virtio_net_dir_stats *d, const char *why)
{
	fprintf(out, "  %s  packets %10llu  bytes %12llu  dropped %8llu%s\n",
		dir, (unsigned long long)d->packets,
		(unsigned long long)d->bytes, (unsigned long long)d->dropped,
		why);
}

void virtio_net_print_stats(void *opaque, FILE *out)
{
	struct virtio_net *n = opaque;
	const struct virtio_net_stats *s = &n->stats;
	const uint8_t *m = n->cfg.mac;
	char rx[160] = "", tx[160] = "";

	if (s->rx.dropped || s->rx_no_buffers)
		snprintf(
		    rx, sizeof(rx),
		    "  (too-small %llu, too-big %llu, bad %llu, no-buffer waits %llu)",
		    (unsigned long long)s->rx_too_small,
		    (unsigned long long)s->rx_truncated,
		    (unsigned long long)s->rx_errors,
		    (unsigned long long)s->rx_no_buffers);
	if (s->tx.dropped || s->tx_eagain)
		snprintf(
		    tx, sizeof(tx),
		    "  (too-small %llu, too-big %llu, bad %llu, EAGAIN waits %llu)",
		    (unsigned long long)s->tx_too_small,
		    (unsigned long long)s->tx_too_big,
		    (unsigned long long)(s->tx_bad_chain + s->tx_bad_offload +
					 s->tx_errors),
		    (unsigned long long)s->tx_eagain);
	fprintf(out, "%s %02x:%02x:%02x:%02x:%02x:%02x\n", n->name, m[0], m[1],
		m[2], m[3], m[4], m[5]);
	print_dir(out, "rx", &s->rx, rx);
	print_dir(out, "tx", &s->tx, tx);
}
