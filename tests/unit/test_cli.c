// SPDX-License-Identifier: MIT
/* Unit tests for strict command-line parsing. */
#include <errno.h>
#include <stdlib.h>

#include "testlib.h"

#include "cli.h"
#include "util.h"

#define MiB (1ULL << 20)

struct ctx {
	struct vm_config cfg;
	char err[256];
	enum log_level saved_level;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	c.saved_level = log_level;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	log_level = c->saved_level; /* cli_parse may change the global */
	return 0;
}

/* Parse a NULL-terminated list of arguments after "vmm". */
static enum cli_result parse_v(struct ctx *c, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"vmm";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	memset(c->err, 0, sizeof(c->err));
	return cli_parse(argc, argv, &c->cfg, c->err, sizeof(c->err));
}

#define PARSE(c, ...) parse_v(c, (const char *const[]){__VA_ARGS__, NULL})

/* Expect CLI_ERROR with needle in the message. */
#define BAD(c, needle, ...)                                                    \
	do {                                                                   \
		enum cli_result r_ = PARSE(c, __VA_ARGS__);                    \
		if (r_ != CLI_ERROR)                                           \
			fail_msg("line %d: parse gave %d, want CLI_ERROR",     \
				 __LINE__, r_);                                \
		assert_contains((c)->err, needle);                             \
	} while (0)

static void test_defaults(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(PARSE(c, "--kernel", "k.elf"), CLI_RUN);
	assert_string_equal(c->cfg.kernel, "k.elf");
	assert_null(c->cfg.initrd);
	assert_null(c->cfg.cmdline);
	assert_null(c->cfg.dump_dtb);
	assert_int_equal(c->cfg.mem_size, 256 * MiB);
	assert_int_equal(c->cfg.ncpus, 1);
	assert_int_equal(c->cfg.ndisks, 0);
	assert_int_equal(c->cfg.nnets, 0);
	assert_int_equal(c->cfg.virtio_cmdline, -1);
	assert_int_equal(c->cfg.pvm_workarounds, -1);
	assert_false(c->cfg.stats);
	assert_false(c->cfg.trace);
	assert_false(c->cfg.no_default_cmdline);
}

static void test_every_option(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(
	    PARSE(c, "--kernel", "bzImage", "--initrd", "initrd.cpio",
		  "--cmdline", "console=ttyS0 quiet", "--no-default-cmdline",
		  "--mem", "1G", "--cpus", "4", "--disk", "a.img", "--disk",
		  "b.img,ro,serial=SN1", "--net", "tap=tap0", "--net",
		  "tap=tap1,mac=52:54:00:ab:CD:ef", "--virtio-cmdline", "off",
		  "--pvm-workarounds", "on", "--dump-dtb", "out.dtb", "--stats",
		  "--trace"),
	    CLI_RUN);
	assert_string_equal(c->cfg.kernel, "bzImage");
	assert_string_equal(c->cfg.initrd, "initrd.cpio");
	assert_string_equal(c->cfg.cmdline, "console=ttyS0 quiet");
	assert_true(c->cfg.no_default_cmdline);
	assert_int_equal(c->cfg.mem_size, 1ULL << 30);
	assert_int_equal(c->cfg.ncpus, 4);
	assert_int_equal(c->cfg.ndisks, 2);
	assert_string_equal(c->cfg.disks[0].path, "a.img");
	assert_false(c->cfg.disks[0].readonly);
	assert_null(c->cfg.disks[0].serial);
	assert_string_equal(c->cfg.disks[1].path, "b.img");
	assert_true(c->cfg.disks[1].readonly);
	assert_string_equal(c->cfg.disks[1].serial, "SN1");
	assert_int_equal(c->cfg.nnets, 2);
	assert_string_equal(c->cfg.nets[0].tap, "tap0");
	assert_false(c->cfg.nets[0].has_mac);
	assert_string_equal(c->cfg.nets[1].tap, "tap1");
	assert_true(c->cfg.nets[1].has_mac);
	assert_memory_equal(c->cfg.nets[1].mac,
			    ((uint8_t[]){0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}),
			    6);
	assert_int_equal(c->cfg.virtio_cmdline, 0);
	assert_int_equal(c->cfg.pvm_workarounds, 1);
	assert_string_equal(c->cfg.dump_dtb, "out.dtb");
	assert_true(c->cfg.stats);
	assert_true(c->cfg.trace);

	assert_int_equal(PARSE(c, "--kernel", "k", "--virtio-cmdline", "on",
			       "--pvm-workarounds", "auto"),
			 CLI_RUN);
	assert_int_equal(c->cfg.virtio_cmdline, 1);
	assert_int_equal(c->cfg.pvm_workarounds, -1);
	assert_int_equal(PARSE(c, "--kernel", "k", "--pvm-workarounds", "off"),
			 CLI_RUN);
	assert_int_equal(c->cfg.pvm_workarounds, 0);
	/* Option order does not matter; the kernel can come last. */
	assert_int_equal(PARSE(c, "--cpus", "2", "--kernel", "k"), CLI_RUN);
	assert_int_equal(c->cfg.ncpus, 2);
	/* A repeated option: the last wins. */
	assert_int_equal(PARSE(c, "--kernel", "a", "--kernel", "b", "--mem",
			       "64", "--mem", "128"),
			 CLI_RUN);
	assert_string_equal(c->cfg.kernel, "b");
	assert_int_equal(c->cfg.mem_size, 128 * MiB);
}

static void test_equals_form(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(PARSE(c, "--kernel=vmlinux", "--mem=2G", "--cpus=3",
			       "--cmdline=a=b c=d", "--disk=x.img,ro",
			       "--net=tap=t0,mac=02:00:00:00:00:01",
			       "--virtio-cmdline=on"),
			 CLI_RUN);
	assert_string_equal(c->cfg.kernel, "vmlinux");
	assert_int_equal(c->cfg.mem_size, 2ULL << 30);
	assert_int_equal(c->cfg.ncpus, 3);
	assert_string_equal(c->cfg.cmdline, "a=b c=d");
	assert_string_equal(c->cfg.disks[0].path, "x.img");
	assert_true(c->cfg.disks[0].readonly);
	assert_string_equal(c->cfg.nets[0].tap, "t0");
	assert_int_equal(c->cfg.nets[0].mac[5], 1);
	assert_int_equal(c->cfg.virtio_cmdline, 1);
	/* An empty value after '=' is a value (an empty command line). */
	assert_int_equal(PARSE(c, "--kernel=k", "--cmdline="), CLI_RUN);
	assert_string_equal(c->cfg.cmdline, "");
	BAD(c, "--cpus ''", "--kernel=k", "--cpus=");
	BAD(c, "--mem ''", "--kernel=k", "--mem=");
}

static void test_mem(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *v;
		uint64_t bytes;
	} ok[] = {
	    {"16", 16 * MiB},	     {"512", 512 * MiB},
	    {"16384K", 16 * MiB},    {"16388k", 16 * MiB + 4096},
	    {"64M", 64 * MiB},	     {"64m", 64 * MiB},
	    {"3G", 3ULL << 30},	     {"5g", 5ULL << 30},
	    {"1T", 1ULL << 40},	     {"1024G", 1ULL << 40},
	    {"0x4000000", 64 * MiB}, {"0x10M", 16 * MiB},
	    {"0016", 16 * MiB},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		if (PARSE(c, "--kernel", "k", "--mem", ok[i].v) != CLI_RUN)
			fail_msg("--mem %s: %s", ok[i].v, c->err);
		assert_int_equal(c->cfg.mem_size, ok[i].bytes);
	}

	BAD(c, "--mem '0'", "--kernel", "k", "--mem", "0");
	assert_contains(c->err, "between 16M and 1T");
	BAD(c, "between", "--kernel", "k", "--mem", "0M");
	BAD(c, "between", "--kernel", "k", "--mem", "15");
	BAD(c, "between", "--kernel", "k", "--mem", "16383K");
	BAD(c, "between", "--kernel", "k", "--mem", "1025G");
	BAD(c, "between", "--kernel", "k", "--mem", "2T");
	BAD(c, "between", "--kernel", "k", "--mem", "1048577");
	BAD(c, "not a size", "--kernel", "k", "--mem", "-1");
	BAD(c, "not a size", "--kernel", "k", "--mem", "-64M");
	BAD(c, "not a size", "--kernel", "k", "--mem", "+64");
	BAD(c, "not a size", "--kernel", "k", "--mem", "64MB");
	BAD(c, "not a size", "--kernel", "k", "--mem", "64 ");
	BAD(c, "not a size", "--kernel", "k", "--mem", " 64");
	BAD(c, "not a size", "--kernel", "k", "--mem", "64x");
	BAD(c, "not a size", "--kernel", "k", "--mem", "1.5G");
	BAD(c, "not a size", "--kernel", "k", "--mem", "G");
	BAD(c, "not a size", "--kernel", "k", "--mem", "");
	BAD(c, "not a size", "--kernel", "k", "--mem", "1P");
	/* Overflow: in the MiB shift, in parse_u64, with a suffix. */
	BAD(c, "not a size", "--kernel", "k", "--mem", "17592186044416");
	BAD(c, "not a size", "--kernel", "k", "--mem", "99999999999999999999");
	BAD(c, "not a size", "--kernel", "k", "--mem", "16777216T");
	/* Big enough but not a multiple of 4 KiB. */
	BAD(c, "not a multiple of 4 KiB", "--kernel", "k", "--mem", "16385K");
	BAD(c, "--mem '0x1000001'", "--kernel", "k", "--mem", "0x1000001");
	assert_contains(c->err, "4 KiB");
}

static void test_cpus(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(PARSE(c, "--kernel", "k", "--cpus", "1"), CLI_RUN);
	assert_int_equal(c->cfg.ncpus, 1);
	assert_int_equal(PARSE(c, "--kernel", "k", "--cpus", "64"), CLI_RUN);
	assert_int_equal(c->cfg.ncpus, 64);
	BAD(c, "--cpus '0'", "--kernel", "k", "--cpus", "0");
	assert_contains(c->err, "from 1 to 64");
	BAD(c, "--cpus '65'", "--kernel", "k", "--cpus", "65");
	BAD(c, "--cpus '-1'", "--kernel", "k", "--cpus", "-1");
	BAD(c, "--cpus '2x'", "--kernel", "k", "--cpus", "2x");
	BAD(c, "--cpus '0x2'", "--kernel", "k", "--cpus", "0x2");
	BAD(c, "--cpus ' 2'", "--kernel", "k", "--cpus", " 2");
	BAD(c, "--cpus '4294967297'", "--kernel", "k", "--cpus", "4294967297");
	BAD(c, "--cpus '18446744073709551617'", "--kernel", "k", "--cpus",
	    "18446744073709551617");
}

static void test_bad_usage(void **state)
{
	struct ctx *c = *state;

	BAD(c, "no kernel", "--mem", "64");
	assert_contains(c->err, "--kernel");
	assert_int_equal(parse_v(c, (const char *const[]){NULL}), CLI_ERROR);
	assert_contains(c->err, "no kernel");

	BAD(c, "unknown option '--kernal'", "--kernal", "k");
	BAD(c, "unknown option '--memory'", "--kernel", "k", "--memory=1G");
	BAD(c, "unknown option", "--kernel", "k", "--");
	BAD(c, "unknown option", "--kernel", "k",
	    "--this-option-name-is-much-longer-than-the-buffer");
	BAD(c, "unknown option", "--kernel", "k",
	    "--this-option-name-is-much-longer-than-the-buffer=1");
	BAD(c, "unexpected argument 'k'", "--kernel=x", "k");
	BAD(c, "unexpected argument '-m'", "--kernel", "k", "-m", "64");
	BAD(c, "unexpected argument '-'", "--kernel", "k", "-");

	/* Missing values. */
	BAD(c, "option --kernel needs a value", "--kernel");
	BAD(c, "option --mem needs a value", "--kernel", "k", "--mem");
	BAD(c, "option --cpus needs a value", "--kernel", "k", "--cpus");
	BAD(c, "option --disk needs a value", "--kernel", "k", "--disk");
	BAD(c, "option --net needs a value", "--kernel", "k", "--net");
	BAD(c, "option --initrd needs a value", "--kernel", "k", "--initrd");
	BAD(c, "option --cmdline needs a value", "--kernel", "k", "--cmdline");
	BAD(c, "option --dump-dtb needs a value", "--kernel", "k",
	    "--dump-dtb");
	BAD(c, "option --virtio-cmdline needs a value", "--kernel", "k",
	    "--virtio-cmdline");
	BAD(c, "option --pvm-workarounds needs a value", "--kernel", "k",
	    "--pvm-workarounds");

	/* Flags given values. */
	BAD(c, "option --stats takes no value", "--kernel", "k", "--stats=1");
	BAD(c, "option --trace takes no value", "--kernel", "k", "--trace=on");
	BAD(c, "option --no-default-cmdline takes no value", "--kernel", "k",
	    "--no-default-cmdline=");

	/* on/off values. */
	BAD(c, "--virtio-cmdline 'auto'", "--kernel", "k", "--virtio-cmdline",
	    "auto");
	BAD(c, "--virtio-cmdline 'yes'", "--kernel", "k", "--virtio-cmdline",
	    "yes");
	BAD(c, "--pvm-workarounds 'On'", "--kernel", "k", "--pvm-workarounds",
	    "On");
	BAD(c, "on, off or auto", "--kernel", "k", "--pvm-workarounds", "");
}

static void test_help_version_verbosity(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(PARSE(c, "--help"), CLI_HELP);
	assert_int_equal(PARSE(c, "-h"), CLI_HELP);
	assert_int_equal(PARSE(c, "--kernel", "k", "--help"), CLI_HELP);
	assert_int_equal(PARSE(c, "--version"), CLI_VERSION);
	assert_int_equal(PARSE(c, "--version", "--bogus"), CLI_VERSION);
	/* --help comes before an error later on the line. */
	assert_int_equal(PARSE(c, "--help", "--cpus", "0"), CLI_HELP);
	/* ...but not before one earlier. */
	assert_int_equal(PARSE(c, "--cpus", "0", "--help"), CLI_ERROR);

	log_level = LOG_WARN;
	assert_int_equal(PARSE(c, "--kernel", "k", "-v"), CLI_RUN);
	assert_int_equal(log_level, LOG_DEBUG);
	assert_int_equal(PARSE(c, "--kernel", "k", "--quiet"), CLI_RUN);
	assert_int_equal(log_level, LOG_ERR);
	assert_int_equal(PARSE(c, "--verbose", "--kernel", "k"), CLI_RUN);
	assert_int_equal(log_level, LOG_DEBUG);
	assert_int_equal(PARSE(c, "-q", "--kernel", "k"), CLI_RUN);
	assert_int_equal(log_level, LOG_ERR);

	/* The usage text names every option. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	cli_usage(f);
	fclose(f);
	static const char *const opts[] = {"--kernel",
					   "--initrd",
					   "--cmdline",
					   "--no-default-cmdline",
					   "--mem",
					   "--cpus",
					   "--disk",
					   "--net",
					   "--virtio-cmdline",
					   "--pvm-workarounds",
					   "--dump-dtb",
					   "--stats",
					   "--trace",
					   "--verbose",
					   "--quiet",
					   "--help",
					   "--version"};
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		assert_contains(text, opts[i]);
	free(text);
}

static void test_disk(void **state)
{
	struct ctx *c = *state;
	struct disk_config dc;
	char err[256];

	(void)c;
	assert_int_equal(cli_parse_disk("/var/disk.img", &dc, err, sizeof(err)),
			 0);
	assert_string_equal(dc.path, "/var/disk.img");
	assert_false(dc.readonly);
	assert_null(dc.serial);
	assert_int_equal(cli_parse_disk("d.img,ro", &dc, err, sizeof(err)), 0);
	assert_string_equal(dc.path, "d.img");
	assert_true(dc.readonly);
	assert_int_equal(
	    cli_parse_disk("d.img,serial=ABC-123,ro", &dc, err, sizeof(err)),
	    0);
	assert_true(dc.readonly);
	assert_string_equal(dc.serial, "ABC-123");
	assert_int_equal(cli_parse_disk("d.img,serial=12345678901234567890",
					&dc, err, sizeof(err)),
			 0);
	assert_string_equal(dc.serial, "12345678901234567890");
	/* The path and serial point into dc's own copy. */
	assert_true(dc.path >= dc.opt && dc.path < dc.opt + sizeof(dc.opt));

	static const struct {
		const char *arg, *needle;
	} bad[] = {
	    {"", "no empty fields"},
	    {",ro", "no empty fields"},
	    {"d.img,,ro", "no empty fields"},
	    {"d.img,ro,ro", "at most once"},
	    {"d.img,serial=a b", "printable"},
	    {"d.img,rw", "unexpected 'rw'"},
	    {"d.img,ro=1", "unexpected 'ro=1'"},
	    {"d.img,RO", "unexpected 'RO'"},
	    {"d.img,serial", "unexpected 'serial'"},
	    {"d.img,serial=", "serial must be 1 to 20 characters"},
	    {"d.img,serial=123456789012345678901", "1 to 20"},
	    {"d.img,cache=none", "expected ro or serial=S"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(err, 0, sizeof(err));
		if (cli_parse_disk(bad[i].arg, &dc, err, sizeof(err)) !=
		    CLI_ERROR)
			fail_msg("--disk '%s' accepted", bad[i].arg);
		assert_contains(err, bad[i].needle);
		assert_contains(err, "--disk");
	}

	/* Too long for the copy. */
	static char longpath[5000];

	memset(longpath, 'a', sizeof(longpath) - 1);
	assert_int_equal(cli_parse_disk(longpath, &dc, err, sizeof(err)),
			 CLI_ERROR);
	assert_string_equal(
	    err, "--disk: option too long (4999 bytes, at most 4095)");
	longpath[4095] = '\0';
	assert_int_equal(cli_parse_disk(longpath, &dc, err, sizeof(err)), 0);
	assert_int_equal(strlen(dc.path), 4095);

	/* Through cli_parse, and the limit on the number of disks. */
	const char *args[2 + 2 * (VM_MAX_DISKS + 1) + 1];
	int n = 0;

	args[n++] = "--kernel";
	args[n++] = "k";
	for (int i = 0; i <= VM_MAX_DISKS; i++) {
		args[n++] = "--disk";
		args[n++] = "x.img";
	}
	args[n] = NULL;
	assert_int_equal(parse_v(c, args), CLI_ERROR);
	assert_contains(c->err, "too many --disk (at most 16)");
	args[n - 2] = NULL;
	assert_int_equal(parse_v(c, args), CLI_RUN);
	assert_int_equal(c->cfg.ndisks, VM_MAX_DISKS);
	BAD(c, "unexpected 'bogus'", "--kernel", "k", "--disk", "a,bogus");
}

static void test_net(void **state)
{
	struct ctx *c = *state;
	struct net_config nc;
	char err[256];

	assert_int_equal(cli_parse_net("tap=vmtap0", &nc, err, sizeof(err)), 0);
	assert_string_equal(nc.tap, "vmtap0");
	assert_false(nc.has_mac);
	assert_int_equal(
	    cli_parse_net("mac=52:54:00:12:34:56,tap=t", &nc, err, sizeof(err)),
	    0);
	assert_string_equal(nc.tap, "t");
	assert_true(nc.has_mac);
	assert_memory_equal(nc.mac,
			    ((uint8_t[]){0x52, 0x54, 0, 0x12, 0x34, 0x56}), 6);
	assert_int_equal(
	    cli_parse_net("tap=123456789012345", &nc, err, sizeof(err)), 0);
	assert_string_equal(nc.tap, "123456789012345");
	assert_int_equal(
	    cli_parse_net("tap=t,mac=FE:FF:FF:FF:FF:FF", &nc, err, sizeof(err)),
	    0);
	assert_int_equal(nc.mac[0], 0xfe);

	static const struct {
		const char *arg, *needle;
	} bad[] = {
	    {"", "no empty fields"},
	    {"mac=52:54:00:12:34:56", "tap=NAME is required"},
	    {"tap=", "tap name must be 1 to 15 characters"},
	    {"tap=1234567890123456", "1 to 15"},
	    {"tap=t,mac=", "mac must look like"},
	    {"tap=t,mac=01:00:5e:00:00:01", "unicast"},
	    {"tap=t,mac=ff:ff:ff:ff:ff:ff", "unicast"},
	    {"tap=t,mac=53:54:00:12:34:56", "mac"},
	    {"tap=t,mac=52:54:00:12:34", "mac"},
	    {"tap=t,mac=52:54:00:12:34:5", "mac"},
	    {"tap=t,mac=52:54:00:12:34:567", "mac"},
	    {"tap=t,mac=52:54:00:12:34:56:", "mac"},
	    {"tap=t,mac=52-54-00-12-34-56", "mac"},
	    {"tap=t,mac=5:54:00:12:34:56", "mac"},
	    {"tap=t,mac=g2:54:00:12:34:56", "mac"},
	    {"tap=t,mac=52:54:00:12:34:5g", "mac"},
	    {"tap=t,model=e1000", "unexpected 'model=e1000'"},
	    {"tap0", "unexpected 'tap0'"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(err, 0, sizeof(err));
		if (cli_parse_net(bad[i].arg, &nc, err, sizeof(err)) !=
		    CLI_ERROR)
			fail_msg("--net '%s' accepted", bad[i].arg);
		assert_contains(err, bad[i].needle);
		assert_contains(err, "--net");
	}
	static char longarg[1000];

	memset(longarg, 'a', sizeof(longarg) - 1);
	assert_int_equal(cli_parse_net(longarg, &nc, err, sizeof(err)),
			 CLI_ERROR);
	assert_string_equal(err,
			    "--net: option too long (999 bytes, at most 127)");

	const char *args[2 + 2 * (VM_MAX_NETS + 1) + 1];
	int n = 0;

	args[n++] = "--kernel";
	args[n++] = "k";
	for (int i = 0; i <= VM_MAX_NETS; i++) {
		args[n++] = "--net";
		args[n++] = "tap=t";
	}
	args[n] = NULL;
	assert_int_equal(parse_v(c, args), CLI_ERROR);
	assert_contains(c->err, "too many --net (at most 8)");
	args[n - 2] = NULL;
	assert_int_equal(parse_v(c, args), CLI_RUN);
	assert_int_equal(c->cfg.nnets, VM_MAX_NETS);
	BAD(c, "unicast", "--kernel", "k", "--net",
	    "tap=t,mac=33:33:00:00:00:01");
}

/* A small err buffer truncates the message but stays terminated. */
static void test_small_err_buffer(void **state)
{
	struct ctx *c = *state;
	char *argv[] = {"vmm", "--cpus", "12345", NULL};
	char err[8];

	memset(err, 'x', sizeof(err));
	assert_int_equal(cli_parse(3, argv, &c->cfg, err, sizeof(err)),
			 CLI_ERROR);
	assert_int_equal(err[7], '\0');
	assert_string_equal(err, "--cpus ");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_defaults),
	    T(test_every_option),
	    T(test_equals_form),
	    T(test_mem),
	    T(test_cpus),
	    T(test_bad_usage),
	    T(test_help_version_verbosity),
	    T(test_disk),
	    T(test_net),
	    T(test_small_err_buffer),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
