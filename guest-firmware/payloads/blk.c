/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk exerciser with its own minimal modern virtio-mmio driver
 * (virtio 1.2 sections 2, 4.2 and 5.2; constants written out here on purpose,
 * independent of the VMM's devices/virtio.h).
 *
 * Command line (PVH start_info), space-separated:
 *   mode=pattern  (default) write a per-sector pattern over the whole disk,
 *                 FLUSH, read it all back and check; GET_ID; on a read-only
 *                 disk (VIRTIO_BLK_F_RO) check that a write fails with IOERR
 *                 and changes nothing, then only verify the pattern
 *                 (verify=0 skips that).
 *   mode=records  for i = 0..count-1: write record i to sector i, wait, FLUSH,
 *                 wait, then print "blk: ack i" (durable from then on).
 *   seed=N        pattern/record seed (default 1)
 *   count=N       records to write (default: the whole disk)
 *   serial=S      GET_ID must return S
 *   poll          poll the used ring instead of waiting for the interrupt
 *   dev=N         use the N-th virtio-blk device (default 0)
 *   mode=bench    op=randread|randwrite|seqread|seqwrite bs=BYTES (multiple
 *                 of 512, default 4096) qd=N (default 16) and secs=S
 *                 (default 3) or count=N requests: keep qd requests in
 *                 flight (always polling), then print one line
 *                 "blk: bench op=.. bs=.. qd=.. ios=N ns=T iops=X mbps=Y.Z"
 *                 (MB = 10^6 bytes). Random offsets are bs-aligned (xorshift).
 * Without a device tree (QEMU microvm) the virtio-mmio slots at 0xfeb00000
 * (stride 0x200, 24 slots) are probed instead; that needs polling.
 * Formats are in blkfmt.h (shared with tests/tools/blkcheck.c).
 * Exit status 0 = everything checked out, 1 = a check failed.
 */
#include "rt.h"
#include "blkfmt.h"

#include "virtio_mmio.h"

#define F_BLK_RO 5
#define F_BLK_FLUSH 9

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8

#define ST_OK 0
#define ST_IOERR 1
#define ST_UNSUPP 2

#define D_NEXT 1
#define D_WRITE 2
#define USED_F_NO_NOTIFY 1

#define SECTOR 512
#define QSIZE_WANT 64
#define REQ_SECTORS 128     /* 64 KiB per request */
#define CHUNK_SECTORS 2048  /* 1 MiB per batch (16 requests, one notify) */
#define BLK_VECTOR 0x30
#define TIMER_VECTOR 0x31
#define WAIT_SECONDS 60

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
struct used_elem {
	uint32_t id;
	uint32_t len;
};
struct used {
	uint16_t flags;
	uint16_t idx;
	struct used_elem ring[];
};
struct req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct {
	uint64_t base;
	uint32_t gsi;
	uint64_t features; /* negotiated */
	uint64_t capacity;
	uint16_t qsize;
	unsigned slots; /* requests per batch: 3 descriptors each */
	struct desc *desc;
	struct avail *avail;
	struct used *used;
	struct req_hdr *hdr;
	volatile uint8_t *status;
	uint32_t *used_len;
	uint16_t avail_idx; /* published */
	unsigned nreq;      /* queued in the current batch */
	bool poll;
} d;

static volatile unsigned irqs, ticks;
static uint64_t tsc_hz;

/* ---- command line ---- */
static const char *cmdline;

/* Value of key=... (NULL if absent); length in *len. Bare "key" gives "". */
static const char *opt(const char *key, size_t *len)
{
	size_t kl = strlen(key);

	for (const char *p = cmdline; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) >= kl && !strncmp(p, key, kl) &&
		    (p[kl] == '=' || p + kl == e)) {
			const char *v = p[kl] == '=' ? p + kl + 1 : p + kl;
			*len = (size_t)(e - v);
			return v;
		}
		p = e;
	}
	return NULL;
}

static uint64_t opt_u64(const char *key, uint64_t def)
{
	size_t n;
	const char *v = opt(key, &n);
	uint64_t x = 0;

	if (!v || !n)
		return def;
	for (size_t i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		x = x * 10 + (uint64_t)(v[i] - '0');
	return x;
}

static bool opt_is(const char *key, const char *val)
{
	size_t n;
	const char *v = opt(key, &n);

	return v && n == strlen(val) && !strncmp(v, val, n);
}

/* ---- device access ---- */
static uint32_t rd(uint32_t off) { return mmio_read32(d.base + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(d.base + off, v); }

__attribute__((noreturn)) static void die(const char *what)
{
	printf("blk: FAIL %s\n", what);
	if (d.base)
		wr(R_STATUS, rd(R_STATUS) | S_FAILED);
	rt_exit(1);
}

static void blk_isr(struct rt_regs *regs)
{
	(void)regs;
	uint32_t isr = rd(R_INT_STATUS);

	wr(R_INT_ACK, isr);
	irqs++;
}

static void timer_isr(struct rt_regs *regs)
{
	(void)regs;
	ticks++;
}

/* Find the dev-th virtio-blk device. */
static bool find_device(unsigned want)
{
	struct vmmio_dev dev;

	if (!vmmio_find(VIRTIO_ID_BLK, want, &dev))
		return false;
	d.base = dev.base;
	d.gsi = dev.gsi;
	if (dev.name)
		printf("blk: device %s at 0x%lx, GSI %u\n", dev.name, d.base, d.gsi);
	else
		printf("blk: device at 0x%lx (probed, no device tree)\n", d.base);
	return true;
}

static void *alloc(size_t size, size_t align)
{
	void *p = rt_alloc(size, align);

	if (!p)
		die("out of memory");
	return p;
}

static void device_init(void)
{
	uint64_t offered;
	uint32_t qmax;
	const char *err;

	err = vmmio_negotiate(d.base, (1ULL << F_BLK_FLUSH) | (1ULL << F_BLK_RO),
			      &offered, &d.features);
	if (err)
		die(err);

	qmax = vmmio_queue_max(d.base, 0);
	if (!qmax)
		die("queue 0 not available");
	d.qsize = QSIZE_WANT;
	while (d.qsize > qmax)
		d.qsize >>= 1;
	if (d.qsize < 4)
		die("queue too small");
	d.slots = d.qsize / 3;
	d.desc = alloc(16 * d.qsize, 4096);
	d.avail = alloc(6 + 2 * d.qsize, 4096);
	d.used = alloc(6 + 8 * d.qsize, 4096);
	d.hdr = alloc(sizeof(struct req_hdr) * d.slots, 64);
	d.status = alloc(d.slots, 64);
	d.used_len = alloc(4 * d.slots, 64);
	err = vmmio_queue(d.base, 0, d.qsize, d.desc, d.avail, d.used);
	if (err)
		die(err);
	if (!d.poll) {
		rt_irq_register(BLK_VECTOR, blk_isr);
		rt_ioapic_route(d.gsi, BLK_VECTOR, false, false);
	}
	err = vmmio_driver_ok(d.base);
	if (err)
		die(err);

	/* capacity: 64-bit at config offset 0, read as two 32-bit halves */
	d.capacity = rd(R_CONFIG) | (uint64_t)rd(R_CONFIG + 4) << 32;
	printf("blk: features 0x%lx (offered 0x%lx), queue %u, capacity %lu sectors%s%s\n",
	       d.features, offered, d.qsize, d.capacity,
	       (d.features & (1ULL << F_BLK_RO)) ? ", read-only" : "",
	       d.poll ? ", polling" : ", interrupts");
}

/* ---- requests: slot k uses descriptors 3k (header), 3k+1, 3k+2 ---- */
static unsigned queue_req(uint32_t type, uint64_t sector, void *buf, uint32_t len,
			  bool dev_writes)
{
	unsigned k = d.nreq++, i = 3 * k;

	if (k >= d.slots)
		die("too many requests in one batch");
	d.hdr[k] = (struct req_hdr){.type = type, .sector = sector};
	d.status[k] = 0xff;
	d.desc[i] = (struct desc){(uintptr_t)&d.hdr[k], sizeof(struct req_hdr), D_NEXT, (uint16_t)(i + 1)};
	if (len) {
		d.desc[i + 1] = (struct desc){(uintptr_t)buf, len,
					      (uint16_t)(D_NEXT | (dev_writes ? D_WRITE : 0)),
					      (uint16_t)(i + 2)};
		i++;
	}
	d.desc[i + 1] = (struct desc){(uintptr_t)&d.status[k], 1, D_WRITE, 0};
	d.avail->ring[(uint16_t)(d.avail_idx + k) & (d.qsize - 1)] = (uint16_t)(3 * k);
	return k;
}

static bool used_done(uint16_t target)
{
	return *(volatile uint16_t *)&d.used->idx == target;
}

/* Publish the batch, notify once, wait for every request of it. */
static void run_batch(void)
{
	uint16_t start = d.avail_idx, target = (uint16_t)(d.avail_idx + d.nreq);
	uint64_t t0 = rdtsc(), limit = tsc_hz * WAIT_SECONDS;
	uint32_t seen = 0;

	if (!d.nreq)
		return;
	barrier(); /* ring entries and descriptors before the index (x86: TSO) */
	*(volatile uint16_t *)&d.avail->idx = target;
	mb(); /* index before the flags read below */
	if (!(*(volatile uint16_t *)&d.used->flags & USED_F_NO_NOTIFY))
		wr(R_QUEUE_NOTIFY, 0);

	irq_disable();
	while (!used_done(target)) {
		if (rdtsc() - t0 > limit) {
			printf("blk: timeout: used idx %u, want %u, irqs %u, status 0x%x\n",
			       *(volatile uint16_t *)&d.used->idx, target, irqs, rd(R_STATUS));
			die("request timeout");
		}
		if (d.poll)
			cpu_relax();
		else
			rt_wait_irq();
	}
	barrier();
	for (uint16_t u = start; u != target; u++) {
		struct used_elem e = ((volatile struct used *)d.used)->ring[u & (d.qsize - 1)];
		unsigned k = e.id / 3;

		if (e.id % 3 || k >= d.nreq || (seen >> k) & 1) {
			printf("blk: bad used element id %u len %u\n", e.id, e.len);
			die("used ring corrupt");
		}
		seen |= 1u << k;
		d.used_len[k] = e.len;
	}
	d.avail_idx = target;
	d.nreq = 0;
}

static const char *st_name(uint8_t st)
{
	switch (st) {
	case ST_OK: return "OK";
	case ST_IOERR: return "IOERR";
	case ST_UNSUPP: return "UNSUPP";
	default: return "no status";
	}
}

static uint8_t one_req(uint32_t type, uint64_t sector, void *buf, uint32_t len, bool dev_writes)
{
	unsigned k = queue_req(type, sector, buf, len, dev_writes);

	run_batch();
	return d.status[k];
}

static void expect_ok(uint8_t st, const char *what, uint64_t sector)
{
	if (st != ST_OK) {
		printf("blk: %s at sector %lu: status %u (%s)\n", what, sector, st, st_name(st));
		die(what);
	}
}

static void flush(void)
{
	if (!(d.features & (1ULL << F_BLK_FLUSH))) {
		puts("blk: FLUSH not offered: device is write-through");
		return;
	}
	expect_ok(one_req(T_FLUSH, 0, NULL, 0, false), "flush", 0);
}

/* ---- GET_ID ---- */
static void check_id(void)
{
	char *id = alloc(24, 64);
	const char *want;
	size_t wl;
	uint8_t st = one_req(T_GET_ID, 0, id, 20, true);

	if (st != ST_OK) {
		printf("blk: GET_ID: status %u (%s)\n", st, st_name(st));
		die("GET_ID");
	}
	printf("blk: id '%s'\n", id); /* id[20..23] stay zero */
	want = opt("serial", &wl);
	if (want) {
		if (wl > 20 || memcmp(id, want, wl) || (wl < 20 && id[wl])) {
			printf("blk: id mismatch: want '%.*s'\n", (int)wl, want);
			die("GET_ID returned the wrong serial");
		}
		puts("blk: id ok");
	}
}

/* ---- pattern mode ---- */
static void fill_chunk(uint64_t *buf, uint64_t seed, uint64_t first, uint64_t n)
{
	for (uint64_t s = 0; s < n; s++)
		blkfmt_fill(buf + s * BLKFMT_WORDS, seed, first + s);
}

/* Queue reads or writes of [first, first+n) from/to buf, then run them. */
static void rw_chunk(uint32_t type, uint64_t *buf, uint64_t first, uint64_t n)
{
	unsigned k0 = d.nreq, k;

	for (uint64_t s = 0; s < n; s += REQ_SECTORS) {
		uint64_t c = n - s < REQ_SECTORS ? n - s : REQ_SECTORS;

		queue_req(type, first + s, buf + s * BLKFMT_WORDS, (uint32_t)(c * SECTOR),
			  type == T_IN);
	}
	k = d.nreq;
	run_batch();
	for (unsigned i = k0; i < k; i++)
		expect_ok(d.status[i], type == T_IN ? "read" : "write",
			  d.hdr[i].sector);
}

static int verify_all(uint64_t *buf, uint64_t seed)
{
	uint64_t bad = 0;

	for (uint64_t first = 0; first < d.capacity; first += CHUNK_SECTORS) {
		uint64_t n = d.capacity - first < CHUNK_SECTORS ? d.capacity - first : CHUNK_SECTORS;

		rw_chunk(T_IN, buf, first, n);
		for (uint64_t s = 0; s < n; s++) {
			const uint64_t *p = buf + s * BLKFMT_WORDS;
			int w = blkfmt_check(p, seed, first + s);

			if (w < 0)
				continue;
			if (bad++ < 8)
				printf("blk: mismatch sector %lu word %d: 0x%lx (word 0 0x%lx)\n",
				       first + s, w, p[w], p[0]);
		}
	}
	if (bad) {
		printf("blk: pattern FAILED: %lu of %lu sectors bad\n", bad, d.capacity);
		return 1;
	}
	return 0;
}

static int mode_pattern(void)
{
	uint64_t seed = opt_u64("seed", 1);
	uint64_t cs = d.capacity < CHUNK_SECTORS ? d.capacity : CHUNK_SECTORS;
	uint64_t *buf = alloc(cs * SECTOR + SECTOR, 4096);
	uint64_t t0;

	check_id();
	if (d.features & (1ULL << F_BLK_RO)) {
		uint64_t *before = alloc(SECTOR, 4096), *after = alloc(SECTOR, 4096);
		uint8_t st;

		if (!d.capacity)
			die("empty disk");
		expect_ok(one_req(T_IN, 0, before, SECTOR, true), "read", 0);
		blkfmt_fill(buf, ~seed, 0);
		st = one_req(T_OUT, 0, buf, SECTOR, false);
		if (st != ST_IOERR) {
			printf("blk: write to a read-only disk: status %u (%s), want IOERR\n",
			       st, st_name(st));
			die("read-only disk accepted a write");
		}
		expect_ok(one_req(T_IN, 0, after, SECTOR, true), "read", 0);
		if (memcmp(before, after, SECTOR))
			die("refused write changed sector 0");
		puts("blk: read-only: write refused with IOERR, sector 0 unchanged");
		flush(); /* nothing to write back: must still succeed */
		if (opt_is("verify", "0")) {
			printf("blk: pattern ok sectors=%lu (read-only, not verified)\n", d.capacity);
			return 0;
		}
		t0 = rdtsc();
		if (verify_all(buf, seed))
			return 1;
		printf("blk: pattern ok sectors=%lu seed=%lu (read-only, verified in %lu ms)\n",
		       d.capacity, seed, (rdtsc() - t0) / (tsc_hz / 1000));
		return 0;
	}

	t0 = rdtsc();
	for (uint64_t first = 0; first < d.capacity; first += CHUNK_SECTORS) {
		uint64_t n = d.capacity - first < CHUNK_SECTORS ? d.capacity - first : CHUNK_SECTORS;

		fill_chunk(buf, seed, first, n);
		rw_chunk(T_OUT, buf, first, n);
	}
	flush();
	printf("blk: wrote %lu sectors and flushed in %lu ms\n", d.capacity,
	       (rdtsc() - t0) / (tsc_hz / 1000));
	t0 = rdtsc();
	if (verify_all(buf, seed))
		return 1;
	printf("blk: verified in %lu ms, %u interrupts\n", (rdtsc() - t0) / (tsc_hz / 1000),
	       irqs);
	printf("blk: pattern ok sectors=%lu seed=%lu\n", d.capacity, seed);
	return 0;
}

/* ---- records mode ---- */
static int mode_records(void)
{
	uint64_t seed = opt_u64("seed", 1);
	uint64_t count = opt_u64("count", d.capacity);
	uint64_t *rec = alloc(SECTOR, 4096);

	if (d.features & (1ULL << F_BLK_RO))
		die("records mode needs a writable disk");
	if (count > d.capacity) {
		printf("blk: count %lu > capacity: writing %lu records\n", count, d.capacity);
		count = d.capacity;
	}
	printf("blk: records count=%lu seed=%lu\n", count, seed);
	for (uint64_t i = 0; i < count; i++) {
		blkfmt_rec_fill(rec, seed, i);
		/* The write must have completed before the FLUSH that covers it. */
		expect_ok(one_req(T_OUT, i, rec, SECTOR, false), "write", i);
		flush();
		printf("blk: ack %lu\n", i);
	}
	printf("blk: records done count=%lu\n", count);
	return 0;
}

/* ---- bench mode: qd requests in flight, polled; minimal work per request ---- */
static int mode_bench(void)
{
	const char *opname;
	bool rnd, wrt;
	uint64_t bs = opt_u64("bs", 4096), qd = opt_u64("qd", 16);
	uint64_t secs = opt_u64("secs", 3), count = opt_u64("count", 0);
	uint64_t spb, nblocks, next = 0, x = 0x9e3779b97f4a7c15ull;
	uint64_t issued = 0, done = 0, t0, t1, limit, cyc, ns, bytes;
	uint8_t *buf;
	uint16_t used_seen;
	uint32_t type;

	if (opt_is("op", "randread"))
		rnd = true, wrt = false, opname = "randread";
	else if (opt_is("op", "randwrite"))
		rnd = true, wrt = true, opname = "randwrite";
	else if (opt_is("op", "seqread"))
		rnd = false, wrt = false, opname = "seqread";
	else if (opt_is("op", "seqwrite"))
		rnd = false, wrt = true, opname = "seqwrite";
	else
		die("bench: op must be randread, randwrite, seqread or seqwrite");
	if (!bs || bs % SECTOR || bs > (4u << 20))
		die("bench: bs must be a multiple of 512, at most 4 MiB");
	if (qd < 1 || qd > d.slots)
		die("bench: qd out of range (1 .. queue size / 3)");
	if (wrt && (d.features & (1ULL << F_BLK_RO)))
		die("bench: write op on a read-only disk");
	spb = bs / SECTOR;
	nblocks = d.capacity / spb;
	if (!nblocks)
		die("bench: disk smaller than one block");
	type = wrt ? T_OUT : T_IN;
	buf = alloc(bs * qd, 4096);
	for (uint64_t i = 0; i < bs * qd; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	/* Slot k: descriptors 3k..3k+2, fixed except the header's sector. */
	for (unsigned k = 0; k < qd; k++) {
		unsigned i = 3 * k;

		d.hdr[k] = (struct req_hdr){.type = type};
		d.status[k] = 0xff;
		d.desc[i] = (struct desc){(uintptr_t)&d.hdr[k], sizeof(struct req_hdr), D_NEXT, (uint16_t)(i + 1)};
		d.desc[i + 1] = (struct desc){(uintptr_t)(buf + k * bs), (uint32_t)bs,
					      (uint16_t)(D_NEXT | (wrt ? 0 : D_WRITE)), (uint16_t)(i + 2)};
		d.desc[i + 2] = (struct desc){(uintptr_t)&d.status[k], 1, D_WRITE, 0};
	}
	limit = count ? ~0ull : secs * tsc_hz;
	used_seen = *(volatile uint16_t *)&d.used->idx;
	t0 = rdtsc();
#define BENCH_NEXT_SECTOR()                                                        \
	(rnd ? (x ^= x << 13, x ^= x >> 7, x ^= x << 17, (x % nblocks) * spb)      \
	     : (next = next + 1 < nblocks ? next + 1 : 0, next * spb))
	for (unsigned k = 0; k < qd && (!count || issued < count); k++) {
		d.hdr[k].sector = BENCH_NEXT_SECTOR();
		d.avail->ring[(uint16_t)(d.avail_idx++) & (d.qsize - 1)] = (uint16_t)(3 * k);
		issued++;
	}
	barrier();
	*(volatile uint16_t *)&d.avail->idx = d.avail_idx;
	mb();
	wr(R_QUEUE_NOTIFY, 0);
	t1 = t0;
	while (done < issued) {
		uint16_t uidx = *(volatile uint16_t *)&d.used->idx;
		bool more;

		if (uidx == used_seen) {
			cpu_relax();
			continue;
		}
		barrier();
		t1 = rdtsc();
		more = !count ? t1 - t0 < limit : issued < count;
		for (; used_seen != uidx; used_seen++) {
			unsigned k = ((volatile struct used *)d.used)->ring[used_seen & (d.qsize - 1)].id / 3;

			if (d.status[k] != ST_OK) {
				printf("blk: bench: status %u at sector %lu\n", d.status[k], d.hdr[k].sector);
				die("bench request failed");
			}
			done++;
			if (more && (!count || issued < count)) {
				d.status[k] = 0xff;
				d.hdr[k].sector = BENCH_NEXT_SECTOR();
				d.avail->ring[(uint16_t)(d.avail_idx++) & (d.qsize - 1)] = (uint16_t)(3 * k);
				issued++;
			}
		}
		if (more) {
			barrier();
			*(volatile uint16_t *)&d.avail->idx = d.avail_idx;
			mb();
			if (!(*(volatile uint16_t *)&d.used->flags & USED_F_NO_NOTIFY))
				wr(R_QUEUE_NOTIFY, 0);
		}
	}
#undef BENCH_NEXT_SECTOR
	t1 = rdtsc();
	cyc = t1 - t0;
	ns = cyc / tsc_hz * 1000000000ull + cyc % tsc_hz * 1000000000ull / tsc_hz;
	if (!ns)
		ns = 1;
	bytes = done * bs;
	{
		uint64_t mb10 = bytes * 10000 / ns;

		printf("blk: bench op=%s bs=%lu qd=%lu ios=%lu ns=%lu iops=%lu mbps=%lu.%lu\n",
		       opname, bs, qd, done, ns, (uint64_t)(done * 1000000000ull / ns),
		       mb10 / 10, mb10 % 10);
	}
	return 0;
}

int main(void)
{
	const struct hvm_start_info *si = rt_boot.start_info;
	int ret;

	if (si && si->cmdline_paddr)
		cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	tsc_hz = rt_tsc_hz();
	d.poll = opt_is("poll", "") || opt_is("mode", "bench") || !rt_boot.fdt;
	if (!find_device((unsigned)opt_u64("dev", 0)))
		die("no virtio-blk device in the device tree");
	if (!d.poll) {
		/* A slow periodic tick so a lost interrupt ends in a timeout, not a hang. */
		rt_lapic_enable();
		rt_irq_register(TIMER_VECTOR, timer_isr);
		rt_lapic_write(0x3e0, 0xb);                  /* divide by 1 */
		rt_lapic_write(0x320, TIMER_VECTOR | (1u << 17)); /* periodic */
		rt_lapic_write(0x380, 500000000);            /* ~0.5 s at 1 GHz */
	}
	device_init();
	if (opt_is("mode", "records"))
		ret = mode_records();
	else if (opt_is("mode", "bench"))
		ret = mode_bench();
	else if (!opt("mode", &(size_t){0}) || opt_is("mode", "pattern"))
		ret = mode_pattern();
	else
		die("unknown mode (pattern, records, bench)");
	wr(R_STATUS, 0); /* reset: the device forgets our rings */
	return ret;
}
