/* SPDX-License-Identifier: MIT */
/*
 * Secondary vCPU start-up the way Linux does it: INIT, INIT de-assert, 10 ms,
 * STARTUP (SIPI) twice, through a real-mode trampoline below 1 MiB.
 */
#include "rt.h"

#define TRAMPOLINE_BASE 0x10000u /* SIPI vector 0x10 */
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_BUSY (1u << 12)
#define ICR_INIT 0x500u
#define ICR_STARTUP 0x600u
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)

extern char rt_trampoline_start[], rt_trampoline_end[];
void rt_ap_main(int cpu);

static void (*volatile ap_fn)(int cpu);
static volatile int aps_arrived, aps_done;

void rt_ap_main(int cpu)
{
	__atomic_fetch_add(&aps_arrived, 1, __ATOMIC_SEQ_CST);
	ap_fn(cpu);
	__atomic_fetch_add(&aps_done, 1, __ATOMIC_SEQ_CST);
	/* entry.S parks the CPU with cli; hlt on return */
}

int smp_aps_arrived(void)
{
	return __atomic_load_n(&aps_arrived, __ATOMIC_SEQ_CST);
}

int smp_aps_done(void)
{
	return __atomic_load_n(&aps_done, __ATOMIC_SEQ_CST);
}

static void icr_wait(void)
{
	for (int i = 0; i < 10000; i++)
		if (!(rt_lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return;
}

static void send_ipi(uint32_t dest, uint32_t lo)
{
	rt_lapic_write(LAPIC_ICR_HI, dest << 24);
	rt_lapic_write(LAPIC_ICR_LO, lo);
	icr_wait();
}

/* One INIT-SIPI-SIPI to `dest` (APIC id), or to all-but-self if broadcast. */
static void wake(uint32_t dest, bool broadcast)
{
	uint32_t sh = broadcast ? ICR_ALL_BUT_SELF : 0;
	uint32_t sipi = ICR_STARTUP | (TRAMPOLINE_BASE >> 12) | sh;

	send_ipi(dest, ICR_INIT | ICR_LEVEL | ICR_ASSERT | sh);
	send_ipi(dest, ICR_INIT | ICR_LEVEL | sh); /* de-assert (ignored by modern CPUs) */
	rt_delay_us(10000);
	send_ipi(dest, sipi);
	rt_delay_us(200);
	send_ipi(dest, sipi);
	rt_delay_us(200);
}

int smp_start(void (*fn)(int cpu))
{
	static bool started;
	size_t n = (size_t)(rt_trampoline_end - rt_trampoline_start);
	uint32_t self;

	if (!fn || started)
		return -1;
	started = true;
	ap_fn = fn;
	memcpy((void *)(uintptr_t)TRAMPOLINE_BASE, rt_trampoline_start, n);
	mb();
	rt_lapic_enable();
	self = rt_lapic_id();
	if (rt_boot.ncpus_from_fdt) {
		for (int i = 0; i < rt_boot.ncpus && i < RT_MAX_CPUS; i++)
			if (rt_boot.apic_ids[i] != self)
				wake(rt_boot.apic_ids[i], false);
	} else {
		wake(0, true);
	}
	return 0;
}
