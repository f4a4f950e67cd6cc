/* SPDX-License-Identifier: MIT */
/* The machine description as a flattened device tree (libfdt). */
#ifndef VMM_DEVICETREE_H
#define VMM_DEVICETREE_H

#include <stddef.h>

struct vm;

/* Build the FDT of vm into a malloc'ed blob; *size gets its size. -errno. */
int fdt_build(const struct vm *vm, void **blob, size_t *size);
/* Write it to path (for --dump-dtb). -errno. */
int fdt_dump(const void *blob, size_t size, const char *path);

#endif
