// SPDX-License-Identifier: MIT
/* Split virtqueue core against hostile ring contents (checklist 9-17). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../devices/virtqueue.h"
#include "../../vmm/layout.h"

#define RAM   (4ULL << 20)
#define QNUM  8
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define BUF   0x10000ULL

struct fx {
	struct guest_mem gm;
	struct virtqueue vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static int setup_feat(void **state, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(gm_create_fake(&f->gm, RAM), 0);
	assert_int_equal(
	    vq_setup(&f->vq, &f->gm, QNUM, 256, DESC, AVAIL, USED, features),
	    0);
	f->desc = gm_ptr(&f->gm, DESC, 16 * QNUM);
	f->avail = gm_ptr(&f->gm, AVAIL, 6 + 2 * QNUM);
	f->used = gm_ptr(&f->gm, USED, 6 + 8 * QNUM);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_feat(state, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static int setup_all(void **state)
{
	return setup_feat(state, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				     VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
				     VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static void set_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	f->desc[i] = (struct vring_desc){addr, len, flags, next};
}

static void post(struct fx *f, uint16_t head)
{
	f->avail->ring[f->avail->idx % QNUM] = head;
	f->avail->idx++;
}

static void test_setup_validation(void **state)
{
	struct fx *f = *state;
	struct virtqueue vq;

	(void)f;
	/* 1: size 0, not a power of two, above max */
	assert_int_equal(vq_setup(&vq, &f->gm, 0, 256, DESC, AVAIL, USED, 0),
			 -EINVAL);
	assert_int_equal(vq_setup(&vq, &f->gm, 6, 256, DESC, AVAIL, USED, 0),
			 -EINVAL);
	assert_int_equal(vq_setup(&vq, &f->gm, 512, 256, DESC, AVAIL, USED, 0),
			 -EINVAL);
	assert_false(vq.ready);
	/* 2: misaligned, outside RAM, straddling the end of RAM */
	assert_int_equal(
	    vq_setup(&vq, &f->gm, 8, 256, DESC + 8, AVAIL, USED, 0), -EFAULT);
	assert_int_equal(
	    vq_setup(&vq, &f->gm, 8, 256, DESC, AVAIL + 1, USED, 0), -EFAULT);
	assert_int_equal(
	    vq_setup(&vq, &f->gm, 8, 256, DESC, AVAIL, USED + 2, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &f->gm, 8, 256, RAM, AVAIL, USED, 0),
			 -EFAULT);
	/* used ring of 8 entries is 70 bytes: 68 bytes before the end is not enough */
	assert_int_equal(
	    vq_setup(&vq, &f->gm, 8, 256, DESC, AVAIL, RAM - 68, 0), -EFAULT);
	assert_int_equal(
	    vq_setup(&vq, &f->gm, 8, 256, DESC, AVAIL, RAM - 72, 0), 0);
	assert_int_equal(vq_setup(&vq, &f->gm, 8, 256, DESC, AVAIL,
				  0xfffffffffffffff0ULL, 0),
			 -EFAULT);
}

static void test_simple_chain(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
		 2);
	set_desc(f, 2, BUF + 0x400, 1, VRING_DESC_F_WRITE, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.nr_out, 1);
	assert_int_equal(e.nr_in, 2);
	assert_int_equal(e.out_len, 16);
	assert_int_equal(e.in_len, 513);
	assert_ptr_equal(e.seg[0].ptr, gm_ptr(&f->gm, BUF, 16));
	assert_ptr_equal(e.seg[2].ptr, gm_ptr(&f->gm, BUF + 0x400, 1));
	assert_int_equal(vq_pop(&f->vq, &e), 0);
	vq_push(&f->vq, 0, 513);
	assert_int_equal(f->used->idx, 1);
	assert_int_equal(f->used->ring[0].id, 0);
	assert_int_equal(f->used->ring[0].len, 513);
}

/* 9 */
static void test_avail_idx_jump(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	f->avail->idx = QNUM + 1;
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	assert_true(f->vq.broken);
	assert_int_equal(f->vq.last_avail, 0);
	/* Broken stays broken even if the guest "fixes" the index. */
	f->avail->idx = 1;
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	/* Exactly QNUM outstanding is legal. */
	assert_int_equal(
	    vq_setup(&f->vq, &f->gm, QNUM, 256, DESC, AVAIL, USED, 0), 0);
	for (unsigned i = 0; i < QNUM; i++) {
		set_desc(f, i, BUF, 1, VRING_DESC_F_WRITE, 0);
		f->avail->ring[i] = (uint16_t)i;
	}
	f->avail->idx = QNUM;
	for (unsigned i = 0; i < QNUM; i++)
		assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(vq_pop(&f->vq, &e), 0);
}

/* 10 */
static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	post(f, QNUM);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	assert_true(f->vq.broken);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, QNUM);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

/* 11 */
static void test_loop(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	/* pop returned instead of spinning; at most QNUM segments recorded */
	assert_true(e.nr_out <= QNUM);
}

static void test_chain_of_queue_size(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	for (unsigned i = 0; i < QNUM; i++)
		set_desc(f, i, BUF + i, 1, i + 1 < QNUM ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(e.nr_out, QNUM);
	assert_int_equal(e.out_len, QNUM);
}

/* 12 */
static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = gm_ptr(&f->gm, BUF, 32);
	struct vq_elem e;

	t[0] = (struct vring_desc){BUF + 0x100, 16, 0, 0};
	set_desc(f, 0, BUF, 16, VRING_DESC_F_INDIRECT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = gm_ptr(&f->gm, BUF, 48);
	struct vq_elem e;

	t[0] = (struct vring_desc){BUF + 0x100, 16, VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){BUF + 0x200, 512,
				   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	t[2] = (struct vring_desc){BUF + 0x400, 1, VRING_DESC_F_WRITE, 0};
	set_desc(f, 0, BUF, 48, VRING_DESC_F_INDIRECT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.nr_out, 1);
	assert_int_equal(e.nr_in, 2);
	assert_ptr_equal(e.seg[1].ptr, gm_ptr(&f->gm, BUF + 0x200, 512));

	/* indirect inside an indirect table */
	t[0] = (struct vring_desc){BUF, 48, VRING_DESC_F_INDIRECT, 0};
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

static void test_indirect_bad_forms(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = gm_ptr(&f->gm, BUF, 64);
	struct vq_elem e;
	struct {
		uint32_t len;
		uint16_t flags;
	} bad[] = {
	    {40, VRING_DESC_F_INDIRECT},		     /* not n*16 */
	    {0, VRING_DESC_F_INDIRECT},			     /* empty */
	    {32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT}, /* with NEXT */
	};

	t[0] = (struct vring_desc){BUF + 0x100, 16, VRING_DESC_F_NEXT, 1};
	t[1] = (struct vring_desc){BUF + 0x100, 16, VRING_DESC_F_NEXT,
				   0}; /* loop */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(
		    vq_setup(&f->vq, &f->gm, QNUM, 256, DESC, AVAIL, USED,
			     VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)),
		    0);
		memset(f->avail, 0, 6 + 2 * QNUM);
		set_desc(f, 0, BUF, bad[i].len, bad[i].flags, 1);
		set_desc(f, 1, BUF + 0x100, 1, 0, 0);
		post(f, 0);
		assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	}
	/* a loop inside the table stops after the table size */
	assert_int_equal(vq_setup(&f->vq, &f->gm, QNUM, 256, DESC, AVAIL, USED,
				  VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)),
			 0);
	memset(f->avail, 0, 6 + 2 * QNUM);
	set_desc(f, 0, BUF, 32, VRING_DESC_F_INDIRECT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
	/* an indirect table that is not the head of the chain */
	assert_int_equal(vq_setup(&f->vq, &f->gm, QNUM, 256, DESC, AVAIL, USED,
				  VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)),
			 0);
	memset(f->avail, 0, 6 + 2 * QNUM);
	t[1] = (struct vring_desc){BUF + 0x100, 16, 0, 0};
	set_desc(f, 0, BUF + 0x200, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 32, VRING_DESC_F_INDIRECT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

/* 13 */
static void test_addr_wrap(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, 0xffffffffffffff00ULL, 0x200, 0, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

static void test_addr_past_ram(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, RAM - 16, 17, 0, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

static void test_addr_across_hole(void **state)
{
	struct guest_mem gm;
	struct virtqueue vq;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vq_elem e;

	(void)state;
	/* RAM up to the MMIO gap plus one page above 4 GiB (NORESERVE mmap). */
	assert_int_equal(gm_create_fake(&gm, MMIO_GAP_START + 0x1000), 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(vq_setup(&vq, &gm, QNUM, 256, DESC, AVAIL, USED, 0),
			 0);
	d = gm_ptr(&gm, DESC, 16 * QNUM);
	a = gm_ptr(&gm, AVAIL, 6 + 2 * QNUM);
	/* Host-contiguous but not guest-contiguous: must be refused. */
	d[0] = (struct vring_desc){MMIO_GAP_START - 0x800, 0x1000, 0, 0};
	a->ring[0] = 0;
	a->idx = 1;
	assert_int_equal(vq_pop(&vq, &e), -EPROTO);
	/* The same length on either side of the hole is fine. */
	assert_int_equal(vq_setup(&vq, &gm, QNUM, 256, DESC, AVAIL, USED, 0),
			 0);
	d[0] = (struct vring_desc){MMIO_GAP_END, 0x1000, 0, 0};
	assert_int_equal(vq_pop(&vq, &e), 1);
	gm_destroy(&gm);
}

/* 14 */
static void test_zero_length(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;
	uint8_t buf[4];

	set_desc(f, 0, BUF, 0, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0xdead0000000ULL, 0, VRING_DESC_F_NEXT, 2); /* not RAM */
	set_desc(f, 2, BUF, 2, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	set_desc(f, 3, BUF, 0, VRING_DESC_F_WRITE, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(e.nr_out, 2);
	assert_int_equal(e.nr_in, 2);
	assert_int_equal(e.out_len, 0);
	assert_int_equal(e.in_len, 2);
	assert_null(e.seg[0].ptr);
	assert_null(e.seg[3].ptr);
	assert_int_equal(vq_elem_read(&e, false, 0, buf, 4), 0);
	assert_int_equal(vq_elem_write(&e, 0, "abcd", 4), 2);
}

/* 15 */
static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, 0, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), -EPROTO);
}

/* 16 */
static void test_descriptor_read_once(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 0x100, 64, VRING_DESC_F_WRITE, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	/* The guest rewrites the chain after we took it. */
	set_desc(f, 1, RAM - 8, 0x100000, VRING_DESC_F_WRITE, 5);
	assert_ptr_equal(e.seg[1].ptr, gm_ptr(&f->gm, BUF + 0x100, 64));
	assert_int_equal(e.seg[1].len, 64);
	/* Writes through the element stay within the original buffer. */
	uint8_t big[256];
	memset(big, 0xab, sizeof(big));
	assert_int_equal(vq_elem_write(&e, 0, big, sizeof(big)), 64);
	assert_int_equal(*(uint8_t *)gm_ptr(&f->gm, BUF + 0x100 + 64, 1), 0);
}

/* 17: vq_push writes exactly the length it is given; elem_write caps it. */
static void test_used_len(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	uint64_t n = vq_elem_write(&e, 0, "0123456789", 10);
	assert_int_equal(n, 8);
	vq_push(&f->vq, e.head, (uint32_t)n);
	assert_int_equal(f->used->ring[0].len, 8);
	assert_true(f->used->ring[0].len <= e.in_len);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &f->avail->ring[QNUM];
	uint16_t *avail_event = (uint16_t *)&f->used->ring[QNUM];
	struct vq_elem e;

	set_desc(f, 0, BUF, 1, VRING_DESC_F_WRITE, 0);
	/* first push always notifies */
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	vq_push(&f->vq, 0, 1);
	assert_true(vq_should_notify(&f->vq));
	/* driver wants an interrupt only once used idx passes 3 */
	*used_event = 3;
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	vq_push(&f->vq, 0, 1); /* used idx 2 */
	assert_false(vq_should_notify(&f->vq));
	post(f, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	vq_push(&f->vq, 0, 1);
	vq_push(&f->vq, 0, 1); /* used idx 4: crossed 3 */
	assert_true(vq_should_notify(&f->vq));
	/* avail_event tells the driver where we stopped */
	assert_false(vq_enable_notify(&f->vq));
	assert_int_equal(*avail_event, f->vq.last_avail);
	post(f, 0);
	assert_true(vq_enable_notify(&f->vq));
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;
	struct vq_elem e;

	set_desc(f, 0, BUF, 1, VRING_DESC_F_WRITE, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &e), 1);
	vq_push(&f->vq, 0, 1);
	f->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_should_notify(&f->vq));
	f->avail->flags = 0;
	assert_true(vq_should_notify(&f->vq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_setup_validation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_head_out_of_range, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_next_out_of_range, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chain_of_queue_size, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup_all, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect_bad_forms, setup_all,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_addr_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addr_past_ram, setup,
					    teardown),
	    cmocka_unit_test(test_addr_across_hole),
	    cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readable_after_writable, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_descriptor_read_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_used_len, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_idx, setup_all,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
