/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on a virtio-mmio transport, backed by a tap file descriptor
 * opened with IFF_VNET_HDR and a 12-byte vnet header (virtio_net_hdr_v1:
 * the guest's header and the tap's are the same bytes). Queue 0 is RX,
 * queue 1 TX. Nothing here calls KVM or epoll: the owner (vmm/vm_net.c, or a
 * unit test with a socketpair in place of the tap) drives it:
 *  - virtio_net_kicked(n, q): queue q has new buffers (ioeventfd, or the
 *    wake callback below);
 *  - virtio_net_tap_event(n, events): the tap is readable / writable;
 *  - both return the epoll events the tap fd should be watched for now:
 *    EPOLLIN only while the guest has RX buffers (a guest that posts none
 *    must not make us read and drop, Firecracker CVE-2020-16843), EPOLLOUT
 *    only after a write hit EAGAIN (wait, never spin).
 * The transport's notify hook may run on a vCPU thread (a QueueNotify
 * that no ioeventfd matched, DRIVER_OK): it only calls wake(q), so all tap
 * I/O stays on the owner's event-loop thread.
 */
#ifndef DEVICES_VIRTIO_NET_H
#define DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "virtio_mmio.h"
#include "virtqueue.h"

/* Feature bits (virtio 1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP	    3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80

struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "net header layout");
_Static_assert(sizeof(struct virtio_net_config) == 8, "net config layout");

#define VIRTIO_NET_HDR_LEN   12u
#define VIRTIO_NET_RXQ	     0
#define VIRTIO_NET_TXQ	     1
#define VIRTIO_NET_QUEUE_MAX 256
/*
 * Largest TX chain (header + frame) we pass on: a 64 KiB GSO frame plus
 * Ethernet and VLAN headers (Firecracker's MAX_BUFFER_SIZE).
 */
#define VIRTIO_NET_MAX_TX 65562u
/* RX staging buffer: anything the tap hands us this big was truncated. */
#define VIRTIO_NET_RXBUF (VIRTIO_NET_MAX_TX + 4096u)
/* Frames handled per callback before yielding to other event sources. */
#define VIRTIO_NET_BUDGET 256

/* What the guest may negotiate: only what is implemented. */
#define VIRTIO_NET_FEATURES                                                    \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |       \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS) |                                     \
	 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |  \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                                 \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |                                 \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |                                 \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |                                  \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |                                  \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6))

/* TUNSETOFFLOAD bits, as in <linux/if_tun.h>. */
#define VIRTIO_NET_TUN_F_CSUM 0x01
#define VIRTIO_NET_TUN_F_TSO4 0x02
#define VIRTIO_NET_TUN_F_TSO6 0x04
#define VIRTIO_NET_TUN_F_UFO  0x10

struct virtio_net_dir_stats {
	uint64_t packets, bytes, dropped;
};

struct virtio_net_stats {
	struct virtio_net_dir_stats rx, tx;
	/* Reasons behind the drops (tests assert them exactly). */
	uint64_t tx_too_big;   /* header + frame > VIRTIO_NET_MAX_TX */
	uint64_t tx_too_small; /* shorter than the virtio-net header */
	uint64_t tx_bad_chain; /* device-writable buffers in a TX chain */
	uint64_t
	    tx_bad_offload;    /* csum/GSO header the guest did not negotiate */
	uint64_t tx_errors;    /* the tap refused the frame */
	uint64_t tx_eagain;    /* waits for writability */
	uint64_t rx_too_small; /* guest buffers smaller than the frame */
	uint64_t rx_truncated; /* larger than our staging buffer */
	uint64_t rx_errors;    /* read errors */
	uint64_t rx_no_buffers; /* times reading stopped for lack of buffers */
};

struct virtio_net {
	struct virtio_mmio mmio; /* mmio.lock protects everything here */
	const struct guest_mem *gm;
	char name[32];
	int fd; /* the tap (or a test's datagram socket); owned */
	struct virtio_net_config cfg;

	/* Hooks: wake runs with the lock held, on any thread. */
	void (*wake)(void *opaque, unsigned q);
	void *wake_opaque;
	/* TUNSETOFFLOAD (tests replace it); 0 or -errno. */
	int (*set_offload)(int fd, unsigned flags);
	unsigned offload;  /* last TUN_F_* flags set */
	uint64_t features; /* offered to the guest */
	bool rx_failed;	   /* the tap read failed for good: stop reading */

	bool rx_wait_bufs;  /* a frame waits for guest buffers: EPOLLIN off */
	bool tx_wait_write; /* a TX write hit EAGAIN: EPOLLOUT on */
	uint32_t rx_len;    /* staged frame length (header included), 0: none */
	uint8_t *rxbuf;	    /* VIRTIO_NET_RXBUF bytes */

	struct vq_elem elem;  /* scratch for pops */
	struct vq_elem first; /* mergeable RX: the chain holding the header */
	struct vring_used_elem used[VIRTIO_NET_QUEUE_MAX];

	struct virtio_net_stats stats;
};

struct virtio_net_params {
	int fd;		    /* tap with IFF_VNET_HDR, vnet header size 12 */
	const uint8_t *mac; /* NULL: virtio_net_default_mac(index) */
	unsigned index;
	const char *name; /* for logs and stats: "virtio-net0 (tap0)" */
	void (*irq)(void *opaque);
	void *irq_opaque;
	void (*wake)(void *opaque, unsigned q);
	void *wake_opaque;
	int (*set_offload)(int fd, unsigned flags); /* NULL: TUNSETOFFLOAD */
};

/*
 * Build the device on p->fd (taken over: destroy closes it, also on
 * failure). Offload features are offered only if the tap accepts the
 * matching TUNSETOFFLOAD flags. 0 or -errno.
 */
int virtio_net_create(struct virtio_net **out, const struct guest_mem *gm,
		      const struct virtio_net_params *p);
void virtio_net_destroy(struct virtio_net *n);

/* Event-loop thread; take the lock; return the epoll events wanted. */
uint32_t virtio_net_kicked(struct virtio_net *n, unsigned q);
uint32_t virtio_net_tap_event(struct virtio_net *n, uint32_t events);
/* The events wanted now (lock taken). */
uint32_t virtio_net_tap_events(struct virtio_net *n);

/* Default MAC for device index (locally administered, unicast). */
void virtio_net_default_mac(unsigned index, uint8_t mac[6]);

/* vm_add_stats() printer: opaque is the struct virtio_net. */
void virtio_net_print_stats(void *opaque, FILE *out);

#endif
