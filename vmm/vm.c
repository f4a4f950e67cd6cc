// SPDX-License-Identifier: MIT
/*
 * vm_build() puts the machine together, in order, top to bottom:
 *   1. /dev/kvm and its capabilities
 *   2. the VM, its in-kernel irqchip and PIT (before any vCPU)
 *   3. guest RAM
 *   4. devices on the port and MMIO buses
 *   5. the kernel, initrd and command line
 *   6. machine description: ACPI tables and the device tree
 *   7. boot structures (PVH start_info or zero page), GDT, page tables
 *   8. vCPUs, and the boot vCPU's entry registers
 * vm_run() then starts one thread per vCPU and runs the event loop.
 */
#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "acpi.h"
#include "bench.h"
#include "boot.h"
#include "console.h"
#include "devicetree.h"
#include "i8042.h"
#include "kvm.h"
#include "loader.h"
#include "power.h"
#include "serial.h"
#include "util.h"
#include "vcpu.h"
#include "vm_net.h"
#include "vm_virtio.h"

/* Devices the VM always has; they live as long as the VM. */
struct vm_devices {
	struct serial com1;
	struct console console;
	struct i8042 i8042;
	struct power power;
	struct ev_handler sigfd;
	struct vm_bench bench;
};

/* Options the kvm_pvm software hypervisor needs (see README): it cannot
 * hide XSAVE, POPCNT, CMPXCHG16B, SMAP and SMEP, which it cannot emulate. */
#define PVM_CMDLINE	"noxsave clearcpuid=151,141,308,295"
#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"

void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stopping) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	vm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->stop_lock);

	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].run)
			vcpu_kick(&vm->vcpus[i]);
	evloop_stop(&vm->ev);
}

int vm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, unsigned gsi, int efd)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)efd, .gsi = gsi};

	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool pio,
		 bool datamatch, uint64_t data, int efd)
{
	struct kvm_ioeventfd io = {
	    .datamatch = data,
	    .addr = addr,
	    .len = len,
	    .fd = efd,
	    .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		     (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0)};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int vm_virtio_slot(struct vm *vm, const char *name, uint64_t *base,
		   unsigned *gsi)
{
	struct virtio_slot *s;

	if (vm->nr_virtio == VIRTIO_MMIO_MAX_DEVICES)
		return -ENOSPC;
	s = &vm->virtio[vm->nr_virtio];
	s->base = VIRTIO_MMIO_START + vm->nr_virtio * VIRTIO_MMIO_SIZE;
	s->gsi = VIRTIO_GSI_BASE + vm->nr_virtio;
	s->name = name;
	vm->nr_virtio++;
	*base = s->base;
	*gsi = s->gsi;
	return 0;
}

void vm_add_stats(struct vm *vm, void (*print)(void *opaque, FILE *out),
		  void *opaque)
{
	if (vm->nr_stats < ARRAY_SIZE(vm->stats))
		vm->stats[vm->nr_stats++] =
		    (struct stats_printer){print, opaque};
}

/* --- device call-backs: the glue between device models and the VM --- */

static void com1_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	if (vm_irq_line(vm, IRQ_COM1, level) < 0)
		pr_warn("KVM_IRQ_LINE for COM1 failed");
}

static int com1_tx(void *opaque, uint8_t b)
{
	struct vm *vm = opaque;
	struct vm_devices *d = (struct vm_devices *)vm->devices;

	return console_tx(&d->console, b);
}

static void com1_rx_space(void *opaque)
{
	struct vm *vm = opaque;
	struct vm_devices *d = (struct vm_devices *)vm->devices;

	console_rx_space(&d->console);
}

static const struct serial_ops com1_ops = {
    .irq = com1_irq, .tx = com1_tx, .rx_space = com1_rx_space};

static void i8042_reset(void *opaque)
{
	vm_request_stop(opaque, VM_EXIT_REBOOT, "guest reboot (i8042 reset)");
}

static void power_event(void *opaque, enum power_event ev, uint32_t value)
{
	struct vm *vm = opaque;

	switch (ev) {
	case POWER_DEBUG_EXIT:
		vm_request_stop(vm, (int)value,
				"guest wrote %u to the debug-exit port", value);
		break;
	case POWER_OFF:
		vm_request_stop(vm, VM_EXIT_POWEROFF,
				"guest powered off (ACPI S5)");
		break;
	case POWER_PANIC:
		/* The usual end of a Linux boot on kvm_pvm: say why. */
		vm_request_stop(vm, VM_EXIT_PANIC,
				"guest kernel panic (pvpanic)%s",
				vm->pvm_workarounds
				    ? "; on a kvm_pvm host guest user space "
				      "cannot make system calls, so a panic "
				      "when /init starts is expected there"
				    : "");
		break;
	}
}

static void on_signal(struct ev_handler *h, uint32_t events)
{
	struct signalfd_siginfo si;
	struct vm *vm = h->opaque;

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_request_stop(vm, VM_EXIT_SIGNAL_BASE + (int)si.ssi_signo,
			"stopped by signal %s", strsignal((int)si.ssi_signo));
}

static void serial_stats(void *opaque, FILE *out)
{
	struct vm *vm = opaque;
	struct vm_devices *d = (struct vm_devices *)vm->devices;
	struct serial_stats st;

	serial_get_stats(&d->com1, &st);
	fprintf(out,
		"\nserial COM1: %lu bytes out (%lu dropped: host not "
		"reading), %lu bytes in\n",
		(unsigned long)st.tx_bytes,
		(unsigned long)(st.tx_dropped + d->console.out_dropped),
		(unsigned long)st.rx_bytes);
}

static void reg(struct bus *bus, uint64_t base, uint64_t len, const char *name,
		const struct bus_ops *ops, void *dev)
{
	int ret = bus_register(bus, base, len, name, ops, dev);

	if (ret)
		die("cannot register %s at %#lx on the %s bus: %s", name,
		    (unsigned long)base, bus->name, strerror(-ret));
}

static void add_devices(struct vm *vm)
{
	struct vm_devices *d = calloc(1, sizeof(*d));

	if (!d)
		die("out of memory");
	vm->devices = d;
	serial_init(&d->com1, &com1_ops, vm);
	vm->com1 = &d->com1;
	reg(&vm->pio, PORT_COM1, 8, "serial COM1", &serial_bus_ops, &d->com1);
	console_init(&d->console, vm, &d->com1);
	vm_add_stats(vm, serial_stats, vm);

	d->i8042 = (struct i8042){.reset = i8042_reset, .opaque = vm};
	reg(&vm->pio, PORT_I8042_DATA, 1, "i8042 data", &i8042_data_ops,
	    &d->i8042);
	reg(&vm->pio, PORT_I8042_CMD, 1, "i8042 command", &i8042_cmd_ops,
	    &d->i8042);

	d->power = (struct power){.event = power_event, .opaque = vm};
	reg(&vm->pio, PORT_DEBUG_EXIT, 4, "debug-exit", &debug_exit_ops,
	    &d->power);
	reg(&vm->pio, PORT_ACPI_SLEEP, 2, "acpi sleep", &acpi_sleep_ops,
	    &d->power);
	reg(&vm->pio, PORT_PVPANIC, 1, "pvpanic", &pvpanic_ops, &d->power);
	vm_add_bench_device(vm, &d->bench); /* for vmm bench exits */

	for (unsigned i = 0; i < vm->cfg->ndisks; i++)
		if (vm_add_disk(vm, &vm->cfg->disks[i]))
			exit(VM_EXIT_ERROR); /* vm_add_disk said why */
	for (unsigned i = 0; i < vm->cfg->nnets; i++)
		if (vm_add_net(vm, &vm->cfg->nets[i], i))
			exit(VM_EXIT_ERROR); /* vm_add_net said why */
}

static void create_vm(struct vm *vm)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	int max;

	vm->kvm_fd = kvm_open_checked();
	max = kvm_max_vcpus(vm->kvm_fd);
	if ((int)vm->cfg->ncpus > max)
		die("--cpus %u: this host's KVM allows at most %d vCPUs",
		    vm->cfg->ncpus, max);
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0)
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die_errno("KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_START) <
	    0)
		die_errno("KVM_SET_TSS_ADDR");
	if (kvm_has_cap(vm->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
		uint64_t a = KVM_IDENTITY_MAP_START;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a) < 0)
			die_errno("KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die_errno("KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		die_errno("KVM_CREATE_PIT2");
}

static void setup_memory(struct vm *vm)
{
	int ret = gm_create(&vm->mem, vm->cfg->mem_size);

	if (ret)
		die("cannot allocate %lu MiB of guest RAM: %s",
		    (unsigned long)(vm->cfg->mem_size >> 20), strerror(-ret));
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = (uint32_t)i,
		    .guest_phys_addr = vm->mem.region[i].gpa,
		    .memory_size = vm->mem.region[i].size,
		    .userspace_addr = (uintptr_t)vm->mem.region[i].host};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			die_errno("KVM_SET_USER_MEMORY_REGION %d", i);
	}
}

/* The command line: defaults, workarounds, devices, then the user's. */
static void build_cmdline(struct vm *vm, const struct kernel_info *ki)
{
	const struct vm_config *cfg = vm->cfg;
	char *p = vm->cmdline;
	size_t cap = sizeof(vm->cmdline), len = 0;

#define APPEND(...)                                                            \
	do {                                                                   \
		int n_ = snprintf(p + len, cap - len, "%s", len ? " " : "");   \
		if (n_ > 0 && (size_t)n_ < cap - len)                          \
			len += (size_t)n_;                                     \
		n_ = snprintf(p + len, cap - len, __VA_ARGS__);                \
		if (n_ < 0 || (size_t)n_ >= cap - len)                         \
			die("kernel command line too long (over %zu bytes)",   \
			    cap - 1);                                          \
		len += (size_t)n_;                                             \
	} while (0)

	p[0] = '\0';
	if (!cfg->no_default_cmdline && ki->is_linux) {
		APPEND(DEFAULT_CMDLINE);
		if (vm->pvm_workarounds)
			APPEND(PVM_CMDLINE);
		/* ACPI describes every virtio device; the command line only
		 * helps kernels booted without ACPI (acpi=off). */
		if (cfg->virtio_cmdline == 1)
			for (unsigned i = 0; i < vm->nr_virtio; i++)
				APPEND("virtio_mmio.device=4K@%#lx:%u",
				       (unsigned long)vm->virtio[i].base,
				       vm->virtio[i].gsi);
	}
	if (cfg->cmdline && *cfg->cmdline)
		APPEND("%s", cfg->cmdline);
#undef APPEND
	if (strlen(vm->cmdline) + 1 > ki->cmdline_max)
		die("kernel command line too long: %zu bytes; this kernel accepts at most "
		    "%u",
		    strlen(vm->cmdline), ki->cmdline_max - 1);
}

static void load_images(struct vm *vm, struct kernel_info *ki)
{
	char err[LOADER_ERR_LEN];
	uint8_t *img;
	size_t len;
	int ret;

	ret = read_file(vm->cfg->kernel, &img, &len);
	if (ret)
		die("--kernel %s: %s", vm->cfg->kernel,
		    ret == -EINVAL ? "not a regular file" : strerror(-ret));
	ret = load_kernel(&vm->mem, img, len, ki, err);
	free(img);
	if (ret)
		die("--kernel %s: %s", vm->cfg->kernel, err);
	vm->linux_guest = ki->is_linux;

	if (vm->cfg->initrd) {
		ret = read_file(vm->cfg->initrd, &img, &len);
		if (ret)
			die("--initrd %s: %s", vm->cfg->initrd,
			    ret == -EINVAL ? "not a regular file"
					   : strerror(-ret));
		ret = load_initrd(&vm->mem, ki, img, len, &vm->initrd_gpa, err);
		free(img);
		if (ret)
			die("--initrd %s: %s", vm->cfg->initrd, err);
		vm->initrd_size = len;
	}
	build_cmdline(vm, ki);
}

static uint64_t setup_boot(struct vm *vm, const struct kernel_info *ki)
{
	struct boot_params_in in = {
	    .cmdline = vm->cmdline,
	    .initrd_gpa = vm->initrd_gpa,
	    .initrd_size = vm->initrd_size,
	};
	size_t fdt_size;
	int ret;

	in.rsdp_gpa = acpi_build(vm);
	ret = fdt_build(vm, &vm->fdt, &fdt_size);
	if (ret)
		die("building the device tree: %s", strerror(-ret));
	if (fdt_size > FDT_MAX)
		die("device tree is %zu bytes, more than the %llu reserved",
		    fdt_size, FDT_MAX);
	if (vm->cfg->dump_dtb) {
		ret = fdt_dump(vm->fdt, fdt_size, vm->cfg->dump_dtb);
		if (ret)
			die("--dump-dtb %s: %s", vm->cfg->dump_dtb,
			    strerror(-ret));
	}
	gm_write(&vm->mem, FDT_START, vm->fdt, fdt_size);
	in.fdt_gpa = FDT_START;
	in.fdt_size = fdt_size;

	boot_write_gdt_and_page_tables(&vm->mem);
	if (ki->kind == KERNEL_PVH_ELF)
		return boot_write_pvh(&vm->mem, &in);
	return boot_write_zero_page(&vm->mem, ki, &in);
}

void vm_build(struct vm *vm, const struct vm_config *cfg)
{
	struct kernel_info ki;
	struct kvm_cpuid2 *cpuid;
	uint64_t boot_info;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->ncpus = cfg->ncpus;
	vm->start_ns = now_ns();
	/* kvm_pvm, a software hypervisor, cannot emulate some instructions
	 * and does not return from hypercalls: the guest is told (kernel
	 * options, CPUID) to avoid them. Real VT-x/AMD-V never needs this. */
	vm->pvm_workarounds = cfg->pvm_workarounds == 1 ||
			      (cfg->pvm_workarounds == -1 && kvm_is_pvm());
	pthread_mutex_init(&vm->stop_lock, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	ret = evloop_init(&vm->ev);
	if (ret)
		die("epoll: %s", strerror(-ret));

	create_vm(vm);			 /* 1, 2 */
	setup_memory(vm);		 /* 3 */
	add_devices(vm);		 /* 4 */
	load_images(vm, &ki);		 /* 5 */
	boot_info = setup_boot(vm, &ki); /* 6, 7 */

	cpuid = kvm_supported_cpuid(vm->kvm_fd); /* 8 */
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_create(vm, i, cpuid);
	free(cpuid);
	vcpu_set_boot_regs(&vm->vcpus[0], &ki, boot_info);
	pr_info("%s kernel %s, %u vCPU(s), %lu MiB, command line \"%s\"",
		ki.kind == KERNEL_PVH_ELF ? "PVH" : "bzImage", cfg->kernel,
		vm->ncpus, (unsigned long)(cfg->mem_size >> 20), vm->cmdline);
}

static void print_bus_stats(const struct bus *bus, FILE *out)
{
	fprintf(out, "\n%-4s %-22s %-21s %10s %10s %12s\n", bus->name, "device",
		"range", "reads", "writes", "time (us)");
	for (size_t i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];
		char range[32];

		snprintf(range, sizeof(range), "%#lx-%#lx",
			 (unsigned long)r->base,
			 (unsigned long)(r->base + r->len - 1));
		fprintf(out, "%-4s %-22s %-21s %10lu %10lu %12.1f\n", "",
			r->name, range, (unsigned long)r->reads,
			(unsigned long)r->writes, r->ns / 1000.0);
	}
	fprintf(out, "%-4s %-22s %-21s %10lu %10lu\n", "", "(no device)", "",
		(unsigned long)bus->unhandled_reads,
		(unsigned long)bus->unhandled_writes);
}

static void print_stats(struct vm *vm)
{
	FILE *out = stderr;

	fprintf(out, "\n=== vmm statistics (%.3f s) ===\n",
		(now_ns() - vm->start_ns) / 1e9);
	vcpu_stats_print(vm, out);
	print_bus_stats(&vm->pio, out);
	print_bus_stats(&vm->mmio, out);
	for (unsigned i = 0; i < vm->nr_stats; i++)
		vm->stats[i].print(vm->stats[i].opaque, out);
}

int vm_run(struct vm *vm)
{
	struct vm_devices *d = (struct vm_devices *)vm->devices;
	sigset_t set;
	int ret;

	/* Signals: SIGINT/SIGTERM arrive through a signalfd in the loop;
	 * every thread blocks them (the vCPU threads inherit the mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&set, SIGUSR1);
	d->sigfd = (struct ev_handler){.cb = on_signal, .opaque = vm};
	d->sigfd.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd.fd < 0 || evloop_add(&vm->ev, &d->sigfd, EPOLLIN))
		die_errno("signalfd");

	for (unsigned i = 0; i < vm->ncpus; i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			vm_request_stop(vm, VM_EXIT_ERROR,
					"cannot start vCPU %u: %s", i,
					strerror(-ret));
			break;
		}
	}
	ret = evloop_run(&vm->ev);
	if (ret)
		vm_request_stop(vm, VM_EXIT_ERROR, "event loop: %s",
				strerror(-ret));
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	console_restore();
	if (log_level >= LOG_INFO) {
		/* Where each vCPU stopped: the first clue when a guest hangs. */
		for (unsigned i = 0; i < vm->ncpus; i++) {
			struct kvm_regs r;
			struct kvm_mp_state mp = {0};

			if (ioctl(vm->vcpus[i].fd, KVM_GET_REGS, &r) == 0) {
				ioctl(vm->vcpus[i].fd, KVM_GET_MP_STATE, &mp);
				pr_info(
				    "vCPU %u stopped at rip %#llx rsp %#llx rflags %#llx "
				    "(mp_state %u)",
				    i, r.rip, r.rsp, r.rflags, mp.mp_state);
			}
		}
	}
	if (vm->cfg->stats)
		print_stats(vm);
	if (vm->exit_status == VM_EXIT_FATAL ||
	    vm->exit_status == VM_EXIT_ERROR)
		pr_err("%s", vm->stop_reason);
	else
		pr_notice("%s", vm->stop_reason);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	free(vm->fdt);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	gm_destroy(&vm->mem);
	free(vm->devices);
}
