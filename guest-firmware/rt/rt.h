/* SPDX-License-Identifier: MIT */
/*
 * guest-firmware runtime: the whole API a bare-metal payload sees.
 *
 * A payload defines `int main(void)`. The runtime boots it through the PVH
 * entry (32-bit, paging off) into 64-bit long mode with the first 4 GiB
 * identity mapped (2 MiB pages, 0xc0000000+ uncached), installs an IDT whose
 * default handler reports the fault and exits with RT_EXIT_FAULT, parses the
 * VMM's FDT when there is one, sets up the console and calls main(). main's
 * return value becomes the debug-exit status.
 *
 * Guest code at CPL0 is emulated on the development machines (~1.2 us per
 * instruction), so everything here is small and avoids long loops.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_CPUS 32
#define RT_EXIT_FAULT 0xee /* unexpected exception: QEMU reports (0xee<<1|1)&0xff = 221 */
#define RT_PAGE_SIZE 4096

/* ---- PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h) ---- */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM (e820) */
	uint32_t reserved;
};

/* What rt_main learned at boot; read-only for payloads. */
struct rt_boot_info {
	const struct hvm_start_info *start_info; /* NULL if EBX had no valid magic */
	const void *fdt;       /* the VMM's device tree, NULL under QEMU */
	uint16_t com1_port;    /* console UART, default 0x3f8 */
	uint16_t exit_port;    /* debug-exit, default 0xf4 */
	uint8_t com1_gsi;      /* default 4 */
	bool ncpus_from_fdt;   /* ncpus came from /cpus (else it is 1) */
	int ncpus;             /* number of cpu@ nodes, BSP included */
	uint32_t apic_ids[RT_MAX_CPUS]; /* reg of each cpu@ node, in FDT order */
	uint64_t ioapic_base;  /* default 0xfec00000 */
	uint64_t lapic_base;   /* default 0xfee00000 */
};
extern struct rt_boot_info rt_boot;

/* The payload's entry point. */
int main(void);

/* ---- exit ---- */
/* Write status to the debug-exit port, then cli; hlt forever. */
__attribute__((noreturn)) void rt_exit(uint32_t status);
/* Print "PANIC: ..." and exit with RT_EXIT_FAULT. */
__attribute__((noreturn, format(printf, 1, 2))) void rt_panic(const char *fmt, ...);
#define RT_ASSERT(c)                                                                \
	do {                                                                        \
		if (!(c))                                                           \
			rt_panic("assert %s failed at %s:%d", #c, __FILE__, __LINE__); \
	} while (0)

/* ---- console (polled 16550 output; '\n' is sent as-is, no CR added) ---- */
int putchar(int c);
int puts(const char *s); /* appends '\n' like libc */
void rt_write(const char *s, size_t n);
__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, size_t n, const char *fmt, ...);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
/* Formats: %d %i %u %x %X %o %c %s %p %%, length l/ll/z, flags '-' '0', width. */

/* ---- UART registers (offsets from rt_boot.com1_port) ---- */
#define UART_RBR 0 /* read: receive buffer */
#define UART_THR 0 /* write: transmit holding */
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_IER_RDI 0x01
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08 /* gates the IRQ line on PC UARTs */
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20

/* ---- strings/memory ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Bump allocator over RAM after the image (skips modules/FDT); never freed.
 * Memory is whatever RAM holds: zero at boot under our VMM and QEMU. NULL if out. */
void *rt_alloc(size_t size, size_t align);

/* ---- CPU helpers ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_read64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* Enable interrupts and halt until one arrives and its handler has run;
 * returns with interrupts disabled again. sti's one-instruction shadow makes
 * "check a flag with IF=0, then rt_wait_irq()" race free. */
static inline void rt_wait_irq(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

/* ---- time ---- */
uint64_t rt_tsc_hz(void); /* CPUID 0x15/0x16/0x40000010, else PIT calibration, else 2 GHz */
void rt_delay_us(uint64_t us);

/* ---- interrupts ---- */
/* Register frame given to handlers (pushed by the IDT stubs). */
struct rt_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*rt_isr_fn)(struct rt_regs *regs);
/* Handler for a vector. For vectors >= 32 the runtime sends the LAPIC EOI after
 * the handler returns. Vectors 0-31 without a handler end the run (RT_EXIT_FAULT). */
void rt_irq_register(uint8_t vector, rt_isr_fn fn);
void rt_lapic_enable(void); /* SVR enable, spurious vector 0xff, TPR 0 */
void rt_lapic_eoi(void);
uint32_t rt_lapic_id(void);
uint32_t rt_lapic_read(uint32_t reg);
void rt_lapic_write(uint32_t reg, uint32_t v);
/* Route IOAPIC pin `gsi` to `vector` on this CPU (physical, fixed), unmasked. */
void rt_ioapic_route(unsigned gsi, uint8_t vector, bool level, bool active_low);
void rt_ioapic_mask(unsigned gsi);
uint32_t rt_ioapic_read(uint32_t reg);
void rt_ioapic_write(uint32_t reg, uint32_t v);
void rt_pic_disable(void); /* mask both 8259s (done by rt_lapic_enable) */

/* ---- SMP ---- */
/* Wake every secondary vCPU by INIT-SIPI-SIPI (one target per APIC id from the
 * FDT, else a broadcast to all-excluding-self) through a real-mode trampoline
 * at 0x10000. Each AP enters long mode on the same page tables, gets its own
 * stack and cpu index (1, 2, ... in arrival order), runs fn(cpu) with interrupts
 * off, then bumps the done counter and halts (cli; hlt). Returns without
 * waiting: 0, or -1 if fn is NULL or smp_start was already called. */
int smp_start(void (*fn)(int cpu));
int smp_aps_arrived(void); /* APs that reached C so far */
int smp_aps_done(void);    /* APs whose fn returned */

/* ---- FDT (read-only, bounds-checked against totalsize) ---- */
/* Node offsets are >= 0; functions return < 0 when not found / malformed. */
bool fdt_check(const void *fdt);                /* magic, version, sizes */
int fdt_path_offset(const void *fdt, const char *path); /* "/", "/cpus", "/serial@3f8"; a
                                                  * component without '@' matches any unit address */
int fdt_first_subnode(const void *fdt, int node);
int fdt_next_subnode(const void *fdt, int node);
const char *fdt_get_name(const void *fdt, int node); /* "cpu@0" */
const void *fdt_getprop(const void *fdt, int node, const char *name, int *len);
bool fdt_getprop_u32(const void *fdt, int node, const char *name, uint32_t *out); /* first cell */
bool fdt_node_is_compatible(const void *fdt, int node, const char *compat);
/* Next node after `prev` (pass -1 to start) with the given compatible, any depth. */
int fdt_next_compatible(const void *fdt, int prev, const char *compat);
/* idx-th (addr,size) pair of "reg", using the root's #address-cells/#size-cells. */
bool fdt_get_reg(const void *fdt, int node, int idx, uint64_t *addr, uint64_t *size);
static inline uint32_t fdt32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

#endif
