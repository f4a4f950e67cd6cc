/* SPDX-License-Identifier: MIT */
/*
 * Ends the VM the way the kernel command line asks, to test every path out
 * of the VMM: "s5" (ACPI sleep control), "reboot" (i8042 0xFE), "panic"
 * (pvpanic), "triple" (a fault with no IDT), "exit=N" (debug-exit with N).
 */
#include "rt.h"

#define PORT_ACPI_SLEEP 0x3c0
#define PORT_PVPANIC 0x505

static const char *cmdline(void)
{
	const struct hvm_start_info *si = rt_boot.start_info;

	if (!si || !si->cmdline_paddr)
		return "";
	return (const char *)(uintptr_t)si->cmdline_paddr;
}

static int parse_uint(const char *s)
{
	int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

int main(void)
{
	const char *cmd = cmdline();

	printf("power: %s\n", cmd);
	if (!strcmp(cmd, "s5")) {
		outb(PORT_ACPI_SLEEP, (5 << 2) | (1 << 5)); /* SLP_TYP=5, SLP_EN */
	} else if (!strcmp(cmd, "reboot")) {
		outb(0x64, 0xfe);
	} else if (!strcmp(cmd, "panic")) {
		outb(PORT_PVPANIC, 1);
	} else if (!strcmp(cmd, "triple")) {
		/* An empty IDT: the #UD cannot be delivered, nor the #DF: shutdown. */
		struct {
			uint16_t limit;
			uint64_t base;
		} __attribute__((packed)) idt = {0, 0};

		__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	} else if (!strncmp(cmd, "exit=", 5)) {
		return parse_uint(cmd + 5);
	}
	puts("power: still running");
	return 99;
}
