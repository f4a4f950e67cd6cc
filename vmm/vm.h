/* SPDX-License-Identifier: MIT */
/* The virtual machine: its configuration, its parts, and how it stops. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bus.h"
#include "evloop.h"
#include "guest_mem.h"
#include "layout.h"

#define VM_MAX_CPUS  64
#define VM_MAX_DISKS 16
#define VM_MAX_NETS  8

/*
 * The VMM's exit status says how the guest ended (see README "Exit status").
 * A guest that writes V to the debug-exit port ends the VMM with status V.
 */
enum vm_exit_status {
	VM_EXIT_POWEROFF = 0,	  /* ACPI S5 or debug-exit 0 */
	VM_EXIT_ERROR = 1,	  /* bad input or a VMM failure */
	VM_EXIT_USAGE = 2,	  /* bad command line */
	VM_EXIT_REBOOT = 3,	  /* i8042 reset, ACPI reset */
	VM_EXIT_TRIPLE_FAULT = 4, /* KVM_EXIT_SHUTDOWN */
	VM_EXIT_PANIC = 5,	  /* guest kernel panic (pvpanic) */
	VM_EXIT_FATAL = 6,	  /* a vCPU exit the VMM cannot handle */
	VM_EXIT_SIGNAL_BASE = 128 /* 128 + signal number, like a shell */
};

struct disk_config {
	char
	    opt[4096]; /* copy of the option string; path and serial point in */
	const char *path;
	const char *serial;
	bool readonly;
};

struct net_config {
	char opt[128];
	const char *tap;
	uint8_t mac[6];
	bool has_mac;
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;	 /* appended to the default command line */
	bool no_default_cmdline; /* --cmdline replaces the default */
	uint64_t mem_size;
	unsigned ncpus;
	bool stats;
	bool trace;
	const char *dump_dtb;
	int virtio_cmdline;  /* -1 auto, 0 off, 1 on: virtio_mmio.device= */
	int pvm_workarounds; /* -1 auto (when /sys/module/kvm_pvm), 0, 1 */
	struct disk_config disks[VM_MAX_DISKS];
	unsigned ndisks;
	struct net_config nets[VM_MAX_NETS];
	unsigned nnets;
};

enum exit_kind_extra { EXIT_REASON_MAX = 64 };

struct vcpu_stats {
	uint64_t exits[EXIT_REASON_MAX];
	uint64_t exit_ns[EXIT_REASON_MAX]; /* time in the VMM handling them */
	uint64_t run_ns;		   /* time inside KVM_RUN */
	uint64_t assists; /* instructions emulated for KVM (vcpu.c) */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vcpu_stats stats;
};

struct stats_printer {
	void (*print)(void *opaque, FILE *out);
	void *opaque;
};

struct virtio_slot {
	uint64_t base;
	unsigned gsi;
	const char *name;
};

struct serial;
struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct evloop ev;
	struct vcpu vcpus[VM_MAX_CPUS];
	unsigned ncpus;
	struct serial *com1;
	void *devices; /* struct vm_devices, private to vm.c */

	/* virtio-mmio windows handed out in order from VIRTIO_MMIO_START. */
	struct virtio_slot virtio[VIRTIO_MMIO_MAX_DEVICES];
	unsigned nr_virtio;

	struct stats_printer stats[32];
	unsigned nr_stats;

	/* Boot. */
	bool linux_guest;     /* bzImage or an ELF with a Linux note */
	bool pvm_workarounds; /* host KVM is kvm_pvm (or asked for): see vm.c */
	uint64_t pvh_entry;
	uint64_t bz_entry; /* 0 unless bzImage */
	uint64_t initrd_gpa, initrd_size;
	char cmdline[CMDLINE_MAX];
	void *fdt;
	uint64_t start_ns;

	/* Stopping: the first request wins. */
	pthread_mutex_t stop_lock;
	bool stopping;
	int exit_status;
	char stop_reason[160];
};

/* Build the whole VM, in order, from cfg. Dies with a message on bad input. */
void vm_build(struct vm *vm, const struct vm_config *cfg);
/* Run vCPUs and the event loop until the guest ends; returns exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Any thread, any time: end the VM with this status (first call wins). */
void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Interrupts and notifications (thin KVM wrappers, 0 or -errno). */
int vm_irq_line(struct vm *vm, unsigned gsi, int level);
int vm_irqfd(struct vm *vm, unsigned gsi, int efd);
int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool pio,
		 bool datamatch, uint64_t data, int efd);

/* Claim the next virtio-mmio window; -ENOSPC when all are taken. */
int vm_virtio_slot(struct vm *vm, const char *name, uint64_t *base,
		   unsigned *gsi);
/* Print per-device statistics at exit when --stats is given. */
void vm_add_stats(struct vm *vm, void (*print)(void *opaque, FILE *out),
		  void *opaque);

#endif
