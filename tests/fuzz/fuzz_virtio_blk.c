// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a program of MMIO accesses, guest-memory
 * writes, kicks and completion polls driving the virtio-mmio transport and
 * the virtio-blk device over fake guest RAM and a memfd-backed disk.
 *
 * Opcodes (first byte % 8), operands little-endian:
 *   0 off:u16 val:u32        4-byte MMIO write
 *   1 off:u16 len:u8 val:u64 MMIO write of len 1/2/4/8
 *   2 off:u16 len:u8         MMIO read
 *   3 gpa:u16 n:u8 bytes[n]  write guest memory
 *   4 q:u8                   ioeventfd-style kick
 *   5                        reap completions (poll the aio eventfd)
 *   6 num:u8 feat:u8         a well-behaved driver brings the device up
 *   7 type:u8 sector:u16 len:u16 flags:u8   post a 3-descriptor request
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../devices/virtio_blk.h"
#include "../../vmm/util.h"

#define RAM   (64 * 1024)
#define DISK  (64 * 512)
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define HDR   0x4000
#define DATA  0x8000

static struct guest_mem gm;
static struct virtio_blk *blk;
static uint16_t next_desc;

static void irq(void *opaque)
{
	(void)opaque;
}

static void init_once(void)
{
	struct disk_config dc = {0};
	char path[64];
	int fd;

	log_level = LOG_ERR; /* quiet: guests misbehave on purpose here */
	if (gm_create_fake(&gm, RAM))
		abort();
	fd = memfd_create("fuzz-disk", 0);
	if (fd < 0 || ftruncate(fd, DISK))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dc.path = path;
	if (virtio_blk_create(&blk, &gm, &dc, 0, irq, NULL))
		abort();
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

static void w32(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&blk->mmio, off, &v, 4);
}

static void bring_up(uint16_t num, uint8_t feat)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, st);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	/* feat chooses among indirect / event idx / discard / the rest */
	w32(VIRTIO_MMIO_DRIVER_FEATURES,
	    (feat & 1 ? VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
		(feat & 2 ? VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) : 0) |
		(feat & 4 ? VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
				VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)
			  : 0) |
		0x0000ffffu);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	st |= VIRTIO_STATUS_FEATURES_OK;
	w32(VIRTIO_MMIO_STATUS, st);
	w32(VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(VIRTIO_MMIO_QUEUE_NUM, num);
	w32(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	w32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	w32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	w32(VIRTIO_MMIO_QUEUE_READY, 1);
	w32(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	next_desc = 0;
}

static void post(uint8_t type, uint16_t sector, uint16_t len, uint8_t flags)
{
	struct vring_desc *d = gm_ptr(&gm, DESC, 16 * 256);
	struct vring_avail *a = gm_ptr(&gm, AVAIL, 6 + 2 * 256);
	uint16_t num = blk->mmio.vq[0].num ? blk->mmio.vq[0].num : 8;
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	uint16_t i0 = next_desc % num, i1 = (i0 + 1) % num, i2 = (i0 + 2) % num;
	uint32_t dlen = len % (RAM - DATA);

	gm_write(&gm, HDR + 16 * (i0 % 64), &h, sizeof(h));
	d[i0] = (struct vring_desc){HDR + 16 * (i0 % 64), 16, VRING_DESC_F_NEXT,
				    i1};
	d[i1] = (struct vring_desc){
	    DATA, dlen,
	    (uint16_t)(VRING_DESC_F_NEXT |
		       (flags & 1 ? VRING_DESC_F_WRITE : 0)),
	    i2};
	d[i2] = (struct vring_desc){HDR + 0x800 + i0, flags & 2 ? 0 : 1,
				    VRING_DESC_F_WRITE, 0};
	next_desc = (uint16_t)(next_desc + 3);
	a->ring[a->idx % num] = i0;
	__atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
}

static void reap(int timeout_ms)
{
	struct pollfd p = {.fd = virtio_blk_completion_fd(blk),
			   .events = POLLIN};

	poll(&p, 1, timeout_ms);
	virtio_blk_complete(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	unsigned ops = 0;

	if (!blk)
		init_once();
	w32(VIRTIO_MMIO_STATUS,
	    0); /* reset drains whatever the last run left */
	memset(gm.base, 0, RAM);
	next_desc = 0;

	while (in.n && ops++ < 512) {
		uint8_t op = (uint8_t)take(&in, 1);

		switch (op % 8) {
		case 0: {
			uint64_t off = take(&in, 2) & 0x1ff;

			w32(off, (uint32_t)take(&in, 4));
			break;
		}
		case 1: {
			uint64_t off = take(&in, 2) & 0x1fff;
			static const uint32_t lens[] = {1, 2, 4, 8};
			uint32_t len = lens[take(&in, 1) & 3];
			uint64_t v = take(&in, 8);

			virtio_mmio_write(&blk->mmio, off, &v, len);
			break;
		}
		case 2: {
			uint64_t off = take(&in, 2);
			static const uint32_t lens[] = {1, 2, 4, 8};
			uint32_t len = lens[take(&in, 1) & 3];
			uint64_t v;

			virtio_mmio_read(&blk->mmio, off, &v, len);
			break;
		}
		case 3: {
			uint64_t gpa = take(&in, 2);
			size_t n = (size_t)take(&in, 1);

			if (n > in.n)
				n = in.n;
			gm_write(&gm, gpa, in.p,
				 n); /* may fail past RAM: fine */
			in.p += n;
			in.n -= n;
			break;
		}
		case 4:
			virtio_mmio_notify(&blk->mmio, (unsigned)take(&in, 1));
			break;
		case 5:
			reap(blk->inflight ? 100 : 0);
			break;
		case 6: {
			uint16_t num = (uint16_t)take(&in, 1);
			uint8_t feat = (uint8_t)take(&in, 1);

			bring_up(num ? num : 256, feat);
			break;
		}
		case 7: {
			uint8_t type = (uint8_t)take(&in, 1);
			uint16_t sector = (uint16_t)take(&in, 2);
			uint16_t len = (uint16_t)take(&in, 2);
			uint8_t flags = (uint8_t)take(&in, 1);

			post(type, sector, len, flags);
			break;
		}
		}
	}
	/* Let everything finish so the next input starts clean. */
	for (int i = 0; i < 50 && blk->inflight; i++)
		reap(100);
	/* Invariants that must hold whatever the guest did. */
	if (blk->busy > VIRTIO_BLK_QUEUE_MAX || blk->inflight > blk->busy)
		abort();
	return 0;
}
