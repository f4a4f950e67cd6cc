/* SPDX-License-Identifier: MIT */
/*
 * /spin: an init that makes no system call and never exits. On hosts where
 * guest user space cannot make system calls (the kvm_pvm development
 * machines), a real init dies at once and the kernel panics; with
 * rdinit=/spin (or as /sbin/init on a test disk) the kernel keeps running,
 * so tests can talk to its own network stack and block layer.
 */
	.globl _start
	.text
_start:
	pause
	jmp _start
