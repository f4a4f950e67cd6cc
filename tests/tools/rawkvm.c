// SPDX-License-Identifier: MIT
/*
 * rawkvm: the lower limit for `vmm bench exits`. Runs a PVH ELF payload
 * (guest-firmware bench.elf) on bare KVM with no device model: guest RAM,
 * the in-kernel irqchip and PIT, N vCPU threads, and an exit handler that
 * answers only what the payload needs:
 *   - COM1 0x3f8: output bytes go straight to stdout; LSR reads "empty";
 *   - debug-exit 0xf4: a write of V ends the process with status V;
 *   - the bench device (PORT_BENCH 0x510.., MMIO 0xc0000000..): ID reads,
 *     writes ignored, notify offsets on ioeventfds as in vmm, drained by one
 *     thread in epoll_wait + read: the least any device model does with a
 *     notification, so the ioeventfd rows include waking that thread.
 * Everything else reads as all ones and ignores writes. The exit handler is
 * a switch on the KVM_RUN result and nothing more, so the difference to vmm
 * on a user-space exit row is what vmm's dispatch adds.
 *
 * With --fdt FILE (a device tree from `vmm --dump-dtb`) the payload is handed
 * that blob as a PVH module named "fdt", where vmm puts it, so that it does
 * the same start-up work as under vmm (`vmm bench startup`).
 *
 * usage: rawkvm [--mem MiB] [--cpus N] [--cmdline STR] [--fdt FILE] payload.elf
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Guest addresses and ports from vmm's own memory map, so they cannot drift. */
#include "benchdev.h"
#include "layout.h"

#define HVM_START_MAGIC		 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MAX_CPUS		 8

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static uint8_t *ram;
static uint64_t ram_size;
static int vm_fd;
static int notify_epfd = -1;
static size_t run_size;

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("rawkvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *gpa(uint64_t a, uint64_t len)
{
	if (a > ram_size || len > ram_size - a)
		die("guest address %#lx+%#lx outside RAM", (unsigned long)a,
		    (unsigned long)len);
	return ram + a;
}

/* Load the PT_LOAD segments; return the PVH entry from the Xen note. */
static uint64_t load_elf(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const uint8_t *f;
	const Elf64_Ehdr *eh;
	uint64_t entry = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	close(fd);
	eh = (const Elf64_Ehdr *)f;
	if ((size_t)st.st_size < sizeof(*eh) ||
	    memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) >
		(uint64_t)st.st_size)
		die("%s: not a 64-bit ELF", path);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph =
		    (const Elf64_Phdr *)(f + eh->e_phoff) + i;

		if (ph->p_offset > (uint64_t)st.st_size ||
		    ph->p_filesz > (uint64_t)st.st_size - ph->p_offset ||
		    ph->p_filesz > ph->p_memsz)
			die("%s: bad program header %d", path, i);
		if (ph->p_type == PT_LOAD) {
			uint8_t *dst = gpa(ph->p_paddr, ph->p_memsz);

			memcpy(dst, f + ph->p_offset, ph->p_filesz);
			memset(dst + ph->p_filesz, 0,
			       ph->p_memsz - ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			const uint8_t *p = f + ph->p_offset,
				      *end = p + ph->p_filesz;

			while (p + sizeof(Elf64_Nhdr) <= end) {
				const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
				const uint8_t *name = p + sizeof(*nh);
				const uint8_t *desc =
				    name + ((nh->n_namesz + 3) & ~3u);

				if (desc + nh->n_descsz > end)
					break;
				if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
				    nh->n_namesz == 4 &&
				    !memcmp(name, "Xen", 4)) {
					if (nh->n_descsz >= 8)
						memcpy(&entry, desc, 8);
					else if (nh->n_descsz >= 4)
						memcpy(&entry, desc, 4);
				}
				p = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	munmap((void *)f, (size_t)st.st_size);
	if (!entry)
		die("%s: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)", path);
	return entry;
}

/* Module 0 empty (the initrd's place), module 1 the device tree. */
static void load_fdt(const char *path, struct hvm_start_info *si)
{
	struct hvm_modlist_entry *m = gpa(PVH_MODLIST_START, 2 * sizeof(*m));
	char *name = gpa(PVH_MODLIST_START + 2 * sizeof(*m), 4);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	n = read(fd, gpa(FDT_START, FDT_MAX), FDT_MAX);
	close(fd);
	if (n <= 0 || (size_t)n == FDT_MAX)
		die("%s: empty, unreadable or larger than %llu bytes", path,
		    (unsigned long long)FDT_MAX - 1);
	memcpy(name, "fdt", 4);
	m[0] = (struct hvm_modlist_entry){0};
	m[1] = (struct hvm_modlist_entry){.paddr = FDT_START,
					  .size = (uint64_t)n,
					  .cmdline_paddr = PVH_MODLIST_START +
							   2 * sizeof(*m)};
	si->nr_modules = 2;
	si->modlist_paddr = PVH_MODLIST_START;
}

static void write_boot_info(const char *cmdline, const char *fdt)
{
	struct hvm_start_info *si = gpa(PVH_INFO_START, sizeof(*si));
	struct hvm_memmap_entry *mm = gpa(PVH_MEMMAP_START, 2 * sizeof(*mm));
	uint64_t *gdt = gpa(GDT_START, 3 * 8);

	if (strlen(cmdline) >= CMDLINE_MAX)
		die("--cmdline is too long");
	strcpy(gpa(CMDLINE_START, CMDLINE_MAX), cmdline);
	mm[0] =
	    (struct hvm_memmap_entry){.addr = 0, .size = EBDA_START, .type = 1};
	mm[1] = (struct hvm_memmap_entry){
	    .addr = HIMEM_START, .size = ram_size - HIMEM_START, .type = 1};
	*si = (struct hvm_start_info){.magic = HVM_START_MAGIC,
				      .version = 1,
				      .cmdline_paddr = CMDLINE_START,
				      .memmap_paddr = PVH_MEMMAP_START,
				      .memmap_entries = 2};
	if (fdt)
		load_fdt(fdt, si);
	gdt[0] = 0;
	gdt[1] = 0x00cf9b000000ffffULL; /* 0x08: flat 32-bit code */
	gdt[2] = 0x00cf93000000ffffULL; /* 0x10: flat data */
}

static void setup_vcpu(int fd, unsigned id, unsigned ncpus,
		       struct kvm_cpuid2 *sup, uint64_t entry)
{
	struct kvm_cpuid2 *c;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);

	c = malloc(sz);
	if (!c)
		die("out of memory");
	memcpy(c, sup, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0xffff) | (id << 24) |
				 ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28;
		} else if (e->function == 0xb) {
			e->edx = id;
		}
	}
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		die("KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
	if (id == 0) {
		struct kvm_sregs sr;
		struct kvm_regs regs = {
		    .rip = entry, .rbx = PVH_INFO_START, .rflags = 2};
		struct kvm_segment code = {.base = 0,
					   .limit = 0xffffffff,
					   .selector = 0x08,
					   .type = 0xb,
					   .present = 1,
					   .db = 1,
					   .s = 1,
					   .g = 1};
		struct kvm_segment data = code;

		data.selector = 0x10;
		data.type = 0x3;
		if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
			die("KVM_GET_SREGS: %s", strerror(errno));
		sr.cs = code;
		sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
		sr.gdt.base = GDT_START;
		sr.gdt.limit = 3 * 8 - 1;
		sr.cr0 = 0x11; /* PE | ET */
		sr.cr4 = 0;
		sr.efer = 0;
		if (ioctl(fd, KVM_SET_SREGS, &sr) < 0 ||
		    ioctl(fd, KVM_SET_REGS, &regs) < 0)
			die("KVM_SET_SREGS/REGS: %s", strerror(errno));
	}
}

static void put32(void *data, uint32_t len, uint32_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void handle_io(struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint16_t port = run->io.port;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (port == PORT_COM1) {
				if (write(1, data, 1) < 0) {
					/* reader gone: nothing to report to */
				}
			} else if (port == PORT_DEBUG_EXIT) {
				_exit(data[0]);
			}
			continue; /* bench port and everything else: ignored */
		}
		if (port >= PORT_BENCH && port < PORT_BENCH + PORT_BENCH_LEN)
			put32(data, run->io.size,
			      port == PORT_BENCH ? BENCHDEV_ID : 0);
		else if (port == PORT_COM1 + 5)
			put32(data, run->io.size, 0x60); /* LSR: THRE | TEMT */
		else if (port >= PORT_COM1 && port < PORT_COM1 + 8)
			put32(data, run->io.size, 0);
		else
			memset(data, 0xff, run->io.size);
	}
}

static void handle_mmio(struct kvm_run *run)
{
	uint64_t a = run->mmio.phys_addr;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;

	if (run->mmio.is_write)
		return;
	if (a >= BENCH_MMIO_START && a < BENCH_MMIO_START + BENCH_MMIO_SIZE)
		put32(run->mmio.data, len,
		      a == BENCH_MMIO_START ? BENCHDEV_ID : 0);
	else
		memset(run->mmio.data, 0xff, len);
}

struct vcpu {
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
};

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_run *run = v->run;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(run);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(run);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			die("vCPU %u: internal error, suberror %u", v->id,
			    run->internal.suberror);
		default:
			fprintf(stderr, "rawkvm: vCPU %u: exit reason %u\n",
				v->id, run->exit_reason);
			_exit(6);
		}
	}
	return NULL;
}

/* The notification consumer: wait for any ioeventfd, read it, repeat. */
static void *notify_loop(void *arg)
{
	struct epoll_event ev[4];
	uint64_t count;

	(void)arg;
	for (;;) {
		int n = epoll_wait(notify_epfd, ev, 4, -1);

		for (int i = 0; i < n; i++)
			if (read(ev[i].data.fd, &count, sizeof(count)) < 0 &&
			    errno != EAGAIN)
				die("read eventfd: %s", strerror(errno));
	}
	return NULL;
}

static void add_ioeventfd(uint64_t addr, bool pio)
{
	struct kvm_ioeventfd io = {.addr = addr,
				   .len = 4,
				   .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
				   .flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0};
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = io.fd};

	if (io.fd < 0 || ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0 ||
	    epoll_ctl(notify_epfd, EPOLL_CTL_ADD, io.fd, &ev) < 0)
		fprintf(stderr, "rawkvm: ioeventfd at %#lx: %s\n",
			(unsigned long)addr, strerror(errno));
}

int main(int argc, char **argv)
{
	static struct vcpu vcpus[MAX_CPUS];
	unsigned long mem_mib = 128, ncpus = 1;
	const char *cmdline = "", *payload = NULL, *fdt = NULL;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	struct kvm_userspace_memory_region region;
	struct kvm_cpuid2 *sup;
	pthread_t notify_thread;
	uint64_t entry;
	int kvm, memfd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mem") && i + 1 < argc)
			mem_mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--cpus") && i + 1 < argc)
			ncpus = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--cmdline") && i + 1 < argc)
			cmdline = argv[++i];
		else if (!strcmp(argv[i], "--fdt") && i + 1 < argc)
			fdt = argv[++i];
		else if (argv[i][0] != '-' && !payload)
			payload = argv[i];
		else
			die("usage: rawkvm [--mem MiB] [--cpus N] [--cmdline STR] "
			    "[--fdt FILE] payload.elf");
	}
	if (!payload)
		die("usage: rawkvm [--mem MiB] [--cpus N] [--cmdline STR] "
		    "[--fdt FILE] payload.elf");
	if (mem_mib < 16 || mem_mib > 3072 || ncpus < 1 || ncpus > MAX_CPUS)
		die("--mem must be 16..3072 MiB, --cpus 1..%d", MAX_CPUS);
	ram_size = (uint64_t)mem_mib << 20;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm: %s", strerror(errno));
	run_size = (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_START) < 0 ||
	    ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		die("irqchip/PIT: %s", strerror(errno));

	/* A named memfd so that `vmm bench memory` can tell guest RAM apart. */
	memfd = memfd_create("rawkvm-guest-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)ram_size) < 0)
		die("guest RAM: %s", strerror(errno));
	ram =
	    mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM: %s", strerror(errno));
	region = (struct kvm_userspace_memory_region){.slot = 0,
						      .guest_phys_addr = 0,
						      .memory_size = ram_size,
						      .userspace_addr =
							  (uintptr_t)ram};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	entry = load_elf(payload);
	write_boot_info(cmdline, fdt);
	notify_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (notify_epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	add_ioeventfd(PORT_BENCH + 4, true);
	add_ioeventfd(BENCH_MMIO_START + 0x100, false);
	if (pthread_create(&notify_thread, NULL, notify_loop, NULL))
		die("pthread_create failed");

	sup = calloc(1, sizeof(*sup) + 256 * sizeof(sup->entries[0]));
	if (!sup)
		die("out of memory");
	sup->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, sup) < 0)
		die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	for (unsigned i = 0; i < ncpus; i++) {
		struct vcpu *v = &vcpus[i];

		v->id = i;
		v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0)
			die("KVM_CREATE_VCPU: %s", strerror(errno));
		v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			die("mmap kvm_run: %s", strerror(errno));
		setup_vcpu(v->fd, i, (unsigned)ncpus, sup, entry);
	}
	for (unsigned i = 1; i < ncpus; i++)
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_loop,
				   &vcpus[i]))
			die("pthread_create failed");
	vcpu_loop(&vcpus[0]);
	return 0;
}
