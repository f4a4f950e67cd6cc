// SPDX-License-Identifier: MIT
/*
 * virtio-blk against a real temporary file: a tiny "driver" builds chains in
 * fake guest memory, kicks through the MMIO registers and completes I/O by
 * polling the aio eventfd (checklist 18-23 plus the normal paths).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../devices/virtio_blk.h"

#define RAM	     (16ULL << 20)
#define DESC	     0x1000ULL
#define AVAIL	     0x3000ULL
#define USED	     0x4000ULL
#define HDR	     0x10000ULL /* request headers, 16 bytes apart */
#define STAT	     0x20000ULL /* status bytes */
#define DATA	     0x100000ULL
#define DISK_SECTORS 64

struct drv {
	struct guest_mem gm;
	struct virtio_blk *b;
	char path[64];
	uint16_t num;
	uint16_t next_desc;
	uint16_t used_seen;
	unsigned irqs;
	bool indirect; /* req(): one indirect descriptor per request */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

struct dd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VRING_DESC_F_WRITE or 0 */
};

static void irq(void *opaque)
{
	((struct drv *)opaque)->irqs++;
}

static void wr(struct drv *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&d->b->mmio, off, &v, 4);
}

static uint32_t rd(struct drv *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(&d->b->mmio, off, &v, 4);
	return v;
}

static uint8_t *gp(struct drv *d, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&d->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* Create a disk file with a recognisable pattern: byte i = i*7 ^ sector. */
static void make_disk(struct drv *d, uint64_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/vmm-blk-test-XXXXXX");
	fd = mkstemp(d->path);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 ^ (i / 512));
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static void file_read(struct drv *d, uint64_t off, void *buf, size_t len)
{
	int fd = open(d->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 ^ (i / 512));
}

static void start(struct drv *d, const char *opts, uint16_t num,
		  uint64_t feat_mask)
{
	struct disk_config dc = {.path = d->path};
	uint64_t feat;

	if (opts && strstr(opts, "ro"))
		dc.readonly = true;
	if (opts && strstr(opts, "serial"))
		dc.serial = "my-serial";
	assert_int_equal(virtio_blk_create(&d->b, &d->gm, &dc, 3, irq, d), 0);
	d->num = num;
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat |= (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	feat &= feat_mask;
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX),
			 VIRTIO_BLK_QUEUE_MAX);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(d->b->mmio.live);
	d->desc = (void *)gp(d, DESC, 16 * num);
	d->avail = (void *)gp(d, AVAIL, 6 + 2 * num);
	d->used = (void *)gp(d, USED, 6 + 8 * num);
}

static int setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	assert_int_equal(gm_create_fake(&d->gm, RAM), 0);
	make_disk(d, DISK_SECTORS * 512);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct drv *d = *state;

	virtio_blk_destroy(d->b);
	unlink(d->path);
	gm_destroy(&d->gm);
	free(d);
	return 0;
}

/* Put a chain on the ring; returns its head. */
static uint16_t add_chain(struct drv *d, const struct dd *c, unsigned n)
{
	uint16_t head = d->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % d->num);

		d->desc[idx] = (struct vring_desc){
		    c[i].addr, c[i].len,
		    (uint16_t)(c[i].flags |
			       (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
		    (uint16_t)((idx + 1) % d->num)};
	}
	d->next_desc = (uint16_t)((head + n) % d->num);
	d->avail->ring[d->avail->idx % d->num] = head;
	__atomic_store_n(&d->avail->idx, d->avail->idx + 1, __ATOMIC_RELEASE);
	return head;
}

static void kick(struct drv *d)
{
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Poll the completion eventfd until `want` used entries exist in total. */
static void wait_used(struct drv *d, uint16_t want)
{
	for (int i = 0; i < 500 && d->used->idx != want; i++) {
		struct pollfd p = {.fd = virtio_blk_completion_fd(d->b),
				   .events = POLLIN};

		poll(&p, 1, 10);
		virtio_blk_complete(d->b);
	}
	assert_int_equal(d->used->idx, want);
}

static uint64_t hdr(struct drv *d, unsigned slot, uint32_t type,
		    uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	uint64_t gpa = HDR + 16 * slot;

	memcpy(gp(d, gpa, 16), &h, 16);
	return gpa;
}

static uint8_t *status(struct drv *d, unsigned slot)
{
	uint8_t *s = gp(d, STAT + slot, 1);

	*s = 0xee; /* "not written" */
	return s;
}

/* One simple request: header, one data buffer, status. */
static uint16_t req(struct drv *d, unsigned slot, uint32_t type,
		    uint64_t sector, uint64_t data, uint32_t len,
		    bool data_writable)
{
	struct dd c[3] = {
	    {hdr(d, slot, type, sector), 16, 0},
	    {data, len, data_writable ? VRING_DESC_F_WRITE : 0},
	    {STAT + slot, 1, VRING_DESC_F_WRITE},
	};

	unsigned n = 3;

	status(d, slot);
	if (!len) {
		c[1] = c[2];
		n = 2;
	}
	if (d->indirect) {
		/* A queue of N descriptors then holds N requests. */
		uint64_t tgpa = DATA + 0xc0000 + slot * 64ULL;
		struct vring_desc *t = (void *)gp(d, tgpa, 16 * n);

		for (unsigned i = 0; i < n; i++)
			t[i] = (struct vring_desc){
			    c[i].addr, c[i].len,
			    (uint16_t)(c[i].flags |
				       (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			    (uint16_t)(i + 1)};
		return add_chain(
		    d, &(struct dd){tgpa, 16 * n, VRING_DESC_F_INDIRECT}, 1);
	}
	return add_chain(d, c, n);
}

static struct vring_used_elem used_elem(struct drv *d, uint16_t i)
{
	return d->used->ring[i % d->num];
}

/* ---- normal operation ---- */

static void test_features_and_config(void **state)
{
	struct drv *d = *state;
	uint32_t v;

	start(d, NULL, 16, ~0ULL);
	assert_true(virtio_mmio_has_feature(&d->b->mmio, VIRTIO_F_VERSION_1));
	assert_true(virtio_mmio_has_feature(&d->b->mmio, VIRTIO_BLK_F_FLUSH));
	assert_false(virtio_mmio_has_feature(&d->b->mmio, VIRTIO_BLK_F_RO));
	assert_int_equal(rd(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	virtio_mmio_read(&d->b->mmio, VIRTIO_MMIO_CONFIG, &v, 4);
	assert_int_equal(v, DISK_SECTORS);
	virtio_mmio_read(&d->b->mmio, VIRTIO_MMIO_CONFIG + 12, &v, 4);
	assert_int_equal(v, VIRTIO_BLK_SEG_MAX);
	virtio_mmio_read(&d->b->mmio, VIRTIO_MMIO_CONFIG + 20, &v, 4);
	assert_int_equal(v, 512);
}

static void test_read(void **state)
{
	struct drv *d = *state;
	uint8_t *buf = gp(d, DATA, 1024);

	start(d, NULL, 16, ~0ULL);
	memset(buf, 0, 1024 + 16);
	req(d, 0, VIRTIO_BLK_T_IN, 2, DATA, 1024, true);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(d, 0).id, 0);
	assert_int_equal(used_elem(d, 0).len, 1025);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(buf[i], pattern(1024 + i));
	assert_int_equal(buf[1024], 0); /* nothing past the buffer */
	assert_int_equal(d->b->stats.bytes_read, 1024);
	assert_true(d->irqs >= 1);
	assert_true(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_VRING);
}

static void test_write_then_read(void **state)
{
	struct drv *d = *state;
	uint8_t *buf = gp(d, DATA, 512 * 3);
	uint8_t file[1536];

	start(d, NULL, 16, ~0ULL);
	for (unsigned i = 0; i < 1536; i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	req(d, 0, VIRTIO_BLK_T_OUT, 10, DATA, 1536, false);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(d, 0).len, 1);
	file_read(d, 10 * 512, file, sizeof(file));
	assert_memory_equal(file, buf, sizeof(file));
	/* neighbours untouched */
	file_read(d, 9 * 512, file, 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(file[i], pattern(9 * 512 + i));
	/* read back into another buffer */
	memset(gp(d, DATA + 0x10000, 1536), 0, 1536);
	req(d, 1, VIRTIO_BLK_T_IN, 10, DATA + 0x10000, 1536, true);
	kick(d);
	wait_used(d, 2);
	assert_memory_equal(gp(d, DATA + 0x10000, 1536), buf, 1536);
	assert_int_equal(d->b->stats.bytes_written, 1536);
}

static void test_unaligned_buffers(void **state)
{
	struct drv *d = *state;
	/* 3 segments at odd addresses and lengths (bounce when O_DIRECT) */
	uint64_t a = DATA + 3, b = DATA + 0x2001, c = DATA + 0x4005;
	struct dd w[5] = {
	    {hdr(d, 0, VIRTIO_BLK_T_OUT, 4), 16, 0},
	    {a, 100, 0},
	    {b, 700, 0},
	    {c, 224, 0},
	    {STAT, 1, VRING_DESC_F_WRITE},
	};
	uint8_t expect[1024], file[1024];

	start(d, NULL, 16, ~0ULL);
	for (unsigned i = 0; i < 100; i++)
		*gp(d, a + i, 1) = expect[i] = (uint8_t)(i + 1);
	for (unsigned i = 0; i < 700; i++)
		*gp(d, b + i, 1) = expect[100 + i] = (uint8_t)(i * 3);
	for (unsigned i = 0; i < 224; i++)
		*gp(d, c + i, 1) = expect[800 + i] = (uint8_t)(i ^ 0x5a);
	status(d, 0);
	add_chain(d, w, 5);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	file_read(d, 4 * 512, file, 1024);
	assert_memory_equal(file, expect, 1024);
	/* and read it back scattered the same way */
	memset(gp(d, DATA, 0x5000), 0, 0x5000);
	w[0].addr = hdr(d, 1, VIRTIO_BLK_T_IN, 4);
	for (int i = 1; i < 4; i++)
		w[i].flags = VRING_DESC_F_WRITE;
	w[4].addr = STAT + 1;
	status(d, 1);
	add_chain(d, w, 5);
	kick(d);
	wait_used(d, 2);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(d, 1).len, 1025);
	assert_memory_equal(gp(d, a, 100), expect, 100);
	assert_memory_equal(gp(d, b, 700), expect + 100, 700);
	assert_memory_equal(gp(d, c, 224), expect + 800, 224);
	assert_int_equal(*gp(d, a - 1, 1), 0);
	assert_int_equal(*gp(d, c + 224, 1), 0);
	/* with O_DIRECT both went through aligned bounce buffers */
	if (d->b->direct)
		assert_int_equal(d->b->stats.bounced, 2);
	else
		assert_int_equal(d->b->stats.bounced, 0);
}

static void test_indirect_request(void **state)
{
	struct drv *d = *state;
	struct vring_desc *t = (void *)gp(d, DATA + 0x8000, 48);
	uint8_t *buf = gp(d, DATA, 512);

	start(d, NULL, 16, ~0ULL);
	assert_true(
	    virtio_mmio_has_feature(&d->b->mmio, VIRTIO_RING_F_INDIRECT_DESC));
	t[0] = (struct vring_desc){hdr(d, 0, VIRTIO_BLK_T_IN, 1), 16,
				   VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){DATA, 512,
				   VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2};
	t[2] = (struct vring_desc){STAT, 1, VRING_DESC_F_WRITE, 0};
	status(d, 0);
	add_chain(d, &(struct dd){DATA + 0x8000, 48, VRING_DESC_F_INDIRECT}, 1);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(buf[i], pattern(512 + i));
}

static void test_flush(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	req(d, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(d, 0).len, 1);
	assert_int_equal(d->b->stats.flushes, 1);
}

/* The FLUSH must not reach the kernel while earlier writes are in flight. */
static struct drv *order_drv;
static unsigned order_flush_seen, order_violations;

static int order_submit(io_context_t ctx, long nr, struct iocb **iocbs)
{
	for (long i = 0; i < nr; i++) {
		if (iocbs[i]->aio_lio_opcode == IO_CMD_FDSYNC) {
			order_flush_seen++;
			if (order_drv->b->inflight || i)
				order_violations++;
		}
	}
	return io_submit(ctx, nr, iocbs);
}

static void test_flush_waits_for_writes(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 32, ~0ULL);
	order_drv = d;
	order_flush_seen = order_violations = 0;
	d->b->submit = order_submit;
	for (unsigned i = 0; i < 4; i++)
		req(d, i, VIRTIO_BLK_T_OUT, i * 8, DATA + i * 4096, 4096,
		    false);
	req(d, 4, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	req(d, 5, VIRTIO_BLK_T_OUT, 40, DATA, 512, false);
	kick(d);
	/* the flush is held back while the writes are in flight */
	if (d->b->inflight)
		assert_int_equal(order_flush_seen, 0);
	wait_used(d, 6);
	assert_int_equal(order_flush_seen, 1);
	assert_int_equal(order_violations, 0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(*gp(d, STAT + i, 1), VIRTIO_BLK_S_OK);
}

static void test_get_id(void **state)
{
	struct drv *d = *state;
	uint8_t *buf = gp(d, DATA, 32);

	start(d, NULL, 16, ~0ULL);
	memset(buf, 0x77, 32);
	req(d, 0, VIRTIO_BLK_T_GET_ID, 0, DATA, 24, true);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(d, 0).len, 21);
	assert_memory_equal(buf, "vmm-disk-3\0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(buf[20], 0x77); /* only 20 bytes written */
}

static void test_get_id_serial(void **state)
{
	struct drv *d = *state;

	start(d, "serial", 16, ~0ULL);
	req(d, 0, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(d, DATA, 10), "my-serial", 10);
}

static void discard_req(struct drv *d, unsigned slot, uint32_t type,
			uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_wz seg = {sector, n, flags};

	memcpy(gp(d, DATA + 0x9000 + slot * 16, 16), &seg, 16);
	req(d, slot, type, 0, DATA + 0x9000 + slot * 16, 16, false);
}

static void test_discard_write_zeroes(void **state)
{
	struct drv *d = *state;
	uint8_t file[2048];

	start(d, NULL, 16, ~0ULL);
	if (!d->b->can_punch)
		skip();
	assert_true(virtio_mmio_has_feature(&d->b->mmio, VIRTIO_BLK_F_DISCARD));
	discard_req(d, 0, VIRTIO_BLK_T_WRITE_ZEROES, 4, 2, 0);
	discard_req(d, 1, VIRTIO_BLK_T_DISCARD, 8, 1, 0);
	discard_req(d, 2, VIRTIO_BLK_T_WRITE_ZEROES, 12, 1,
		    VIRTIO_BLK_WZ_F_UNMAP);
	discard_req(d, 3, VIRTIO_BLK_T_DISCARD, 12, 1, VIRTIO_BLK_WZ_F_UNMAP);
	discard_req(d, 4, VIRTIO_BLK_T_WRITE_ZEROES, DISK_SECTORS - 1, 2, 0);
	kick(d);
	wait_used(d, 5);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(d, STAT + 2, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(d, STAT + 3, 1),
			 VIRTIO_BLK_S_UNSUPP); /* unmap on discard */
	assert_int_equal(*gp(d, STAT + 4, 1),
			 VIRTIO_BLK_S_IOERR); /* past the end */
	file_read(d, 3 * 512, file, 2048);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(file[i], pattern(3 * 512 + i));
	for (unsigned i = 512; i < 1536; i++)
		assert_int_equal(file[i], 0);
	for (unsigned i = 1536; i < 2048; i++)
		assert_int_equal(file[i], pattern(3 * 512 + i));
	file_read(d, 8 * 512, file, 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(file[i], 0);
	file_read(d, 12 * 512, file, 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(file[i], 0);
}

static void test_discard_not_negotiated(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	discard_req(d, 0, VIRTIO_BLK_T_DISCARD, 4, 2, 0);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_UNSUPP);
}

/* ---- 18: header ---- */

static void test_short_header(void **state)
{
	struct drv *d = *state;
	uint8_t before[512], after[512];
	struct dd c[2] = {
	    {hdr(d, 0, VIRTIO_BLK_T_OUT, 0), 8, 0}, /* 8-byte header */
	    {STAT, 1, VRING_DESC_F_WRITE},
	};

	file_read(d, 0, before, 512);
	start(d, NULL, 16, ~0ULL);
	status(d, 0);
	add_chain(d, c, 2);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_elem(d, 0).len, 1);
	file_read(d, 0, after, 512);
	assert_memory_equal(before, after, 512);
}

static void test_header_writable(void **state)
{
	struct drv *d = *state;
	struct dd c[2] = {
	    {hdr(d, 0, VIRTIO_BLK_T_IN, 0), 16, VRING_DESC_F_WRITE},
	    {STAT, 1, VRING_DESC_F_WRITE},
	};

	start(d, NULL, 16, ~0ULL);
	status(d, 0);
	add_chain(d, c, 2);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_elem(d, 0).len, 1);
	/* the header the device could have written is untouched */
	assert_int_equal(((struct virtio_blk_outhdr *)gp(d, HDR, 16))->type,
			 VIRTIO_BLK_T_IN);
}

/* ---- 19: range ---- */

static void test_sector_overflow(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 1024), 0x55, 1024);
	req(d, 0, VIRTIO_BLK_T_IN, UINT64_MAX, DATA, 1024, true);
	req(d, 1, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, DATA, 1024, false);
	req(d, 2, VIRTIO_BLK_T_IN, (UINT64_MAX / 512) + 1, DATA, 512, true);
	kick(d);
	wait_used(d, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(*gp(d, STAT + i, 1), VIRTIO_BLK_S_IOERR);
		assert_int_equal(used_elem(d, i).len, 1);
	}
	assert_int_equal(*gp(d, DATA, 1), 0x55); /* no I/O */
	assert_int_equal(d->b->stats.bytes_read + d->b->stats.bytes_written, 0);
}

static void test_past_capacity(void **state)
{
	struct drv *d = *state;
	uint8_t before[1024], after[1024];

	file_read(d, (DISK_SECTORS - 2) * 512, before, 1024);
	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 1536), 0x99, 1536);
	req(d, 0, VIRTIO_BLK_T_OUT, DISK_SECTORS - 2, DATA, 1536, false);
	req(d, 1, VIRTIO_BLK_T_IN, DISK_SECTORS, DATA, 512, true);
	req(d, 2, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, DATA + 4096, 512, true);
	kick(d);
	wait_used(d, 3);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(*gp(d, STAT + 2, 1),
			 VIRTIO_BLK_S_OK); /* last sector ok */
	file_read(d, (DISK_SECTORS - 2) * 512, after, 1024);
	assert_memory_equal(before, after, 1024);
	struct stat st;
	assert_int_equal(stat(d->path, &st), 0);
	assert_int_equal(st.st_size, DISK_SECTORS * 512); /* never grown */
}

/* ---- 20: lengths ---- */

static void test_len_not_multiple_of_512(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 600), 0x55, 600);
	req(d, 0, VIRTIO_BLK_T_IN, 0, DATA, 100, true);
	req(d, 1, VIRTIO_BLK_T_OUT, 0, DATA, 513, false);
	kick(d);
	wait_used(d, 2);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_elem(d, 0).len, 1);
	assert_int_equal(*gp(d, DATA, 1), 0x55);
}

static void test_get_id_short_buffer(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 32), 0x77, 32);
	req(d, 0, VIRTIO_BLK_T_GET_ID, 0, DATA, 19, true);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_elem(d, 0).len, 1);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(*gp(d, DATA + i, 1), 0x77);
}

/* ---- 21: status ---- */

static void test_status_missing(void **state)
{
	struct drv *d = *state;
	uint8_t before[512], after[512];
	struct dd c[2] = {
	    {hdr(d, 0, VIRTIO_BLK_T_OUT, 0), 16, 0},
	    {DATA, 512, 0},
	};

	file_read(d, 0, before, 512);
	start(d, NULL, 16, ~0ULL);
	add_chain(d, c, 2);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(used_elem(d, 0).len, 0);
	assert_int_equal(d->b->stats.rejected, 1);
	file_read(d, 0, after, 512);
	assert_memory_equal(before, after, 512);
}

static void test_status_read_only(void **state)
{
	struct drv *d = *state;
	struct dd c[3] = {
	    {hdr(d, 0, VIRTIO_BLK_T_FLUSH, 0), 16, 0},
	    {STAT, 1, 0},
	};

	start(d, NULL, 16, ~0ULL);
	status(d, 0);
	add_chain(d, c, 2);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(used_elem(d, 0).len, 0);
	assert_int_equal(*gp(d, STAT, 1), 0xee); /* never written */
	assert_int_equal(d->b->stats.rejected, 1);
}

static void test_status_zero_length(void **state)
{
	struct drv *d = *state;
	struct dd c[3] = {
	    {hdr(d, 0, VIRTIO_BLK_T_IN, 0), 16, 0},
	    {DATA, 512, VRING_DESC_F_WRITE},
	    {STAT, 0, VRING_DESC_F_WRITE},
	};

	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 512), 0x31, 512);
	status(d, 0);
	add_chain(d, c, 3);
	kick(d);
	wait_used(d, 1);
	assert_int_equal(used_elem(d, 0).len, 0);
	assert_int_equal(*gp(d, STAT, 1), 0xee);
	assert_int_equal(*gp(d, DATA + 511, 1), 0x31); /* not used as status */
}

/* ---- 22: type / read-only ---- */

static void test_unknown_type(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	req(d, 0, 99, 0, 0, 0, false);
	req(d, 1, 0x80000000u, 0, DATA, 512, true);
	kick(d);
	wait_used(d, 2);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used_elem(d, 1).len, 1);
}

static void test_read_only_disk(void **state)
{
	struct drv *d = *state;
	uint8_t before[1024], after[1024];

	file_read(d, 0, before, 1024);
	start(d, "ro", 16, ~0ULL);
	assert_true(virtio_mmio_has_feature(&d->b->mmio, VIRTIO_BLK_F_RO));
	assert_false(
	    virtio_mmio_has_feature(&d->b->mmio, VIRTIO_BLK_F_DISCARD));
	memset(gp(d, DATA, 1024), 0xcc, 1024);
	req(d, 0, VIRTIO_BLK_T_OUT, 0, DATA, 1024, false);
	discard_req(d, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0);
	req(d, 2, VIRTIO_BLK_T_IN, 0, DATA + 4096, 512, true);
	kick(d);
	wait_used(d, 3);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_not_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(d, STAT + 2, 1), VIRTIO_BLK_S_OK);
	file_read(d, 0, after, 1024);
	assert_memory_equal(before, after, 1024);
}

/* 15 at the device level: data in the wrong direction. */
static void test_wrong_data_direction(void **state)
{
	struct drv *d = *state;
	uint8_t before[512], after[512];

	file_read(d, 0, before, 512);
	start(d, NULL, 16, ~0ULL);
	memset(gp(d, DATA, 512), 0x42, 512);
	req(d, 0, VIRTIO_BLK_T_IN, 0, DATA, 512,
	    false); /* read into RO buffer */
	req(d, 1, VIRTIO_BLK_T_OUT, 0, DATA, 512,
	    true); /* write from WO buffer */
	kick(d);
	wait_used(d, 2);
	assert_int_equal(*gp(d, STAT, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(*gp(d, STAT + 1, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(*gp(d, DATA, 1), 0x42);
	file_read(d, 0, after, 512);
	assert_memory_equal(before, after, 512);
}

/* Ring errors at the device level end in NEEDS_RESET, not a hang. */
static void test_avail_jump_needs_reset(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	d->avail->idx = 17;
	kick(d);
	assert_true(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(d->used->idx, 0);
	assert_int_equal(d->b->busy, 0);
}

static void test_bad_chain_needs_reset(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	d->avail->ring[0] = 200; /* head out of range */
	d->avail->idx = 1;
	kick(d);
	assert_true(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(d->b->mmio.needs_reset_events, 1);
	assert_int_equal(d->used->idx, 0);
	/* the device stays stopped until reset */
	d->avail->ring[0] = 0;
	req(d, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	kick(d);
	assert_int_equal(d->used->idx, 0);
}

/* ---- 23: floods and EAGAIN ---- */

static unsigned eagain_calls;

static int eagain_submit(io_context_t ctx, long nr, struct iocb **iocbs)
{
	(void)ctx;
	(void)nr;
	(void)iocbs;
	eagain_calls++;
	return -EAGAIN;
}

static void test_submit_eagain(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 4, ~0ULL);
	d->indirect = true;
	d->b->submit = eagain_submit;
	eagain_calls = 0;
	for (unsigned i = 0; i < 4; i++)
		req(d, i, VIRTIO_BLK_T_IN, i, DATA + i * 512, 512, true);
	kick(d);
	assert_true(eagain_calls >= 1);
	assert_int_equal(d->used->idx, 0);
	assert_int_equal(d->b->inflight, 0);
	assert_int_equal(d->b->busy, 4); /* kept pending, not dropped */
	assert_non_null(d->b->pend_head);
	/* a flood beyond the queue size is not taken while 4 are busy */
	for (unsigned i = 0; i < 4; i++)
		req(d, 4 + i, VIRTIO_BLK_T_IN, i, DATA + 0x10000 + i * 512, 512,
		    true);
	kick(d);
	assert_int_equal(d->b->mmio.vq[0].last_avail, 4);
	assert_true(d->b->stats.max_inflight <= 4);
	/* the kernel takes requests again: everything completes */
	d->b->submit = io_submit;
	kick(d);
	wait_used(d, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(*gp(d, STAT + i, 1), VIRTIO_BLK_S_OK);
	assert_true(d->b->stats.max_inflight <= 4);
	assert_true(d->b->stats.submit_eagain >= 1);
	assert_int_equal(d->b->stats.errors, 0);
}

static void test_flood(void **state)
{
	struct drv *d = *state;
	uint16_t total = 0;

	start(d, NULL, 8, ~0ULL);
	d->indirect = true;
	/* keep the ring full for a while */
	for (unsigned round = 0; round < 8; round++) {
		for (unsigned i = 0; i < 8; i++)
			req(d, i, VIRTIO_BLK_T_IN, i, DATA + i * 4096, 4096,
			    true);
		kick(d);
		assert_true(d->b->busy <= 8);
		total += 8;
		wait_used(d, total);
	}
	assert_true(d->b->stats.max_inflight <= 8);
	assert_int_equal(d->b->stats.reads, 64);
}

/* ---- merging adjacent requests into one host I/O ---- */

static unsigned sub_iocbs; /* iocbs handed to the kernel */
static uint64_t fail_at =
    UINT64_MAX; /* reads covering this byte come back short */

static uint64_t iocb_bytes(const struct iocb *io)
{
	const struct iovec *iov = io->u.c.buf;
	uint64_t n = 0;

	for (unsigned long i = 0; i < io->u.c.nbytes; i++)
		n += iov[i].iov_len;
	return n;
}

static int count_submit(io_context_t ctx, long nr, struct iocb **iocbs)
{
	for (long i = 0; i < nr; i++) {
		struct iocb *io = iocbs[i];

		sub_iocbs++;
		/* A bad sector: move the read to the end of the disk (0 bytes). */
		if (io->aio_lio_opcode == IO_CMD_PREADV &&
		    (uint64_t)io->u.c.offset <= fail_at &&
		    fail_at < (uint64_t)io->u.c.offset + iocb_bytes(io))
			io->u.c.offset = DISK_SECTORS * 512;
	}
	return io_submit(ctx, nr, iocbs);
}

/* The used length for the request whose (indirect) head is `head`. */
static uint32_t used_len_of(struct drv *d, uint16_t head)
{
	for (uint16_t k = 0; k < d->used->idx; k++)
		if (used_elem(d, k).id == head)
			return used_elem(d, k).len;
	fail_msg("request %u not in the used ring", head);
	return 0;
}

static void merge_start(struct drv *d)
{
	start(d, NULL, 32, ~0ULL);
	d->indirect = true;
	d->b->submit = count_submit;
	sub_iocbs = 0;
	fail_at = UINT64_MAX;
}

static void test_merge_adjacent_reads(void **state)
{
	struct drv *d = *state;

	merge_start(d);
	/* four 4 KiB reads in disk order, buffers scattered in guest memory */
	for (unsigned i = 0; i < 4; i++) {
		memset(gp(d, DATA + i * 0x3000, 4096), 0, 4096);
		req(d, i, VIRTIO_BLK_T_IN, i * 8, DATA + i * 0x3000, 4096,
		    true);
	}
	kick(d);
	wait_used(d, 4);
	assert_int_equal(sub_iocbs, 1);
	assert_int_equal(d->b->stats.merged, 3);
	assert_int_equal(d->b->stats.reads, 4);
	assert_int_equal(d->b->stats.bytes_read, 4 * 4096);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t *buf = gp(d, DATA + i * 0x3000, 4096);

		assert_int_equal(*gp(d, STAT + i, 1), VIRTIO_BLK_S_OK);
		assert_int_equal(used_len_of(d, (uint16_t)i), 4097);
		for (unsigned j = 0; j < 4096; j++)
			assert_int_equal(buf[j], pattern(i * 4096 + j));
	}
	assert_int_equal(d->b->busy, 0);
}

static void test_merge_adjacent_writes(void **state)
{
	struct drv *d = *state;
	uint8_t file[3 * 2048];

	merge_start(d);
	for (unsigned i = 0; i < 3; i++) {
		memset(gp(d, DATA + i * 0x3000, 2048), 0x30 + i, 2048);
		req(d, i, VIRTIO_BLK_T_OUT, 20 + i * 4, DATA + i * 0x3000, 2048,
		    false);
	}
	kick(d);
	wait_used(d, 3);
	assert_int_equal(sub_iocbs, 1);
	assert_int_equal(d->b->stats.merged, 2);
	file_read(d, 20 * 512, file, sizeof(file));
	for (unsigned i = 0; i < sizeof(file); i++)
		assert_int_equal(file[i], 0x30 + i / 2048);
	assert_int_equal(d->b->stats.bytes_written, sizeof(file));
}

/* Gaps, overlaps, backwards order and a change of direction never merge. */
static void test_merge_only_adjacent(void **state)
{
	struct drv *d = *state;

	merge_start(d);
	req(d, 0, VIRTIO_BLK_T_IN, 0, DATA, 4096, true);	 /* 0-7 */
	req(d, 1, VIRTIO_BLK_T_IN, 9, DATA + 0x3000, 512, true); /* gap */
	req(d, 2, VIRTIO_BLK_T_IN, 9, DATA + 0x6000, 512, true); /* overlap */
	req(d, 3, VIRTIO_BLK_T_IN, 8, DATA + 0x9000, 512, true); /* backwards */
	req(d, 4, VIRTIO_BLK_T_OUT, 9, DATA + 0xc000, 512, false); /* a write */
	req(d, 5, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	req(d, 6, VIRTIO_BLK_T_OUT, 10, DATA + 0xf000, 512,
	    false); /* after flush */
	kick(d);
	wait_used(d, 7);
	assert_int_equal(d->b->stats.merged, 0);
	assert_int_equal(sub_iocbs, 7);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(*gp(d, STAT + i, 1), VIRTIO_BLK_S_OK);
}

/* An error in a merged I/O fails only the request that owns the bad sector. */
static void test_merge_error_split(void **state)
{
	struct drv *d = *state;

	merge_start(d);
	fail_at = 8 * 512 + 100; /* inside request 1 */
	for (unsigned i = 0; i < 4; i++)
		req(d, i, VIRTIO_BLK_T_IN, i * 8, DATA + i * 0x3000, 4096,
		    true);
	kick(d);
	wait_used(d, 4);
	assert_int_equal(d->b->stats.merged, 3);
	assert_int_equal(d->b->stats.split, 1);
	assert_int_equal(sub_iocbs, 1 + 4); /* the merged I/O, then one each */
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(*gp(d, STAT + i, 1),
				 i == 1 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		assert_int_equal(used_len_of(d, (uint16_t)i),
				 i == 1 ? 1 : 4097);
	}
	assert_int_equal(d->b->stats.errors, 1);
	assert_int_equal(d->b->stats.bytes_read, 3 * 4096);
	assert_int_equal(d->b->busy, 0);
}

/* Reset with a merged I/O waiting to be submitted puts back every request. */
static void test_merge_reset(void **state)
{
	struct drv *d = *state;

	merge_start(d);
	d->b->submit = eagain_submit;
	for (unsigned i = 0; i < 4; i++)
		req(d, i, VIRTIO_BLK_T_IN, i * 8, DATA + i * 0x3000, 4096,
		    true);
	kick(d);
	assert_int_equal(d->b->busy, 4);
	assert_int_equal(d->b->stats.merged, 3);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(d->b->busy, 0);
	assert_null(d->b->pend_head);
	assert_int_equal(d->used->idx, 0);
}

/* 8 at the device level: reset waits for in-flight I/O and forgets it. */
static void test_reset_drains(void **state)
{
	struct drv *d = *state;

	start(d, NULL, 16, ~0ULL);
	d->indirect = true;
	for (unsigned i = 0; i < 8; i++)
		req(d, i, VIRTIO_BLK_T_IN, i * 4, DATA + i * 4096, 2048, true);
	kick(d);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(d->b->inflight, 0);
	assert_int_equal(d->b->busy, 0);
	assert_null(d->b->pend_head);
	/* nothing completes after the reset */
	virtio_blk_complete(d->b);
	assert_int_equal(d->used->idx, 0);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(*gp(d, STAT + i, 1), 0xee);
}

/* ---- set-up errors and option parsing ---- */

static void test_open_errors(void **state)
{
	struct drv *d = *state;
	struct virtio_blk *b = NULL;
	struct disk_config dc = {.path = "/nonexistent/vmm-disk.img"};
	int fd;

	assert_int_equal(virtio_blk_create(&b, &d->gm, &dc, 0, irq, d),
			 -ENOENT);
	fd = open(d->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	dc.path = d->path;
	assert_int_equal(virtio_blk_create(&b, &d->gm, &dc, 0, irq, d),
			 -EINVAL);
	assert_null(b);
	dc.path = "/tmp";
	assert_int_equal(virtio_blk_create(&b, &d->gm, &dc, 0, irq, d) < 0, 1);
	if (geteuid() != 0) {
		/* read-only file asked read-write */
		assert_int_equal(truncate(d->path, 512), 0);
		assert_int_equal(chmod(d->path, 0444), 0);
		dc.path = d->path;
		assert_int_equal(virtio_blk_create(&b, &d->gm, &dc, 0, irq, d),
				 -EACCES);
		dc.readonly = true;
		assert_int_equal(virtio_blk_create(&b, &d->gm, &dc, 0, irq, d),
				 0);
		virtio_blk_destroy(b);
	}
}

static void test_stats_print(void **state)
{
	struct drv *d = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	start(d, NULL, 16, ~0ULL);
	req(d, 0, VIRTIO_BLK_T_IN, 0, DATA, 512, true);
	req(d, 1, 77, 0, 0, 0, false);
	kick(d);
	wait_used(d, 2);
	virtio_blk_print_stats(d->b, f);
	fclose(f);
	assert_non_null(strstr(buf, "read"));
	assert_non_null(strstr(buf, "unsupported"));
	assert_int_equal(d->b->stats.reads, 1);
	assert_int_equal(d->b->stats.unsupported, 1);
	assert_int_equal(d->b->stats.bytes_read, 512);
	free(buf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_features_and_config),
	    T(test_read),
	    T(test_write_then_read),
	    T(test_unaligned_buffers),
	    T(test_indirect_request),
	    T(test_flush),
	    T(test_flush_waits_for_writes),
	    T(test_get_id),
	    T(test_get_id_serial),
	    T(test_discard_write_zeroes),
	    T(test_discard_not_negotiated),
	    T(test_short_header),
	    T(test_header_writable),
	    T(test_sector_overflow),
	    T(test_past_capacity),
	    T(test_len_not_multiple_of_512),
	    T(test_get_id_short_buffer),
	    T(test_status_missing),
	    T(test_status_read_only),
	    T(test_status_zero_length),
	    T(test_unknown_type),
	    T(test_read_only_disk),
	    T(test_wrong_data_direction),
	    T(test_bad_chain_needs_reset),
	    T(test_avail_jump_needs_reset),
	    T(test_submit_eagain),
	    T(test_flood),
	    T(test_reset_drains),
	    T(test_merge_adjacent_reads),
	    T(test_merge_adjacent_writes),
	    T(test_merge_only_adjacent),
	    T(test_merge_error_split),
	    T(test_merge_reset),
	    T(test_open_errors),
	    T(test_stats_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
