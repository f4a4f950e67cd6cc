// SPDX-License-Identifier: MIT
#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_free(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* Index of the first range whose base is > addr. */
static size_t bus_upper(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 const struct bus_ops *ops, void *dev)
{
	uint64_t last;
	size_t i;

	if (!len || !ops || __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	i = bus_upper(bus, base);
	/* The range before must end below base, the one after start past last. */
	if (i > 0) {
		const struct bus_range *p = &bus->ranges[i - 1];

		if (p->base + (p->len - 1) >= base)
			return -EEXIST;
	}
	if (i < bus->nr && bus->ranges[i].base <= last)
		return -EEXIST;
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){
	    .base = base, .len = len, .name = name, .ops = ops, .dev = dev};
	bus->nr++;
	return 0;
}

struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	size_t i = bus_upper(bus, addr);
	struct bus_range *r;
	uint64_t off;

	if (i == 0 || len == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	off = addr - r->base;
	if (off >= r->len || len > r->len - off)
		return NULL;
	return r;
}

struct bus_range *bus_read(struct bus *bus, uint64_t addr, void *data,
			   uint32_t len)
{
	struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		__atomic_fetch_add(&bus->unhandled_reads, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	r->ops->read(r->dev, addr - r->base, data, len);
	__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
	return r;
}

struct bus_range *bus_write(struct bus *bus, uint64_t addr, const void *data,
			    uint32_t len)
{
	struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->write) {
		__atomic_fetch_add(&bus->unhandled_writes, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	r->ops->write(r->dev, addr - r->base, data, len);
	__atomic_fetch_add(&r->writes, 1, __ATOMIC_RELAXED);
	return r;
}
