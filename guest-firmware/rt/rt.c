/* SPDX-License-Identifier: MIT */
/* Boot (rt_main), console, printf, exit, allocator and time. */
#include "rt.h"

struct rt_boot_info rt_boot = {
	.com1_port = 0x3f8,
	.exit_port = 0xf4,
	.com1_gsi = 4,
	.ncpus = 1,
	.ioapic_base = 0xfec00000,
	.lapic_base = 0xfee00000,
};

extern char __image_start[], __image_end[];
void rt_idt_init(void);
void rt_main(uint32_t start_info_pa);

/* ---- exit ---- */
void rt_exit(uint32_t status)
{
	outl(rt_boot.exit_port, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- console ---- */
#define UART_TX_SPINS 100000 /* bound on waiting for THRE, then send anyway */

static void uart_init(uint16_t port)
{
	/* No FCR write: toggling FIFO enable flushes bytes that already arrived. */
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(port + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
}

static void uart_tx(char c)
{
	uint16_t port = rt_boot.com1_port;

	for (int i = 0; i < UART_TX_SPINS; i++)
		if (inb(port + UART_LSR) & UART_LSR_THRE)
			break;
	outb(port + UART_THR, (uint8_t)c);
}

int putchar(int c)
{
	uart_tx((char)c);
	return (uint8_t)c;
}

void rt_write(const char *s, size_t n)
{
	while (n--)
		uart_tx(*s++);
}

int puts(const char *s)
{
	while (*s)
		uart_tx(*s++);
	uart_tx('\n');
	return 0;
}

/* ---- formatting ---- */
struct sink {
	char *buf; /* NULL: console */
	size_t size, len;
};

static void sink_put(struct sink *k, char c)
{
	if (!k->buf)
		uart_tx(c);
	else if (k->len + 1 < k->size)
		k->buf[k->len] = c;
	k->len++;
}

static void sink_pad(struct sink *k, char c, int n)
{
	while (n-- > 0)
		sink_put(k, c);
}

static int vformat(struct sink *k, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		char tmp[24], *s;
		int width = 0, lng = 0, len;
		bool left = false, zero = false, neg = false;
		uint64_t u;
		unsigned base = 10;
		const char *digits = "0123456789abcdef";

		if (*fmt != '%') {
			sink_put(k, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case '\0':
			return (int)k->len;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			s = tmp;
			len = 1;
			goto out_str;
		case 's':
			s = va_arg(ap, char *);
			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			goto out_str;
		case 'd':
		case 'i':
			if (lng) {
				int64_t x = va_arg(ap, int64_t);
				neg = x < 0;
				u = neg ? -(uint64_t)x : (uint64_t)x;
			} else {
				int x = va_arg(ap, int);
				neg = x < 0;
				u = neg ? -(uint64_t)(int64_t)x : (uint64_t)x;
			}
			break;
		case 'p':
			u = (uint64_t)(uintptr_t)va_arg(ap, void *);
			base = 16;
			sink_put(k, '0');
			sink_put(k, 'x');
			width -= 2;
			break;
		case 'x':
		case 'X':
		case 'o':
		case 'u':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			if (*fmt == 'X')
				digits = "0123456789ABCDEF";
			break;
		default: /* %% and unknown conversions print themselves */
			sink_put(k, *fmt);
			continue;
		}
		/* number */
		s = tmp + sizeof(tmp);
		len = 0;
		do {
			*--s = digits[u % base];
			u /= base;
			len++;
		} while (u);
		if (neg) {
			if (zero) {
				sink_put(k, '-');
				width--;
			} else {
				*--s = '-';
				len++;
			}
		}
		if (!left)
			sink_pad(k, zero ? '0' : ' ', width - len);
		for (int i = 0; i < len; i++)
			sink_put(k, s[i]);
		if (left)
			sink_pad(k, ' ', width - len);
		continue;
out_str:
		if (!left)
			sink_pad(k, ' ', width - len);
		for (int i = 0; i < len; i++)
			sink_put(k, s[i]);
		if (left)
			sink_pad(k, ' ', width - len);
	}
	return (int)k->len;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink k = { 0 };

	return vformat(&k, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink k = { .buf = buf, .size = size };
	int n = vformat(&k, fmt, ap);

	if (size)
		buf[k.len < size ? k.len : size - 1] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void rt_panic(const char *fmt, ...)
{
	va_list ap;

	printf("PANIC: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	rt_exit(RT_EXIT_FAULT);
}

/* ---- time ---- */
static uint64_t tsc_hz;

/* PIT channel 2, mode 0, 10 ms: count TSC ticks until OUT2 (port 0x61 bit 5). */
static uint64_t pit_calibrate(void)
{
	const uint16_t latch = 11932; /* 1193182 Hz / 100 */
	uint8_t p61 = inb(0x61);
	uint64_t t0, t1;
	int i;

	if (p61 == 0xff) /* no port 0x61 */
		return 0;
	outb(0x61, (p61 & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                 /* ch2, lo/hi, mode 0, binary */
	outb(0x42, latch & 0xff);
	outb(0x42, latch >> 8);
	t0 = rdtsc();
	for (i = 0; i < 2000000; i++)
		if (inb(0x61) & 0x20)
			break;
	t1 = rdtsc();
	outb(0x61, p61);
	if (i == 0 || i == 2000000)
		return 0;
	return (t1 - t0) * 100;
}

uint64_t rt_tsc_hz(void)
{
	uint32_t a, b, c, d;

	if (tsc_hz)
		return tsc_hz;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 0x15) {
		uint32_t a15, b15, c15;

		cpuid(0x15, 0, &a15, &b15, &c15, &d);
		if (a15 && b15 && c15)
			tsc_hz = (uint64_t)c15 * b15 / a15;
		if (!tsc_hz && a >= 0x16) {
			cpuid(0x16, 0, &a, &b, &c, &d);
			tsc_hz = (uint64_t)(a & 0xffff) * 1000000;
		}
	}
	if (!tsc_hz) {
		cpuid(0x40000000, 0, &a, &b, &c, &d);
		if (a >= 0x40000010 && a < 0x40000100) {
			cpuid(0x40000010, 0, &a, &b, &c, &d);
			tsc_hz = (uint64_t)a * 1000; /* kHz */
		}
	}
	if (!tsc_hz)
		tsc_hz = pit_calibrate();
	if (!tsc_hz)
		tsc_hz = 2000000000ull;
	return tsc_hz;
}

void rt_delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + rt_tsc_hz() / 1000000 * us;

	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

/* ---- allocator ---- */
static uint64_t heap_cur, heap_end;

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void heap_init(void)
{
	const struct hvm_start_info *si = rt_boot.start_info;

	heap_cur = (uint64_t)(uintptr_t)__image_end;
	heap_end = heap_cur + (8ull << 20); /* fallback: assume 8 MiB after the image */
	if (si && si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_table_entry *e = (const void *)(uintptr_t)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++)
			if (e[i].type == 1 && e[i].addr <= heap_cur && e[i].addr + e[i].size > heap_cur)
				heap_end = e[i].addr + e[i].size;
	}
	if (heap_end > 0xc0000000ull)
		heap_end = 0xc0000000ull;
}

void *rt_alloc(size_t size, size_t align)
{
	const struct hvm_start_info *si = rt_boot.start_info;
	uint64_t p;

	if (!heap_cur)
		heap_init();
	if (!align || (align & (align - 1)))
		align = 16;
again:
	p = (heap_cur + align - 1) & ~(uint64_t)(align - 1);
	if (p + size > heap_end || p + size < p)
		return NULL;
	if (si) { /* step over modules (initrd, FDT) placed in RAM */
		const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;

		for (uint32_t i = 0; m && i < si->nr_modules && i < 16; i++) {
			if (overlaps(p, size, m[i].paddr, m[i].size)) {
				heap_cur = m[i].paddr + m[i].size;
				goto again;
			}
		}
	}
	heap_cur = p + size;
	return (void *)(uintptr_t)p;
}

/* ---- boot ---- */
static bool module_is_fdt(const struct hvm_modlist_entry *m)
{
	const char *cl = (const char *)(uintptr_t)m->cmdline_paddr;

	if (!m->paddr || m->size < 40 || m->paddr + m->size > 0xc0000000ull)
		return false;
	if (cl && !strcmp(cl, "fdt"))
		return true;
	return fdt32((const void *)(uintptr_t)m->paddr) == 0xd00dfeedu;
}

static void parse_fdt(const void *fdt)
{
	uint32_t v;
	int node, len;
	const char *path;

	node = fdt_path_offset(fdt, "/chosen");
	path = node >= 0 ? fdt_getprop(fdt, node, "stdout-path", &len) : NULL;
	node = path && len > 0 && strnlen(path, (size_t)len) < (size_t)len ? fdt_path_offset(fdt, path) : -1;
	if (node < 0)
		node = fdt_next_compatible(fdt, -1, "ns16550a");
	if (node >= 0) {
		if (fdt_getprop_u32(fdt, node, "vmm,io-port", &v) && v && v < 0xfff8)
			rt_boot.com1_port = (uint16_t)v;
		if (fdt_getprop_u32(fdt, node, "interrupts", &v) && v < 24)
			rt_boot.com1_gsi = (uint8_t)v;
	}
	node = fdt_next_compatible(fdt, -1, "vmm,debug-exit");
	if (node >= 0 && fdt_getprop_u32(fdt, node, "vmm,io-port", &v) && v && v < 0xfffc)
		rt_boot.exit_port = (uint16_t)v;
	node = fdt_next_compatible(fdt, -1, "vmm,ioapic");
	if (node >= 0)
		fdt_get_reg(fdt, node, 0, &rt_boot.ioapic_base, NULL);

	node = fdt_path_offset(fdt, "/cpus");
	if (node >= 0) {
		int n = 0;

		for (node = fdt_first_subnode(fdt, node); node >= 0; node = fdt_next_subnode(fdt, node)) {
			const char *nm = fdt_get_name(fdt, node);

			if (!nm || strncmp(nm, "cpu@", 4))
				continue;
			if (n < RT_MAX_CPUS && fdt_getprop_u32(fdt, node, "reg", &v))
				rt_boot.apic_ids[n] = v;
			n++;
		}
		if (n > 0) {
			rt_boot.ncpus = n;
			rt_boot.ncpus_from_fdt = true;
		}
	}
}

void rt_main(uint32_t start_info_pa)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info_pa;

	if (si && si->magic == HVM_START_MAGIC) {
		const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;

		rt_boot.start_info = si;
		for (uint32_t i = 0; m && i < si->nr_modules && i < 16; i++) {
			const void *blob = (const void *)(uintptr_t)m[i].paddr;

			/* totalsize bounds every FDT access: it must fit the module */
			if (module_is_fdt(&m[i]) && fdt_check(blob) && fdt32((const uint8_t *)blob + 4) <= m[i].size) {
				rt_boot.fdt = blob;
				break;
			}
		}
	}
	if (rt_boot.fdt)
		parse_fdt(rt_boot.fdt);
	uart_init(rt_boot.com1_port);
	rt_idt_init();
	rt_exit((uint32_t)main());
}
