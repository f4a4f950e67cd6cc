/* SPDX-License-Identifier: MIT */
/*
 * An I/O bus: port I/O and MMIO exits are dispatched to the device whose
 * range contains the address. Ranges are kept sorted and found by binary
 * search; registration rejects overlap. Handlers get the offset into their
 * range, never the absolute address. All registration happens before the
 * vCPUs start, so lookups need no lock.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* data points to len bytes (1, 2, 4 or 8; string I/O comes one by one). */
	void (*read)(void *dev, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const void *data,
		      uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name;
	const struct bus_ops *ops;
	void *dev;
	/* Statistics, updated with relaxed atomics by the vCPU threads. */
	uint64_t reads, writes, ns;
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	struct bus_range *ranges;
	size_t nr, cap;
	/* Accesses no device claimed. */
	uint64_t unhandled_reads, unhandled_writes;
};

void bus_init(struct bus *bus, const char *name);
void bus_free(struct bus *bus);
/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		 const struct bus_ops *ops, void *dev);
/* The range that holds all of [addr, addr+len), or NULL. */
struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);
/*
 * Dispatch an access. Returns the range that handled it, or NULL: then a
 * read returns all ones, a write is dropped, and the miss is counted.
 */
struct bus_range *bus_read(struct bus *bus, uint64_t addr, void *data,
			   uint32_t len);
struct bus_range *bus_write(struct bus *bus, uint64_t addr, const void *data,
			    uint32_t len);

#endif
