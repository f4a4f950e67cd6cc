// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "boot.h"
#include "kvm.h"
#include "util.h"

#define SIG_KICK SIGUSR1

/* MSR numbers */
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR	      0xc0000081
#define MSR_LSTAR	      0xc0000082
#define MSR_CSTAR	      0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102
#define MSR_IA32_TSC	      0x10
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff

/* KVM paravirtual features (CPUID 0x40000001 EAX) that work by hypercall. */
#define KVM_FEATURE_PV_UNHALT	   7
#define KVM_FEATURE_PV_SEND_IPI	   11
#define KVM_FEATURE_PV_SCHED_YIELD 13
#define KVM_HYPERCALL_FEATURES                                                 \
	((1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_SEND_IPI) |     \
	 (1u << KVM_FEATURE_PV_SCHED_YIELD))

/*
 * Topology: ncpus cores in one package, one thread per core, APIC id = vCPU
 * index. Intel reads it from leaves 1, 4 and 0xB, AMD from 1, 0x80000008 and
 * 0x8000001E; all of them must agree or Linux invents extra dies.
 */
static void cpuid_topology(struct kvm_cpuid_entry2 *e, unsigned id,
			   unsigned ncpus, uint32_t shift, bool pvm)
{
	switch (e->function) {
	case 1:
		/* APIC id, logical processors per package, HTT. */
		e->ebx =
		    (e->ebx & 0x0000ffff) | (id << 24) | ((ncpus & 0xff) << 16);
		if (ncpus > 1)
			e->edx |= 1u << 28;
		e->ecx |= 1u << 31; /* running under a hypervisor */
		break;
	case 4: /* Intel: cores per package - 1 in EAX[31:26] */
		if (e->eax & 0x1f)
			e->eax = (e->eax & 0x03ffffff) | ((ncpus - 1) << 26);
		break;
	case 0xb:
		/* x2APIC topology: subleaf 0 threads, 1 cores, 2 ends the list. */
		e->edx = id;
		e->ecx = e->index & 0xff;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx |= 1u << 8; /* SMT level */
		} else if (e->index == 1) {
			e->eax = shift;
			e->ebx = ncpus;
			e->ecx |= 2u << 8; /* core level */
		} else {
			e->eax = e->ebx = 0;
		}
		break;
	case 0x80000008: /* AMD: cores - 1 and the APIC id bits they take */
		e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | (ncpus - 1);
		break;
	case 0x8000001e: /* AMD: extended APIC id, core id, node id */
		e->eax = id;
		e->ebx = id & 0xff; /* one thread per core */
		e->ecx = 0;	    /* node 0, one node per package */
		break;
	case 0x40000001:
		if (pvm)
			e->eax &= ~KVM_HYPERCALL_FEATURES;
		break;
	}
}

static void set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *supported)
{
	unsigned ncpus = vcpu->vm->ncpus, n = 0;
	struct kvm_cpuid2 *c;
	uint32_t shift = 0;
	bool leaf_b = false;

	/* Room for every supported leaf plus subleaves 1 and 2 of leaf 0xB. */
	c = calloc(1,
		   sizeof(*c) + (supported->nent + 2) * sizeof(c->entries[0]));
	if (!c)
		die("out of memory");
	while ((1u << shift) < ncpus)
		shift++;
	for (uint32_t i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		if (e->function == 0xb) {
			if (leaf_b)
				continue; /* we write all of 0xB below */
			leaf_b = true;
			for (uint32_t sub = 0; sub < 3; sub++) {
				c->entries[n] = *e;
				c->entries[n].index = sub;
				c->entries[n].flags |=
				    KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
				n++;
			}
			continue;
		}
		c->entries[n++] = *e;
	}
	c->nent = n;
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		cpuid_topology(e, vcpu->id, ncpus, shift,
			       vcpu->vm->pvm_workarounds);
		if (e->function == 1 &&
		    !kvm_has_cap(vcpu->vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER))
			e->ecx &= ~(1u << 24);
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		die_errno("vCPU %u: KVM_SET_CPUID2", vcpu->id);
	free(c);
}

static void set_msrs(struct vcpu *vcpu)
{
	static const uint32_t idx[] = {
	    MSR_IA32_SYSENTER_CS,
	    MSR_IA32_SYSENTER_ESP,
	    MSR_IA32_SYSENTER_EIP,
	    MSR_STAR,
	    MSR_CSTAR,
	    MSR_KERNEL_GS_BASE,
	    MSR_SYSCALL_MASK,
	    MSR_LSTAR,
	    MSR_IA32_TSC,
	    MSR_IA32_MISC_ENABLE,
	    MSR_MTRR_DEF_TYPE,
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(idx)];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(idx);
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++) {
		m.e[i].index = idx[i];
		if (idx[i] == MSR_IA32_MISC_ENABLE)
			m.e[i].data = 1; /* fast strings */
		if (idx[i] == MSR_MTRR_DEF_TYPE)
			m.e[i].data = 0x806; /* MTRRs on, default write-back */
	}
	/* KVM_SET_MSRS returns how many it set, stopping at the first failure. */
	n = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		die_errno("vCPU %u: KVM_SET_MSRS", vcpu->id);
	if (n != (int)ARRAY_SIZE(idx))
		die("vCPU %u: KVM_SET_MSRS refused MSR %#x", vcpu->id, idx[n]);
}

static void set_fpu_lapic(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	struct kvm_lapic_state lapic;
	uint32_t *lvt0, *lvt1;

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		die_errno("vCPU %u: KVM_SET_FPU", vcpu->id);
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		die_errno("vCPU %u: KVM_GET_LAPIC", vcpu->id);
	/* LINT0 ExtINT (the PIC), LINT1 NMI, as a PC BIOS leaves them. */
	lvt0 = (uint32_t *)&lapic.regs[0x350];
	lvt1 = (uint32_t *)&lapic.regs[0x360];
	*lvt0 = (*lvt0 & ~0x700u & ~0x10000u) | (7u << 8);
	*lvt1 = (*lvt1 & ~0x700u & ~0x10000u) | (4u << 8);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		die_errno("vCPU %u: KVM_SET_LAPIC", vcpu->id);
}

void vcpu_create(struct vm *vm, unsigned id, const struct kvm_cpuid2 *supported)
{
	struct vcpu *vcpu = &vm->vcpus[id];
	void *run;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		die_errno("KVM_CREATE_VCPU %u", id);
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED)
		die_errno("mmap of vCPU %u kvm_run", id);
	vcpu->run = run;
	set_cpuid(vcpu, supported);
	set_msrs(vcpu);
	set_fpu_lapic(vcpu);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l,
		    bool db)
{
	*s = (struct kvm_segment){.base = 0,
				  .limit = 0xffffffff,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .dpl = 0,
				  .db = db,
				  .s = 1,
				  .l = l,
				  .g = 1};
}

void vcpu_set_boot_regs(struct vcpu *vcpu, const struct kernel_info *ki,
			uint64_t boot_info_gpa)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2, .rip = ki->entry};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		die_errno("KVM_GET_SREGS");
	sregs.gdt.base = GDT_START;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (ki->kind == KERNEL_PVH_ELF) {
		/* PVH: 32-bit protected mode, paging off, ebx = start_info. */
		set_seg(&sregs.cs, GDT_CODE32 * 8, 0xb, false, true);
		set_seg(&sregs.ds, GDT_DATA * 8, 0x3, false, true);
		sregs.cr0 = 0x11; /* PE | ET */
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = boot_info_gpa;
	} else {
		/* Linux 64-bit boot protocol: long mode, rsi = zero page. */
		set_seg(&sregs.cs, GDT_CODE64 * 8, 0xb, true, false);
		set_seg(&sregs.ds, GDT_DATA * 8, 0x3, false, true);
		sregs.cr3 = PML4_START;
		sregs.cr4 = 1u << 5;		     /* PAE */
		sregs.cr0 = 0x80000011;		     /* PG | ET | PE */
		sregs.efer = (1u << 8) | (1u << 10); /* LME | LMA */
		regs.rsi = boot_info_gpa;
		regs.rsp = regs.rbp = BOOT_STACK_TOP;
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		die_errno("KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		die_errno("KVM_SET_REGS");
}

static void trace_io(struct vcpu *vcpu, const struct kvm_run *run,
		     const uint8_t *data, const struct bus_range *r)
{
	uint64_t v = 0;

	memcpy(&v, data, run->io.size);
	fprintf(stderr,
		"vmm: trace: vcpu%u %s port %#06x size %u data %#lx -> %s\n",
		vcpu->id, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in ",
		run->io.port, run->io.size, (unsigned long)v,
		r ? r->name : "(none)");
}

static void handle_io(struct vcpu *vcpu, struct kvm_run *run, bool timing)
{
	struct vm *vm = vcpu->vm;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint64_t t0 = timing ? now_ns() : 0;
		struct bus_range *r;

		if (run->io.direction == KVM_EXIT_IO_OUT)
			r = bus_write(&vm->pio, run->io.port, data,
				      run->io.size);
		else
			r = bus_read(&vm->pio, run->io.port, data,
				     run->io.size);
		if (timing && r)
			__atomic_fetch_add(&r->ns, now_ns() - t0,
					   __ATOMIC_RELAXED);
		if (vm->cfg->trace)
			trace_io(vcpu, run, data, r);
	}
}

static void handle_mmio(struct vcpu *vcpu, struct kvm_run *run, bool timing)
{
	struct vm *vm = vcpu->vm;
	uint32_t len = run->mmio.len;
	uint64_t t0 = timing ? now_ns() : 0;
	struct bus_range *r;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		r = bus_write(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
			      len);
	else
		r = bus_read(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
			     len);
	if (timing && r)
		__atomic_fetch_add(&r->ns, now_ns() - t0, __ATOMIC_RELAXED);
	if (vm->cfg->trace) {
		uint64_t v = 0;

		memcpy(&v, run->mmio.data, len);
		fprintf(
		    stderr,
		    "vmm: trace: vcpu%u mmio %s %#lx len %u data %#lx -> %s\n",
		    vcpu->id, run->mmio.is_write ? "write" : "read ",
		    (unsigned long)run->mmio.phys_addr, len, (unsigned long)v,
		    r ? r->name : "(none)");
	}
}

/* The bytes of an instruction KVM failed to emulate, if it says them. */
static unsigned failed_insn(const struct kvm_run *run, const uint8_t **bytes)
{
	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags &
	      KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return 0;
	*bytes = run->emulation_failure.insn_bytes;
	return run->emulation_failure.insn_size < 15
		   ? run->emulation_failure.insn_size
		   : 15;
}

/*
 * A KVM whose instruction emulator lacks an instruction (the kvm_pvm software
 * hypervisor emulates guest kernel code; VT-x/AMD-V run these natively and
 * never get here) stops the vCPU instead. Linux runs two such instructions
 * while booting, so the VMM does what the CPU would:
 *   INT3  (0xcc): a trap: step over it and raise #BP, so the saved RIP is
 *                 the next instruction (Linux's int3 self-test checks that);
 *   FWAIT (0x9b): raise #MF if an unmasked x87 exception is pending, else
 *                 it does nothing: step over it.
 * Returns true when the instruction was handled.
 */
static bool assist_insn(struct vcpu *vcpu, const struct kvm_run *run)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	const uint8_t *insn;
	int vector = -1;

	if (!failed_insn(run, &insn))
		return false;
	if (insn[0] == 0x9b) {
		if (ioctl(vcpu->fd, KVM_GET_FPU, &fpu) < 0)
			return false;
		if (fpu.fsw & 0x80) /* ES: an unmasked exception is pending */
			vector = 16;
	} else if (insn[0] == 0xcc) {
		vector = 3;
	} else {
		return false;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	if (vector != 16) /* #MF is a fault: it points at the FWAIT */
		regs.rip += 1;
	if (vector >= 0) {
		ev.exception.injected = 1;
		ev.exception.nr = (uint8_t)vector;
		ev.exception.has_error_code = 0;
		ev.flags = 0;
	}
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ||
	    (vector >= 0 && ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0))
		return false;
	vcpu->stats.assists++;
	pr_info("vCPU %u: KVM could not emulate %s at %#llx: done by the VMM",
		vcpu->id, insn[0] == 0xcc ? "INT3" : "FWAIT",
		regs.rip - (vector == 16 ? 0 : 1));
	return true;
}

static void report_internal_error(struct vcpu *vcpu, struct kvm_run *run)
{
	struct kvm_regs regs;
	char bytes[3 * 16 + 1] = "";
	const uint8_t *insn;
	unsigned n = failed_insn(run, &insn);

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		memset(&regs, 0, sizeof(regs));
	for (unsigned i = 0; i < n; i++)
		snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, " %02x",
			 insn[i]);
	vm_request_stop(
	    vcpu->vm, VM_EXIT_FATAL,
	    "vCPU %u: KVM internal error, suberror %u%s, rip %#llx, "
	    "instruction bytes:%s",
	    vcpu->id, run->internal.suberror,
	    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
		? " (instruction emulation failed)"
		: "",
	    regs.rip, n ? bytes : " (not given)");
}

static void handle_exit(struct vcpu *vcpu, struct kvm_run *run, bool timing)
{
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu, run, timing);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu, run, timing);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_HLT:
		vm_request_stop(vm, VM_EXIT_POWEROFF, "vCPU %u halted",
				vcpu->id);
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(vm, VM_EXIT_TRIPLE_FAULT,
				"vCPU %u: triple fault (KVM_EXIT_SHUTDOWN)",
				vcpu->id);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, VM_EXIT_POWEROFF,
					"guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, VM_EXIT_REBOOT, "guest reset");
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_request_stop(vm, VM_EXIT_PANIC, "guest crashed");
			break;
		default:
			vm_request_stop(vm, VM_EXIT_FATAL,
					"unknown system event %u",
					run->system_event.type);
		}
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (!assist_insn(vcpu, run))
			report_internal_error(vcpu, run);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(
		    vm, VM_EXIT_FATAL,
		    "vCPU %u: VM entry failed, hardware reason %#llx", vcpu->id,
		    (unsigned long long)
			run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		vm_request_stop(vm, VM_EXIT_FATAL,
				"vCPU %u: unhandled exit %s (%u)", vcpu->id,
				kvm_exit_name(run->exit_reason),
				run->exit_reason);
	}
}

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return with EINTR */
}

static bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	bool timing = vm->cfg->stats || vm->cfg->trace;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_stopping(vm)) {
		uint64_t t0 = timing ? now_ns() : 0, t1;
		int ret = ioctl(vcpu->fd, KVM_RUN, 0);

		t1 = timing ? now_ns() : 0;
		vcpu->stats.run_ns += t1 - t0;
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->stats.exits[KVM_EXIT_INTR]++;
				continue;
			}
			vm_request_stop(vm, VM_EXIT_FATAL,
					"vCPU %u: KVM_RUN: %s", vcpu->id,
					strerror(errno));
			break;
		}
		handle_exit(vcpu, run, timing);
		if (run->exit_reason < EXIT_REASON_MAX) {
			vcpu->stats.exits[run->exit_reason]++;
			if (timing)
				vcpu->stats.exit_ns[run->exit_reason] +=
				    now_ns() - t1;
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	static bool handler_installed;
	int ret;

	if (!handler_installed) {
		struct sigaction sa = {.sa_handler = kick_handler};

		sigemptyset(&sa.sa_mask);
		sigaction(SIG_KICK, &sa, NULL); /* no SA_RESTART */
		handler_installed = true;
	}
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return -ret;
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (vcpu->started)
		pthread_kill(vcpu->thread, SIG_KICK);
}

void vcpu_stats_print(struct vm *vm, FILE *out)
{
	uint64_t total[EXIT_REASON_MAX] = {0}, ns[EXIT_REASON_MAX] = {0},
		 run_ns = 0;

	for (unsigned c = 0; c < vm->ncpus; c++) {
		for (unsigned r = 0; r < EXIT_REASON_MAX; r++) {
			total[r] += vm->vcpus[c].stats.exits[r];
			ns[r] += vm->vcpus[c].stats.exit_ns[r];
		}
		run_ns += vm->vcpus[c].stats.run_ns;
	}
	fprintf(out, "\n%-18s %12s %14s %10s\n", "exit reason", "count",
		"vmm time (us)", "avg (ns)");
	for (unsigned r = 0; r < EXIT_REASON_MAX; r++)
		if (total[r])
			fprintf(out, "%-18s %12lu %14.1f %10lu\n",
				kvm_exit_name(r), (unsigned long)total[r],
				ns[r] / 1000.0,
				(unsigned long)(ns[r] / total[r]));
	fprintf(out, "%-18s %12s %14.1f\n", "(inside KVM_RUN)", "",
		run_ns / 1000.0);
	uint64_t assists = 0;

	for (unsigned c = 0; c < vm->ncpus; c++)
		assists += vm->vcpus[c].stats.assists;
	if (assists)
		fprintf(out,
			"%-18s %12lu  (instructions KVM could not emulate)\n",
			"(VMM assists)", (unsigned long)assists);
}
