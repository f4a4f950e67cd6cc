/* SPDX-License-Identifier: MIT */
/*
 * The ways a guest ends the VM, other than a reset:
 *  - debug-exit (port 0xf4, like QEMU's isa-debug-exit): a write of V ends the
 *    VMM with exit status V & 0xff (QEMU exits with (V << 1) | 1 instead);
 *  - ACPI sleep control (hardware-reduced FADT, port 0x3c0): SLP_EN with
 *    SLP_TYP 5 is S5, power off; status at 0x3c1 reads 0 (WAK_STS never set);
 *  - pvpanic (port 0x505, ACPI QEMU0001): the guest kernel panicked.
 */
#ifndef DEVICES_POWER_H
#define DEVICES_POWER_H

#include "bus.h"

enum power_event { POWER_DEBUG_EXIT, POWER_OFF, POWER_PANIC };

struct power {
	void (*event)(void *opaque, enum power_event ev, uint32_t value);
	void *opaque;
};

#define ACPI_SLP_TYP_S5	     5
#define ACPI_SLP_EN	     (1u << 5)
#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

extern const struct bus_ops debug_exit_ops; /* 4 ports */
extern const struct bus_ops acpi_sleep_ops; /* 2 ports: control, status */
extern const struct bus_ops pvpanic_ops;    /* 1 port */

#endif
