// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

void cli_usage(FILE *out)
{
	fputs(
	    "usage: vmm --kernel IMAGE [options]\n"
	    "       vmm bench exits [--json] [...]   (see vmm bench --help)\n"
	    "\n"
	    "Boot IMAGE (a PVH ELF such as vmlinux or a guest-firmware payload, or a\n"
	    "bzImage) in a KVM virtual machine with its console on this terminal.\n"
	    "\n"
	    "  --kernel PATH         kernel image (required)\n"
	    "  --initrd PATH         initial ramdisk (uncompressed cpio is fastest)\n"
	    "  --cmdline STR         kernel command line, appended to the default\n"
	    "  --no-default-cmdline  use only --cmdline\n"
	    "  --mem SIZE            guest RAM: bytes with K/M/G/T suffix, or MiB\n"
	    "                        when there is no suffix (default 256M)\n"
	    "  --cpus N              number of vCPUs (default 1)\n"
	    "  --disk PATH[,ro][,serial=S]\n"
	    "                        virtio-blk disk on a raw image (repeatable)\n"
	    "  --net tap=NAME[,mac=MAC]\n"
	    "                        virtio-net on a tap device (repeatable)\n"
	    "  --virtio-cmdline on|off  also name each virtio device on the kernel\n"
	    "                        command line (virtio_mmio.device=), for Linux\n"
	    "                        without ACPI; default off: ACPI describes them\n"
	    "  --pvm-workarounds on|off|auto  kernel options for the kvm_pvm software\n"
	    "                        hypervisor (default auto: on when it is the host)\n"
	    "  --dump-dtb FILE       write the machine's device tree to FILE\n"
	    "  --stats               print exit and device statistics at exit\n"
	    "  --trace               print every exit to user space (slow)\n"
	    "  -v, --verbose         more messages; -q, --quiet fewer\n"
	    "  -h, --help            this text;  --version  the version\n"
	    "\n"
	    "Serial console: on a terminal, Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n"
	    "\n"
	    "Exit status: 0 guest powered off, 1 error, 2 bad usage, 3 guest reboot,\n"
	    "4 triple fault, 5 guest panic, 6 unhandled vCPU exit, 128+N signal N;\n"
	    "a guest writing V to the debug-exit port 0xf4 ends vmm with status V.\n",
	    out);
}

static int err_at(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_at(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

static int parse_onoff(const char *v, bool allow_auto, int *out)
{
	if (!strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "off"))
		*out = 0;
	else if (allow_auto && !strcmp(v, "auto"))
		*out = -1;
	else
		return -EINVAL;
	return 0;
}

/*
 * Split "a,b,c" in place into fields; unlike strtok, an empty field is an
 * error ("a,,b", ",a", "a,"). Returns the number of fields or -1.
 */
static int split_fields(char *s, char **field, int max)
{
	int n = 0;

	for (;;) {
		char *comma = strchr(s, ',');

		if (n == max)
			return -1;
		if (comma)
			*comma = '\0';
		if (!*s)
			return -1;
		field[n++] = s;
		if (!comma)
			return n;
		s = comma + 1;
	}
}

int cli_parse_disk(const char *arg, struct disk_config *dc, char *err,
		   size_t errlen)
{
	/* PATH[,ro][,serial=S] */
	char *field[4];
	int n;

	memset(dc, 0, sizeof(*dc));
	if (strlen(arg) >= sizeof(dc->opt))
		return err_at(err, errlen,
			      "--disk: option too long (%zu bytes, "
			      "at most %zu)",
			      strlen(arg), sizeof(dc->opt) - 1);
	n = split_fields(strcpy(dc->opt, arg), field, 4);
	if (n < 0)
		return err_at(err, errlen,
			      "--disk '%s': expected PATH[,ro][,serial=S] "
			      "with no empty fields",
			      arg);
	dc->path = field[0];
	for (int i = 1; i < n; i++) {
		const char *f = field[i];

		if (!strcmp(f, "ro") && !dc->readonly) {
			dc->readonly = true;
		} else if (!strncmp(f, "serial=", 7) && !dc->serial) {
			dc->serial = f + 7;
			if (!*dc->serial || strlen(dc->serial) > 20)
				return err_at(err, errlen,
					      "--disk '%s': serial must be "
					      "1 to 20 characters",
					      arg);
			for (const char *c = dc->serial; *c; c++)
				if (*c < 0x21 || *c > 0x7e)
					return err_at(
					    err, errlen,
					    "--disk '%s': serial must "
					    "be printable ASCII without spaces",
					    arg);
		} else {
			return err_at(
			    err, errlen,
			    "--disk '%s': unexpected '%s' "
			    "(expected ro or serial=S, each at most once)",
			    arg, f);
		}
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned hi, lo;
		char c1 = s[0], c2 = c1 ? s[1] : 0;

		if (!isxdigit((unsigned char)c1) ||
		    !isxdigit((unsigned char)c2))
			return -EINVAL;
		hi = (unsigned)(isdigit((unsigned char)c1)
				    ? c1 - '0'
				    : (tolower(c1) - 'a' + 10));
		lo = (unsigned)(isdigit((unsigned char)c2)
				    ? c2 - '0'
				    : (tolower(c2) - 'a' + 10));
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	if (*s || (mac[0] & 1))
		return -EINVAL; /* junk, or a multicast address */
	return 0;
}

int cli_parse_net(const char *arg, struct net_config *nc, char *err,
		  size_t errlen)
{
	/* tap=NAME[,mac=MAC] */
	char *field[3];
	int n;

	memset(nc, 0, sizeof(*nc));
	if (strlen(arg) >= sizeof(nc->opt))
		return err_at(err, errlen,
			      "--net: option too long (%zu bytes, "
			      "at most %zu)",
			      strlen(arg), sizeof(nc->opt) - 1);
	n = split_fields(strcpy(nc->opt, arg), field, 3);
	if (n < 0)
		return err_at(err, errlen,
			      "--net '%s': expected tap=NAME[,mac=MAC] "
			      "with no empty fields",
			      arg);
	for (int i = 0; i < n; i++) {
		const char *f = field[i];

		if (!strncmp(f, "tap=", 4) && !nc->tap) {
			nc->tap = f + 4;
			if (!*nc->tap || strlen(nc->tap) > 15)
				return err_at(err, errlen,
					      "--net '%s': tap name must be "
					      "1 to 15 characters",
					      arg);
		} else if (!strncmp(f, "mac=", 4) && !nc->has_mac) {
			if (parse_mac(f + 4, nc->mac))
				return err_at(err, errlen,
					      "--net '%s': mac must look like "
					      "52:54:00:12:34:56 (unicast)",
					      arg);
			nc->has_mac = true;
		} else {
			return err_at(
			    err, errlen,
			    "--net '%s': unexpected '%s' "
			    "(expected tap=NAME or mac=MAC, each at most once)",
			    arg, f);
		}
	}
	if (!nc->tap)
		return err_at(err, errlen, "--net '%s': tap=NAME is required",
			      arg);
	return 0;
}

/* --mem: a size with a suffix is bytes; a bare number is MiB. */
static int parse_mem(const char *v, uint64_t *out)
{
	size_t n = strlen(v);
	uint64_t x;
	int ret;

	if (n && v[n - 1] >= '0' && v[n - 1] <= '9' && strncmp(v, "0x", 2)) {
		ret = parse_u64(v, &x);
		if (ret)
			return ret;
		if (x > (UINT64_MAX >> 20))
			return -ERANGE;
		*out = x << 20;
		return 0;
	}
	return parse_size(v, out);
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg,
			  char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = DEFAULT_MEM;
	cfg->ncpus = 1;
	cfg->virtio_cmdline = -1;
	cfg->pvm_workarounds = -1;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char opt[32];

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return CLI_HELP;
		if (!strcmp(arg, "--version"))
			return CLI_VERSION;
		if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
			log_level = LOG_DEBUG;
			continue;
		}
		if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
			log_level = LOG_ERR;
			continue;
		}
		if (strncmp(arg, "--", 2))
			return err_at(err, errlen,
				      "unexpected argument '%s' "
				      "(options start with --)",
				      arg);
		/* Split --opt=value; otherwise the value is the next argument. */
		eq = strchr(arg, '=');
		if (eq) {
			if ((size_t)(eq - arg) >= sizeof(opt))
				return err_at(err, errlen,
					      "unknown option '%s'", arg);
			memcpy(opt, arg, (size_t)(eq - arg));
			opt[eq - arg] = '\0';
			val = eq + 1;
		} else {
			snprintf(opt, sizeof(opt), "%s", arg);
			if (strlen(arg) >= sizeof(opt))
				return err_at(err, errlen,
					      "unknown option '%s'", arg);
		}

		/* Flags without a value. */
		bool *flag = !strcmp(opt, "--stats")   ? &cfg->stats
			     : !strcmp(opt, "--trace") ? &cfg->trace
			     : !strcmp(opt, "--no-default-cmdline")
				 ? &cfg->no_default_cmdline
				 : NULL;
		if (flag) {
			if (val)
				return err_at(err, errlen,
					      "option %s takes no value", opt);
			*flag = true;
			continue;
		}

		static const char *const with_value[] = {"--kernel",
							 "--initrd",
							 "--cmdline",
							 "--mem",
							 "--cpus",
							 "--disk",
							 "--net",
							 "--dump-dtb",
							 "--virtio-cmdline",
							 "--pvm-workarounds"};
		bool known = false;

		for (size_t k = 0; k < ARRAY_SIZE(with_value); k++)
			known |= !strcmp(opt, with_value[k]);
		if (!known)
			return err_at(err, errlen,
				      "unknown option '%s' (see --help)", opt);
		if (!val) {
			if (i + 1 >= argc)
				return err_at(err, errlen,
					      "option %s needs a value", opt);
			val = argv[++i];
		}

		if (!strcmp(opt, "--kernel")) {
			cfg->kernel = val;
		} else if (!strcmp(opt, "--initrd")) {
			cfg->initrd = val;
		} else if (!strcmp(opt, "--cmdline")) {
			cfg->cmdline = val;
		} else if (!strcmp(opt, "--dump-dtb")) {
			cfg->dump_dtb = val;
		} else if (!strcmp(opt, "--mem")) {
			uint64_t m;

			if (parse_mem(val, &m))
				return err_at(err, errlen,
					      "--mem '%s': not a size (e.g. "
					      "512M, 2G, or 512 for MiB)",
					      val);
			if (m < GUEST_RAM_MIN || m > MAX_MEM)
				return err_at(err, errlen,
					      "--mem '%s': must be between "
					      "16M and 1T",
					      val);
			if (m % 4096)
				return err_at(err, errlen,
					      "--mem '%s': not a multiple of "
					      "4 KiB",
					      val);
			cfg->mem_size = m;
		} else if (!strcmp(opt, "--cpus")) {
			uint64_t n;

			if (parse_u64(val, &n) || n == 0 || n > VM_MAX_CPUS)
				return err_at(err, errlen,
					      "--cpus '%s': must be a whole "
					      "number from 1 to %d",
					      val, VM_MAX_CPUS);
			cfg->ncpus = (unsigned)n;
		} else if (!strcmp(opt, "--disk")) {
			if (cfg->ndisks == VM_MAX_DISKS)
				return err_at(err, errlen,
					      "too many --disk (at most %d)",
					      VM_MAX_DISKS);
			if (cli_parse_disk(val, &cfg->disks[cfg->ndisks], err,
					   errlen))
				return CLI_ERROR;
			cfg->ndisks++;
		} else if (!strcmp(opt, "--net")) {
			if (cfg->nnets == VM_MAX_NETS)
				return err_at(err, errlen,
					      "too many --net (at most %d)",
					      VM_MAX_NETS);
			if (cli_parse_net(val, &cfg->nets[cfg->nnets], err,
					  errlen))
				return CLI_ERROR;
			cfg->nnets++;
		} else if (!strcmp(opt, "--virtio-cmdline")) {
			if (parse_onoff(val, false, &cfg->virtio_cmdline))
				return err_at(err, errlen,
					      "--virtio-cmdline '%s': use on "
					      "or off",
					      val);
		} else if (!strcmp(opt, "--pvm-workarounds")) {
			if (parse_onoff(val, true, &cfg->pvm_workarounds))
				return err_at(err, errlen,
					      "--pvm-workarounds '%s': use "
					      "on, off or auto",
					      val);
		}
	}
	if (!cfg->kernel)
		return err_at(err, errlen,
			      "no kernel: --kernel IMAGE is required");
	return CLI_RUN;
}
