// SPDX-License-Identifier: MIT
#include "boot.h"

#include <string.h>

#include "layout.h"
#include "util.h"

int boot_e820(const struct guest_mem *gm, struct e820_entry *e, int max)
{
	int n = 0;

	if (max < 4)
		return 0;
	e[n++] = (struct e820_entry){0, EBDA_START, E820_RAM};
	e[n++] = (struct e820_entry){EBDA_START, BIOS_END - EBDA_START,
				     E820_RESERVED};
	e[n++] = (struct e820_entry){HIMEM_START, gm_low_end(gm) - HIMEM_START,
				     E820_RAM};
	if (gm->nr_regions > 1)
		e[n++] = (struct e820_entry){gm->region[1].gpa,
					     gm->region[1].size, E820_RAM};
	return n;
}

void boot_write_gdt_and_page_tables(struct guest_mem *gm)
{
	/* null, 64-bit code, data, 32-bit code, (TSS slot unused) */
	const uint64_t gdt[] = {
	    0,
	    0x00af9b000000ffffULL,
	    0x00cf93000000ffffULL,
	    0x00cf9b000000ffffULL,
	    0,
	};
	uint64_t *pml4 = gm_ptr(gm, PML4_START, 4096);
	uint64_t *pdpt = gm_ptr(gm, PDPT_START, 4096);
	uint64_t *pd = gm_ptr(gm, PD_START, 4 * 4096);

	gm_write(gm, GDT_START, gdt, sizeof(gdt));
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT_START | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (PD_START + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
}

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define HVM_START_MAGIC 0x336ec578
/* The name payloads look for; Linux ignores every module after the first. */
#define FDT_MODULE_NAME "fdt"
#define FDT_MODULE_NAME_GPA                                                    \
	(PVH_MODLIST_START + 2 * sizeof(struct hvm_modlist_entry))

static void write_cmdline(struct guest_mem *gm, const char *cmdline)
{
	char *dst = gm_ptr(gm, CMDLINE_START, CMDLINE_MAX);

	memset(dst, 0, CMDLINE_MAX);
	strncpy(dst, cmdline ? cmdline : "", CMDLINE_MAX - 1);
}

uint64_t boot_write_pvh(struct guest_mem *gm, const struct boot_params_in *in)
{
	struct e820_entry e[E820_MAX];
	struct hvm_memmap_table_entry mm[E820_MAX];
	/* Module 0 is the initrd (Linux reads it as such; size 0 means none),
	 * module 1 the device tree for guest-firmware payloads. */
	struct hvm_modlist_entry mods[2] = {
	    {in->initrd_gpa, in->initrd_size, 0, 0},
	    {in->fdt_gpa, in->fdt_size, FDT_MODULE_NAME_GPA, 0},
	};
	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .nr_modules = in->fdt_size ? 2 : (in->initrd_size ? 1 : 0),
	    .modlist_paddr = PVH_MODLIST_START,
	    .cmdline_paddr = CMDLINE_START,
	    .rsdp_paddr = in->rsdp_gpa,
	    .memmap_paddr = PVH_MEMMAP_START,
	};
	int n = boot_e820(gm, e, E820_MAX);

	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){e[i].addr, e[i].size,
							e[i].type, 0};
	si.memmap_entries = (uint32_t)n;
	write_cmdline(gm, in->cmdline);
	gm_write(gm, PVH_MODLIST_START, mods, sizeof(mods));
	gm_write(gm, FDT_MODULE_NAME_GPA, FDT_MODULE_NAME,
		 sizeof(FDT_MODULE_NAME));
	gm_write(gm, PVH_MEMMAP_START, mm, n * sizeof(mm[0]));
	gm_write(gm, PVH_INFO_START, &si, sizeof(si));
	return PVH_INFO_START;
}

/* struct boot_params offsets (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP	     0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_HDR		     0x1f1
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS	     0x211
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE	     0x21c
#define BP_HEAP_END_PTR	     0x224
#define BP_CMD_LINE_PTR	     0x228
#define BP_E820_TABLE	     0x2d0
#define CAN_USE_HEAP	     0x80

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

uint64_t boot_write_zero_page(struct guest_mem *gm,
			      const struct kernel_info *ki,
			      const struct boot_params_in *in)
{
	uint8_t *zp = gm_ptr(gm, ZERO_PAGE_START, 4096);
	struct e820_entry e[E820_MAX];
	int n = boot_e820(gm, e, E820_MAX);

	memset(zp, 0, 4096);
	memcpy(zp + BP_HDR, ki->setup_header, ki->setup_header_len);
	zp[BP_TYPE_OF_LOADER] = 0xff; /* "undefined" boot loader */
	zp[BP_LOADFLAGS] |= CAN_USE_HEAP;
	zp[BP_HEAP_END_PTR] = 0x00; /* 0xfe00 - 0x200, little-endian */
	zp[BP_HEAP_END_PTR + 1] = 0xfc;
	put32(zp + BP_CMD_LINE_PTR, (uint32_t)CMDLINE_START);
	put32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(CMDLINE_START >> 32));
	put32(zp + BP_RAMDISK_IMAGE, (uint32_t)in->initrd_gpa);
	put32(zp + BP_RAMDISK_SIZE, (uint32_t)in->initrd_size);
	put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(in->initrd_gpa >> 32));
	put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(in->initrd_size >> 32));
	memcpy(zp + BP_ACPI_RSDP, &in->rsdp_gpa, 8);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + BP_E820_TABLE, e, n * sizeof(e[0]));
	write_cmdline(gm, in->cmdline);
	return ZERO_PAGE_START;
}
