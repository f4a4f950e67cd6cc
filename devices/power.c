// SPDX-License-Identifier: MIT
#include "power.h"

#include <string.h>

static uint32_t value_of(const void *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	return v;
}

static void read_zero(void *dev, uint64_t off, void *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void debug_exit_write(void *dev, uint64_t off, const void *data,
			     uint32_t len)
{
	struct power *p = dev;

	if (off == 0)
		p->event(p->opaque, POWER_DEBUG_EXIT,
			 value_of(data, len) & 0xff);
}

static void acpi_sleep_write(void *dev, uint64_t off, const void *data,
			     uint32_t len)
{
	struct power *p = dev;
	uint32_t v = value_of(data, len) & 0xff;

	/* Sleep control register: SLP_TYP in bits 2-4, SLP_EN bit 5. */
	if (off == 0 && (v & ACPI_SLP_EN) && ((v >> 2) & 7) == ACPI_SLP_TYP_S5)
		p->event(p->opaque, POWER_OFF, v);
}

static void pvpanic_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
	/* Bits the guest may use: the events we understand. */
	*(uint8_t *)data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *dev, uint64_t off, const void *data,
			  uint32_t len)
{
	struct power *p = dev;

	(void)off;
	if (value_of(data, len) & PVPANIC_PANICKED)
		p->event(p->opaque, POWER_PANIC, value_of(data, len));
}

const struct bus_ops debug_exit_ops = {.read = read_zero,
				       .write = debug_exit_write};
const struct bus_ops acpi_sleep_ops = {.read = read_zero,
				       .write = acpi_sleep_write};
const struct bus_ops pvpanic_ops = {.read = pvpanic_read,
				    .write = pvpanic_write};
