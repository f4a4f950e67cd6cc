/* SPDX-License-Identifier: MIT */
/*
 * PVH entry, long-mode switch, static page tables, GDT, IDT stubs and the AP
 * real-mode trampoline. Everything that can be is assembled as data: guest
 * CPL0 code is emulated instruction by instruction on the development hosts.
 */

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_ET 0x10
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define BSP_STACK_SIZE 0x4000
#define AP_STACK_SHIFT 13 /* 8 KiB per AP */
#define RT_MAX_CPUS 32
#define TRAMPOLINE_BASE 0x10000

/* ---- ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), as Linux writes it ---- */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4f - 3f /* namesz */
	.long 6f - 5f /* descsz */
	.long 18      /* type */
3:	.asciz "Xen"
4:	.balign 4
5:	.quad pvh_start32
6:	.balign 4

/* Enter long mode from 32-bit protected mode with flat segments loaded. */
.macro ENABLE_LONG_MODE target
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl $(CR0_PG | CR0_ET | CR0_PE), %eax /* also clears CD/NW left by INIT */
	movl %eax, %cr0
	ljmpl $SEL_CODE64, $\target
.endm

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, pvh_start_info_pa
	lgdtl gdt_desc
	ljmpl $SEL_CODE32, $1f
1:	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	ENABLE_LONG_MODE bsp_long

/* APs arrive here from the trampoline, in 32-bit mode with flat segments. */
ap_start32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	ENABLE_LONG_MODE ap_long

	.code64
bsp_long:
	leaq bsp_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl pvh_start_info_pa(%rip), %edi
	call rt_main
2:	cli
	hlt
	jmp 2b

ap_long:
	movl $1, %eax
	lock xaddl %eax, rt_ap_next_index(%rip) /* eax = this AP's cpu index */
	cmpl $RT_MAX_CPUS, %eax
	jae 3f
	movl %eax, %edi
	shll $AP_STACK_SHIFT, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp /* index >= 1: top of slot index-1 */
	xorl %ebp, %ebp
	lidt rt_idt_desc(%rip)
	call rt_ap_main
3:	cli
	hlt
	jmp 3b

/* ---- IDT stubs: 256 of them, 16 bytes apart (rt_idt_init relies on it) ---- */
	.balign 16
	.globl rt_isr_stubs
rt_isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	/* CPU pushed an error code */
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi /* struct rt_regs *; rsp is 16-byte aligned here */
	cld
	call rt_isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp /* vector, error code */
	iretq

/* ---- AP trampoline: copied to TRAMPOLINE_BASE, entered in real mode with
 * CS = TRAMPOLINE_BASE >> 4, IP = 0 (SIPI vector 0x10). Position independent. ---- */
	.section .rodata.trampoline, "a"
	.code16
	.globl rt_trampoline_start, rt_trampoline_end
rt_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tramp_gdt_desc - rt_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_start32
	.balign 8
tramp_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
rt_trampoline_end:
	.code64

/* ---- data ---- */
	.section .data
	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
	.quad 0x00af9a000000ffff /* 0x18: 64-bit code */
gdt_end:
	.balign 8
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl pvh_start_info_pa, rt_ap_next_index
	.balign 4
pvh_start_info_pa:
	.long 0
rt_ap_next_index:
	.long 1

/* Identity map of 0-4 GiB with 2 MiB pages; 3-4 GiB (MMIO gap) uncached. */
	.balign 4096
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0003
	.quad pd + 0x1003
	.quad pd + 0x2003
	.quad pd + 0x3003
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 1536
	.quad (i << 21) | 0x83 /* P RW PS */
	.set i, i + 1
	.endr
	.rept 512
	.quad (i << 21) | 0x9b /* P RW PWT PCD PS */
	.set i, i + 1
	.endr

/* Stacks are not loaded from the file and need no zeroing. */
	.section .stack, "aw", @nobits
	.balign 16
	.space BSP_STACK_SIZE
bsp_stack_top:
	.balign 16
ap_stacks:
	.space (RT_MAX_CPUS - 1) << AP_STACK_SHIFT

	.section .note.GNU-stack, "", @progbits
