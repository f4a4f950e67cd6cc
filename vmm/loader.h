/* SPDX-License-Identifier: MIT */
/*
 * Kernel image loaders: PVH ELF (Linux vmlinux and guest-firmware payloads)
 * and bzImage (Linux boot protocol, 64-bit entry). Both work on an image in
 * a buffer and on guest memory only, so tests can feed them malformed files.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

enum kernel_kind { KERNEL_PVH_ELF, KERNEL_BZIMAGE };

struct kernel_info {
	enum kernel_kind kind;
	uint64_t entry;	   /* PVH 32-bit entry, or the bzImage 64-bit entry */
	uint64_t load_end; /* first byte above everything the kernel needs */
	bool is_linux;	   /* ELF with a "Linux" note, or any bzImage */
	uint32_t cmdline_max; /* bytes the kernel accepts, including the NUL */
	uint64_t initrd_max;  /* highest address the initrd may end at, +1 */
	/* bzImage only: the setup header, copied into the zero page later. */
	uint8_t setup_header[0x280 - 0x1f1];
	size_t setup_header_len;
};

#define LOADER_ERR_LEN 200

/*
 * Parse and load the image into guest memory. On error returns -EINVAL (or
 * -EFBIG when it does not fit) and writes a message naming the bad field.
 */
int load_pvh_elf(struct guest_mem *gm, const uint8_t *img, size_t len,
		 struct kernel_info *ki, char *err);
int load_bzimage(struct guest_mem *gm, const uint8_t *img, size_t len,
		 struct kernel_info *ki, char *err);
/* Picks the loader by magic: ELF or bzImage; anything else is an error. */
int load_kernel(struct guest_mem *gm, const uint8_t *img, size_t len,
		struct kernel_info *ki, char *err);

/*
 * Place an initrd page-aligned at the top of low RAM, below ki->initrd_max
 * and above the kernel. Returns its address in *gpa, or -EFBIG with a message.
 */
int load_initrd(struct guest_mem *gm, const struct kernel_info *ki,
		const uint8_t *data, size_t len, uint64_t *gpa, char *err);

#endif
