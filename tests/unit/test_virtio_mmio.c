// SPDX-License-Identifier: MIT
/* virtio-mmio transport with a fake device (checklist 1-8). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../devices/virtio_mmio.h"

#define RAM   (4ULL << 20)
#define NQ    2
#define QMAX  16
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define FEAT                                                                   \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) |                                      \
	 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | 0x3)

struct fake {
	struct guest_mem gm;
	struct virtio_mmio t;
	uint8_t config[10];
	unsigned activated, resets, irqs, config_writes;
	unsigned notified[NQ];
};

static int fake_activate(void *dev)
{
	((struct fake *)dev)->activated++;
	return 0;
}

static void fake_notify(void *dev, unsigned q)
{
	struct fake *f = dev;

	assert_true(q < NQ);
	f->notified[q]++;
}

static void fake_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static void fake_config_write(void *dev, uint64_t off, const void *data,
			      uint32_t len)
{
	struct fake *f = dev;

	(void)data;
	assert_true(off + len <= sizeof(f->config));
	f->config_writes++;
}

static void fake_irq(void *opaque)
{
	((struct fake *)opaque)->irqs++;
}

static const struct virtio_dev_ops fake_ops = {
    .activate = fake_activate,
    .notify = fake_notify,
    .reset = fake_reset,
    .config_write = fake_config_write,
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(gm_create_fake(&f->gm, RAM), 0);
	for (unsigned i = 0; i < sizeof(f->config); i++)
		f->config[i] = (uint8_t)(0x10 + i);
	assert_int_equal(virtio_mmio_init(&f->t, &f->gm, 42, FEAT, NQ, QMAX,
					  f->config, sizeof(f->config),
					  &fake_ops, f, fake_irq, f),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	virtio_mmio_destroy(&f->t);
	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static void wr(struct fake *f, uint64_t off, uint32_t v)
{
	virtio_mmio_write(&f->t, off, &v, 4);
}

static uint32_t rd(struct fake *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_read(&f->t, off, &v, 4);
	return v;
}

static void negotiate(struct fake *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	wr(f, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
}

static void queue(struct fake *f, unsigned q, uint32_t num, uint64_t desc,
		  uint64_t avail, uint64_t used)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(struct fake *f)
{
	wr(f, VIRTIO_MMIO_STATUS,
	   rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void test_identity(void **state)
{
	struct fake *f = *state;

	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_VENDOR_ID);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)FEAT);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES),
			 (uint32_t)(FEAT >> 32));
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
}

static void test_activate_and_notify(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	driver_ok(f);
	assert_int_equal(f->activated, 1);
	assert_true(f->t.live);
	assert_true(f->t.vq[0].ready);
	assert_int_equal(f->t.vq[0].num, 8);
	assert_true(f->t.vq[0].event_idx);
	assert_false(f->t.vq[1].ready);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio_notify(&f->t, 0);
	assert_int_equal(f->notified[0], 3); /* rescan + 2 kicks */
	/* the queue that is not ready is never notified */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->notified[1], 0);
}

static void expect_needs_reset(struct fake *f)
{
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(f->t.live);
	assert_int_equal(f->activated, 0);
	assert_int_equal(f->t.needs_reset_events, 1);
	/* config-change interrupt tells the driver */
	assert_true(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(f->irqs, 1);
	/* no processing afterwards */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->notified[0], 0);
	/* reset clears it and the device can start again */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->resets, 1);
	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	driver_ok(f);
	assert_int_equal(f->activated, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET,
			 0);
}

/* 1 */
static void test_queue_size_zero(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 0, DESC, AVAIL, USED);
	driver_ok(f);
	expect_needs_reset(f);
}

static void test_queue_size_too_big(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, QMAX * 2, DESC, AVAIL, USED);
	driver_ok(f);
	expect_needs_reset(f);
}

static void test_queue_size_not_pow2(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 12, DESC, AVAIL, USED);
	driver_ok(f);
	expect_needs_reset(f);
}

/* 2 */
static void test_ring_outside_ram(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, RAM - 8); /* used ring needs 70 bytes */
	driver_ok(f);
	expect_needs_reset(f);
}

static void test_ring_high_address(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, 0xfffffffffffff000ULL, AVAIL, USED);
	driver_ok(f);
	expect_needs_reset(f);
}

static void test_ring_misaligned(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC + 4, AVAIL, USED);
	driver_ok(f);
	expect_needs_reset(f);
}

/* 3 */
static void test_queue_regs_after_ready(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	/* ready: these must all be ignored */
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 3);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xffff0000);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffff);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 1);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 7);
	assert_int_equal(f->t.qcfg[0].num, 8);
	assert_int_equal(f->t.qcfg[0].desc, DESC);
	driver_ok(f);
	assert_int_equal(f->activated, 1);
	assert_int_equal(f->t.vq[0].num, 8);
	/* and after DRIVER_OK the ready bit itself is frozen */
	wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
}

/* 4 */
static void test_queue_sel_out_of_range(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, NQ);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
	for (unsigned i = 0; i < NQ; i++)
		assert_int_equal(f->t.qcfg[i].num, i == 0 ? 8 : 0);
	driver_ok(f);
	assert_int_equal(f->activated, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, NQ);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	virtio_mmio_notify(&f->t, 1000);
	assert_int_equal(f->notified[0], 1); /* only the activation rescan */
	assert_int_equal(f->notified[1], 0);
}

/* 5 */
static void test_notify_before_driver_ok(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio_notify(&f->t, 0);
	assert_int_equal(f->notified[0], 0);
	driver_ok(f);
	assert_int_equal(f->notified[0], 1); /* rescan after activation */
}

/* 6 */
static void test_access_width(void **state)
{
	struct fake *f = *state;
	uint64_t v8 = ~0ULL;
	uint16_t v2 = 0xffff;
	uint8_t v1 = 0xff;

	virtio_mmio_read(&f->t, VIRTIO_MMIO_MAGIC_VALUE, &v2, 2);
	assert_int_equal(v2, 0);
	virtio_mmio_read(&f->t, VIRTIO_MMIO_MAGIC_VALUE, &v1, 1);
	assert_int_equal(v1, 0);
	virtio_mmio_read(&f->t, VIRTIO_MMIO_MAGIC_VALUE, &v8, 8);
	assert_int_equal(v8, 0);
	/* misaligned 4-byte read */
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE + 1), 0);
	/* unknown offsets */
	assert_int_equal(rd(f, 0x0c8), 0);
	assert_int_equal(rd(f, 0x018), 0);
	/* narrow or misaligned writes are dropped */
	v2 = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_write(&f->t, VIRTIO_MMIO_STATUS, &v2, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	wr(f, VIRTIO_MMIO_STATUS + 1, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	wr(f, 0x0c8, 1);
	wr(f, VIRTIO_MMIO_MAGIC_VALUE, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(f->resets, 0);
}

/* 7 */
static void test_config_bounds(void **state)
{
	struct fake *f = *state;
	uint32_t v;
	uint64_t v8;
	uint8_t b;

	v = 0;
	virtio_mmio_read(&f->t, VIRTIO_MMIO_CONFIG, &v, 4);
	assert_int_equal(v, 0x13121110);
	/* straddling the end: the bytes inside, then zeros */
	v8 = ~0ULL;
	virtio_mmio_read(&f->t, VIRTIO_MMIO_CONFIG + 8, &v8, 8);
	assert_int_equal(v8, 0x1918);
	b = 0xff;
	virtio_mmio_read(&f->t, VIRTIO_MMIO_CONFIG + 10, &b, 1);
	assert_int_equal(b, 0);
	v = 0xffffffff;
	virtio_mmio_read(&f->t, 0xffc, &v, 4);
	assert_int_equal(v, 0);
	/* offset+len overflows 64 bits */
	v8 = ~0ULL;
	virtio_mmio_read(&f->t, 0xfffffffffffffffcULL, &v8, 8);
	assert_int_equal(v8, 0);
	virtio_mmio_write(&f->t, 0xfffffffffffffffcULL, &v8, 8);
	/* writes: in bounds reach the device, past the end are dropped */
	virtio_mmio_write(&f->t, VIRTIO_MMIO_CONFIG + 8, &v, 2);
	assert_int_equal(f->config_writes, 1);
	virtio_mmio_write(&f->t, VIRTIO_MMIO_CONFIG + 8, &v, 4);
	virtio_mmio_write(&f->t, VIRTIO_MMIO_CONFIG + 0x100, &v, 4);
	assert_int_equal(f->config_writes, 1);
}

/* 8 */
static void test_features_masked(void **state)
{
	struct fake *f = *state;

	negotiate(f, ~0ULL);
	assert_int_equal(f->t.driver_features, FEAT);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* after FEATURES_OK, feature writes are ignored */
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(f->t.driver_features, FEAT);
}

static void test_version_1_required(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT & ~VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK,
			 0);
	queue(f, 0, 8, DESC, AVAIL, USED);
	driver_ok(f);
	assert_int_equal(f->activated, 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_reset_calls_device(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	driver_ok(f);
	f->t.isr = 3;
	wr(f, VIRTIO_MMIO_STATUS, 0);
	/* the device hook (which drains I/O) ran before state was cleared */
	assert_int_equal(f->resets, 1);
	assert_false(f->t.live);
	assert_false(f->t.vq[0].ready);
	assert_int_equal(f->t.driver_features, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_interrupt_ack(void **state)
{
	struct fake *f = *state;

	negotiate(f, FEAT);
	queue(f, 0, 8, DESC, AVAIL, USED);
	driver_ok(f);
	virtio_mmio_signal_used(&f->t, 0); /* first signal always fires */
	assert_int_equal(f->irqs, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_signal_used(&f->t, 7); /* no such queue: nothing */
	assert_int_equal(f->irqs, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_identity),
	    T(test_activate_and_notify),
	    T(test_queue_size_zero),
	    T(test_queue_size_too_big),
	    T(test_queue_size_not_pow2),
	    T(test_ring_outside_ram),
	    T(test_ring_high_address),
	    T(test_ring_misaligned),
	    T(test_queue_regs_after_ready),
	    T(test_queue_sel_out_of_range),
	    T(test_notify_before_driver_ok),
	    T(test_access_width),
	    T(test_config_bounds),
	    T(test_features_masked),
	    T(test_version_1_required),
	    T(test_reset_calls_device),
	    T(test_interrupt_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
