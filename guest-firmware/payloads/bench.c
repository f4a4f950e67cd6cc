/* SPDX-License-Identifier: MIT */
/*
 * Exit-cost benchmark (vmm bench exits). For each exit kind the guest times
 * `iters` back-to-back exits with rdtsc, `runs` times, and prints one line per
 * kind with the raw TSC cycles of every run; the host computes statistics.
 * The same ELF runs under vmm, tests/tools/rawkvm and QEMU microvm.
 *
 * Command line (PVH start_info): iters=N runs=R cpus=N [nohypercall] [debug],
 * or "idle" (print "ready", then halt with interrupts on forever: for memory
 * measurements). nohypercall skips the VMCALL/VMMCALL row: under kvm_pvm a
 * hypercall from CPL0 never returns. debug prints each row's name first.
 *
 * Output protocol, one record per line on the serial console:
 *   BENCH-INFO vendor=amd|intel dev=0|1 cpus=N iters=N runs=R io=... mmio=...
 *   BENCH-ROW <name> <iters> <cycles run 1> ... <cycles run R>
 *   BENCH-SKIP <name> <reason>
 *   BENCH-END
 * Every row is timed through the same indirect-call loop; the "baseline" row
 * times that loop with an empty body and the host subtracts it.
 *
 * The bench device (devices/benchdev.h) is detected by its ID at PORT_BENCH.
 * Without it (QEMU) the user-space rows use devices QEMU emulates in user
 * space: the 16550 scratch register (0x3ff) for port I/O, and the MagicValue /
 * DeviceFeaturesSel registers of microvm's first virtio-mmio transport
 * (0xfeb00000) for MMIO. QEMU's only ioeventfd on MMIO here is a virtio
 * QueueNotify register: the host adds a virtio-rng device (modern
 * virtio-mmio), the payload brings up its queue 0 with an empty ring, and the
 * ioeventfd-mmio row writes 0 to its QueueNotify; QEMU's main loop then wakes,
 * drains the eventfd and finds no request, as vmm's event loop does for the
 * bench device. QEMU has no port ioeventfd without PCI: that row is skipped.
 */
#include "rt.h"
#include "virtio_mmio.h"

#define PORT_BENCH 0x510
#define PORT_BENCH_NOTIFY (PORT_BENCH + 4)
#define BENCH_MMIO 0xc0000000ull
#define BENCH_MMIO_SCRATCH (BENCH_MMIO + 8)
#define BENCH_MMIO_NOTIFY (BENCH_MMIO + 0x100)
#define BENCH_ID 0x48434e42u /* "BNCH" */
#define PORT_ELCR 0x4d0      /* PIC edge/level control: in-kernel PIC */
#define PORT_COM1_SCRATCH 0x3ff
#define QEMU_VIRTIO_MMIO 0xfeb00000ull
#define RNG_QSIZE 8
#define MSR_APIC_BASE 0x1b

#define MAX_RUNS 64
#define MAX_ROWS 16
#define TIMER_VECTOR 0x40
#define IPI_VECTOR 0x41
#define LAPIC_TIMER_LVT 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static unsigned iters = 1000, runs = 21, ncpus = 1;
static bool no_hypercall, debug, idle_mode, has_dev, is_amd;
static uint16_t pio_port;  /* user-space port for pio-in / pio-out */
static uint64_t mmio_rd, mmio_wr;
static uint64_t notify_mmio; /* ioeventfd-mmio target (0: none) */
static uint32_t notify_val;
static volatile int fault_len; /* >0: skip a faulting instruction of this size */
static volatile int faulted;
static volatile unsigned timer_hits, ipi_hits;
static volatile uint32_t ap_apic_id;
static volatile int ap_ready, ap_stop;

struct result {
	const char *name;
	const char *skip; /* non-NULL: row skipped, reason */
	uint64_t cycles[MAX_RUNS];
};
static struct result results[MAX_ROWS];
static int nresults;

/* ---- command line ---- */
static unsigned parse_uint(const char *s)
{
	unsigned v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

static void parse_cmdline(void)
{
	const struct hvm_start_info *si = rt_boot.start_info;
	const char *p;

	if (!si || !si->cmdline_paddr)
		return;
	for (p = (const char *)(uintptr_t)si->cmdline_paddr; *p;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, "iters=", 6))
			iters = parse_uint(p + 6);
		else if (!strncmp(p, "runs=", 5))
			runs = parse_uint(p + 5);
		else if (!strncmp(p, "cpus=", 5))
			ncpus = parse_uint(p + 5);
		else if (!strncmp(p, "nohypercall", 11))
			no_hypercall = true;
		else if (!strncmp(p, "debug", 5))
			debug = true;
		else if (!strncmp(p, "idle", 4))
			idle_mode = true;
		while (*p && *p != ' ')
			p++;
	}
	if (!iters)
		iters = 1;
	if (!runs)
		runs = 1;
	if (runs > MAX_RUNS)
		runs = MAX_RUNS;
}

/* ---- the operations: one exit each ---- */
static void op_nop(void) {}

static void op_cpuid(void)
{
	uint32_t a, b, c, d;

	cpuid(0, 0, &a, &b, &c, &d);
}

static void op_hypercall(void)
{
	/* Hypercall number 0xffff is unknown: KVM returns -KVM_ENOSYS in rax. */
	uint64_t nr = 0xffff;

	if (is_amd)
		__asm__ volatile("vmmcall" : "+a"(nr) : : "memory");
	else
		__asm__ volatile("vmcall" : "+a"(nr) : : "memory");
}

static void op_pio_kernel(void) { (void)inb(PORT_ELCR); }
static void op_msr(void) { (void)rdmsr(MSR_APIC_BASE); }
static void op_pio_in(void) { (void)inb(pio_port); }
static void op_pio_out(void) { outb(pio_port, 0x5a); }
static void op_mmio_read(void) { (void)mmio_read32(mmio_rd); }
static void op_mmio_write(void) { mmio_write32(mmio_wr, 0); }
static void op_ioeventfd_pio(void) { outl(PORT_BENCH_NOTIFY, 1); }
static void op_ioeventfd_mmio(void) { mmio_write32(notify_mmio, notify_val); }

static void op_hlt_timer(void)
{
	unsigned want = timer_hits + 1;

	/* Arm a one-shot timer that is due at once, then halt until it fires. */
	rt_lapic_write(LAPIC_TIMER_INIT, 1);
	while (timer_hits != want)
		rt_wait_irq();
}

static void op_ipi(void)
{
	unsigned want = ipi_hits + 1;

	rt_lapic_write(LAPIC_ICR_HI, ap_apic_id << 24);
	rt_lapic_write(LAPIC_ICR_LO, IPI_VECTOR); /* fixed, physical */
	while (ipi_hits != want)
		cpu_relax();
}

/* ---- interrupt and fault handlers ---- */
static void on_timer(struct rt_regs *r)
{
	(void)r;
	timer_hits++;
}

static void on_ipi(struct rt_regs *r)
{
	(void)r;
	__atomic_fetch_add(&ipi_hits, 1, __ATOMIC_SEQ_CST);
}

/* #UD or #GP from an instruction a hypervisor may refuse: skip it, note it. */
static void on_fault(struct rt_regs *r)
{
	if (!fault_len)
		rt_panic("unexpected fault %lu at %#lx", r->vector, r->rip);
	r->rip += (uint64_t)fault_len;
	faulted = 1;
}

/* ---- the timing loop ---- */
static void (*volatile op_ptr)(void);

static __attribute__((noinline)) uint64_t time_loop(unsigned n)
{
	void (*op)(void) = op_ptr;
	uint64_t t0 = rdtsc();

	for (unsigned i = 0; i < n; i++)
		op();
	return rdtsc() - t0;
}

static void run_row(const char *name, void (*op)(void), int flen)
{
	struct result *res = &results[nresults++];

	res->name = name;
	if (debug)
		printf("BENCH-DEBUG %s\n", name);
	op_ptr = op;
	fault_len = flen;
	faulted = 0;
	time_loop(iters < 10 ? iters : 10); /* warm up */
	for (unsigned r = 0; r < runs && !faulted; r++)
		res->cycles[r] = time_loop(iters);
	fault_len = 0;
	if (faulted)
		res->skip = "instruction faulted (#UD/#GP): not available here";
}

static void skip_row(const char *name, const char *why)
{
	struct result *res = &results[nresults++];

	res->name = name;
	res->skip = why;
}

/* ---- second vCPU for the IPI row ---- */
static void ap_main(int cpu)
{
	(void)cpu;
	rt_lapic_enable();
	ap_apic_id = rt_lapic_id();
	__atomic_store_n(&ap_ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&ap_stop, __ATOMIC_SEQ_CST))
		rt_wait_irq();
}

static bool start_ap(void)
{
	uint64_t t0;

	if (smp_start(ap_main) < 0)
		return false;
	t0 = rdtsc();
	/* Up to ~3 s at 4 GHz; no PIT calibration needed. */
	while (!__atomic_load_n(&ap_ready, __ATOMIC_SEQ_CST) && rdtsc() - t0 < 12000000000ull)
		cpu_relax();
	return __atomic_load_n(&ap_ready, __ATOMIC_SEQ_CST);
}

static void stop_ap(void)
{
	__atomic_store_n(&ap_stop, 1, __ATOMIC_SEQ_CST);
	rt_lapic_write(LAPIC_ICR_HI, ap_apic_id << 24);
	rt_lapic_write(LAPIC_ICR_LO, IPI_VECTOR);
}

/* ---- QEMU: a virtio-rng queue whose QueueNotify is an ioeventfd ---- */

/*
 * Bring up queue 0 of a modern virtio-mmio entropy device with an empty
 * ring (virtio 1.2 section 3.1.1). DRIVER_OK is what makes QEMU put an
 * ioeventfd on QueueNotify. Returns the QueueNotify address, 0 if none.
 */
static uint64_t qemu_rng_notify(void)
{
	struct vmmio_dev dev;
	void *desc, *avail, *used;

	if (!vmmio_find(VIRTIO_ID_RNG, 0, &dev) ||
	    vmmio_negotiate(dev.base, 0, NULL, NULL))
		return 0;
	desc = rt_alloc(16 * RNG_QSIZE, 4096);
	avail = rt_alloc(6 + 2 * RNG_QSIZE, 4096);
	used = rt_alloc(6 + 8 * RNG_QSIZE, 4096);
	if (!desc || !avail || !used)
		return 0;
	memset(avail, 0, 6 + 2 * RNG_QSIZE);
	memset(used, 0, 6 + 8 * RNG_QSIZE);
	if (vmmio_queue(dev.base, 0, RNG_QSIZE, desc, avail, used) ||
	    vmmio_driver_ok(dev.base))
		return 0;
	return dev.base + R_QUEUE_NOTIFY;
}

/* ---- main ---- */
static void detect(void)
{
	uint32_t a, b, c, d;

	cpuid(0, 0, &a, &b, &c, &d);
	is_amd = b == 0x68747541u; /* "AuthenticAMD" */
	has_dev = inl(PORT_BENCH) == BENCH_ID;
	if (has_dev) {
		pio_port = PORT_BENCH;
		mmio_rd = mmio_wr = BENCH_MMIO_SCRATCH;
		notify_mmio = BENCH_MMIO_NOTIFY;
		notify_val = 1;
	} else {
		pio_port = PORT_COM1_SCRATCH;
		if (mmio_read32(QEMU_VIRTIO_MMIO) == VIRTIO_MMIO_MAGIC) {
			mmio_rd = QEMU_VIRTIO_MMIO;         /* MagicValue */
			mmio_wr = QEMU_VIRTIO_MMIO + 0x14;  /* DeviceFeaturesSel */
		} else {
			mmio_rd = mmio_wr = BENCH_MMIO_SCRATCH; /* unassigned */
		}
		notify_mmio = qemu_rng_notify();
		notify_val = 0; /* the queue index: QEMU's ioeventfd datamatch */
	}
}

static void print_results(void)
{
	printf("BENCH-INFO vendor=%s dev=%d cpus=%u iters=%u runs=%u io=0x%x mmio=0x%lx notify=0x%lx\n",
	       is_amd ? "amd" : "intel", has_dev, ncpus, iters, runs, pio_port, mmio_rd,
	       notify_mmio);
	for (int i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		if (r->skip) {
			printf("BENCH-SKIP %s %s\n", r->name, r->skip);
			continue;
		}
		printf("BENCH-ROW %s %u", r->name, iters);
		for (unsigned k = 0; k < runs; k++)
			printf(" %lu", r->cycles[k]);
		putchar('\n');
	}
	puts("BENCH-END");
}

int main(void)
{
	parse_cmdline();
	if (idle_mode) {
		puts("ready");
		for (;;)
			__asm__ volatile("sti; hlt" ::: "memory");
	}
	detect();
	rt_irq_register(6, on_fault);
	rt_irq_register(13, on_fault);
	rt_irq_register(TIMER_VECTOR, on_timer);
	rt_irq_register(IPI_VECTOR, on_ipi);
	rt_lapic_enable();
	rt_lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	rt_lapic_write(LAPIC_TIMER_LVT, TIMER_VECTOR); /* one-shot */

	run_row("baseline", op_nop, 0);
	run_row("cpuid", op_cpuid, 0);
	if (no_hypercall)
		skip_row("hypercall", "disabled by the host (nohypercall: VMCALL/VMMCALL never returns under kvm_pvm)");
	else
		run_row("hypercall", op_hypercall, 3);
	run_row("pio-kernel", op_pio_kernel, 0);
	run_row("msr-read", op_msr, 2);
	run_row("pio-in", op_pio_in, 0);
	run_row("pio-out", op_pio_out, 0);
	run_row("mmio-read", op_mmio_read, 0);
	run_row("mmio-write", op_mmio_write, 0);
	if (has_dev)
		run_row("ioeventfd-pio", op_ioeventfd_pio, 0);
	else
		skip_row("ioeventfd-pio", "no bench device (QEMU): no ioeventfd on a port without PCI");
	if (notify_mmio)
		run_row("ioeventfd-mmio", op_ioeventfd_mmio, 0);
	else
		skip_row("ioeventfd-mmio", "no bench device and no modern virtio-rng device");
	run_row("hlt-timer", op_hlt_timer, 0);
	if (ncpus < 2)
		skip_row("ipi", "needs 2 vCPUs (--cpus 2)");
	else if (!start_ap())
		skip_row("ipi", "second vCPU did not start");
	else {
		run_row("ipi", op_ipi, 0);
		stop_ap();
	}
	print_results();
	return 0;
}
