// SPDX-License-Identifier: MIT
/* Unit tests for the FDT builder: the blob is read back with libfdt. */
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"

#include "devicetree.h"
#include "layout.h"
#include "util.h"
#include "vm.h"

#define MiB (1ULL << 20)

/* struct vm is large; keep it off the stack. */
static struct vm vm;

static void make_vm(uint64_t ram, unsigned ncpus, unsigned nvirtio)
{
	memset(&vm, 0, sizeof(vm));
	assert_int_equal(gm_create_fake(&vm.mem, ram), 0);
	vm.ncpus = ncpus;
	for (unsigned i = 0; i < nvirtio; i++) {
		vm.virtio[i] = (struct virtio_slot){
		    .base = VIRTIO_MMIO_START + i * VIRTIO_MMIO_SIZE,
		    .gsi = VIRTIO_GSI_BASE + i,
		    .name = i % 2 ? "net" : "blk"};
	}
	vm.nr_virtio = nvirtio;
}

static void *build_ok(size_t *size)
{
	void *blob = NULL;

	assert_int_equal(fdt_build(&vm, &blob, size), 0);
	assert_non_null(blob);
	assert_int_equal(fdt_check_header(blob), 0);
	assert_int_equal(fdt_totalsize(blob), *size);
	assert_int_equal(fdt_check_full(blob, *size), 0);
	return blob;
}

/* Properties are only 4-byte aligned: no direct fdt64_t loads. */
static uint64_t ld64(const fdt64_t *p, int i)
{
	fdt64_t v;

	memcpy(&v, p + i, sizeof(v));
	return fdt64_to_cpu(v);
}

static uint32_t get_u32(const void *fdt, int node, const char *name)
{
	int len = 0;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p)
		fail_msg("property %s missing", name);
	assert_int_equal(len, 4);
	return fdt32_to_cpu(*p);
}

static const char *get_str(const void *fdt, int node, const char *name)
{
	const char *p = fdt_getprop(fdt, node, name, NULL);

	if (!p)
		fail_msg("property %s missing", name);
	return p;
}

static int path(const void *fdt, const char *p)
{
	int off = fdt_path_offset(fdt, p);

	if (off < 0)
		fail_msg("node %s not found: %s", p, fdt_strerror(off));
	return off;
}

static int count_children(const void *fdt, int parent)
{
	int n = 0, child;

	fdt_for_each_subnode(child, fdt, parent) n++;
	return n;
}

static void test_basic(void **state)
{
	size_t size;
	void *fdt;
	int node, len;

	(void)state;
	make_vm(256 * MiB, 1, 0);
	fdt = build_ok(&size);
	assert_true(size <= FDT_MAX);

	node = path(fdt, "/");
	assert_string_equal(get_str(fdt, node, "compatible"), "vmm,x86-64-pvh");
	assert_int_equal(get_u32(fdt, node, "#address-cells"), 2);
	assert_int_equal(get_u32(fdt, node, "#size-cells"), 2);

	/* stdout-path resolves to the 16550A on COM1. */
	const char *out = get_str(fdt, path(fdt, "/chosen"), "stdout-path");

	assert_string_equal(out, "/isa/serial@i3f8");
	node = path(fdt, out);
	assert_int_equal(fdt_node_check_compatible(fdt, node, "ns16550a"), 0);
	assert_int_equal(get_u32(fdt, node, "vmm,io-port"), PORT_COM1);
	assert_int_equal(get_u32(fdt, node, "interrupts"), IRQ_COM1);
	assert_int_equal(get_u32(fdt, node, "clock-frequency"), 1843200);
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

	assert_non_null(reg);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(reg[0]), 1); /* I/O space */
	assert_int_equal(fdt32_to_cpu(reg[1]), 0x3f8);
	assert_int_equal(fdt32_to_cpu(reg[2]), 8);

	node = path(fdt, "/isa/debug-exit@if4");
	assert_string_equal(get_str(fdt, node, "compatible"), "vmm,debug-exit");
	assert_int_equal(get_u32(fdt, node, "vmm,io-port"), PORT_DEBUG_EXIT);
	assert_null(fdt_getprop(fdt, node, "interrupts", NULL));
	assert_int_equal(count_children(fdt, path(fdt, "/isa")), 2);

	/* Memory: one region below 3 GiB. */
	node = path(fdt, "/memory@0");
	assert_string_equal(get_str(fdt, node, "device_type"), "memory");
	const fdt64_t *mreg = fdt_getprop(fdt, node, "reg", &len);

	assert_non_null(mreg);
	assert_int_equal(len, 16);
	assert_int_equal(ld64(mreg, 0), 0);
	assert_int_equal(ld64(mreg, 1), 256 * MiB);

	/* One CPU. */
	node = path(fdt, "/cpus");
	assert_int_equal(count_children(fdt, node), 1);
	assert_int_equal(get_u32(fdt, path(fdt, "/cpus/cpu@0"), "reg"), 0);

	/* Interrupt controller, referenced by phandle from the root. */
	node = path(fdt, "/ioapic@fec00000");
	assert_non_null(fdt_getprop(fdt, node, "interrupt-controller", NULL));
	assert_int_equal(
	    fdt_node_offset_by_phandle(
		fdt, get_u32(fdt, path(fdt, "/"), "interrupt-parent")),
	    node);
	mreg = fdt_getprop(fdt, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(ld64(mreg, 0), IOAPIC_START);
	path(fdt, "/lapic@fee00000");

	/* No virtio devices. */
	assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio"),
			 -FDT_ERR_NOTFOUND);
	free(fdt);
	gm_destroy(&vm.mem);
}

static void test_high_memory_and_cpus(void **state)
{
	size_t size;
	void *fdt;
	int node, len;
	char name[32];

	(void)state;
	make_vm(5ULL << 30, 8, 0);
	fdt = build_ok(&size);
	const fdt64_t *mreg =
	    fdt_getprop(fdt, path(fdt, "/memory@0"), "reg", &len);

	assert_non_null(mreg);
	assert_int_equal(len, 32);
	assert_int_equal(ld64(mreg, 0), 0);
	assert_int_equal(ld64(mreg, 1), MMIO_GAP_START);
	assert_int_equal(ld64(mreg, 2), MMIO_GAP_END);
	assert_int_equal(ld64(mreg, 3), 2ULL << 30);

	node = path(fdt, "/cpus");
	assert_int_equal(get_u32(fdt, node, "#address-cells"), 1);
	assert_int_equal(get_u32(fdt, node, "#size-cells"), 0);
	assert_int_equal(count_children(fdt, node), 8);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "/cpus/cpu@%u", i);
		node = path(fdt, name);
		assert_string_equal(get_str(fdt, node, "device_type"), "cpu");
		assert_int_equal(get_u32(fdt, node, "reg"), i);
	}
	assert_true(fdt_path_offset(fdt, "/cpus/cpu@8") < 0);
	free(fdt);
	gm_destroy(&vm.mem);
}

static void check_virtio(const void *fdt, unsigned n)
{
	char name[64];
	int node, len, count = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t base = VIRTIO_MMIO_START + i * VIRTIO_MMIO_SIZE;

		snprintf(name, sizeof(name), "/virtio_mmio@%lx",
			 (unsigned long)base);
		node = path(fdt, name);
		assert_string_equal(get_str(fdt, node, "compatible"),
				    "virtio,mmio");
		assert_int_equal(get_u32(fdt, node, "interrupts"),
				 VIRTIO_GSI_BASE + i);
		assert_string_equal(get_str(fdt, node, "vmm,device"),
				    i % 2 ? "net" : "blk");
		const fdt64_t *reg = fdt_getprop(fdt, node, "reg", &len);

		assert_non_null(reg);
		assert_int_equal(len, 16);
		assert_int_equal(ld64(reg, 0), base);
		assert_int_equal(ld64(reg, 1), VIRTIO_MMIO_SIZE);
	}
	for (node = fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio");
	     node >= 0;
	     node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio"))
		count++;
	assert_int_equal(count, n);
}

static void test_virtio(void **state)
{
	size_t size;
	void *fdt;

	(void)state;
	make_vm(64 * MiB, 2, 3);
	fdt = build_ok(&size);
	check_virtio(fdt, 3);
	assert_string_equal(
	    fdt_get_name(fdt, path(fdt, "/virtio_mmio@c0001000"), NULL),
	    "virtio_mmio@c0001000");
	free(fdt);
	gm_destroy(&vm.mem);
}

/* The largest machine still fits in the buffer and under FDT_MAX. */
static void test_max_machine(void **state)
{
	size_t size;
	void *fdt;

	(void)state;
	make_vm(5ULL << 30, VM_MAX_CPUS, VIRTIO_MMIO_MAX_DEVICES);
	fdt = build_ok(&size);
	assert_true(size <= FDT_MAX);
	assert_int_equal(count_children(fdt, path(fdt, "/cpus")), VM_MAX_CPUS);
	path(fdt, "/cpus/cpu@63");
	check_virtio(fdt, VIRTIO_MMIO_MAX_DEVICES);
	free(fdt);
	gm_destroy(&vm.mem);
}

static void test_dump(void **state)
{
	char dir[] = "/tmp/vmm-test-dtb-XXXXXX", file[64];
	size_t size;
	void *fdt;
	uint8_t *back;
	size_t len;

	(void)state;
	make_vm(64 * MiB, 1, 1);
	fdt = build_ok(&size);
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/vm.dtb", dir);
	assert_int_equal(fdt_dump(fdt, size, file), 0);
	assert_int_equal(read_file(file, &back, &len), 0);
	assert_int_equal(len, size);
	assert_memory_equal(back, fdt, size);
	free(back);
	unlink(file);
	snprintf(file, sizeof(file), "%s/missing/vm.dtb", dir);
	assert_int_equal(fdt_dump(fdt, size, file), -ENOENT);
	rmdir(dir);
	free(fdt);
	gm_destroy(&vm.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_high_memory_and_cpus),
	    cmocka_unit_test(test_virtio),
	    cmocka_unit_test(test_max_machine),
	    cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
