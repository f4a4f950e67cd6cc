/* SPDX-License-Identifier: MIT */
/* IDT, exception reporting, LAPIC, IOAPIC and the legacy PIC. */
#include "rt.h"

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define SPURIOUS_VECTOR 0xff

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

struct __attribute__((packed)) idt_desc {
	uint16_t limit;
	uint64_t base;
};

extern char rt_isr_stubs[];
static struct idt_entry idt[256] __attribute__((aligned(16)));
struct idt_desc rt_idt_desc; /* also loaded by APs in entry.S */
static rt_isr_fn handlers[256];

void rt_idt_init(void)
{
	uint64_t a = (uint64_t)(uintptr_t)rt_isr_stubs;

	for (int i = 0; i < 256; i++, a += 16) { /* stubs are 16 bytes apart */
		idt[i] = (struct idt_entry){
			.off_lo = (uint16_t)a,
			.sel = 0x18,
			.type = 0x8e, /* present, DPL0, 64-bit interrupt gate */
			.off_mid = (uint16_t)(a >> 16),
			.off_hi = (uint32_t)(a >> 32),
		};
	}
	rt_idt_desc.limit = sizeof(idt) - 1;
	rt_idt_desc.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" ::"m"(rt_idt_desc));
}

void rt_irq_register(uint8_t vector, rt_isr_fn fn)
{
	handlers[vector] = fn;
}

void rt_isr_dispatch(struct rt_regs *r);
void rt_isr_dispatch(struct rt_regs *r)
{
	unsigned v = (uint8_t)r->vector;
	rt_isr_fn fn = handlers[v];

	if (fn) {
		fn(r);
		if (v >= 32)
			rt_lapic_eoi();
		return;
	}
	if (v == SPURIOUS_VECTOR)
		return; /* spurious: no EOI */
	if (v >= 32) {
		printf("rt: unexpected interrupt vector %u on apic %u\n", v, rt_lapic_id());
		rt_lapic_eoi();
		return;
	}
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("rt: exception vector %u error 0x%lx rip 0x%lx cr2 0x%lx rsp 0x%lx\n", v, r->error_code, r->rip, cr2, r->rsp);
	rt_exit(RT_EXIT_FAULT);
}

/* ---- LAPIC ---- */
uint32_t rt_lapic_read(uint32_t reg)
{
	return mmio_read32(rt_boot.lapic_base + reg);
}

void rt_lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(rt_boot.lapic_base + reg, v);
}

uint32_t rt_lapic_id(void)
{
	return rt_lapic_read(LAPIC_ID) >> 24;
}

void rt_lapic_eoi(void)
{
	rt_lapic_write(LAPIC_EOI, 0);
}

void rt_pic_disable(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void rt_lapic_enable(void)
{
	rt_pic_disable();
	rt_lapic_write(LAPIC_TPR, 0);
	rt_lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
}

/* ---- IOAPIC (82093AA: IOREGSEL at +0, IOWIN at +0x10) ---- */
uint32_t rt_ioapic_read(uint32_t reg)
{
	mmio_write32(rt_boot.ioapic_base, reg);
	return mmio_read32(rt_boot.ioapic_base + 0x10);
}

void rt_ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(rt_boot.ioapic_base, reg);
	mmio_write32(rt_boot.ioapic_base + 0x10, v);
}

void rt_ioapic_route(unsigned gsi, uint8_t vector, bool level, bool active_low)
{
	uint32_t lo = vector; /* fixed delivery, physical destination */

	if (active_low)
		lo |= 1u << 13;
	if (level)
		lo |= 1u << 15;
	rt_ioapic_write(0x11 + 2 * gsi, rt_lapic_id() << 24);
	rt_ioapic_write(0x10 + 2 * gsi, lo);
}

void rt_ioapic_mask(unsigned gsi)
{
	rt_ioapic_write(0x10 + 2 * gsi, 1u << 16);
}
