// SPDX-License-Identifier: MIT
/*
 * virtio-net against a SOCK_SEQPACKET socketpair standing in for the tap
 * (frames keep their boundaries, vnet header included). A tiny "driver"
 * builds RX and TX chains in fake guest memory and kicks through the MMIO
 * registers; the test then plays the event loop (virtio_net_kicked,
 * virtio_net_tap_event) and checks the epoll events the device asks for.
 * Checklist items 24-27, offload headers, mergeable RX buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../devices/virtio_net.h"

#define RAM	 (16ULL << 20)
#define RX_DESC	 0x1000ULL
#define RX_AVAIL 0x2000ULL
#define RX_USED	 0x3000ULL
#define TX_DESC	 0x5000ULL
#define TX_AVAIL 0x6000ULL
#define TX_USED	 0x7000ULL
#define RXBUF	 0x100000ULL /* RX buffers */
#define TXBUF	 0x400000ULL /* TX buffers */

struct q {
	uint16_t num, next_desc;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

struct drv {
	struct guest_mem gm;
	struct virtio_net *n;
	int peer; /* the "network" side of the socketpair */
	struct q q[2];
	unsigned irqs;
	unsigned wakes[2];
	unsigned offload_calls;
	unsigned offload;	 /* last flags given to set_offload */
	unsigned offload_refuse; /* flags the fake tap rejects */
	uint32_t events;	 /* last events the device asked for */
};

static struct drv *cur; /* the fake set_offload has no opaque */

struct dd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

static void irq(void *opaque)
{
	((struct drv *)opaque)->irqs++;
}

static void wake(void *opaque, unsigned q)
{
	((struct drv *)opaque)->wakes[q]++;
}

static int fake_offload(int fd, unsigned flags)
{
	(void)fd;
	cur->offload_calls++;
	if (flags & cur->offload_refuse)
		return -EINVAL;
	cur->offload = flags;
	return 0;
}

static void wr(struct drv *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&d->n->mmio, off, &v, 4);
}

static uint32_t rd(struct drv *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(&d->n->mmio, off, &v, 4);
	return v;
}

static uint8_t *gp(struct drv *d, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&d->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static void create(struct drv *d, const uint8_t *mac)
{
	int sv[2];
	struct virtio_net_params p = {
	    .mac = mac,
	    .index = 3,
	    .name = "test-net",
	    .irq = irq,
	    .irq_opaque = d,
	    .wake = wake,
	    .wake_opaque = d,
	    .set_offload = fake_offload,
	};

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.fd = sv[0];
	d->peer = sv[1];
	cur = d;
	assert_int_equal(virtio_net_create(&d->n, &d->gm, &p), 0);
}

static uint64_t dev_features(struct drv *d)
{
	uint64_t f;

	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void setup_queue(struct drv *d, unsigned i, uint16_t num, uint64_t desc,
			uint64_t avail, uint64_t used)
{
	struct q *q = &d->q[i];

	wr(d, VIRTIO_MMIO_QUEUE_SEL, i);
	assert_int_equal(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX),
			 VIRTIO_NET_QUEUE_MAX);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	q->num = num;
	q->next_desc = 0;
	q->desc = (void *)gp(d, desc, 16 * num);
	q->avail = (void *)gp(d, avail, 6 + 2 * num);
	q->used = (void *)gp(d, used, 6 + 8 * num);
	memset(q->avail, 0, 6 + 2 * num);
	memset(q->used, 0, 6 + 8 * num);
}

/* Negotiate feat (masked by what is offered), set up both queues, DRIVER_OK. */
static void start(struct drv *d, uint64_t feat, uint16_t rxnum)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	unsigned w0 = d->wakes[0], w1 = d->wakes[1];

	wr(d, VIRTIO_MMIO_STATUS, st);
	feat = (feat | VIRTIO_BIT(VIRTIO_F_VERSION_1)) & dev_features(d);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(d, VIRTIO_MMIO_STATUS, st);
	setup_queue(d, VIRTIO_NET_RXQ, rxnum, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(d, VIRTIO_NET_TXQ, 16, TX_DESC, TX_AVAIL, TX_USED);
	wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	assert_true(d->n->mmio.live);
	/* DRIVER_OK rescans both queues: through wake, never inline. */
	assert_int_equal(d->wakes[0], w0 + 1);
	assert_int_equal(d->wakes[1], w1 + 1);
	d->events = virtio_net_tap_events(d->n);
}

static int setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	assert_int_equal(gm_create_fake(&d->gm, RAM), 0);
	create(d, NULL);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct drv *d = *state;

	virtio_net_destroy(d->n);
	close(d->peer);
	gm_destroy(&d->gm);
	free(d);
	return 0;
}

static uint16_t add_chain(struct drv *d, unsigned qi, const struct dd *c,
			  unsigned n)
{
	struct q *q = &d->q[qi];
	uint16_t head = q->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % q->num);

		q->desc[idx] = (struct vring_desc){
		    c[i].addr, c[i].len,
		    (uint16_t)(c[i].flags |
			       (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
		    (uint16_t)((idx + 1) % q->num)};
	}
	q->next_desc = (uint16_t)((head + n) % q->num);
	q->avail->ring[q->avail->idx % q->num] = head;
	__atomic_store_n(&q->avail->idx, q->avail->idx + 1, __ATOMIC_RELEASE);
	return head;
}

/* The guest kicks queue qi (MMIO write), the event loop runs the kick. */
static void kick(struct drv *d, unsigned qi)
{
	unsigned before = d->wakes[qi];

	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
	assert_int_equal(d->wakes[qi], before + 1);
	d->events = virtio_net_kicked(d->n, qi);
}

static void tap_event(struct drv *d, uint32_t ev)
{
	d->events = virtio_net_tap_event(d->n, ev);
}

/* A TX chain: the header then len bytes of pattern, in one or two buffers. */
static uint16_t tx(struct drv *d, const struct virtio_net_hdr_v1 *h,
		   uint32_t len, bool split_hdr)
{
	uint8_t *p = gp(d, TXBUF, VIRTIO_NET_HDR_LEN + (uint64_t)len);
	struct dd c[3];

	memcpy(p, h, VIRTIO_NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		p[VIRTIO_NET_HDR_LEN + i] = (uint8_t)(i * 3 + 1);
	if (split_hdr) {
		/* 5 bytes, then the rest of the header and the frame. */
		c[0] = (struct dd){TXBUF, 5, 0};
		c[1] = (struct dd){TXBUF + 5, VIRTIO_NET_HDR_LEN - 5 + len, 0};
		return add_chain(d, VIRTIO_NET_TXQ, c, 2);
	}
	c[0] = (struct dd){TXBUF, VIRTIO_NET_HDR_LEN + len, 0};
	return add_chain(d, VIRTIO_NET_TXQ, c, 1);
}

static ssize_t peer_recv(struct drv *d, void *buf, size_t len)
{
	return recv(d->peer, buf, len, MSG_DONTWAIT);
}

/* The network sends a frame of len payload bytes after header h. */
static void peer_send(struct drv *d, const struct virtio_net_hdr_v1 *h,
		      uint32_t len, uint8_t seed)
{
	uint8_t *f = malloc(VIRTIO_NET_HDR_LEN + len);

	assert_non_null(f);
	memcpy(f, h, VIRTIO_NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		f[VIRTIO_NET_HDR_LEN + i] = (uint8_t)(i + seed);
	assert_int_equal(send(d->peer, f, VIRTIO_NET_HDR_LEN + len, 0),
			 (ssize_t)(VIRTIO_NET_HDR_LEN + len));
	free(f);
}

static void check_payload(const uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i + seed))
			fail_msg("payload byte %u: %u != %u", i, p[i],
				 (uint8_t)(i + seed));
}

static bool peer_pending(struct drv *d)
{
	uint8_t b;

	return recv(d->peer, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

/* ---- configuration ---- */

static void test_config(void **state)
{
	struct drv *d = *state;
	uint8_t cfg[8];
	uint64_t f = dev_features(d);
	static const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

	assert_int_equal(rd(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	virtio_mmio_read(&d->n->mmio, VIRTIO_MMIO_CONFIG, cfg, 8);
	/* Default MAC for index 3; link up. */
	assert_memory_equal(cfg, "\x52\x54\x00\x12\x34\x59", 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
	/* Not implemented, so never offered. */
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN));
	assert_false(f & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	/* Probing left the tap with no offloads. */
	assert_int_equal(d->offload, 0);
	/* Before DRIVER_OK the tap is not watched at all. */
	assert_int_equal(virtio_net_tap_events(d->n), 0);

	virtio_net_destroy(d->n);
	close(d->peer);
	create(d, mac);
	virtio_mmio_read(&d->n->mmio, VIRTIO_MMIO_CONFIG, cfg, 8);
	assert_memory_equal(cfg, mac, 6);
}

static void test_offload_probe(void **state)
{
	struct drv *d = *state;
	uint64_t f;

	/* A tap that refuses TSO6: that offload alone is not offered. */
	virtio_net_destroy(d->n);
	close(d->peer);
	d->offload_refuse = VIRTIO_NET_TUN_F_TSO6;
	create(d, NULL);
	f = dev_features(d);
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));

	/* No CSUM at all: no offload in either direction. */
	virtio_net_destroy(d->n);
	close(d->peer);
	d->offload_refuse = VIRTIO_NET_TUN_F_CSUM;
	create(d, NULL);
	f = dev_features(d);
	assert_false(f & (VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			  VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
			  VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			  VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	d->offload_refuse = 0;
}

static void test_offload_mapping(void **state)
{
	struct drv *d = *state;

	start(d,
	      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		  VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		  VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		  VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO),
	      16);
	assert_int_equal(d->offload,
			 VIRTIO_NET_TUN_F_CSUM | VIRTIO_NET_TUN_F_TSO4 |
			     VIRTIO_NET_TUN_F_TSO6 | VIRTIO_NET_TUN_F_UFO);
	/* Reset: the tap goes back to no offloads. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(d->offload, 0);
	assert_int_equal(virtio_net_tap_events(d->n), 0);

	/* TSO without GUEST_CSUM (a broken driver): nothing is enabled. */
	start(d, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4), 16);
	assert_int_equal(d->offload, 0);
	wr(d, VIRTIO_MMIO_STATUS, 0);

	start(d, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM), 16);
	assert_int_equal(d->offload, VIRTIO_NET_TUN_F_CSUM);
}

/* ---- TX ---- */

static void test_tx_basic(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {.num_buffers = 0x7777};
	uint8_t buf[256];
	uint16_t head;

	start(d, 0, 16);
	head = tx(d, &h, 60, true);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(peer_recv(d, buf, sizeof(buf)),
			 VIRTIO_NET_HDR_LEN + 60);
	/* Our header copy: num_buffers cleared, the rest as the guest wrote it. */
	assert_int_equal(buf[10] | buf[11] << 8, 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], VIRTIO_NET_HDR_GSO_NONE);
	for (unsigned i = 0; i < 60; i++)
		assert_int_equal(buf[VIRTIO_NET_HDR_LEN + i],
				 (uint8_t)(i * 3 + 1));
	assert_int_equal(d->q[1].used->idx, 1);
	assert_int_equal(d->q[1].used->ring[0].id, head);
	assert_int_equal(d->q[1].used->ring[0].len, 0); /* nothing written */
	assert_int_equal(d->irqs, 1);
	assert_int_equal(d->n->stats.tx.packets, 1);
	assert_int_equal(d->n->stats.tx.bytes, 60);
	assert_int_equal(d->n->stats.tx.dropped, 0);
	assert_false(d->events & EPOLLOUT);
}

/* Checklist 24: oversized and undersized TX frames are dropped and counted. */
static void test_tx_size_limits(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	uint8_t *buf = malloc(VIRTIO_NET_MAX_TX + 16);
	struct dd c;

	assert_non_null(buf);
	start(d, 0, 16);
	/* One byte too many: dropped. */
	tx(d, &h, VIRTIO_NET_MAX_TX - VIRTIO_NET_HDR_LEN + 1, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
	assert_int_equal(d->n->stats.tx_too_big, 1);
	/* Exactly the limit: sent whole. */
	tx(d, &h, VIRTIO_NET_MAX_TX - VIRTIO_NET_HDR_LEN, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(peer_recv(d, buf, VIRTIO_NET_MAX_TX + 16),
			 VIRTIO_NET_MAX_TX);
	/* Shorter than the header (11 bytes), and an empty buffer: dropped. */
	c = (struct dd){TXBUF, VIRTIO_NET_HDR_LEN - 1, 0};
	add_chain(d, VIRTIO_NET_TXQ, &c, 1);
	c = (struct dd){TXBUF, 0, 0};
	add_chain(d, VIRTIO_NET_TXQ, &c, 1);
	kick(d, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
	assert_int_equal(d->n->stats.tx_too_small, 2);
	/* A header alone (empty frame) is legal as far as we are concerned. */
	tx(d, &h, 0, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(peer_recv(d, buf, 64), VIRTIO_NET_HDR_LEN);

	/* Every chain came back, dropped ones with used.len 0. */
	assert_int_equal(d->q[1].used->idx, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(d->q[1].used->ring[i].len, 0);
	assert_int_equal(d->n->stats.tx.packets, 2);
	assert_int_equal(d->n->stats.tx.dropped, 3);
	assert_int_equal(d->n->stats.tx.bytes,
			 VIRTIO_NET_MAX_TX - VIRTIO_NET_HDR_LEN);
	free(buf);
}

static void test_tx_offload_header(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .csum_start = 34,
				      .csum_offset = 16};
	uint8_t buf[256];
	struct dd c[2];

	/* CSUM not negotiated: a NEEDS_CSUM frame is refused. */
	start(d, 0, 16);
	tx(d, &h, 100, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
	assert_int_equal(d->n->stats.tx_bad_offload, 1);
	wr(d, VIRTIO_MMIO_STATUS, 0);

	/* CSUM + HOST_TSO4: the header reaches the tap unchanged. */
	start(d,
	      VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		  VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4),
	      16);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = 54;
	tx(d, &h, 100, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(peer_recv(d, buf, sizeof(buf)),
			 VIRTIO_NET_HDR_LEN + 100);
	assert_int_equal(buf[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(buf[1], VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(buf[2] | buf[3] << 8, 54);
	assert_int_equal(buf[4] | buf[5] << 8, 1448);
	assert_int_equal(buf[6] | buf[7] << 8, 34);
	assert_int_equal(buf[8] | buf[9] << 8, 16);
	/* TSO6, UFO and ECN were not negotiated / offered: dropped. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	tx(d, &h, 100, false);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	tx(d, &h, 100, false);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	tx(d, &h, 100, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
	assert_int_equal(d->n->stats.tx_bad_offload, 4);

	/* A device-writable buffer in a TX chain: dropped. */
	h = (struct virtio_net_hdr_v1){0};
	memcpy(gp(d, TXBUF, 12), &h, 12);
	c[0] = (struct dd){TXBUF, 64, 0};
	c[1] = (struct dd){TXBUF + 64, 64, VRING_DESC_F_WRITE};
	add_chain(d, VIRTIO_NET_TXQ, c, 2);
	kick(d, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
	assert_int_equal(d->n->stats.tx_bad_chain, 1);
	assert_int_equal(d->q[1].used->idx, 5);
}

/* Checklist 27: EAGAIN on the tap waits for EPOLLOUT, never spins. */
static void test_tx_eagain(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	uint8_t buf[4096];
	int small = 4096, junk = 0;
	uint16_t head;

	start(d, 0, 16);
	/* Fill the "tap": its peer stops reading. */
	assert_int_equal(
	    setsockopt(d->n->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
	    0);
	memset(buf, 0xab, sizeof(buf));
	while (send(d->n->fd, buf, 1000, MSG_DONTWAIT) > 0)
		junk++;
	assert_int_equal(errno, EAGAIN);
	while (send(d->n->fd, buf, 1, MSG_DONTWAIT) > 0)
		junk++;
	assert_int_equal(errno, EAGAIN);
	assert_true(junk > 0);

	head = tx(d, &h, 200, false);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(d->n->stats.tx_eagain, 1);
	assert_true(d->events & EPOLLOUT);
	assert_int_equal(d->q[1].used->idx, 0); /* the chain is not consumed */
	assert_int_equal(d->n->stats.tx.dropped, 0);
	/* More kicks while waiting: no write attempt, no progress, no spin. */
	kick(d, VIRTIO_NET_TXQ);
	kick(d, VIRTIO_NET_TXQ);
	assert_int_equal(d->n->stats.tx_eagain, 1);
	assert_int_equal(d->q[1].used->idx, 0);

	/* The peer reads: writable again, the frame goes out whole. */
	for (int i = 0; i < junk; i++)
		assert_true(peer_recv(d, buf, sizeof(buf)) > 0);
	assert_false(peer_pending(d));
	tap_event(d, EPOLLOUT);
	assert_int_equal(peer_recv(d, buf, sizeof(buf)),
			 VIRTIO_NET_HDR_LEN + 200);
	assert_int_equal(buf[VIRTIO_NET_HDR_LEN + 1], 4);
	assert_int_equal(d->q[1].used->idx, 1);
	assert_int_equal(d->q[1].used->ring[0].id, head);
	assert_false(d->events & EPOLLOUT);
	assert_int_equal(d->n->stats.tx.packets, 1);
}

static void test_tx_budget(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	uint8_t buf[64];
	unsigned got = 0;

	/* A 256-entry TX ring full of frames: the first pass stops at the
	 * budget and asks to be called again through wake. */
	start(d, 0, 16);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	setup_queue(d, VIRTIO_NET_RXQ, 16, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(d, VIRTIO_NET_TXQ, 256, TX_DESC, TX_AVAIL,
		    TX_USED + 0x1000);
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(d->n->mmio.live);
	for (unsigned i = 0; i < 256; i++)
		tx(d, &h, 8, false);
	d->wakes[1] = 0;
	d->events = virtio_net_kicked(d->n, VIRTIO_NET_TXQ);
	assert_int_equal(d->q[1].used->idx, VIRTIO_NET_BUDGET);
	assert_int_equal(d->wakes[1], 1);
	while (peer_recv(d, buf, sizeof(buf)) > 0)
		got++;
	assert_int_equal(got, VIRTIO_NET_BUDGET);
}

/* ---- RX ---- */

static void test_rx_basic(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID,
				      .num_buffers = 0x5555};
	struct dd c[2] = {{RXBUF, 6, VRING_DESC_F_WRITE},
			  {RXBUF + 0x1000, 2000, VRING_DESC_F_WRITE}};
	struct virtio_net_hdr_v1 got;
	uint8_t *p;
	uint16_t head;

	start(d, 0, 16);
	/* No buffers yet: the device does not want EPOLLIN. */
	assert_false(d->events & EPOLLIN);
	head = add_chain(d, VIRTIO_NET_RXQ, c, 2);
	kick(d, VIRTIO_NET_RXQ);
	assert_true(d->events & EPOLLIN);

	peer_send(d, &h, 60, 9);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 1);
	assert_int_equal(d->q[0].used->ring[0].id, head);
	assert_int_equal(d->q[0].used->ring[0].len, VIRTIO_NET_HDR_LEN + 60);
	/* The header spans both buffers: 6 + 6 bytes. */
	memcpy(&got, gp(d, RXBUF, 6), 6);
	memcpy((uint8_t *)&got + 6, gp(d, RXBUF + 0x1000, 6), 6);
	assert_int_equal(got.num_buffers, 1);
	assert_int_equal(got.flags, 0); /* no GUEST_CSUM: flags must be 0 */
	p = gp(d, RXBUF + 0x1000 + 6, 60);
	check_payload(p, 60, 9);
	assert_int_equal(d->irqs, 1);
	assert_int_equal(d->n->stats.rx.packets, 1);
	assert_int_equal(d->n->stats.rx.bytes, 60);
	/* The ring is empty again: stop reading. */
	assert_false(d->events & EPOLLIN);
}

/* Checklist 25: an RX chain smaller than the frame: dropped, counted. */
static void test_rx_chain_too_small(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	struct dd c = {RXBUF, 50, VRING_DESC_F_WRITE};
	uint8_t *p = gp(d, RXBUF, 64);
	uint16_t head;

	start(d, 0, 16);
	memset(p, 0xee, 64);
	head = add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 39, 1); /* 51 bytes: one too many */
	tap_event(d, EPOLLIN);
	assert_int_equal(d->n->stats.rx_too_small, 1);
	assert_int_equal(d->n->stats.rx.dropped, 1);
	assert_int_equal(d->q[0].used->idx, 0); /* never truncated */
	assert_int_equal(p[0], 0xee);		/* nothing written */
	assert_false(peer_pending(d));		/* the frame is gone */
	/* The buffer is kept for the next frame, which fits exactly. */
	assert_true(d->events & EPOLLIN);
	peer_send(d, &h, 38, 2);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 1);
	assert_int_equal(d->q[0].used->ring[0].id, head);
	assert_int_equal(d->q[0].used->ring[0].len, 50);
	check_payload(p + VIRTIO_NET_HDR_LEN, 38, 2);
	assert_int_equal(d->n->stats.rx.packets, 1);
}

/* Checklist 26: no RX buffers: the tap is not read until the guest adds some. */
static void test_rx_no_buffers(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	struct dd c = {RXBUF, 2048, VRING_DESC_F_WRITE};

	start(d, 0, 16);
	assert_false(d->events & EPOLLIN);
	peer_send(d, &h, 100, 5);
	peer_send(d, &h, 100, 6);
	/* Even if the event loop calls anyway, nothing is read or dropped. */
	tap_event(d, EPOLLIN);
	assert_false(d->events & EPOLLIN);
	assert_int_equal(d->n->stats.rx.dropped, 0);
	assert_int_equal(d->n->stats.rx.packets, 0);
	assert_true(d->n->stats.rx_no_buffers >= 1);
	{
		uint8_t b[256];

		/* Both frames still wait in the "tap" (peek from the device side). */
		assert_int_equal(
		    recv(d->n->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT),
		    VIRTIO_NET_HDR_LEN + 100);
	}
	/* One buffer arrives: one frame is delivered, then reading stops again. */
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	assert_int_equal(d->q[0].used->idx, 1);
	check_payload(gp(d, RXBUF + VIRTIO_NET_HDR_LEN, 100), 100, 5);
	assert_false(d->events & EPOLLIN);
	c.addr = RXBUF + 0x1000;
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	assert_int_equal(d->q[0].used->idx, 2);
	check_payload(gp(d, RXBUF + 0x1000 + VIRTIO_NET_HDR_LEN, 100), 100, 6);
	assert_int_equal(d->n->stats.rx.packets, 2);
	assert_int_equal(d->n->stats.rx.dropped, 0);
}

static void test_rx_mergeable(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0}, got;
	uint16_t heads[4];
	uint8_t *frame = malloc(2500);

	assert_non_null(frame);
	start(d, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 16);
	for (unsigned i = 0; i < 4; i++) {
		struct dd c = {RXBUF + i * 0x1000ULL, 1000, VRING_DESC_F_WRITE};

		heads[i] = add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	}
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 2500, 7); /* 2512 bytes: 1000 + 1000 + 512 */
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(d->q[0].used->ring[i].id, heads[i]);
	assert_int_equal(d->q[0].used->ring[0].len, 1000);
	assert_int_equal(d->q[0].used->ring[1].len, 1000);
	assert_int_equal(d->q[0].used->ring[2].len, 512);
	memcpy(&got, gp(d, RXBUF, 12), 12);
	assert_int_equal(got.num_buffers, 3);
	memcpy(frame, gp(d, RXBUF + 12, 988), 988);
	memcpy(frame + 988, gp(d, RXBUF + 0x1000, 1000), 1000);
	memcpy(frame + 1988, gp(d, RXBUF + 0x2000, 512), 512);
	check_payload(frame, 2500, 7);
	assert_int_equal(d->irqs, 1);
	assert_int_equal(d->n->stats.rx.packets, 1);
	assert_int_equal(d->n->stats.rx.bytes, 2500);
	/* One buffer left: a small frame takes it alone, num_buffers 1. */
	peer_send(d, &h, 100, 8);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 4);
	assert_int_equal(d->q[0].used->ring[3].id, heads[3]);
	memcpy(&got, gp(d, RXBUF + 0x3000, 12), 12);
	assert_int_equal(got.num_buffers, 1);
	free(frame);
}

static void test_rx_mergeable_waits(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0}, got;
	struct dd c = {RXBUF, 1000, VRING_DESC_F_WRITE};

	start(d, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 16);
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	c.addr = RXBUF + 0x1000;
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 2500, 3);
	tap_event(d, EPOLLIN);
	/* Two buffers are not enough: nothing published, the frame waits,
	 * and the tap is no longer read. */
	assert_int_equal(d->q[0].used->idx, 0);
	assert_false(d->events & EPOLLIN);
	assert_int_equal(d->n->stats.rx.dropped, 0);
	c.addr = RXBUF + 0x2000;
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	assert_int_equal(d->q[0].used->idx, 3);
	memcpy(&got, gp(d, RXBUF, 12), 12);
	assert_int_equal(got.num_buffers, 3);
	check_payload(gp(d, RXBUF + 0x2000, 512), 512, (uint8_t)(3 + 1988));
	assert_int_equal(d->n->stats.rx.packets, 1);
}

static void test_rx_mergeable_ring_too_small(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};

	/* A 4-entry ring of 100-byte buffers can never hold 1012 bytes. */
	start(d, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 4);
	for (unsigned i = 0; i < 4; i++) {
		struct dd c = {RXBUF + i * 0x1000ULL, 100, VRING_DESC_F_WRITE};

		add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	}
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 1000, 1);
	peer_send(d, &h, 50, 2);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->n->stats.rx_too_small, 1);
	assert_int_equal(d->n->stats.rx.dropped, 1);
	/* The buffers were not used for the dropped frame: the next one fits. */
	assert_int_equal(d->q[0].used->idx, 1);
	assert_int_equal(d->q[0].used->ring[0].id, 0);
	assert_int_equal(d->q[0].used->ring[0].len, 62);
	check_payload(gp(d, RXBUF + 12, 50), 50, 2);
}

static void test_rx_offload_header(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				      .hdr_len = 54,
				      .gso_size = 1448,
				      .csum_start = 34,
				      .csum_offset = 16};
	struct virtio_net_hdr_v1 got;
	struct dd c = {RXBUF, 4096, VRING_DESC_F_WRITE};

	start(d,
	      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		  VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4),
	      16);
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 3000, 4);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 1);
	memcpy(&got, gp(d, RXBUF, 12), 12);
	assert_int_equal(got.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(got.hdr_len, 54);
	assert_int_equal(got.gso_size, 1448);
	assert_int_equal(got.csum_start, 34);
	assert_int_equal(got.csum_offset, 16);
	assert_int_equal(got.num_buffers, 1);
	/* A GSO type the driver did not negotiate never reaches it. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	c.addr = RXBUF + 0x2000;
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 100, 4);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 1);
	assert_int_equal(d->n->stats.rx_errors, 1);
	assert_int_equal(d->n->stats.rx.dropped, 1);
}

static void test_rx_short_frame(void **state)
{
	struct drv *d = *state;
	struct dd c = {RXBUF, 2048, VRING_DESC_F_WRITE};
	uint8_t junk[5] = {1, 2, 3, 4, 5};

	start(d, 0, 16);
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	/* Shorter than a vnet header: not a frame. */
	assert_int_equal(send(d->peer, junk, sizeof(junk), 0), 5);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 0);
	assert_int_equal(d->n->stats.rx.dropped, 1);
	assert_true(d->events & EPOLLIN);
}

/* ---- protocol errors, threads, reset ---- */

static void test_notify_defers_io(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};

	start(d, 0, 16);
	d->wakes[0] = d->wakes[1] = 0;
	tx(d, &h, 10, false);
	/* The MMIO write (a vCPU thread) only wakes the event loop. */
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	assert_int_equal(d->wakes[1], 1);
	assert_false(peer_pending(d));
	/* Out-of-range queue numbers are ignored. */
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	assert_int_equal(d->wakes[0] + d->wakes[1], 1);
	assert_int_equal(virtio_net_kicked(d->n, 7),
			 virtio_net_tap_events(d->n));
	d->events = virtio_net_kicked(d->n, VIRTIO_NET_TXQ);
	assert_true(peer_pending(d));
}

static void test_tx_broken_ring(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};

	start(d, 0, 16);
	tx(d, &h, 10, false);
	/* avail.idx jumps past the queue size (checklist 9). */
	d->q[1].avail->idx = 100;
	kick(d, VIRTIO_NET_TXQ);
	assert_true(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(d->n->mmio.live);
	assert_false(peer_pending(d));
	assert_int_equal(d->events, 0); /* the tap is not watched any more */
	/* Later kicks do nothing. */
	d->events = virtio_net_kicked(d->n, VIRTIO_NET_TXQ);
	assert_false(peer_pending(d));
}

static void test_rx_broken_chain(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	struct dd c = {RAM - 16, 64,
		       VRING_DESC_F_WRITE}; /* past the end of RAM */

	start(d, 0, 16);
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 20, 0);
	tap_event(d, EPOLLIN);
	assert_true(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(d->q[0].used->idx, 0);
	assert_false(d->events & EPOLLIN);
}

static void test_reset_drops_staged(void **state)
{
	struct drv *d = *state;
	struct virtio_net_hdr_v1 h = {0};
	struct dd c = {RXBUF, 100, VRING_DESC_F_WRITE};

	start(d, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 16);
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 500, 0);
	tap_event(d, EPOLLIN);
	assert_int_not_equal(d->n->rx_len, 0); /* staged, waiting for buffers */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(d->n->rx_len, 0);
	assert_int_equal(virtio_net_tap_events(d->n), 0);
	/* A new driver starts clean. */
	start(d, 0, 16);
	c.len = 2048;
	add_chain(d, VIRTIO_NET_RXQ, &c, 1);
	kick(d, VIRTIO_NET_RXQ);
	peer_send(d, &h, 30, 1);
	tap_event(d, EPOLLIN);
	assert_int_equal(d->q[0].used->idx, 1);
	assert_int_equal(d->q[0].used->ring[0].len, 42);
}

static void test_stats_print(void **state)
{
	struct drv *d = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	d->n->stats.rx.packets = 3;
	d->n->stats.tx.dropped = 2;
	d->n->stats.tx_too_big = 2;
	virtio_net_print_stats(d->n, f);
	fclose(f);
	assert_non_null(strstr(buf, "test-net 52:54:00:12:34:59\n"));
	assert_non_null(strstr(buf, "  rx  packets          3"));
	assert_non_null(strstr(buf, "too-big 2"));
	/* Header plus one line per direction. */
	assert_int_equal(
	    strchr(strchr(strchr(buf, '\n') + 1, '\n') + 1, '\n')[1], '\0');
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_config),
	    T(test_offload_probe),
	    T(test_offload_mapping),
	    T(test_tx_basic),
	    T(test_tx_size_limits),
	    T(test_tx_offload_header),
	    T(test_tx_eagain),
	    T(test_tx_budget),
	    T(test_rx_basic),
	    T(test_rx_chain_too_small),
	    T(test_rx_no_buffers),
	    T(test_rx_mergeable),
	    T(test_rx_mergeable_waits),
	    T(test_rx_mergeable_ring_too_small),
	    T(test_rx_offload_header),
	    T(test_rx_short_frame),
	    T(test_notify_defers_io),
	    T(test_tx_broken_ring),
	    T(test_rx_broken_chain),
	    T(test_reset_drops_staged),
	    T(test_stats_print),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
