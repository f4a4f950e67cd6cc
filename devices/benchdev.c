// SPDX-License-Identifier: MIT
#include "benchdev.h"

#include <string.h>

static void put(void *data, uint32_t len, uint32_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static uint32_t get(const void *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	return v;
}

static void pio_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct benchdev *b = dev;

	__atomic_fetch_add(&b->reads, 1, __ATOMIC_RELAXED);
	put(data, len, off == BENCHDEV_PIO_DATA ? BENCHDEV_ID : 0);
}

static void pio_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct benchdev *b = dev;

	__atomic_fetch_add(&b->writes, 1, __ATOMIC_RELAXED);
	if (off == BENCHDEV_PIO_DATA)
		__atomic_store_n(&b->scratch, get(data, len), __ATOMIC_RELAXED);
	else if (off == BENCHDEV_PIO_NOTIFY)
		__atomic_fetch_add(&b->notify_fallback, 1, __ATOMIC_RELAXED);
}

static void mmio_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct benchdev *b = dev;
	uint32_t v = 0;

	__atomic_fetch_add(&b->reads, 1, __ATOMIC_RELAXED);
	if (off == BENCHDEV_MMIO_ID)
		v = BENCHDEV_ID;
	else if (off == BENCHDEV_MMIO_SCRATCH)
		v = __atomic_load_n(&b->scratch, __ATOMIC_RELAXED);
	put(data, len, v);
}

static void mmio_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct benchdev *b = dev;

	__atomic_fetch_add(&b->writes, 1, __ATOMIC_RELAXED);
	if (off == BENCHDEV_MMIO_SCRATCH)
		__atomic_store_n(&b->scratch, get(data, len), __ATOMIC_RELAXED);
	else if (off == BENCHDEV_MMIO_NOTIFY)
		__atomic_fetch_add(&b->notify_fallback, 1, __ATOMIC_RELAXED);
}

const struct bus_ops benchdev_pio_ops = {.read = pio_read, .write = pio_write};
const struct bus_ops benchdev_mmio_ops = {.read = mmio_read,
					  .write = mmio_write};
