// SPDX-License-Identifier: MIT
/* Unit tests for the I/O bus: sorted ranges, overlap, lookup, dispatch. */
#include <errno.h>

#include "testlib.h"

#include "bus.h"

/* A fake device that records its last access. */
struct fake_dev {
	int id;
	uint64_t last_off;
	uint32_t last_len;
	uint64_t last_val;
	unsigned nr_reads, nr_writes;
};

static void fake_read(void *dev, uint64_t offset, void *data, uint32_t len)
{
	struct fake_dev *d = dev;
	uint64_t v = (uint64_t)d->id << 32 | offset;

	d->last_off = offset;
	d->last_len = len;
	d->nr_reads++;
	memcpy(data, &v, len);
}

static void fake_write(void *dev, uint64_t offset, const void *data,
		       uint32_t len)
{
	struct fake_dev *d = dev;

	d->last_off = offset;
	d->last_len = len;
	d->last_val = 0;
	memcpy(&d->last_val, data, len);
	d->nr_writes++;
}

static const struct bus_ops fake_ops = {.read = fake_read, .write = fake_write};
static const struct bus_ops read_only_ops = {.read = fake_read};
static const struct bus_ops no_ops = {0};

static void test_register_sorted(void **state)
{
	struct bus bus;
	struct fake_dev d[5] = {
	    {.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
	static const uint64_t bases[5] = {0x500, 0x100, 0x900, 0x0, 0x300};

	(void)state;
	bus_init(&bus, "pio");
	assert_string_equal(bus.name, "pio");
	for (int i = 0; i < 5; i++)
		assert_int_equal(bus_register(&bus, bases[i], 0x100, "dev",
					      &fake_ops, &d[i]),
				 0);
	assert_int_equal(bus.nr, 5);
	assert_int_equal(bus.ranges[0].base, 0x0);
	assert_int_equal(bus.ranges[1].base, 0x100);
	assert_int_equal(bus.ranges[2].base, 0x300);
	assert_int_equal(bus.ranges[3].base, 0x500);
	assert_int_equal(bus.ranges[4].base, 0x900);
	assert_ptr_equal(bus.ranges[0].dev, &d[3]);
	assert_ptr_equal(bus.ranges[4].dev, &d[2]);
	bus_free(&bus);
	assert_null(bus.ranges);
	assert_int_equal(bus.nr, 0);
}

static void test_register_many_grows(void **state)
{
	struct bus bus;
	struct fake_dev d = {.id = 7};

	(void)state;
	bus_init(&bus, "mmio");
	/* Reverse order, past the initial capacity of 8. */
	for (int i = 99; i >= 0; i--)
		assert_int_equal(bus_register(&bus, 0x1000 * (uint64_t)i,
					      0x1000, "d", &fake_ops, &d),
				 0);
	assert_int_equal(bus.nr, 100);
	for (size_t i = 0; i < 100; i++) {
		assert_int_equal(bus.ranges[i].base, 0x1000 * i);
		assert_ptr_equal(bus_find(&bus, 0x1000 * i + 0xfff, 1),
				 &bus.ranges[i]);
	}
	bus_free(&bus);
}

static void test_register_rejects(void **state)
{
	struct bus bus;
	struct fake_dev d = {0};

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x100, 0x10, "a", &fake_ops, &d),
			 0);
	assert_int_equal(bus_register(&bus, 0x200, 0x10, "b", &fake_ops, &d),
			 0);
	/* Empty, no ops, wrapping. */
	assert_int_equal(bus_register(&bus, 0x400, 0, "x", &fake_ops, &d),
			 -EINVAL);
	assert_int_equal(bus_register(&bus, 0x400, 1, "x", NULL, &d), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, "x", &fake_ops, &d),
			 -EINVAL);
	assert_int_equal(bus_register(&bus, 0x8000000000000000ULL,
				      0x8000000000000001ULL, "x", &fake_ops,
				      &d),
			 -EINVAL);
	/* Overlaps: same, inside, straddling either end, covering. */
	assert_int_equal(bus_register(&bus, 0x100, 0x10, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x104, 0x4, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0xf0, 0x11, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x10f, 0x10, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x0, 0x1000, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x1ff, 0x2, "x", &fake_ops, &d),
			 -EEXIST);
	assert_int_equal(bus.nr, 2);
	/* Exactly adjacent on both sides is fine. */
	assert_int_equal(bus_register(&bus, 0xf0, 0x10, "x", &fake_ops, &d), 0);
	assert_int_equal(bus_register(&bus, 0x110, 0xf0, "x", &fake_ops, &d),
			 0);
	assert_int_equal(bus_register(&bus, 0x210, 0x10, "x", &fake_ops, &d),
			 0);
	assert_int_equal(bus.nr, 5);
	/* The very top of the address space, up to and including UINT64_MAX. */
	assert_int_equal(
	    bus_register(&bus, UINT64_MAX, 1, "top", &fake_ops, &d), 0);
	assert_int_equal(
	    bus_register(&bus, UINT64_MAX - 0xf, 0x10, "x", &fake_ops, &d),
	    -EEXIST);
	assert_int_equal(
	    bus_register(&bus, UINT64_MAX - 0xf, 0xf, "x", &fake_ops, &d), 0);
	assert_non_null(bus_find(&bus, UINT64_MAX, 1));
	assert_null(bus_find(&bus, UINT64_MAX, 2));
	bus_free(&bus);
}

static void test_find(void **state)
{
	struct bus bus;
	struct fake_dev a = {.id = 1}, b = {.id = 2};

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, "com1", &fake_ops, &a),
			 0);
	assert_int_equal(bus_register(&bus, 0x400, 4, "b", &fake_ops, &b), 0);

	assert_null(bus_find(&bus, 0x0, 1));
	assert_null(bus_find(&bus, 0x3f7, 1));
	assert_null(bus_find(&bus, 0x3f7, 2)); /* starts before */
	assert_ptr_equal(bus_find(&bus, 0x3f8, 1)->dev, &a);
	assert_ptr_equal(bus_find(&bus, 0x3f8, 8)->dev, &a);
	assert_ptr_equal(bus_find(&bus, 0x3ff, 1)->dev, &a);
	assert_null(bus_find(&bus, 0x3ff, 2)); /* runs off the end */
	assert_null(bus_find(&bus, 0x3f8, 9));
	assert_null(bus_find(&bus, 0x3fc, 0)); /* empty access */
	assert_ptr_equal(bus_find(&bus, 0x400, 4)->dev, &b);
	assert_null(bus_find(&bus, 0x404, 1));
	assert_null(bus_find(&bus, UINT64_MAX, 1));
	assert_null(bus_find(&bus, 0x3fc, UINT32_MAX));
	bus_free(&bus);

	/* Empty bus. */
	bus_init(&bus, "pio");
	assert_null(bus_find(&bus, 0, 1));
	bus_free(&bus);
}

static void test_dispatch_offsets(void **state)
{
	struct bus bus;
	struct fake_dev a = {.id = 0xa}, b = {.id = 0xb};
	uint64_t v = 0;
	uint32_t v32;
	struct bus_range *r;

	(void)state;
	bus_init(&bus, "mmio");
	assert_int_equal(
	    bus_register(&bus, 0xc0001000, 0x1000, "a", &fake_ops, &a), 0);
	assert_int_equal(
	    bus_register(&bus, 0xc0002000, 0x1000, "b", &fake_ops, &b), 0);

	r = bus_read(&bus, 0xc0002070, &v, 8);
	assert_non_null(r);
	assert_string_equal(r->name, "b");
	assert_int_equal(v, 0xb00000070ULL); /* the device saw offset 0x70 */
	assert_int_equal(b.last_off, 0x70);
	assert_int_equal(b.last_len, 8);
	assert_int_equal(b.nr_reads, 1);
	assert_int_equal(a.nr_reads, 0);
	assert_int_equal(r->reads, 1);
	assert_int_equal(r->writes, 0);

	v32 = 0x12345678;
	r = bus_write(&bus, 0xc0001ffc, &v32, 4);
	assert_non_null(r);
	assert_ptr_equal(r->dev, &a);
	assert_int_equal(a.last_off, 0xffc);
	assert_int_equal(a.last_len, 4);
	assert_int_equal(a.last_val, 0x12345678);
	assert_int_equal(a.nr_writes, 1);
	assert_int_equal(r->writes, 1);

	uint8_t byte = 0;
	r = bus_read(&bus, 0xc0001000, &byte, 1);
	assert_non_null(r);
	assert_int_equal(byte, 0x00);
	assert_int_equal(a.last_off, 0);
	assert_int_equal(a.last_len, 1);
	assert_int_equal(bus.unhandled_reads, 0);
	assert_int_equal(bus.unhandled_writes, 0);
	bus_free(&bus);
}

static void test_unhandled(void **state)
{
	struct bus bus;
	struct fake_dev a = {.id = 1}, ro = {.id = 2}, none = {.id = 3};
	uint64_t v;
	uint16_t w;
	uint8_t buf[8];

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x60, 1, "a", &fake_ops, &a), 0);
	assert_int_equal(bus_register(&bus, 0x70, 2, "ro", &read_only_ops, &ro),
			 0);
	assert_int_equal(bus_register(&bus, 0x80, 2, "none", &no_ops, &none),
			 0);

	/* Unclaimed read: all ones, exactly len bytes, counted. */
	memset(buf, 0x11, sizeof(buf));
	assert_null(bus_read(&bus, 0x61, buf, 2));
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(buf[2], 0x11);
	assert_int_equal(bus.unhandled_reads, 1);
	v = 0;
	assert_null(bus_read(&bus, 0x1000, &v, 8));
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(bus.unhandled_reads, 2);
	/* Partly claimed (runs off the end of a range) counts as unclaimed. */
	w = 0;
	assert_null(bus_read(&bus, 0x60, &w, 2));
	assert_int_equal(w, 0xffff);
	assert_int_equal(a.nr_reads, 0);
	assert_int_equal(bus.unhandled_reads, 3);

	/* Unclaimed writes are dropped and counted. */
	w = 0x1234;
	assert_null(bus_write(&bus, 0x62, &w, 2));
	assert_null(bus_write(&bus, 0x60, &w, 2));
	assert_int_equal(a.nr_writes, 0);
	assert_int_equal(bus.unhandled_writes, 2);

	/* A device without a write handler: writes unhandled, reads work. */
	assert_null(bus_write(&bus, 0x70, &w, 1));
	assert_int_equal(bus.unhandled_writes, 3);
	w = 0;
	assert_non_null(bus_read(&bus, 0x71, &w, 1));
	assert_int_equal(w, 0x01);
	assert_int_equal(ro.last_off, 1);

	/* Neither handler. */
	v = 0;
	assert_null(bus_read(&bus, 0x80, &v, 2));
	assert_int_equal(v, 0xffff);
	assert_null(bus_write(&bus, 0x80, &w, 2));
	assert_int_equal(bus.unhandled_reads, 4);
	assert_int_equal(bus.unhandled_writes, 4);
	assert_int_equal(none.nr_reads + none.nr_writes, 0);
	bus_free(&bus);
}

/* Binary search against a linear scan, on a random layout. */
static void test_find_matches_linear(void **state)
{
	struct bus bus;
	struct fake_dev d = {0};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned registered = 0;

	(void)state;
	bus_init(&bus, "mmio");
	for (int i = 0; i < 300; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t base = (seed >> 33) % 0x10000;
		uint64_t len = ((seed >> 20) % 64) + 1;
		bool overlaps = false;

		for (size_t k = 0; k < bus.nr; k++) {
			const struct bus_range *r = &bus.ranges[k];

			if (base < r->base + r->len && r->base < base + len)
				overlaps = true;
		}
		int ret = bus_register(&bus, base, len, "r", &fake_ops, &d);

		assert_int_equal(ret, overlaps ? -EEXIST : 0);
		registered += !overlaps;
	}
	assert_int_equal(bus.nr, registered);
	for (size_t k = 1; k < bus.nr; k++)
		assert_true(bus.ranges[k - 1].base + bus.ranges[k - 1].len <=
			    bus.ranges[k].base);
	for (uint64_t addr = 0; addr < 0x10040; addr++) {
		const struct bus_range *want = NULL;

		for (size_t k = 0; k < bus.nr; k++)
			if (addr >= bus.ranges[k].base &&
			    addr + 2 <= bus.ranges[k].base + bus.ranges[k].len)
				want = &bus.ranges[k];
		assert_ptr_equal(bus_find(&bus, addr, 2), want);
	}
	bus_free(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_sorted),
	    cmocka_unit_test(test_register_many_grows),
	    cmocka_unit_test(test_register_rejects),
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_dispatch_offsets),
	    cmocka_unit_test(test_unhandled),
	    cmocka_unit_test(test_find_matches_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
