// SPDX-License-Identifier: MIT
/* Unit tests for guest RAM layout and the checked gm_ptr accessor. */
#include <errno.h>

#include "testlib.h"

#include "guest_mem.h"
#include "layout.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_small_layout(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_create_fake(&gm, 64 * MiB), 0);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm.ram_size, 64 * MiB);
	assert_int_equal(gm.memfd, -1);
	assert_int_equal(gm.region[0].gpa, 0);
	assert_int_equal(gm.region[0].size, 64 * MiB);
	assert_ptr_equal(gm.region[0].host, gm.base);
	assert_int_equal(gm_low_end(&gm), 64 * MiB);
	gm_destroy(&gm);
	assert_null(gm.base);
	assert_int_equal(gm.memfd, -1);
}

static void test_small_bounds(void **state)
{
	struct guest_mem gm;
	const uint64_t size = 16 * MiB;

	(void)state;
	assert_int_equal(gm_create_fake(&gm, size), 0);
	assert_ptr_equal(gm_ptr(&gm, 0, 1), gm.base);
	assert_ptr_equal(gm_ptr(&gm, 0, size), gm.base);
	assert_ptr_equal(gm_ptr(&gm, size - 1, 1), gm.base + size - 1);
	assert_ptr_equal(gm_ptr(&gm, 0x1234, 0x100), gm.base + 0x1234);
	assert_null(gm_ptr(&gm, 0, size + 1));
	assert_null(gm_ptr(&gm, size - 1, 2));
	assert_null(gm_ptr(&gm, size, 1));
	assert_null(gm_ptr(&gm, size + 0x1000, 1));
	assert_null(gm_ptr(&gm, GiB * 4, 1));
	/* Overflow of gpa + len. */
	assert_null(gm_ptr(&gm, 0x1000, UINT64_MAX));
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	assert_null(gm_ptr(&gm, 1, UINT64_MAX));
	assert_null(gm_ptr(&gm, UINT64_MAX - size + 2, size));

	/* Copy helpers. */
	uint8_t buf[16], out[16];

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(gm_write(&gm, 0x2000, buf, sizeof(buf)), 0);
	assert_int_equal(gm.base[0x2000], 0x5a);
	assert_int_equal(gm.base[0x200f], 0x5a);
	assert_int_equal(gm.base[0x2010], 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_read(&gm, 0x2000, out, sizeof(out)), 0);
	assert_memory_equal(out, buf, sizeof(buf));
	assert_int_equal(gm_write(&gm, size - 8, buf, 16), -EFAULT);
	assert_int_equal(gm_read(&gm, size - 8, out, 16), -EFAULT);
	assert_int_equal(gm_read(&gm, UINT64_MAX - 3, out, 16), -EFAULT);
	gm_destroy(&gm);
}

/* Exactly 3 GiB: one region, up to the gap. */
static void test_exactly_gap(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_create_fake(&gm, 3 * GiB), 0);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm_low_end(&gm), MMIO_GAP_START);
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_START - 1, 1),
			 gm.base + MMIO_GAP_START - 1);
	assert_null(gm_ptr(&gm, MMIO_GAP_START, 1));
	assert_null(gm_ptr(&gm, MMIO_GAP_END, 1));
	gm_destroy(&gm);
}

/* 5 GiB: 3 GiB low, then 2 GiB from 4 GiB; nothing in the hole. */
static void test_high_region(void **state)
{
	struct guest_mem gm;
	const uint64_t size = 5 * GiB, high = size - MMIO_GAP_START;

	(void)state;
	assert_int_equal(gm_create_fake(&gm, size), 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.region[0].gpa, 0);
	assert_int_equal(gm.region[0].size, MMIO_GAP_START);
	assert_int_equal(gm.region[1].gpa, MMIO_GAP_END);
	assert_int_equal(gm.region[1].size, 2 * GiB);
	assert_ptr_equal(gm.region[1].host, gm.base + MMIO_GAP_START);
	assert_int_equal(gm_low_end(&gm), MMIO_GAP_START);

	/* Low region up to its end. */
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_START - 4, 4),
			 gm.base + MMIO_GAP_START - 4);
	/* Straddling the start of the hole, inside it, straddling its end. */
	assert_null(gm_ptr(&gm, MMIO_GAP_START - 4, 8));
	assert_null(gm_ptr(&gm, MMIO_GAP_START, 1));
	assert_null(gm_ptr(&gm, VIRTIO_MMIO_START, 4));
	assert_null(gm_ptr(&gm, IOAPIC_START, 4));
	assert_null(gm_ptr(&gm, MMIO_GAP_END - 1, 1));
	assert_null(gm_ptr(&gm, MMIO_GAP_END - 4, 8));
	/* Spanning the whole hole is not one region either. */
	assert_null(
	    gm_ptr(&gm, MMIO_GAP_START - 1, MMIO_GAP_END - MMIO_GAP_START + 2));
	/* High region: host offset continues after the low RAM. */
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_END, 1),
			 gm.base + MMIO_GAP_START);
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_END + 0x1000, 8),
			 gm.base + MMIO_GAP_START + 0x1000);
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_END, high),
			 gm.base + MMIO_GAP_START);
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_END + high - 1, 1),
			 gm.base + size - 1);
	assert_null(gm_ptr(&gm, MMIO_GAP_END + high - 1, 2));
	assert_null(gm_ptr(&gm, MMIO_GAP_END + high, 1));
	assert_null(gm_ptr(&gm, MMIO_GAP_END, high + 1));
	assert_null(gm_ptr(&gm, MMIO_GAP_END + 8, UINT64_MAX - MMIO_GAP_END));

	/* Writes through gpa land at the right host offset. */
	uint32_t v = 0xcafef00d, r = 0;

	assert_int_equal(gm_write(&gm, MMIO_GAP_END + 0x10, &v, 4), 0);
	memcpy(&r, gm.base + MMIO_GAP_START + 0x10, 4);
	assert_int_equal(r, 0xcafef00d);
	assert_int_equal(gm_write(&gm, MMIO_GAP_START + 0x10, &v, 4), -EFAULT);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_layout),
	    cmocka_unit_test(test_small_bounds),
	    cmocka_unit_test(test_exactly_gap),
	    cmocka_unit_test(test_high_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
