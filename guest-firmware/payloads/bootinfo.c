/* SPDX-License-Identifier: MIT */
/* Print what the runtime learned at boot (PVH start info, FDT); exit 0. */
#include "rt.h"

int main(void)
{
	const struct hvm_start_info *si = rt_boot.start_info;
	const void *fdt = rt_boot.fdt;
	int node;

	if (si)
		printf("bootinfo: pvh v%u modules %u memmap %u entries\n", si->version, si->nr_modules,
		       si->memmap_entries);
	else
		puts("bootinfo: no pvh start info");
	printf("bootinfo: fdt %s, console 0x%x gsi %u, exit 0x%x, cpus %d%s\n", fdt ? "yes" : "no",
	       rt_boot.com1_port, rt_boot.com1_gsi, rt_boot.exit_port, rt_boot.ncpus,
	       rt_boot.ncpus_from_fdt ? "" : " (default)");
	for (int i = 0; i < rt_boot.ncpus && i < RT_MAX_CPUS && rt_boot.ncpus_from_fdt; i++)
		printf("bootinfo: cpu %d apic id %u\n", i, rt_boot.apic_ids[i]);
	printf("bootinfo: ioapic 0x%lx lapic 0x%lx bsp apic id %u\n", rt_boot.ioapic_base, rt_boot.lapic_base,
	       rt_lapic_id());
	for (node = fdt_next_compatible(fdt, -1, "virtio,mmio"); node >= 0;
	     node = fdt_next_compatible(fdt, node, "virtio,mmio")) {
		uint64_t base = 0, size = 0;
		uint32_t irq = 0;

		fdt_get_reg(fdt, node, 0, &base, &size);
		fdt_getprop_u32(fdt, node, "interrupts", &irq);
		printf("bootinfo: %s base 0x%lx size 0x%lx gsi %u\n", fdt_get_name(fdt, node), base, size, irq);
	}
	node = fdt_path_offset(fdt, "/memory");
	for (int i = 0; node >= 0; i++) {
		uint64_t base, size;

		if (!fdt_get_reg(fdt, node, i, &base, &size))
			break;
		printf("bootinfo: memory 0x%lx size 0x%lx\n", base, size);
	}
	return 0;
}
