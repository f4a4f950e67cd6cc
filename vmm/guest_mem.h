/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM and the one checked way to reach it.
 *
 * RAM is one host mapping; guest physical addresses below MMIO_GAP_START map
 * 1:1 onto it, RAM beyond 3 GiB continues at 4 GiB (layout.h). Every access to
 * guest memory from device code goes through gm_ptr() with a (gpa, len) pair:
 * it checks overflow and that the whole range lies inside one RAM region.
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_RAM_MEMFD_NAME "vmm-guest-ram"

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_region region[2];
	int nr_regions;
	uint64_t ram_size; /* total bytes of RAM */
	uint8_t *base;	   /* host mapping of all RAM */
	int memfd;	   /* -1 for fake (test) memory */
};

/* Map RAM from a memfd named GUEST_RAM_MEMFD_NAME. 0 or -errno. */
int gm_create(struct guest_mem *gm, uint64_t ram_size);
/* Plain anonymous memory laid out the same way (unit tests, fuzzers). */
int gm_create_fake(struct guest_mem *gm, uint64_t ram_size);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is not guest RAM. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy helpers on top of gm_ptr: 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len);
/* End of RAM below the MMIO gap ("low RAM"). */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
