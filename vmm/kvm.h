/* SPDX-License-Identifier: MIT */
/* /dev/kvm: open it and check the API version and every capability we use. */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>

struct kvm_cpuid2;

/* Open /dev/kvm and check it; dies with the missing piece named. */
int kvm_open_checked(void);
/* True when the host KVM is the kvm_pvm software hypervisor. */
bool kvm_is_pvm(void);
/* KVM_GET_SUPPORTED_CPUID, growing the buffer on E2BIG. Dies on failure. */
struct kvm_cpuid2 *kvm_supported_cpuid(int kvm_fd);
int kvm_max_vcpus(int kvm_fd);
bool kvm_has_cap(int kvm_fd, int cap);
/* Name of a KVM_EXIT_* reason, for messages and --stats. */
const char *kvm_exit_name(unsigned reason);

#endif
