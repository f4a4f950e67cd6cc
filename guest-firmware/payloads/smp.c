/* SPDX-License-Identifier: MIT */
/*
 * Start every secondary vCPU with INIT-SIPI-SIPI, count who ran, exit with the
 * number of vCPUs seen running (BSP included).
 */
#include "rt.h"

#define WAIT_US 3000000 /* give the APs up to 3 s */

static volatile int ran = 1; /* the BSP */

static void ap_main(int cpu)
{
	(void)cpu;
	__atomic_fetch_add(&ran, 1, __ATOMIC_SEQ_CST);
}

static int expected_cpus(void)
{
	uint32_t a, b, c, d;

	if (rt_boot.ncpus_from_fdt)
		return rt_boot.ncpus;
	/* No FDT (QEMU): CPUID.1 EBX[23:16] when HTT is set, else 1. */
	cpuid(1, 0, &a, &b, &c, &d);
	if ((d & (1u << 28)) && ((b >> 16) & 0xff) > 1)
		return (int)((b >> 16) & 0xff);
	return 1;
}

int main(void)
{
	int expected = expected_cpus();
	uint64_t hz = rt_tsc_hz(), start, limit;
	int n;

	if (smp_start(ap_main) < 0) {
		puts("smp: smp_start failed");
		return 0xff;
	}
	start = rdtsc();
	limit = hz / 1000000 * WAIT_US;
	while (__atomic_load_n(&ran, __ATOMIC_SEQ_CST) < expected && rdtsc() - start < limit)
		rt_delay_us(1000);
	/* If no FDT said how many, allow late arrivals a little longer. */
	if (!rt_boot.ncpus_from_fdt)
		rt_delay_us(100000);
	n = __atomic_load_n(&ran, __ATOMIC_SEQ_CST);
	printf("smp: waited %lu ms (tsc %lu kHz)\n", (rdtsc() - start) / (hz / 1000), hz / 1000);
	printf("smp: %d of %d vCPUs ran\n", n, expected);
	return n;
}
