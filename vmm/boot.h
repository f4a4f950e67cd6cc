/* SPDX-License-Identifier: MIT */
/* Boot structures in guest memory: GDT, page tables, e820, PVH start_info,
 * the Linux zero page. */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdint.h>

#include "guest_mem.h"
#include "loader.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX      8

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* The guest's memory map: low RAM, the reserved BIOS area, RAM above 4 GiB. */
int boot_e820(const struct guest_mem *gm, struct e820_entry *e, int max);

/* GDT at GDT_START and a 4 GiB identity map at PML4_START (64-bit entry). */
void boot_write_gdt_and_page_tables(struct guest_mem *gm);

struct boot_params_in {
	const char *cmdline; /* written at CMDLINE_START */
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_gpa;	    /* 0: no ACPI */
	uint64_t fdt_gpa, fdt_size; /* 0: none (PVH module "fdt") */
};

/* PVH: hvm_start_info, its module list and memory map. Returns its address. */
uint64_t boot_write_pvh(struct guest_mem *gm, const struct boot_params_in *in);
/* bzImage: the zero page. Returns its address. */
uint64_t boot_write_zero_page(struct guest_mem *gm,
			      const struct kernel_info *ki,
			      const struct boot_params_in *in);

/* Segment descriptors in the GDT (index * 8 is the selector). */
#define GDT_CODE64 1
#define GDT_DATA   2
#define GDT_CODE32 3
#define GDT_TSS	   4

#endif
