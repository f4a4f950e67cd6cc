/* SPDX-License-Identifier: MIT */
/* vCPUs: creation, architectural set-up, and the thread that runs each. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdio.h>

#include "loader.h"
#include "vm.h"

struct kvm_cpuid2;

/* Create vCPU id and set CPUID, MSRs, FPU and LAPIC. Dies on failure. */
void vcpu_create(struct vm *vm, unsigned id,
		 const struct kvm_cpuid2 *supported);
/* Registers of the boot vCPU for the loaded kernel's entry. */
void vcpu_set_boot_regs(struct vcpu *vcpu, const struct kernel_info *ki,
			uint64_t boot_info_gpa);
/* Start the vCPU's thread; it runs until the VM stops. */
int vcpu_start(struct vcpu *vcpu);
/* Make KVM_RUN return on the vCPU so its thread sees the stop. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_stats_print(struct vm *vm, FILE *out);

#endif
