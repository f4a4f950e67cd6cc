/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables built by the VMM (no firmware): RSDP, XSDT, FADT (hardware
 * reduced, sleep registers on PORT_ACPI_SLEEP), MADT (every vCPU, the IOAPIC),
 * DSDT (COM1, pvpanic, every virtio-mmio window, \_S5_).
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdint.h>

struct vm;

/* Write the tables into guest memory; returns the RSDP's address. */
uint64_t acpi_build(struct vm *vm);

#endif
