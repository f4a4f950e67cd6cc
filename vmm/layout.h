/* SPDX-License-Identifier: MIT */
/*
 * The guest physical memory map: every guest address the VMM uses is here.
 *
 *   0x0000_0000  real-mode IVT / BDA (left zero)
 *   0x0000_0500  GDT                          (boot_setup_gdt)
 *   0x0000_6000  PVH hvm_start_info + modlist + memmap
 *   0x0000_7000  Linux zero page (boot_params)
 *   0x0000_8ff0  boot stack top
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000.. PDs (identity map, 4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0003_0000  flattened device tree (PVH module for guest-firmware)
 *   0x0009_fc00  reserved: ACPI tables up to 0xe0000 (plus RSDP at 0xe0000)
 *   0x0010_0000  kernel (1 MiB), then RAM
 *   ...          initrd: page-aligned at the top of low RAM
 *   0xc000_0000  MMIO gap: bench device (4 KiB), virtio-mmio windows, IOAPIC, LAPIC
 *   0x1_0000_0000 RAM above 3 GiB continues here
 */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#define GDT_START	  0x500ULL
#define PVH_INFO_START	  0x6000ULL
#define PVH_MODLIST_START 0x6040ULL
#define PVH_MEMMAP_START  0x6100ULL
#define ZERO_PAGE_START	  0x7000ULL
#define BOOT_STACK_TOP	  0x8ff0ULL
#define PML4_START	  0x9000ULL
#define PDPT_START	  0xa000ULL
#define PD_START	  0xb000ULL /* four pages: 0xb000-0xefff map 4 GiB */
#define CMDLINE_START	  0x20000ULL
#define CMDLINE_MAX	  2048ULL
#define FDT_START	  0x30000ULL
#define FDT_MAX		  0x10000ULL
#define EBDA_START	  0x9fc00ULL
#define ACPI_START	  0xa0000ULL /* tables: XSDT, FADT, MADT, DSDT */
#define ACPI_END	  0xe0000ULL
#define RSDP_START	  0xe0000ULL
#define BIOS_END	  0x100000ULL /* e820 reserves EBDA_START..BIOS_END */
#define HIMEM_START	  0x100000ULL /* kernel load address: 1 MiB */

/* A secondary-vCPU wake-up trampoline must be below 1 MiB, page aligned. */
#define AP_TRAMPOLINE_START 0x10000ULL

#define MMIO_GAP_START		0xc0000000ULL
#define MMIO_GAP_END		0x100000000ULL
#define BENCH_MMIO_START	0xc0000000ULL /* bench device (devices/benchdev.h) */
#define BENCH_MMIO_SIZE		0x1000ULL
#define VIRTIO_MMIO_START	0xc0001000ULL /* one 4 KiB window per device */
#define VIRTIO_MMIO_SIZE	0x1000ULL
#define VIRTIO_MMIO_MAX_DEVICES 32
#define VIRTIO_GSI_BASE		5 /* device i gets GSI 5+i */
#define IOAPIC_START		0xfec00000ULL
#define LAPIC_START		0xfee00000ULL
#define KVM_TSS_START		0xfffbd000ULL /* 3 pages, inside the gap */
#define KVM_IDENTITY_MAP_START	0xfffbc000ULL

/* I/O ports the VMM answers (the rest go to the in-kernel PIC/PIT or default). */
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD	0x64
#define PORT_ACPI_SLEEP 0x3c0 /* FADT sleep control (0x3c0) / status (0x3c1) */
#define PORT_DEBUG_EXIT 0xf4  /* like QEMU's isa-debug-exit */
#define PORT_COM1	0x3f8
#define IRQ_COM1	4
#define PORT_BENCH	0x510 /* bench payload's user-space test port */
#define PORT_BENCH_LEN	8     /* 0x510 data/id, 0x514 ioeventfd notify */
#define PORT_PVPANIC	0x505 /* ACPI QEMU0001 */

#define GUEST_RAM_MIN (16ULL << 20)
#endif
