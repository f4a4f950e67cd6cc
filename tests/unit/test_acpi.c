// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ACPI tables: parsed back from fake guest memory
 * (checksums, XSDT, FADT, MADT, DSDT), then disassembled with iasl, and the
 * DSDT recompiled to prove it is valid AML.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#include "acpi.h"
#include "layout.h"
#include "util.h"
#include "vm.h"

#define MiB	(1ULL << 20)
#define HDR_LEN 36

static struct vm vm; /* large: not on the stack */

static void make_vm(unsigned ncpus, unsigned nvirtio)
{
	memset(&vm, 0, sizeof(vm));
	assert_int_equal(gm_create_fake(&vm.mem, 64 * MiB), 0);
	vm.ncpus = ncpus;
	for (unsigned i = 0; i < nvirtio; i++)
		vm.virtio[i] = (struct virtio_slot){
		    .base = VIRTIO_MMIO_START + i * VIRTIO_MMIO_SIZE,
		    .gsi = VIRTIO_GSI_BASE + i,
		    .name = "blk"};
	vm.nr_virtio = nvirtio;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t xsdt_at, fadt_at, madt_at, dsdt_at;
};

/* A table at gpa: inside the ACPI area, signature, length, checksum. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = gm_ptr(&vm.mem, gpa, HDR_LEN);
	uint32_t len;

	assert_non_null(t);
	if (memcmp(t, sig, 4))
		fail_msg("table at %#lx is '%.4s', want '%s'",
			 (unsigned long)gpa, (const char *)t, sig);
	len = ld32(t + 4);
	assert_true(len >= HDR_LEN);
	assert_true(gpa >= ACPI_START);
	assert_true(gpa + len <= ACPI_END);
	assert_non_null(gm_ptr(&vm.mem, gpa, len));
	if (sum(t, len) != 0)
		fail_msg("%s checksum is wrong", sig);
	assert_memory_equal(t + 10, "VMM   ", 6); /* OEM ID */
	return t;
}

static void parse(struct tables *t)
{
	uint64_t rsdp_at = acpi_build(&vm);

	assert_int_equal(rsdp_at, RSDP_START);
	t->rsdp = gm_ptr(&vm.mem, RSDP_START, 36);
	assert_non_null(t->rsdp);
	assert_memory_equal(t->rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(t->rsdp, 20), 0);	  /* ACPI 1.0 checksum */
	assert_int_equal(sum(t->rsdp, 36), 0);	  /* extended checksum */
	assert_int_equal(t->rsdp[15], 2);	  /* revision: ACPI 2.0+ */
	assert_int_equal(ld32(t->rsdp + 20), 36); /* length */
	assert_int_equal(ld32(t->rsdp + 16), 0);  /* no RSDT */
	t->xsdt_at = ld64(t->rsdp + 24);

	t->xsdt = table_at(t->xsdt_at, "XSDT");
	assert_int_equal(ld32(t->xsdt + 4), HDR_LEN + 2 * 8);
	t->fadt_at = ld64(t->xsdt + HDR_LEN);
	t->madt_at = ld64(t->xsdt + HDR_LEN + 8);
	t->fadt = table_at(t->fadt_at, "FACP");
	t->madt = table_at(t->madt_at, "APIC");
	t->dsdt_at = ld64(t->fadt + 140); /* X_DSDT */
	assert_int_equal(ld32(t->fadt + 40), t->dsdt_at);
	t->dsdt = table_at(t->dsdt_at, "DSDT");

	/* No two tables overlap, and all are 16-byte aligned. */
	uint64_t at[4] = {t->dsdt_at, t->fadt_at, t->madt_at, t->xsdt_at};
	const uint8_t *tb[4] = {t->dsdt, t->fadt, t->madt, t->xsdt};

	for (int i = 0; i < 4; i++) {
		assert_int_equal(at[i] % 16, 0);
		for (int j = 0; j < 4; j++)
			if (i != j && at[i] < at[j])
				assert_true(at[i] + ld32(tb[i] + 4) <= at[j]);
	}
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t width,
		      uint8_t access, uint64_t addr)
{
	assert_int_equal(g[0], space);
	assert_int_equal(g[1], width);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], access);
	assert_int_equal(ld64(g + 4), addr);
}

static void check_fadt(const struct tables *t)
{
	const uint8_t *f = t->fadt;
	uint32_t flags = ld32(f + 112);

	assert_int_equal(ld32(f + 4), 276);
	assert_int_equal(f[8], 6);		     /* revision */
	assert_true(flags & (1u << 20));	     /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));	     /* RESET_REG_SUP */
	assert_true(flags & (1u << 4));		     /* no power button */
	check_gas(f + 116, 1, 8, 1, PORT_I8042_CMD); /* RESET_REG */
	assert_int_equal(f[128], 0xfe);
	check_gas(f + 244, 1, 8, 1, PORT_ACPI_SLEEP); /* SLEEP_CONTROL_REG */
	check_gas(f + 256, 1, 8, 1, PORT_ACPI_SLEEP + 1); /* SLEEP_STATUS_REG */
	/* Hardware-reduced: no PM1 blocks, no SCI, no SMI. */
	assert_int_equal(ld32(f + 64), 0);  /* PM1a_CNT_BLK */
	assert_int_equal(ld32(f + 56), 0);  /* PM1a_EVT_BLK */
	assert_int_equal(ld32(f + 48), 0);  /* SMI_CMD */
	assert_int_equal(ld64(f + 132), 0); /* X_FIRMWARE_CTRL: no FACS */
}

static void check_madt(const struct tables *t, unsigned ncpus)
{
	const uint8_t *m = t->madt, *p, *end = m + ld32(m + 4);
	unsigned lapics = 0, ioapics = 0, nmis = 0;

	assert_int_equal(ld32(m + 4), HDR_LEN + 8 + 8 * ncpus + 12 + 6);
	assert_int_equal(ld32(m + 36), LAPIC_START);
	for (p = m + HDR_LEN + 8; p < end; p += p[1]) {
		assert_true(p[1] >= 2);
		assert_true(p + p[1] <= end);
		switch (p[0]) {
		case 0: /* Processor Local APIC */
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], lapics);	  /* UID */
			assert_int_equal(p[3], lapics);	  /* APIC id */
			assert_int_equal(ld32(p + 4), 1); /* enabled */
			lapics++;
			break;
		case 1: /* I/O APIC */
			assert_int_equal(p[1], 12);
			assert_int_equal(ld32(p + 4), IOAPIC_START);
			assert_int_equal(ld32(p + 8), 0); /* GSI base */
			ioapics++;
			break;
		case 4: /* Local APIC NMI */
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1); /* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
}

static size_t count_mem(const uint8_t *hay, size_t len, const void *needle,
			size_t nlen)
{
	size_t n = 0;

	for (size_t i = 0; i + nlen <= len; i++)
		if (!memcmp(hay + i, needle, nlen))
			n++;
	return n;
}

static void check_dsdt(const struct tables *t, unsigned nvirtio)
{
	const uint8_t *d = t->dsdt;
	size_t len = ld32(d + 4);
	static const uint8_t pnp0501[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};

	assert_int_equal(d[8], 2); /* revision 2: 64-bit integers */
	assert_int_equal(count_mem(d, len, "LNRO0005", 8), nvirtio);
	assert_int_equal(count_mem(d, len, "_S5_", 4), 1);
	assert_int_equal(count_mem(d, len, "QEMU0001", 8), 1);
	assert_int_equal(count_mem(d, len, pnp0501, sizeof(pnp0501)), 1);
	assert_int_equal(count_mem(d, len, "\\_SB_", 5), 1);
	/* Each window's address appears in a Memory32Fixed descriptor. */
	for (unsigned i = 0; i < nvirtio; i++) {
		uint8_t desc[12] = {0x86, 0x09, 0x00, 0x01};
		uint32_t base =
		    (uint32_t)(VIRTIO_MMIO_START + i * VIRTIO_MMIO_SIZE);
		uint32_t size = VIRTIO_MMIO_SIZE;

		memcpy(desc + 4, &base, 4);
		memcpy(desc + 8, &size, 4);
		assert_int_equal(count_mem(d, len, desc, sizeof(desc)), 1);
	}
}

static void test_tables_1cpu(void **state)
{
	struct tables t;

	(void)state;
	make_vm(1, 0);
	parse(&t);
	check_fadt(&t);
	check_madt(&t, 1);
	check_dsdt(&t, 0);
	gm_destroy(&vm.mem);
}

static void test_tables_2cpus_virtio(void **state)
{
	struct tables t;

	(void)state;
	make_vm(2, 3);
	parse(&t);
	check_fadt(&t);
	check_madt(&t, 2);
	check_dsdt(&t, 3);
	gm_destroy(&vm.mem);
}

static void test_tables_max(void **state)
{
	struct tables t;

	(void)state;
	make_vm(VM_MAX_CPUS, VIRTIO_MMIO_MAX_DEVICES);
	parse(&t);
	check_fadt(&t);
	check_madt(&t, VM_MAX_CPUS);
	check_dsdt(&t, VIRTIO_MMIO_MAX_DEVICES);
	gm_destroy(&vm.mem);
}

/* ---- iasl ---- */

/* Run a shell command; its stdout+stderr go to out (malloc'ed). Exit code. */
static int run(const char *cmd, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len), *p = popen(cmd, "r");
	char chunk[4096];
	size_t n;
	int st;

	assert_non_null(mem);
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		fwrite(chunk, 1, n, mem);
	st = pclose(p);
	fclose(mem);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	uint8_t *buf;
	size_t len;
	char *s;

	if (read_file(path, &buf, &len))
		fail_msg("cannot read %s", path);
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	return s;
}

static void write_table(const char *dir, const char *name, const uint8_t *t,
			size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Disassemble dir/name.dat; returns the .dsl text. */
static char *disassemble(const char *dir, const char *name)
{
	char cmd[512], *out, *dsl, path[256];
	int rc;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat 2>&1", dir, name);
	rc = run(cmd, &out);
	if (rc != 0 || strstr(out, "Error") || strstr(out, "error"))
		fail_msg("iasl -d %s failed (%d):\n%s", name, rc, out);
	free(out);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	dsl = slurp(path);
	return dsl;
}

/* The temp dir of the running iasl test; removed by the teardown. */
static char dir[32];

static int iasl_teardown(void **state)
{
	char cmd[64];

	(void)state;
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return -1;
		dir[0] = '\0';
	}
	gm_destroy(&vm.mem);
	return 0;
}

static void iasl_check(unsigned ncpus, unsigned nvirtio)
{
	char cmd[512], *out, *dsl;
	struct tables t;
	int rc;

	make_vm(ncpus, nvirtio);
	parse(&t);
	snprintf(dir, sizeof(dir), "/tmp/vmm-test-acpi-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_table(dir, "dsdt", t.dsdt, ld32(t.dsdt + 4));
	write_table(dir, "facp", t.fadt, ld32(t.fadt + 4));
	write_table(dir, "apic", t.madt, ld32(t.madt + 4));
	write_table(dir, "xsdt", t.xsdt, ld32(t.xsdt + 4));

	dsl = disassemble(dir, "dsdt");
	assert_int_equal(count_str(dsl, "\"LNRO0005\""), nvirtio);
	assert_int_equal(count_str(dsl, "EisaId (\"PNP0501\")"), 1);
	assert_int_equal(count_str(dsl, "\"QEMU0001\""), 1);
	assert_int_equal(count_str(dsl, "Name (_S5, Package (0x04)"), 1);
	assert_int_equal(count_str(dsl, "Memory32Fixed (ReadWrite,"), nvirtio);
	assert_int_equal(count_str(dsl, "Device (COM1)"), 1);
	assert_int_equal(count_str(dsl, "IRQNoFlags ()"), 1);
	assert_int_equal(count_str(dsl, "Interrupt (ResourceConsumer, Edge, "
					"ActiveHigh, Exclusive"),
			 nvirtio);
	if (nvirtio)
		assert_contains(dsl, "0xC0001000,         // Address Base");
	free(dsl);

	dsl = disassemble(dir, "facp");
	assert_contains(dsl, "Hardware Reduced (V5) : 1");
	assert_contains(dsl, "Sleep Control Register");
	assert_contains(dsl, "Sleep Status Register");
	assert_contains(dsl, "Address : 00000000000003C0");
	assert_contains(dsl, "Address : 00000000000003C1");
	free(dsl);

	dsl = disassemble(dir, "apic");
	assert_int_equal(
	    count_str(dsl, "Subtable Type : 00 [Processor Local APIC]"), ncpus);
	assert_int_equal(count_str(dsl, "[I/O APIC]"), 1);
	assert_int_equal(count_str(dsl, "Processor Enabled : 1"), ncpus);
	free(dsl);

	dsl = disassemble(dir, "xsdt");
	assert_int_equal(count_str(dsl, "ACPI Table Address"), 2);
	free(dsl);

	/* The DSDT recompiles cleanly: its AML is valid. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p recompiled dsdt.dsl 2>&1",
		 dir);
	rc = run(cmd, &out);
	if (rc != 0 || !strstr(out, "0 Errors, 0 Warnings"))
		fail_msg("iasl dsdt.dsl failed (%d):\n%s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/recompiled.aml", dir);
	assert_int_equal(access(cmd, R_OK), 0);
}

static bool have_iasl(void)
{
	return system("iasl -v >/dev/null 2>&1") == 0;
}

static void test_iasl_1cpu(void **state)
{
	(void)state;
	if (!have_iasl())
		skip();
	iasl_check(1, 0);
}

static void test_iasl_2cpus(void **state)
{
	(void)state;
	if (!have_iasl())
		skip();
	iasl_check(2, 2);
}

static void test_iasl_64cpus(void **state)
{
	(void)state;
	if (!have_iasl())
		skip();
	iasl_check(VM_MAX_CPUS, VIRTIO_MMIO_MAX_DEVICES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_1cpu),
	    cmocka_unit_test(test_tables_2cpus_virtio),
	    cmocka_unit_test(test_tables_max),
	    cmocka_unit_test_teardown(test_iasl_1cpu, iasl_teardown),
	    cmocka_unit_test_teardown(test_iasl_2cpus, iasl_teardown),
	    cmocka_unit_test_teardown(test_iasl_64cpus, iasl_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
