// SPDX-License-Identifier: MIT
/*
 * Node layout (guest-firmware reads it; see guest-firmware/rt):
 *   /                 compatible "vmm,x86-64-pvh", #address-cells/#size-cells 2
 *   /chosen           stdout-path = "/isa/serial@i3f8"
 *   /memory@0         reg = RAM regions
 *   /cpus/cpu@N       reg = APIC id
 *   /isa              the ISA binding: reg = <1 port len> is I/O space
 *     serial@i3f8     "ns16550a", interrupts, clock-frequency
 *     debug-exit@if4  "vmm,debug-exit"
 *   /ioapic@fec00000  the interrupt parent; /lapic@fee00000
 *   /virtio_mmio@...  "virtio,mmio", reg, interrupts (one per device)
 * Port devices also carry vmm,io-port = <port>, simpler for tiny readers.
 */
#include "devicetree.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "layout.h"
#include "vm.h"

#define FDT_BUF_SIZE 0x4000

static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

#define IOAPIC_PHANDLE 1

static int port_node(void *fdt, const char *name, const char *compat,
		     uint32_t port, uint32_t len, int irq)
{
	fdt32_t reg[3] = {cpu_to_fdt32(1), cpu_to_fdt32(port),
			  cpu_to_fdt32(len)};
	int ret = fdt_begin_node(fdt, name);

	ret = ret ?: fdt_property_string(fdt, "compatible", compat);
	ret = ret ?: fdt_property(fdt, "reg", reg, sizeof(reg));
	ret = ret ?: fdt_property_u32(fdt, "vmm,io-port", port);
	if (irq >= 0)
		ret = ret ?: fdt_property_u32(fdt, "interrupts", (uint32_t)irq);
	return ret;
}

static int build(const struct vm *vm, void *fdt)
{
	char name[64];
	int ret;

	ret = fdt_create(fdt, FDT_BUF_SIZE);
	ret = ret ?: fdt_finish_reservemap(fdt);
	ret = ret ?: fdt_begin_node(fdt, "");
	ret = ret ?: fdt_property_string(fdt, "compatible", "vmm,x86-64-pvh");
	ret =
	    ret ?: fdt_property_string(fdt, "model", "vmm KVM virtual machine");
	ret = ret ?: fdt_property_u32(fdt, "#address-cells", 2);
	ret = ret ?: fdt_property_u32(fdt, "#size-cells", 2);
	ret = ret ?: fdt_property_u32(fdt, "interrupt-parent", IOAPIC_PHANDLE);

	ret = ret ?: fdt_begin_node(fdt, "chosen");
	ret =
	    ret ?: fdt_property_string(fdt, "stdout-path", "/isa/serial@i3f8");
	ret = ret ?: fdt_end_node(fdt);

	ret = ret ?: fdt_begin_node(fdt, "memory@0");
	ret = ret ?: fdt_property_string(fdt, "device_type", "memory");
	if (!ret) {
		fdt64_t reg[4];
		int n = 0;

		for (int i = 0; i < vm->mem.nr_regions; i++) {
			reg[n++] = cpu_to_fdt64(vm->mem.region[i].gpa);
			reg[n++] = cpu_to_fdt64(vm->mem.region[i].size);
		}
		ret = fdt_property(fdt, "reg", reg, n * sizeof(reg[0]));
	}
	ret = ret ?: fdt_end_node(fdt);

	ret = ret ?: fdt_begin_node(fdt, "cpus");
	ret = ret ?: fdt_property_u32(fdt, "#address-cells", 1);
	ret = ret ?: fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned i = 0; i < vm->ncpus && !ret; i++) {
		snprintf(name, sizeof(name), "cpu@%u", i);
		ret = fdt_begin_node(fdt, name);
		ret = ret ?: fdt_property_string(fdt, "device_type", "cpu");
		ret = ret ?: fdt_property_u32(fdt, "reg", i); /* APIC id */
		ret = ret ?: fdt_end_node(fdt);
	}
	ret = ret ?: fdt_end_node(fdt);

	ret = ret ?: fdt_begin_node(fdt, "isa");
	ret = ret ?: fdt_property_string(fdt, "compatible", "isa");
	ret = ret ?: fdt_property_u32(fdt, "#address-cells", 2);
	ret = ret ?: fdt_property_u32(fdt, "#size-cells", 1);
	ret = ret
		  ?: port_node(fdt, "serial@i3f8", "ns16550a", PORT_COM1, 8,
			       IRQ_COM1);
	ret = ret ?: fdt_property_u32(fdt, "clock-frequency", 1843200);
	ret = ret ?: fdt_end_node(fdt);
	ret = ret
		  ?: port_node(fdt, "debug-exit@if4", "vmm,debug-exit",
			       PORT_DEBUG_EXIT, 4, -1);
	ret = ret ?: fdt_end_node(fdt);
	ret = ret ?: fdt_end_node(fdt);

	ret = ret ?: fdt_begin_node(fdt, "ioapic@fec00000");
	ret = ret ?: fdt_property_string(fdt, "compatible", "vmm,ioapic");
	ret = ret ?: prop_reg(fdt, IOAPIC_START, 0x1000);
	ret = ret ?: fdt_property(fdt, "interrupt-controller", NULL, 0);
	ret = ret ?: fdt_property_u32(fdt, "#interrupt-cells", 1);
	ret = ret ?: fdt_property_u32(fdt, "#address-cells", 0);
	ret = ret ?: fdt_property_u32(fdt, "phandle", IOAPIC_PHANDLE);
	ret = ret ?: fdt_end_node(fdt);
	ret = ret ?: fdt_begin_node(fdt, "lapic@fee00000");
	ret = ret ?: fdt_property_string(fdt, "compatible", "vmm,lapic");
	ret = ret ?: prop_reg(fdt, LAPIC_START, 0x1000);
	ret = ret ?: fdt_end_node(fdt);

	for (unsigned i = 0; i < vm->nr_virtio && !ret; i++) {
		const struct virtio_slot *s = &vm->virtio[i];

		snprintf(name, sizeof(name), "virtio_mmio@%lx",
			 (unsigned long)s->base);
		ret = fdt_begin_node(fdt, name);
		ret = ret
			  ?: fdt_property_string(fdt, "compatible",
						 "virtio,mmio");
		ret = ret ?: prop_reg(fdt, s->base, VIRTIO_MMIO_SIZE);
		ret = ret ?: fdt_property_u32(fdt, "interrupts", s->gsi);
		ret = ret ?: fdt_property_string(fdt, "vmm,device", s->name);
		ret = ret ?: fdt_end_node(fdt);
	}

	ret = ret ?: fdt_end_node(fdt);
	ret = ret ?: fdt_finish(fdt);
	return ret;
}

int fdt_build(const struct vm *vm, void **blob, size_t *size)
{
	void *fdt = calloc(1, FDT_BUF_SIZE);
	int ret;

	if (!fdt)
		return -ENOMEM;
	ret = build(vm, fdt);
	if (ret) {
		free(fdt);
		return ret == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	}
	*blob = fdt;
	*size = fdt_totalsize(fdt);
	return 0;
}

int fdt_dump(const void *blob, size_t size, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < size) {
		ssize_t n = write(fd, (const char *)blob + off, size - off);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		off += (size_t)n;
	}
	return close(fd) ? -errno : 0;
}
