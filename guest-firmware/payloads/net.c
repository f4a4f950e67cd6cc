/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-net driver (virtio-mmio, modern) that answers ARP requests
 * and ICMP echo requests for its IPv4 address, interrupt-driven.
 * Command line: ip=A.B.C.D (default 198.18.0.2), count=N (default 10): after
 * N echo replies have gone out (TX completed) the payload exits 0.
 * poll: spin on the used rings instead of waiting for interrupts; quiet: no
 * per-packet lines (both for benchmarks). Without a device tree (QEMU
 * microvm) the virtio-mmio slots at 0xfeb00000 (stride 0x200, 24 slots) are
 * probed and polling is used.
 * Prints "net: ready <mac> <ip>" once the device runs, then one line per
 * answered request. Guest CPL0 code is emulated (~1 us per instruction) on
 * the development machines: per-packet work is a few hundred instructions.
 *
 * UDP throughput modes (benchmarks; both imply poll and use 256-entry rings):
 * udpblast=N size=S: ARP-resolve 198.18.0.1, send it N UDP datagrams of S
 * payload bytes (default 1400) to port 5002 as fast as the TX ring allows
 * (one prebuilt frame per slot, only a sequence number patched, UDP checksum
 * 0), wait for TX completion, print "net: udpblast sent=N ns=T" and exit 0.
 * udpsink=N: count UDP datagrams to port 5003 (ARP and pings still answered,
 * everything else dropped) until N arrived or 2 s passed without one after
 * the first; print "net: udpsink got=G bytes=B ns=T" (payload bytes, T from
 * the first to the last datagram) and exit 0.
 */
#include "rt.h"

#define NET_VECTOR 0x30
#define QSZ_MAX 256 /* the udp modes; ping modes keep 16 */
#define BUFSZ 2048
#define HDR 12 /* virtio_net_hdr_v1 */

#include "virtio_mmio.h"

#define F_MAC 5

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct queue {
	struct desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[QSZ] */
	volatile uint32_t *used;  /* flags|idx, then (id, len) pairs */
	uint8_t *buf;             /* QSZ buffers of BUFSZ bytes */
	uint16_t avail_idx;       /* next avail slot we fill */
	uint16_t used_seen;       /* used entries consumed */
};

static uint64_t base;
static struct queue rxq, txq;
static uint8_t mac[6];
static uint8_t ip[4] = {198, 18, 0, 2};
static volatile unsigned irqs;
static bool poll, quiet;
static unsigned udpblast_n, udpsink_n, udp_size = 1400;
static unsigned qsz = 16; /* ring size, a power of two <= QSZ_MAX */
#define QSZ qsz

/* Wait for an interrupt (IF=0 on entry and exit), or just spin when polling. */
static void wait_event(void)
{
	if (poll)
		cpu_relax();
	else
		rt_wait_irq();
}

static uint32_t rd(uint32_t off) { return mmio_read32(base + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(base + off, v); }

static uint16_t used_idx(struct queue *q)
{
	uint16_t idx = (uint16_t)(q->used[0] >> 16);

	barrier(); /* read the index before the elements it covers */
	return idx;
}

static void net_isr(struct rt_regs *regs)
{
	(void)regs;
	wr(R_INT_ACK, rd(R_INT_STATUS));
	irqs++;
}

/* ---- command line ---- */

static bool parse_ip(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255 || (i < 3 && *s++ != '.'))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static unsigned parse_uint(const char *q)
{
	unsigned n = 0;

	for (; *q >= '0' && *q <= '9'; q++)
		n = n * 10 + (unsigned)(*q - '0');
	return n;
}

static void parse_cmdline(unsigned *count)
{
	const struct hvm_start_info *si = rt_boot.start_info;
	const char *p;

	if (!si || !si->cmdline_paddr)
		return;
	p = (const char *)(uintptr_t)si->cmdline_paddr;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, "ip=", 3)) {
			uint8_t v[4];

			if (parse_ip(p + 3, v))
				memcpy(ip, v, 4);
		} else if (!strncmp(p, "count=", 6)) {
			unsigned n = 0;

			for (const char *q = p + 6; *q >= '0' && *q <= '9'; q++)
				n = n * 10 + (unsigned)(*q - '0');
			if (n)
				*count = n;
		} else if (!strncmp(p, "udpblast=", 9)) {
			udpblast_n = parse_uint(p + 9);
		} else if (!strncmp(p, "udpsink=", 8)) {
			udpsink_n = parse_uint(p + 8);
		} else if (!strncmp(p, "size=", 5)) {
			udp_size = parse_uint(p + 5);
		} else if (!strncmp(p, "poll", 4) && (p[4] == ' ' || !p[4])) {
			poll = true;
		} else if (!strncmp(p, "quiet", 5) && (p[5] == ' ' || !p[5])) {
			quiet = true;
		}
		while (*p && *p != ' ')
			p++;
	}
}

/* ---- virtio ---- */

static bool find_device(void)
{
	struct vmmio_dev dev;

	if (!vmmio_find(VIRTIO_ID_NET, 0, &dev))
		return false;
	base = dev.base;
	if (!poll) {
		rt_irq_register(NET_VECTOR, net_isr);
		rt_ioapic_route(dev.gsi, NET_VECTOR, false, false);
	}
	return true;
}

static bool queue_init(unsigned idx, struct queue *q)
{
	q->desc = rt_alloc(16 * QSZ, 16);
	q->avail = rt_alloc(6 + 2 * QSZ, 2);
	q->used = rt_alloc(6 + 8 * QSZ, 4);
	q->buf = rt_alloc(QSZ * BUFSZ, 64);
	RT_ASSERT(q->desc && q->avail && q->used && q->buf);
	for (unsigned i = 0; i < QSZ; i++)
		q->desc[i] = (struct desc){(uint64_t)(uintptr_t)(q->buf + i * BUFSZ), BUFSZ, 0, 0};
	return vmmio_queue(base, idx, QSZ, q->desc, (const void *)q->avail,
			   (const void *)q->used) == NULL;
}

static void avail_add(struct queue *q, uint16_t id)
{
	q->avail[2 + (q->avail_idx & (QSZ - 1))] = id;
	q->avail_idx++;
	mb(); /* the entry before the index */
	q->avail[1] = q->avail_idx;
}

static bool device_init(void)
{
	uint64_t feat;

	if (vmmio_negotiate(base, 1ULL << F_MAC, NULL, &feat))
		return false;
	if (!queue_init(0, &rxq) || !queue_init(1, &txq))
		return false;
	if (feat & (1ULL << F_MAC))
		for (int i = 0; i < 6; i++)
			mac[i] = mmio_read8(base + R_CONFIG + i);
	else
		memcpy(mac, "\x52\x54\x00\xfe\x00\x01", 6); /* locally administered */
	/* Every RX buffer is device-writable and posted up front. */
	for (uint16_t i = 0; i < QSZ; i++) {
		rxq.desc[i].flags = 2; /* VRING_DESC_F_WRITE */
		avail_add(&rxq, i);
	}
	if (vmmio_driver_ok(base))
		return false; /* NEEDS_RESET: the device refused our queues */
	wr(R_QUEUE_NOTIFY, 0);
	return true;
}

/* ---- packets ---- */

static uint16_t csum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint16_t tx_sent;

/* Send frame (len bytes, Ethernet header first) from a free TX slot. */
static void send(const uint8_t *frame, unsigned len)
{
	uint16_t slot;
	uint8_t *b;

	/* All slots in flight: wait for the device to complete one. */
	irq_disable();
	while ((uint16_t)(tx_sent - used_idx(&txq)) >= QSZ)
		wait_event();
	slot = tx_sent & (QSZ - 1);
	b = txq.buf + slot * BUFSZ;
	memset(b, 0, HDR);
	memcpy(b + HDR, frame, len);
	txq.desc[slot].len = HDR + len;
	txq.desc[slot].flags = 0;
	avail_add(&txq, slot);
	tx_sent++;
	mb();
	wr(R_QUEUE_NOTIFY, 1);
}

/* 1 if an echo reply went out, else 0. */
static int handle(uint8_t *f, unsigned len)
{
	static uint8_t out[BUFSZ];

	if (len < 14)
		return 0;
	if (be16(f + 12) == 0x0806 && len >= 42) {
		uint8_t *a = f + 14;

		/* Ethernet/IPv4 request for our address? */
		if (be16(a) != 1 || be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 ||
		    be16(a + 6) != 1 || memcmp(a + 24, ip, 4))
			return 0;
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		memcpy(out + 12, f + 12, 2);
		memcpy(out + 14, a, 6);
		out[20] = 0;
		out[21] = 2; /* reply */
		memcpy(out + 22, mac, 6);
		memcpy(out + 28, ip, 4);
		memcpy(out + 32, a + 8, 10); /* target = requester's mac and ip */
		send(out, 42);
		if (!quiet)
			printf("net: arp reply to %u.%u.%u.%u\n", a[14], a[15], a[16], a[17]);
		return 0;
	}
	if (be16(f + 12) == 0x0800 && len >= 34) {
		uint8_t *iph = f + 14;
		unsigned ihl = (iph[0] & 15) * 4u, tot = be16(iph + 2);
		uint8_t *icmp = iph + ihl;

		if ((iph[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 || 14 + tot > len ||
		    iph[9] != 1 || memcmp(iph + 16, ip, 4) || icmp[0] != 8)
			return 0;
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		memcpy(out + 12, f + 12, 2 + tot);
		/* Swap the addresses: the IP header checksum stays valid. */
		memcpy(out + 14 + 12, iph + 16, 4);
		memcpy(out + 14 + 16, iph + 12, 4);
		icmp = out + 14 + ihl;
		icmp[0] = 0; /* echo reply */
		icmp[2] = icmp[3] = 0;
		{
			uint16_t c = csum(icmp, tot - ihl);

			icmp[2] = (uint8_t)(c >> 8);
			icmp[3] = (uint8_t)c;
		}
		send(out, 14 + tot);
		if (!quiet)
			printf("net: echo reply to %u.%u.%u.%u seq %u\n", iph[12], iph[13], iph[14], iph[15],
		       be16(icmp + 6));
		return 1;
	}
	return 0;
}

/* ---- UDP throughput modes ---- */

static const uint8_t peer_ip[4] = {198, 18, 0, 1};
#define BLAST_PORT 5002
#define SINK_PORT 5003

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint64_t tsc_to_ns(uint64_t t, uint64_t hz)
{
	return t / hz * 1000000000ull + t % hz * 1000000000ull / hz;
}

/* Hand back every used RX buffer; frames for which is_data() is false go
 * to handle() (ARP, ping). Returns the number of data frames; their payload
 * bytes are added to *bytes. peer_mac, when set, catches an ARP reply from
 * peer_ip. */
static unsigned rx_service(uint64_t *bytes, uint8_t *peer_mac, bool *resolved)
{
	uint16_t u = used_idx(&rxq);
	unsigned data = 0;

	if (u == rxq.used_seen)
		return 0;
	do {
		volatile uint32_t *e = &rxq.used[1 + 2 * (rxq.used_seen & (QSZ - 1))];
		uint16_t id = (uint16_t)e[0];
		uint32_t len = e[1];
		uint8_t *f;

		rxq.used_seen++;
		if (id >= QSZ)
			continue;
		f = rxq.buf + id * BUFSZ + HDR;
		/* IPv4, no options, UDP, destination port 5003. */
		if (len >= HDR + 42 && f[12] == 8 && f[13] == 0 && f[14] == 0x45 && f[23] == 17 &&
		    f[36] == (SINK_PORT >> 8) && f[37] == (SINK_PORT & 0xff)) {
			data++;
			*bytes += (uint16_t)(be16(f + 38) - 8);
		} else if (peer_mac && len >= HDR + 42 && f[12] == 8 && f[13] == 6 && be16(f + 20) == 2 &&
			   !memcmp(f + 28, peer_ip, 4)) {
			memcpy(peer_mac, f + 22, 6);
			*resolved = true;
		} else if (len >= HDR) {
			handle(f, len - HDR);
		}
		rxq.avail[2 + (rxq.avail_idx & (QSZ - 1))] = id;
		rxq.avail_idx++;
	} while (rxq.used_seen != u);
	mb();
	rxq.avail[1] = rxq.avail_idx;
	mb();
	wr(R_QUEUE_NOTIFY, 0);
	return data;
}

static int udp_blast(unsigned n)
{
	uint64_t hz = rt_tsc_hz(), next = 0, deadline, t0, dummy = 0;
	uint8_t req[42], peer[6];
	bool resolved = false;
	unsigned flen = 42 + udp_size, sent = 0;
	uint32_t seq = 0;

	if (udp_size > BUFSZ - HDR - 42)
		udp_size = BUFSZ - HDR - 42, flen = 42 + udp_size;
	/* ARP request for 198.18.0.1, every 200 ms until answered (60 s). */
	memset(req, 0xff, 6);
	memcpy(req + 6, mac, 6);
	put16(req + 12, 0x0806);
	put16(req + 14, 1);
	put16(req + 16, 0x0800);
	req[18] = 6;
	req[19] = 4;
	put16(req + 20, 1);
	memcpy(req + 22, mac, 6);
	memcpy(req + 28, ip, 4);
	memset(req + 32, 0, 6);
	memcpy(req + 38, peer_ip, 4);
	deadline = rdtsc() + 60 * hz;
	while (!resolved) {
		uint64_t now = rdtsc();

		if (now > deadline) {
			puts("net: udpblast: no ARP reply from 198.18.0.1");
			return 1;
		}
		if (now >= next) {
			send(req, 42);
			next = now + hz / 5;
		}
		rx_service(&dummy, peer, &resolved);
		cpu_relax();
	}
	while (used_idx(&txq) != tx_sent)
		cpu_relax();
	/* One prebuilt frame per TX slot; only the sequence number changes. */
	for (unsigned i = 0; i < QSZ; i++) {
		uint8_t *b = txq.buf + i * BUFSZ, *f = b + HDR, *iph = f + 14, *udp = f + 34;
		uint16_t c;

		memset(b, 0, HDR + flen);
		memcpy(f, peer, 6);
		memcpy(f + 6, mac, 6);
		put16(f + 12, 0x0800);
		iph[0] = 0x45;
		put16(iph + 2, 28 + udp_size);
		put16(iph + 6, 0x4000); /* DF, id 0 */
		iph[8] = 64;
		iph[9] = 17;
		memcpy(iph + 12, ip, 4);
		memcpy(iph + 16, peer_ip, 4);
		c = csum(iph, 20);
		put16(iph + 10, c);
		put16(udp, BLAST_PORT);
		put16(udp + 2, BLAST_PORT);
		put16(udp + 4, 8 + udp_size); /* checksum 0: none (legal over IPv4) */
		txq.desc[i].len = HDR + flen;
		txq.desc[i].flags = 0;
	}
	t0 = rdtsc();
	while (sent < n) {
		unsigned room = QSZ - (uint16_t)(tx_sent - used_idx(&txq));

		if (!room) {
			cpu_relax();
			continue;
		}
		if (room > n - sent)
			room = n - sent;
		sent += room;
		for (; room; room--) {
			uint16_t slot = tx_sent & (QSZ - 1);

			*(volatile uint32_t *)(txq.buf + slot * BUFSZ + HDR + 42) = seq++;
			txq.avail[2 + (txq.avail_idx & (QSZ - 1))] = slot;
			txq.avail_idx++;
			tx_sent++;
		}
		mb();
		txq.avail[1] = txq.avail_idx;
		mb();
		wr(R_QUEUE_NOTIFY, 1);
	}
	while (used_idx(&txq) != tx_sent)
		cpu_relax();
	printf("net: udpblast sent=%u ns=%lu\n", sent, tsc_to_ns(rdtsc() - t0, hz));
	return 0;
}

static int udp_sink(unsigned n)
{
	uint64_t hz = rt_tsc_hz(), start = rdtsc(), first = 0, last = 0, bytes = 0;
	unsigned got = 0;

	for (;;) {
		unsigned k = rx_service(&bytes, NULL, NULL);

		if (k) {
			last = rdtsc();
			if (!got)
				first = last;
			got += k;
			if (got >= n)
				break;
			continue;
		}
		if (got ? rdtsc() - last > 2 * hz : rdtsc() - start > 120 * hz)
			break;
		cpu_relax();
	}
	printf("net: udpsink got=%u bytes=%lu ns=%lu\n", got, bytes, tsc_to_ns(last - first, hz));
	return 0;
}

int main(void)
{
	unsigned count = 10, answered = 0;

	parse_cmdline(&count);
	if (!rt_boot.fdt || udpblast_n || udpsink_n)
		poll = true;
	if (!find_device()) {
		puts("net: no virtio-net device");
		return 1;
	}
	rt_lapic_enable();
	if (udpblast_n || udpsink_n) {
		unsigned max;

		max = vmmio_queue_max(base, 0);
		if (vmmio_queue_max(base, 1) < max)
			max = vmmio_queue_max(base, 1);
		for (qsz = QSZ_MAX; qsz > 16 && qsz > max; qsz /= 2)
			;
	}
	if (!device_init()) {
		puts("net: device initialisation failed");
		return 1;
	}
	printf("net: ready %02x:%02x:%02x:%02x:%02x:%02x %u.%u.%u.%u\n", mac[0], mac[1], mac[2], mac[3],
	       mac[4], mac[5], ip[0], ip[1], ip[2], ip[3]);
	if (udpblast_n)
		return udp_blast(udpblast_n);
	if (udpsink_n)
		return udp_sink(udpsink_n);

	while (answered < count) {
		uint16_t u;
		bool posted = false;

		irq_disable();
		/* Checked with IF=0: an interrupt after this wakes the hlt. */
		if (used_idx(&rxq) == rxq.used_seen)
			wait_event();
		while ((u = used_idx(&rxq)) != rxq.used_seen) {
			volatile uint32_t *e = &rxq.used[1 + 2 * (rxq.used_seen & (QSZ - 1))];
			uint16_t id = (uint16_t)e[0];
			uint32_t len = e[1];

			rxq.used_seen++;
			if (id < QSZ && len >= HDR && len <= BUFSZ)
				answered += handle(rxq.buf + id * BUFSZ + HDR, len - HDR);
			if (id < QSZ) {
				avail_add(&rxq, id); /* the buffer goes back */
				posted = true;
			}
		}
		if (posted)
			wr(R_QUEUE_NOTIFY, 0);
	}
	/* The last reply must leave before the VM ends: wait for TX completion. */
	irq_disable();
	while (used_idx(&txq) != tx_sent)
		wait_event();
	printf("net: answered %u pings, %u interrupts\n", answered, irqs);
	return 0;
}
