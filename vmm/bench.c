// SPDX-License-Identifier: MIT
/*
 * `vmm bench`: exit costs, start-up time and memory overhead of this VMM next
 * to a raw KVM_RUN loop (tests/tools/rawkvm) and QEMU microvm.
 *
 * Every guest runs as a child process with its serial console on a pipe. The
 * guest payload (guest-firmware/payloads/bench.c) does the timing with rdtsc
 * and prints result lines; this file parses them, so the three hosts are
 * measured by the same code. Targets are run interleaved (vmm, raw, qemu,
 * vmm, ...) so that drift on a noisy host hits all of them alike.
 *
 * Also here: vm_add_bench_device(), the glue that puts devices/benchdev on
 * the buses and its notify registers on ioeventfds.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "vm.h"

/* snprintf whose truncation is intended (error text, notes). */
#define SCOPY(dst, len, ...)                                                   \
	do {                                                                   \
		if (snprintf(dst, len, __VA_ARGS__) < 0)                       \
			(dst)[0] = '\0';                                       \
	} while (0)

/* ------------------------------------------------------------------ */
/* The bench device in a VM                                            */
/* ------------------------------------------------------------------ */

static void bench_notify(struct ev_handler *h, uint32_t events)
{
	struct vm_bench *b = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) == sizeof(n))
		__atomic_fetch_add(&b->dev.notify_events, n, __ATOMIC_RELAXED);
}

static void bench_stats(void *opaque, FILE *out)
{
	struct vm_bench *b = opaque;

	fprintf(out,
		"\nbench device: %lu reads, %lu writes, %lu ioeventfd "
		"notifications, %lu notify writes without ioeventfd\n",
		(unsigned long)b->dev.reads, (unsigned long)b->dev.writes,
		(unsigned long)b->dev.notify_events,
		(unsigned long)b->dev.notify_fallback);
}

void vm_add_bench_device(struct vm *vm, struct vm_bench *b)
{
	static const struct {
		uint64_t addr;
		bool pio;
	} notify[2] = {
	    {PORT_BENCH + BENCHDEV_PIO_NOTIFY, true},
	    {BENCH_MMIO_START + BENCHDEV_MMIO_NOTIFY, false},
	};
	int ret;

	memset(b, 0, sizeof(*b));
	ret = bus_register(&vm->pio, PORT_BENCH, PORT_BENCH_LEN, "bench",
			   &benchdev_pio_ops, &b->dev);
	if (!ret)
		ret = bus_register(&vm->mmio, BENCH_MMIO_START, BENCH_MMIO_SIZE,
				   "bench", &benchdev_mmio_ops, &b->dev);
	if (ret)
		die("cannot register the bench device: %s", strerror(-ret));
	for (int i = 0; i < 2; i++) {
		struct ev_handler *h = &b->notify[i];

		*h = (struct ev_handler){.cb = bench_notify, .opaque = b};
		h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (h->fd < 0)
			die_errno("eventfd");
		ret = vm_ioeventfd(vm, notify[i].addr, 4, notify[i].pio, false,
				   0, h->fd);
		if (!ret)
			ret = evloop_add(&vm->ev, h, EPOLLIN);
		if (ret) {
			pr_warn("bench device: no ioeventfd at %#lx: %s",
				(unsigned long)notify[i].addr, strerror(-ret));
			close(h->fd);
			h->fd = -1;
		}
	}
	vm_add_stats(vm, bench_stats, b);
}

/* ------------------------------------------------------------------ */
/* Running guests as child processes                                   */
/* ------------------------------------------------------------------ */

enum target { T_VMM, T_RAW, T_QEMU, NR_TARGETS };
static const char *const target_name[NR_TARGETS] = {"vmm", "raw", "qemu"};

struct opts {
	bool json;
	unsigned iterations, runs, rounds, cpus, repeat;
	double timeout_s;
	char vmm[PATH_MAX], payload[PATH_MAX], hello[PATH_MAX];
	char rawkvm[PATH_MAX], qemu[PATH_MAX];
	/* Why a target is off (empty: on). */
	char off[NR_TARGETS][160];
};

struct child {
	pid_t pid;
	int out;   /* read end of the child's stdout */
	FILE *err; /* the child's stderr, for error messages */
	char *buf;
	size_t len, cap;
	uint64_t t_start;     /* ns (CLOCK_MONOTONIC), just before exec */
	double first_byte_ms; /* < 0 until a byte arrived */
	double cpu_ms;	      /* CPU time of all its threads at that byte */
	int status;	      /* wait status */
	bool exited, timed_out;
};

/*
 * CPU time used so far by all threads of pid (the living and the exited),
 * ms, < 0 if unknown: the process CPU-time clock, which unlike
 * /proc/PID/schedstat includes the running slice of a busy thread.
 */
static double proc_cpu_ms(pid_t pid)
{
	struct timespec ts;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) || clock_gettime(cid, &ts))
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Start argv[0] with its stdout on a pipe. The child waits at a gate until
 * `armed` (if given) has seen its pid, so that a probe such as the start-up
 * trace is in place before exec.
 */
static int child_spawn_armed(struct child *c, char *const argv[],
			     void (*armed)(pid_t pid))
{
	int p[2], gate[2];
	char go = 1;

	memset(c, 0, sizeof(*c));
	c->first_byte_ms = -1;
	c->cpu_ms = -1;
	c->err = tmpfile();
	if (!c->err || pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(gate, O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		close(gate[0]);
		close(gate[1]);
		return err;
	}
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(127); /* the parent gave up */
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(fileno(c->err), 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	close(gate[0]);
	c->out = p[0];
	if (armed)
		armed(c->pid);
	c->t_start = now_ns();
	if (write(gate[1], &go, 1) != 1)
		pr_warn("bench: cannot start child %d", (int)c->pid);
	close(gate[1]);
	return 0;
}

static int child_spawn(struct child *c, char *const argv[])
{
	return child_spawn_armed(c, argv, NULL);
}

/* Read output until `marker` appears (NULL: until EOF) or the deadline. */
static void child_read(struct child *c, const char *marker, double timeout_s)
{
	uint64_t deadline = c->t_start + (uint64_t)(timeout_s * 1e9);

	for (;;) {
		struct pollfd pfd = {.fd = c->out, .events = POLLIN};
		uint64_t now = now_ns();
		ssize_t n;

		if (marker && c->buf && strstr(c->buf, marker))
			return;
		if (now >= deadline) {
			c->timed_out = true;
			return;
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		if (c->len + 4097 > c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b = realloc(c->buf, cap);

			if (!b)
				die("out of memory");
			c->buf = b;
			c->cap = cap;
		}
		n = read(c->out, c->buf + c->len, 4096);
		if (n > 0 && c->first_byte_ms < 0) {
			c->first_byte_ms = (now_ns() - c->t_start) / 1e6;
			c->cpu_ms = proc_cpu_ms(c->pid);
		}
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return; /* EOF */
		}
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
}

/* Stop (if sig) and reap the child; closes its pipes. */
static void child_finish(struct child *c, int sig, double timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);

	if (c->timed_out && !sig)
		sig = SIGKILL;
	if (sig)
		kill(c->pid, sig);
	for (;;) {
		pid_t r = waitpid(c->pid, &c->status, WNOHANG);

		if (r == c->pid) {
			c->exited = true;
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (now_ns() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &c->status, 0);
			c->exited = true;
			break;
		}
		usleep(2000);
	}
	close(c->out);
}

static void child_free(struct child *c)
{
	if (c->err)
		fclose(c->err);
	free(c->buf);
}

/* The last line of the child's stderr, for a one-line error message. */
static void child_errline(struct child *c, char *out, size_t len)
{
	char line[512];

	out[0] = '\0';
	if (!c->err)
		return;
	rewind(c->err);
	while (fgets(line, sizeof(line), c->err))
		if (line[0] != '\n')
			SCOPY(out, len, "%s", line);
	out[strcspn(out, "\n")] = '\0';
}

/*
 * argv for one target. fdt (raw and QEMU only): a device tree from vmm
 * --dump-dtb, handed to the payload as vmm hands it its own (raw: --fdt;
 * QEMU: as the initrd, module 0, which the runtime finds by its magic).
 */
static void build_argv(const struct opts *o, enum target t, const char *kernel,
		       unsigned cpus, unsigned mem_mib, const char *cmdline,
		       const char *fdt, char *store, size_t store_len,
		       char **argv)
{
	int n = 0;
	char *p = store;

#define ARG(s) (argv[n++] = (s))
#define FMT(...)                                                               \
	do {                                                                   \
		int k_ =                                                       \
		    snprintf(p, store_len - (size_t)(p - store), __VA_ARGS__); \
		argv[n++] = p;                                                 \
		p += k_ + 1;                                                   \
	} while (0)
	switch (t) {
	case T_VMM:
		ARG((char *)o->vmm);
		ARG("-q");
		ARG("--kernel");
		ARG((char *)kernel);
		ARG("--mem");
		FMT("%uM", mem_mib);
		ARG("--cpus");
		FMT("%u", cpus);
		if (cmdline && *cmdline) {
			ARG("--cmdline");
			ARG((char *)cmdline);
		}
		break;
	case T_RAW:
		ARG((char *)o->rawkvm);
		ARG("--mem");
		FMT("%u", mem_mib);
		ARG("--cpus");
		FMT("%u", cpus);
		if (cmdline && *cmdline) {
			ARG("--cmdline");
			ARG((char *)cmdline);
		}
		if (fdt) {
			ARG("--fdt");
			ARG((char *)fdt);
		}
		ARG((char *)kernel);
		break;
	case T_QEMU:
		ARG((char *)o->qemu);
		ARG("-M");
		ARG("microvm");
		/*
		 * The in-kernel PIC, IOAPIC and PIT, as vmm has them: microvm
		 * defaults to a split irqchip, whose PIC lives in QEMU, and
		 * the "handled in the kernel" rows would then not be.
		 */
		ARG("-accel");
		ARG("kvm,kernel-irqchip=on");
		ARG("-cpu");
		ARG("host,-arch-capabilities");
		ARG("-m");
		FMT("%uM", mem_mib);
		ARG("-smp");
		FMT("%u", cpus);
		ARG("-nodefaults");
		ARG("-no-user-config");
		ARG("-nographic");
		ARG("-serial");
		ARG("stdio");
		ARG("-device");
		ARG("isa-debug-exit,iobase=0xf4,iosize=4");
		ARG("-kernel");
		ARG((char *)kernel);
		if (fdt) {
			ARG("-initrd");
			ARG((char *)fdt);
		}
		if (cmdline && *cmdline) {
			ARG("-append");
			ARG((char *)cmdline);
		}
		break;
	default:
		break;
	}
	argv[n] = NULL;
#undef ARG
#undef FMT
}

/* Append arguments (a NULL-terminated list) to an argv from build_argv. */
static void argv_append(char **argv, ...)
{
	va_list ap;
	char *a;
	int n = 0;

	while (argv[n])
		n++;
	va_start(ap, argv);
	while ((a = va_arg(ap, char *)))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
}

/* ------------------------------------------------------------------ */
/* Statistics and output helpers                                       */
/* ------------------------------------------------------------------ */

struct samples {
	double *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			die("out of memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0-100) by linear interpolation between closest ranks. */
static double percentile(const struct samples *s, double p)
{
	double *v, r, out;
	size_t lo;

	if (!s->n)
		return NAN;
	v = malloc(s->n * sizeof(*v));
	if (!v)
		die("out of memory");
	memcpy(v, s->v, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), cmp_double);
	r = p / 100.0 * (double)(s->n - 1);
	lo = (size_t)r;
	out = lo + 1 < s->n ? v[lo] + (r - (double)lo) * (v[lo + 1] - v[lo])
			    : v[lo];
	free(v);
	return out;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double x)
{
	if (isnan(x) || isinf(x))
		fputs("null", f);
	else
		fprintf(f, "%.4g", x);
}

static bool is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* The guest TSC rate, from a throw-away VM: the three targets all run with
 * KVM's default TSC frequency, so one number converts cycles to ns. */
static unsigned long host_tsc_khz(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm = -1, cpu = -1;
	long khz = -1;

	if (kvm >= 0)
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0)
		cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (cpu >= 0)
		khz = ioctl(cpu, KVM_GET_TSC_KHZ, 0);
	if (cpu >= 0)
		close(cpu);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return khz > 0 ? (unsigned long)khz : 0;
}

/* ------------------------------------------------------------------ */
/* bench exits                                                         */
/* ------------------------------------------------------------------ */

struct row_def {
	const char *name;
	const char *kind; /* loop, kernel, user, ioeventfd, irq */
	const char *what;
	const char *qemu; /* what the QEMU column measures, if different */
};

static const struct row_def rows[] = {
    {"baseline", "loop", "empty timing loop (subtracted from every other row)",
     NULL},
    {"cpuid", "kernel", "CPUID leaf 0", NULL},
    {"hypercall", "kernel", "VMCALL/VMMCALL, unknown nr (-KVM_ENOSYS)", NULL},
    {"pio-kernel", "kernel", "IN from 0x4d0 (in-kernel PIC ELCR)", NULL},
    {"msr-read", "kernel", "RDMSR 0x1b (APIC base)", NULL},
    {"pio-in", "user", "IN from the bench device (0x510)",
     "IN from the 16550 scratch register 0x3ff"},
    {"pio-out", "user", "OUT to the bench device (0x510)",
     "OUT to the 16550 scratch register 0x3ff"},
    {"mmio-read", "user", "MMIO read of the bench device (0xc0000008)",
     "MMIO read of virtio-mmio MagicValue (0xfeb00000)"},
    {"mmio-write", "user", "MMIO write to the bench device (0xc0000008)",
     "MMIO write of virtio-mmio DeviceFeaturesSel (0xfeb00014)"},
    {"ioeventfd-pio", "ioeventfd", "OUT to an ioeventfd port (0x514)",
     "n/a: microvm has no port ioeventfd without PCI"},
    {"ioeventfd-mmio", "ioeventfd", "MMIO write to an ioeventfd (0xc0000100)",
     "QueueNotify write to a virtio-rng-device (ioeventfd, empty queue)"},
    {"hlt-timer", "irq",
     "HLT woken by a LAPIC one-shot timer (arm+hlt+irq+EOI)", NULL},
    {"ipi", "irq", "IPI to the other vCPU and back (round trip, needs 2 vCPUs)",
     NULL},
};
#define NR_ROWS ARRAY_SIZE(rows)

struct exits_result {
	struct samples net[NR_TARGETS][NR_ROWS]; /* cycles per exit, per run */
	char skip[NR_TARGETS][NR_ROWS][160];
	char info[NR_TARGETS][256];
	unsigned boots[NR_TARGETS], failed[NR_TARGETS];
	char last_error[NR_TARGETS][640];
};

static int row_index(const char *name)
{
	for (size_t i = 0; i < NR_ROWS; i++)
		if (!strcmp(rows[i].name, name))
			return (int)i;
	return -1;
}

/* Parse one boot's output into r. false if the payload did not finish. */
static bool parse_exits(const char *out, enum target t, struct exits_result *r)
{
	struct samples raw[NR_ROWS];
	unsigned iters[NR_ROWS] = {0};
	bool end = false;
	const char *line = out;
	double base;

	memset(raw, 0, sizeof(raw));
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[4096], *save, *tok;
		int idx;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		buf[strcspn(buf, "\r")] = '\0';
		line = nl ? nl + 1 : NULL;
		if (!strncmp(buf, "BENCH-END", 9)) {
			end = true;
		} else if (!strncmp(buf, "BENCH-INFO ", 11)) {
			SCOPY(r->info[t], sizeof(r->info[t]), "%s", buf + 11);
		} else if (!strncmp(buf, "BENCH-SKIP ", 11)) {
			tok = strtok_r(buf + 11, " ", &save);
			idx = tok ? row_index(tok) : -1;
			if (idx >= 0)
				snprintf(r->skip[t][idx],
					 sizeof(r->skip[t][idx]), "%s",
					 save ? save : "skipped");
		} else if (!strncmp(buf, "BENCH-ROW ", 10)) {
			tok = strtok_r(buf + 10, " ", &save);
			idx = tok ? row_index(tok) : -1;
			tok = strtok_r(NULL, " ", &save);
			if (idx < 0 || !tok ||
			    !(iters[idx] = (unsigned)strtoul(tok, NULL, 10)))
				continue;
			while ((tok = strtok_r(NULL, " ", &save)))
				samples_add(&raw[idx],
					    strtod(tok, NULL) / iters[idx]);
		}
	}
	if (end) {
		base = raw[0].n ? percentile(&raw[0], 50) : 0;
		for (size_t i = 0; i < NR_ROWS; i++)
			for (size_t k = 0; k < raw[i].n; k++)
				samples_add(&r->net[t][i],
					    i == 0 ? raw[i].v[k]
						   : raw[i].v[k] - base);
	}
	for (size_t i = 0; i < NR_ROWS; i++)
		free(raw[i].v);
	return end;
}

static void run_exits_boot(const struct opts *o, enum target t,
			   struct exits_result *r)
{
	char cmdline[128], store[512], *argv[40], err[256];
	struct child c;
	int ret;

	/* Under kvm_pvm a VMCALL/VMMCALL from guest CPL0 never returns. */
	snprintf(cmdline, sizeof(cmdline), "iters=%u runs=%u cpus=%u%s",
		 o->iterations, o->runs, o->cpus,
		 is_pvm() ? " nohypercall" : "");
	build_argv(o, t, o->payload, o->cpus, 128, cmdline, NULL, store,
		   sizeof(store), argv);
	/* A modern virtio-mmio device whose QueueNotify QEMU serves with an
	 * ioeventfd, for the ioeventfd-mmio row. */
	if (t == T_QEMU)
		argv_append(argv, "-global", "virtio-mmio.force-legacy=false",
			    "-device", "virtio-rng-device", (char *)NULL);
	ret = child_spawn(&c, argv);
	if (ret) {
		snprintf(r->last_error[t], sizeof(r->last_error[t]),
			 "spawn: %s", strerror(-ret));
		r->failed[t]++;
		child_free(&c);
		return;
	}
	child_read(&c, NULL, o->timeout_s);
	child_finish(&c, 0, 5);
	r->boots[t]++;
	if (!c.buf || !parse_exits(c.buf, t, r)) {
		child_errline(&c, err, sizeof(err));
		snprintf(r->last_error[t], sizeof(r->last_error[t]),
			 "%s: no BENCH-END (%s; %s)", target_name[t],
			 c.timed_out ? "timed out" : "exited",
			 err[0] ? err : "no message");
		r->failed[t]++;
		pr_warn("bench: %s", r->last_error[t]);
	}
	child_free(&c);
}

static double med(const struct exits_result *r, enum target t, size_t i)
{
	return percentile(&r->net[t][i], 50);
}

static void print_exits_table(const struct opts *o,
			      const struct exits_result *r, unsigned long khz)
{
	double ns = khz ? 1e6 / (double)khz : NAN;

	printf(
	    "Exit costs: guest-timed, TSC cycles per exit (median of %u runs x "
	    "%u rounds of %u iterations, loop baseline subtracted); ns at %lu kHz.\n",
	    o->runs, o->rounds, o->iterations, khz);
	if (is_pvm())
		printf("Host KVM is kvm_pvm (software nested): these are not "
		       "bare-metal numbers.\n");
	printf("\n%-15s %-9s %10s %10s %10s %10s | %9s %9s %9s | %7s %8s\n",
	       "exit", "kind", "vmm cyc", "p10", "p90", "p99", "vmm ns",
	       "raw ns", "qemu ns", "vmm/raw", "vmm/qemu");
	for (size_t i = 0; i < NR_ROWS; i++) {
		char col[NR_TARGETS][24], ratio[2][16];

		for (int t = 0; t < NR_TARGETS; t++) {
			if (r->net[t][i].n)
				snprintf(col[t], sizeof(col[t]), "%.0f",
					 med(r, t, i) * ns);
			else
				snprintf(col[t], sizeof(col[t]), "%s",
					 o->off[t][0] ? "off" : "n/a");
		}
		for (int k = 0; k < 2; k++) {
			enum target other = k ? T_QEMU : T_RAW;

			if (i && r->net[T_VMM][i].n && r->net[other][i].n &&
			    med(r, other, i) > 0)
				snprintf(ratio[k], sizeof(ratio[k]), "%.2f",
					 med(r, T_VMM, i) / med(r, other, i));
			else
				snprintf(ratio[k], sizeof(ratio[k]), "-");
		}
		if (r->net[T_VMM][i].n)
			printf("%-15s %-9s %10.0f %10.0f %10.0f %10.0f",
			       rows[i].name, rows[i].kind, med(r, T_VMM, i),
			       percentile(&r->net[T_VMM][i], 10),
			       percentile(&r->net[T_VMM][i], 90),
			       percentile(&r->net[T_VMM][i], 99));
		else
			printf("%-15s %-9s %10s %10s %10s %10s", rows[i].name,
			       rows[i].kind, "-", "", "", "");
		printf(" | %9s %9s %9s | %7s %8s\n", col[0], col[1], col[2],
		       ratio[0], ratio[1]);
	}
	printf(
	    "\nQEMU has no bench device: pio-in/out use the 16550 scratch "
	    "register, mmio-read/write a virtio-mmio transport register,\n"
	    "ioeventfd-mmio the QueueNotify ioeventfd of a virtio-rng device "
	    "(ioeventfd-pio is n/a: no port ioeventfd without PCI).\n");
	for (size_t i = 0; i < NR_ROWS; i++)
		for (int t = 0; t < NR_TARGETS; t++)
			if (!r->net[t][i].n && r->skip[t][i][0])
				printf("  %s on %s skipped: %s\n", rows[i].name,
				       target_name[t], r->skip[t][i]);
	for (int t = 0; t < NR_TARGETS; t++) {
		if (o->off[t][0])
			printf("  %s: off (%s)\n", target_name[t], o->off[t]);
		else if (r->failed[t])
			printf("  %s: %u of %u boots failed; last: %s\n",
			       target_name[t], r->failed[t], r->boots[t],
			       r->last_error[t]);
	}
}

static void json_stats(FILE *f, const struct samples *s, double scale)
{
	static const double ps[] = {50, 10, 90, 99};
	static const char *const pn[] = {"median", "p10", "p90", "p99"};

	fputc('{', f);
	for (int k = 0; k < 4; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", pn[k]);
		json_num(f, percentile(s, ps[k]) * scale);
	}
	fputc('}', f);
}

static void print_exits_json(const struct opts *o, const struct exits_result *r,
			     unsigned long khz)
{
	FILE *f = stdout;
	double ns = khz ? 1e6 / (double)khz : NAN;

	fprintf(f, "{\n  \"benchmark\": \"exits\",\n  \"host\": {\"kvm\": ");
	json_str(f, is_pvm() ? "kvm_pvm" : "kvm");
	fprintf(f, ", \"tsc_khz\": %lu, \"note\": ", khz);
	json_str(f, is_pvm() ? "software nested KVM (kvm_pvm): guest CPL0 code "
			       "is emulated; not bare-metal numbers"
			     : "");
	fprintf(f,
		"},\n  \"config\": {\"iterations\": %u, \"runs\": %u, "
		"\"rounds\": %u, \"cpus\": %u},\n  \"targets\": {",
		o->iterations, o->runs, o->rounds, o->cpus);
	for (int t = 0; t < NR_TARGETS; t++) {
		fprintf(f, "%s\n    \"%s\": {\"enabled\": %s, \"off_reason\": ",
			t ? "," : "", target_name[t],
			o->off[t][0] ? "false" : "true");
		json_str(f, o->off[t]);
		fprintf(f, ", \"boots\": %u, \"failed\": %u, \"last_error\": ",
			r->boots[t], r->failed[t]);
		json_str(f, r->last_error[t]);
		fprintf(f, ", \"guest_info\": ");
		json_str(f, r->info[t]);
		fputc('}', f);
	}
	fprintf(f, "\n  },\n  \"rows\": [");
	for (size_t i = 0; i < NR_ROWS; i++) {
		fprintf(
		    f,
		    "%s\n    {\"name\": \"%s\", \"kind\": \"%s\", \"what\": ",
		    i ? "," : "", rows[i].name, rows[i].kind);
		json_str(f, rows[i].what);
		fprintf(f, ", \"qemu_what\": ");
		json_str(f, rows[i].qemu ? rows[i].qemu : rows[i].what);
		fprintf(f, ",\n     \"results\": {");
		for (int t = 0; t < NR_TARGETS; t++) {
			const struct samples *s = &r->net[t][i];

			fprintf(f, "%s\n       \"%s\": ", t ? "," : "",
				target_name[t]);
			if (!s->n) {
				fprintf(f, "{\"skipped\": ");
				json_str(f, o->off[t][0]       ? "target off"
					    : r->skip[t][i][0] ? r->skip[t][i]
							       : "no result");
				fputc('}', f);
				continue;
			}
			fprintf(f, "{\"samples\": %zu, \"cycles\": ", s->n);
			json_stats(f, s, 1);
			fprintf(f, ", \"ns\": ");
			json_stats(f, s, ns);
			fputc('}', f);
		}
		fprintf(f, "\n     },\n     \"ratio\": {\"vmm_raw\": ");
		json_num(f, i && r->net[T_VMM][i].n && r->net[T_RAW][i].n
				? med(r, T_VMM, i) / med(r, T_RAW, i)
				: NAN);
		fprintf(f, ", \"vmm_qemu\": ");
		json_num(f, i && r->net[T_VMM][i].n && r->net[T_QEMU][i].n
				? med(r, T_VMM, i) / med(r, T_QEMU, i)
				: NAN);
		fprintf(f, "}}");
	}
	fprintf(f, "\n  ]\n}\n");
}

static int bench_exits(const struct opts *o)
{
	struct exits_result *r = calloc(1, sizeof(*r));
	unsigned long khz = host_tsc_khz();
	int status = 0;

	if (!r)
		die("out of memory");
	for (unsigned round = 0; round < o->rounds; round++)
		for (int t = 0; t < NR_TARGETS; t++)
			if (!o->off[t][0])
				run_exits_boot(o, (enum target)t, r);
	if (o->json)
		print_exits_json(o, r, khz);
	else
		print_exits_table(o, r, khz);
	/* vmm must boot every time and give every row a result or a reason. */
	status = r->failed[T_VMM] || !r->boots[T_VMM];
	for (size_t i = 0; i < NR_ROWS; i++)
		if (!r->net[T_VMM][i].n && !r->skip[T_VMM][i][0])
			status = 1;
	if (status)
		fprintf(
		    stderr, "vmm bench: vmm did not produce every row%s%s\n",
		    r->last_error[T_VMM][0] ? ": " : "", r->last_error[T_VMM]);
	for (int t = 0; t < NR_TARGETS; t++)
		for (size_t i = 0; i < NR_ROWS; i++)
			free(r->net[t][i].v);
	free(r);
	return status;
}

/* ------------------------------------------------------------------ */
/* bench startup and memory                                            */
/* ------------------------------------------------------------------ */

/*
 * Exec to the first KVM_RUN, the same way for all three targets: the
 * kernel's syscall trace event for ioctl(KVM_RUN), limited to the child
 * (and the threads it starts) by set_event_pid, with the "mono" trace clock
 * so that its timestamps are CLOCK_MONOTONIC like now_ns(). Needs root and
 * tracefs; otherwise the column says why it is missing.
 */
static const char *const tracefs_dirs[] = {"/sys/kernel/tracing",
					   "/sys/kernel/debug/tracing"};
static struct {
	char dir[64];
	char clock[32]; /* trace_clock to put back */
	char why[160];	/* why there is no trace (empty: there is) */
} tr;

static int tr_write(const char *file, const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", tr.dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

#define TR_EVENT "events/syscalls/sys_enter_ioctl/"

static void tr_stop(void)
{
	tr_write(TR_EVENT "enable", "0");
	tr_write(TR_EVENT "filter", "0");
	tr_write("set_event_pid", "");
}

static void tr_open(void)
{
	char path[128];
	FILE *f;

	for (size_t i = 0; i < ARRAY_SIZE(tracefs_dirs); i++) {
		snprintf(path, sizeof(path), "%s/" TR_EVENT "enable",
			 tracefs_dirs[i]);
		if (access(path, W_OK) == 0) {
			snprintf(tr.dir, sizeof(tr.dir), "%s", tracefs_dirs[i]);
			break;
		}
	}
	if (!tr.dir[0]) {
		snprintf(tr.why, sizeof(tr.why),
			 "no writable tracefs with syscall events (root, "
			 "mount -t tracefs nodev /sys/kernel/tracing)");
		return;
	}
	/* trace_clock lists every clock, the current one in [brackets] */
	snprintf(path, sizeof(path), "%s/trace_clock", tr.dir);
	f = fopen(path, "r");
	if (f) {
		char line[512], *a, *b;

		if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) &&
		    (b = strchr(a, ']')) &&
		    b - a - 1 < (long)sizeof(tr.clock)) {
			memcpy(tr.clock, a + 1, (size_t)(b - a - 1));
			tr.clock[b - a - 1] = '\0';
		}
		fclose(f);
	}
	if (tr_write("trace_clock", "mono") ||
	    tr_write(TR_EVENT "filter", "cmd == 0xae80") /* KVM_RUN */) {
		snprintf(tr.why, sizeof(tr.why),
			 "tracefs: cannot set the mono clock or the filter");
		tr.dir[0] = '\0';
		return;
	}
	tr_write("options/event-fork", "1");
}

static void tr_close(void)
{
	if (!tr.dir[0])
		return;
	tr_stop();
	tr_write("options/event-fork", "0");
	if (tr.clock[0])
		tr_write("trace_clock", tr.clock);
	tr_write("trace", "");
}

/* Armed before exec: trace only this child and its threads. */
static void tr_arm(pid_t pid)
{
	char buf[16];

	if (!tr.dir[0])
		return;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	tr_write("trace", ""); /* empty the buffer */
	if (tr_write("set_event_pid", buf) ||
	    tr_write(TR_EVENT "filter", "cmd == 0xae80") ||
	    tr_write(TR_EVENT "enable", "1"))
		snprintf(tr.why, sizeof(tr.why), "tracefs: cannot arm");
}

/* ms from t_start to the child's first KVM_RUN (< 0: none traced). */
static double tr_first_run_ms(uint64_t t_start)
{
	char path[128], line[512];
	double first = -1;
	FILE *f;

	if (!tr.dir[0])
		return -1;
	tr_stop();
	snprintf(path, sizeof(path), "%s/trace", tr.dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* "  vcpu0-12491  [001] .....  1014.925728: sys_ioctl(fd: ...)" */
	while (fgets(line, sizeof(line), f)) {
		char *colon = strstr(line, ": sys_ioctl(");
		char *ts;

		if (line[0] == '#' || !colon)
			continue;
		*colon = '\0';
		ts = strrchr(line, ' ');
		if (ts) {
			double sec = strtod(ts + 1, NULL);

			if (sec > 0 && sec * 1e9 >= (double)t_start)
				first = (sec * 1e9 - (double)t_start) / 1e6;
		}
		break;
	}
	fclose(f);
	return first;
}

struct config_pt {
	unsigned cpus, mem_mib;
};
static const struct config_pt configs[] = {
    {1, 128}, {4, 128}, {1, 2048}, {4, 2048}};
#define NR_CONFIGS ARRAY_SIZE(configs)

/* What bench startup measures, per target and config. */
enum { SU_RUN, SU_BYTE, SU_CPU, NR_SU };
static const char *const su_key[NR_SU] = {"first_run_ms", "ms", "cpu_ms"};
static const char *const su_title[NR_SU] = {
    "exec to the first KVM_RUN", "exec to the first guest serial byte",
    "CPU time until that byte (all threads)"};

static void su_cell(const struct samples *s, char *cell, size_t len)
{
	if (s->n)
		snprintf(cell, len, "%.1f [%.1f-%.1f]", percentile(s, 50),
			 percentile(s, 0), percentile(s, 100));
	else
		snprintf(cell, len, "n/a");
}

static void su_json(FILE *f, const struct samples *s)
{
	if (!s->n) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"median\": ");
	json_num(f, percentile(s, 50));
	fprintf(f, ", \"min\": ");
	json_num(f, percentile(s, 0));
	fprintf(f, ", \"max\": ");
	json_num(f, percentile(s, 100));
	fputc('}', f);
}

/*
 * vmm's device tree for config k, written by `vmm --dump-dtb` into dir, so
 * that raw and QEMU hand the payload the same blob and all three guests do
 * the same work before their first byte. Returns the path or NULL.
 */
static const char *su_dtb(const struct opts *o, size_t k, const char *dir,
			  char *path, size_t len)
{
	char store[512], *argv[40];
	struct child c;

	snprintf(path, len, "%s/%ucpu-%uM.dtb", dir, configs[k].cpus,
		 configs[k].mem_mib);
	build_argv(o, T_VMM, o->hello, configs[k].cpus, configs[k].mem_mib,
		   NULL, NULL, store, sizeof(store), argv);
	argv_append(argv, "--dump-dtb", path, (char *)NULL);
	if (child_spawn(&c, argv)) {
		child_free(&c);
		return NULL;
	}
	child_read(&c, NULL, o->timeout_s);
	child_finish(&c, 0, 5);
	child_free(&c);
	return access(path, R_OK) == 0 ? path : NULL;
}

static int bench_startup(const struct opts *o)
{
	static struct samples su[NR_SU][NR_TARGETS][NR_CONFIGS];
	static char errs[NR_TARGETS][256];
	static char dtb[NR_CONFIGS][PATH_MAX];
	char store[512], *argv[40], dir[] = "/tmp/vmm-bench-XXXXXX";
	const char *fdt[NR_CONFIGS] = {NULL};
	bool same_fdt = mkdtemp(dir) != NULL;
	FILE *f = stdout;

	for (size_t k = 0; same_fdt && k < NR_CONFIGS; k++) {
		fdt[k] = su_dtb(o, k, dir, dtb[k], sizeof(dtb[k]));
		same_fdt = fdt[k] != NULL;
	}
	tr_open();
	for (unsigned rep = 0; rep < o->repeat; rep++)
		for (size_t k = 0; k < NR_CONFIGS; k++)
			for (int t = 0; t < NR_TARGETS; t++) {
				struct child c;
				double run_ms;

				if (o->off[t][0])
					continue;
				build_argv(
				    o, (enum target)t, o->hello,
				    configs[k].cpus, configs[k].mem_mib, NULL,
				    t == T_VMM || !same_fdt ? NULL : fdt[k],
				    store, sizeof(store), argv);
				if (child_spawn_armed(&c, argv, tr_arm) == 0) {
					child_read(&c, NULL, o->timeout_s);
					child_finish(&c, 0, 5);
					run_ms = tr_first_run_ms(c.t_start);
					if (run_ms >= 0)
						samples_add(&su[SU_RUN][t][k],
							    run_ms);
					if (c.cpu_ms >= 0)
						samples_add(&su[SU_CPU][t][k],
							    c.cpu_ms);
					if (c.first_byte_ms >= 0)
						samples_add(&su[SU_BYTE][t][k],
							    c.first_byte_ms);
					else
						child_errline(&c, errs[t],
							      sizeof(errs[t]));
				}
				child_free(&c);
			}
	tr_close();
	for (size_t k = 0; k < NR_CONFIGS; k++)
		if (fdt[k])
			unlink(fdt[k]);
	rmdir(dir);
	if (!o->json) {
		printf("Start-up with %s, ms, median [min-max] of %u\n%s\n",
		       o->hello, o->repeat,
		       same_fdt ? "raw and QEMU hand the payload vmm's device "
				  "tree, so all three guests do the same work"
				: "no device tree from vmm --dump-dtb: raw and "
				  "QEMU guests do less work before their first "
				  "byte");
		for (int m = 0; m < NR_SU; m++) {
			printf("\n%s\n%-14s", su_title[m], "config");
			for (int t = 0; t < NR_TARGETS; t++)
				printf(" %22s", target_name[t]);
			putchar('\n');
			for (size_t k = 0; k < NR_CONFIGS; k++) {
				char cfg[32];

				snprintf(cfg, sizeof(cfg), "%u vCPU %u MiB",
					 configs[k].cpus, configs[k].mem_mib);
				printf("%-14s", cfg);
				for (int t = 0; t < NR_TARGETS; t++) {
					char cell[40];

					su_cell(&su[m][t][k], cell,
						sizeof(cell));
					printf(" %22s", cell);
				}
				putchar('\n');
			}
		}
		if (tr.why[0])
			printf("  first KVM_RUN: %s\n", tr.why);
		for (int t = 0; t < NR_TARGETS; t++)
			if (o->off[t][0] || errs[t][0])
				printf("  %s: %s\n", target_name[t],
				       o->off[t][0] ? o->off[t] : errs[t]);
		return su[SU_BYTE][T_VMM][0].n ? 0 : 1;
	}
	fprintf(f, "{\n  \"benchmark\": \"startup\",\n  \"payload\": ");
	json_str(f, o->hello);
	fprintf(f,
		",\n  \"repeat\": %u,\n  \"same_fdt\": %s,\n"
		"  \"first_run_note\": ",
		o->repeat, same_fdt ? "true" : "false");
	json_str(f, tr.why);
	fprintf(f, ",\n  \"results\": [");
	for (size_t k = 0; k < NR_CONFIGS; k++)
		for (int t = 0; t < NR_TARGETS; t++) {
			fprintf(f,
				"%s\n    {\"target\": \"%s\", \"cpus\": %u, "
				"\"mem_mib\": %u, \"samples\": %zu",
				k || t ? "," : "", target_name[t],
				configs[k].cpus, configs[k].mem_mib,
				su[SU_BYTE][t][k].n);
			for (int m = 0; m < NR_SU; m++) {
				fprintf(f, ", \"%s\": ", su_key[m]);
				su_json(f, &su[m][t][k]);
			}
			fprintf(f, ", \"note\": ");
			json_str(f, o->off[t][0] ? o->off[t] : errs[t]);
			fputc('}', f);
		}
	fprintf(f, "\n  ]\n}\n");
	return su[SU_BYTE][T_VMM][0].n ? 0 : 1;
}

struct mem_use {
	bool ok;
	double rss_kb, pss_kb, guest_rss_kb, guest_pss_kb;
	char guest_map[160]; /* how guest RAM was found */
};

/*
 * Sum Rss/Pss over /proc/PID/smaps. Guest RAM: mappings whose name contains
 * `ram_name` (vmm: "memfd:vmm-guest-ram"), or else the largest mapping of at
 * least the guest's RAM size (QEMU's anonymous RAM block).
 */
static void read_smaps(pid_t pid, const char *ram_name, uint64_t ram_bytes,
		       struct mem_use *m)
{
	char path[64], line[1024];
	double cur_rss = 0, cur_pss = 0, big_rss = 0, big_pss = 0;
	uint64_t cur_size = 0, big_size = 0;
	bool cur_named = false, any_named = false;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
#define CLOSE_MAPPING()                                                        \
	do {                                                                   \
		if (cur_named) {                                               \
			m->guest_rss_kb += cur_rss;                            \
			m->guest_pss_kb += cur_pss;                            \
		} else if (cur_size >= ram_bytes && cur_size > big_size) {     \
			big_size = cur_size;                                   \
			big_rss = cur_rss;                                     \
			big_pss = cur_pss;                                     \
		}                                                              \
	} while (0)
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		double kb;
		int name_at = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi,
			   &name_at) >= 2 &&
		    name_at > 0 && strchr(line, '-') < strchr(line, ' ')) {
			CLOSE_MAPPING();
			cur_size = hi - lo;
			cur_rss = cur_pss = 0;
			cur_named =
			    ram_name && strstr(line + name_at, ram_name);
			any_named |= cur_named;
		} else if (sscanf(line, "Rss: %lf kB", &kb) == 1) {
			cur_rss = kb;
			m->rss_kb += kb;
		} else if (sscanf(line, "Pss: %lf kB", &kb) == 1) {
			cur_pss = kb;
			m->pss_kb += kb;
		}
	}
	CLOSE_MAPPING();
#undef CLOSE_MAPPING
	fclose(f);
	if (any_named) {
		snprintf(m->guest_map, sizeof(m->guest_map),
			 "mappings named %s", ram_name);
	} else if (big_size) {
		m->guest_rss_kb = big_rss;
		m->guest_pss_kb = big_pss;
		snprintf(m->guest_map, sizeof(m->guest_map),
			 "largest mapping >= RAM size (%lu MiB)",
			 (unsigned long)(big_size >> 20));
	} else {
		snprintf(m->guest_map, sizeof(m->guest_map), "not found");
	}
	m->ok = true;
}

static int bench_memory(const struct opts *o)
{
	static const char *const ram_name[NR_TARGETS] = {
	    "memfd:" GUEST_RAM_MEMFD_NAME, "memfd:rawkvm-guest-ram", NULL};
	static struct mem_use mu[NR_TARGETS][NR_CONFIGS];
	static char errs[NR_TARGETS][NR_CONFIGS][256];
	char store[512], *argv[40];
	FILE *f = stdout;
	int status = 0;

	for (size_t k = 0; k < NR_CONFIGS; k++)
		for (int t = 0; t < NR_TARGETS; t++) {
			struct child c;

			if (o->off[t][0])
				continue;
			build_argv(o, (enum target)t, o->payload,
				   configs[k].cpus, configs[k].mem_mib, "idle",
				   NULL, store, sizeof(store), argv);
			if (child_spawn(&c, argv)) {
				child_free(&c);
				continue;
			}
			child_read(&c, "ready", o->timeout_s);
			if (c.buf && strstr(c.buf, "ready")) {
				usleep(
				    200000); /* let start-up threads settle */
				read_smaps(c.pid, ram_name[t],
					   (uint64_t)configs[k].mem_mib << 20,
					   &mu[t][k]);
			}
			child_finish(&c, SIGTERM, 5);
			if (!mu[t][k].ok)
				child_errline(&c, errs[t][k],
					      sizeof(errs[t][k]));
			child_free(&c);
		}
	if (!mu[T_VMM][0].ok)
		status = 1;
	if (!o->json) {
		printf(
		    "Memory while idle (bench.elf idle), kB: RSS/PSS of the whole "
		    "process minus guest RAM\n\n%-16s %-5s %10s %10s %12s %12s  %s\n",
		    "config", "host", "RSS", "PSS", "guest RSS", "guest PSS",
		    "guest RAM found as");
		for (size_t k = 0; k < NR_CONFIGS; k++)
			for (int t = 0; t < NR_TARGETS; t++) {
				const struct mem_use *m = &mu[t][k];
				char cfg[32];

				snprintf(cfg, sizeof(cfg), "%u vCPU %u MiB",
					 configs[k].cpus, configs[k].mem_mib);
				if (!m->ok) {
					printf("%-16s %-5s %s\n", cfg,
					       target_name[t],
					       o->off[t][0]    ? o->off[t]
					       : errs[t][k][0] ? errs[t][k]
							       : "n/a");
					continue;
				}
				printf(
				    "%-16s %-5s %10.0f %10.0f %12.0f %12.0f  %s\n",
				    cfg, target_name[t],
				    m->rss_kb - m->guest_rss_kb,
				    m->pss_kb - m->guest_pss_kb,
				    m->guest_rss_kb, m->guest_pss_kb,
				    m->guest_map);
			}
		return status;
	}
	fprintf(f, "{\n  \"benchmark\": \"memory\",\n  \"results\": [");
	for (size_t k = 0; k < NR_CONFIGS; k++)
		for (int t = 0; t < NR_TARGETS; t++) {
			const struct mem_use *m = &mu[t][k];

			fprintf(f,
				"%s\n    {\"target\": \"%s\", \"cpus\": %u, "
				"\"mem_mib\": %u, ",
				k || t ? "," : "", target_name[t],
				configs[k].cpus, configs[k].mem_mib);
			if (m->ok)
				fprintf(
				    f,
				    "\"rss_kb\": %.0f, \"pss_kb\": %.0f, "
				    "\"guest_rss_kb\": %.0f, \"guest_pss_kb\": %.0f, "
				    "\"overhead_rss_kb\": %.0f, \"overhead_pss_kb\": %.0f, "
				    "\"guest_ram\": ",
				    m->rss_kb, m->pss_kb, m->guest_rss_kb,
				    m->guest_pss_kb,
				    m->rss_kb - m->guest_rss_kb,
				    m->pss_kb - m->guest_pss_kb);
			else
				fprintf(
				    f,
				    "\"overhead_rss_kb\": null, \"overhead_pss_kb\": "
				    "null, \"guest_ram\": ");
			json_str(f, m->ok	   ? m->guest_map
				    : o->off[t][0] ? o->off[t]
						   : errs[t][k]);
			fputc('}', f);
		}
	fprintf(f, "\n  ]\n}\n");
	return status;
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void bench_usage(FILE *out)
{
	fputs(
	    "usage: vmm bench exits   [--iterations N] [--runs R] [--rounds K] "
	    "[--cpus 1|2] [--json]\n"
	    "       vmm bench startup [--repeat N] [--json]\n"
	    "       vmm bench memory  [--json]\n"
	    "\n"
	    "exits:   guest-timed cost of each exit kind (bench.elf) under vmm, a\n"
	    "         raw KVM_RUN loop (rawkvm) and QEMU microvm, interleaved.\n"
	    "         Defaults: 1000 iterations, 21 runs, 3 rounds, 2 vCPUs.\n"
	    "startup: exec to the first KVM_RUN (needs root and tracefs) and to\n"
	    "         the first guest serial byte (hello.elf), and CPU time until\n"
	    "         then; 1/4 vCPUs, 128 MiB/2 GiB. Default 5 repeats.\n"
	    "memory:  RSS/PSS without guest RAM while bench.elf idles.\n"
	    "\n"
	    "  --payload PATH   bench.elf  (default: next to this binary,\n"
	    "                   ../build/guest-firmware/bench.elf)\n"
	    "  --hello PATH     hello.elf for startup\n"
	    "  --vmm PATH       the vmm to measure (default: this binary)\n"
	    "  --rawkvm PATH|none   (default: build/tests/rawkvm)\n"
	    "  --qemu PATH|none     (default: qemu-system-x86_64 from PATH)\n"
	    "  --timeout SECONDS    per guest (default 120)\n",
	    out);
}

static bool find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save, *d;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) == 0;
	}
	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

static int get_uint(const char *opt, const char *v, unsigned max, unsigned *out)
{
	uint64_t x;

	if (!v || parse_u64(v, &x) || x == 0 || x > max) {
		fprintf(stderr, "vmm bench: %s wants a number from 1 to %u\n",
			opt, max);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

int bench_main(int argc, char **argv)
{
	struct opts *o;
	char exe[PATH_MAX], dir[PATH_MAX], *slash;
	const char *cmd = argc > 1 ? argv[1] : "";
	bool qemu_none = false, raw_none = false;
	char qemu_arg[PATH_MAX] = "qemu-system-x86_64", raw_arg[PATH_MAX] = "";
	ssize_t n;
	int ret;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !*cmd) {
		bench_usage(*cmd ? stdout : stderr);
		return *cmd ? 0 : VM_EXIT_USAGE;
	}
	if (strcmp(cmd, "exits") && strcmp(cmd, "startup") &&
	    strcmp(cmd, "memory")) {
		fprintf(stderr, "vmm bench: unknown benchmark '%s'\n", cmd);
		bench_usage(stderr);
		return VM_EXIT_USAGE;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		die("out of memory");
	*o = (struct opts){.iterations = 1000,
			   .runs = 21,
			   .rounds = 3,
			   .cpus = 2,
			   .repeat = 5,
			   .timeout_s = 120};
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die_errno("readlink /proc/self/exe");
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", exe);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(o->vmm, sizeof(o->vmm), "%s", exe);
	SCOPY(o->payload, sizeof(o->payload), "%s/guest-firmware/bench.elf",
	      dir);
	SCOPY(o->hello, sizeof(o->hello), "%s/guest-firmware/hello.elf", dir);
	SCOPY(raw_arg, sizeof(raw_arg), "%s/tests/rawkvm", dir);

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *dst = NULL;
		unsigned tmp;

		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			bench_usage(stdout);
			free(o);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "vmm bench: %s needs a value\n", a);
			free(o);
			return VM_EXIT_USAGE;
		}
		i++;
		ret = 0;
		if (!strcmp(a, "--iterations"))
			ret = get_uint(a, v, 10000000, &o->iterations);
		else if (!strcmp(a, "--runs"))
			ret = get_uint(a, v, 64, &o->runs);
		else if (!strcmp(a, "--rounds"))
			ret = get_uint(a, v, 1000, &o->rounds);
		else if (!strcmp(a, "--repeat"))
			ret = get_uint(a, v, 1000, &o->repeat);
		else if (!strcmp(a, "--cpus"))
			ret = get_uint(a, v, 2, &o->cpus);
		else if (!strcmp(a, "--timeout")) {
			ret = get_uint(a, v, 3600, &tmp);
			o->timeout_s = tmp;
		} else if (!strcmp(a, "--payload"))
			dst = o->payload;
		else if (!strcmp(a, "--hello"))
			dst = o->hello;
		else if (!strcmp(a, "--vmm"))
			dst = o->vmm;
		else if (!strcmp(a, "--rawkvm"))
			dst = raw_arg;
		else if (!strcmp(a, "--qemu"))
			dst = qemu_arg;
		else {
			fprintf(stderr, "vmm bench: unknown option '%s'\n", a);
			ret = -1;
		}
		if (ret) {
			free(o);
			return VM_EXIT_USAGE;
		}
		if (dst)
			snprintf(dst, PATH_MAX, "%s", v);
	}
	raw_none = !strcmp(raw_arg, "none");
	qemu_none = !strcmp(qemu_arg, "none");
	if (raw_none)
		snprintf(o->off[T_RAW], sizeof(o->off[T_RAW]), "--rawkvm none");
	else if (!find_in_path(raw_arg, o->rawkvm, sizeof(o->rawkvm)))
		snprintf(o->off[T_RAW], sizeof(o->off[T_RAW]),
			 "%.100s not found (make build/tests/rawkvm)", raw_arg);
	if (qemu_none)
		snprintf(o->off[T_QEMU], sizeof(o->off[T_QEMU]), "--qemu none");
	else if (!find_in_path(qemu_arg, o->qemu, sizeof(o->qemu)))
		snprintf(o->off[T_QEMU], sizeof(o->off[T_QEMU]),
			 "%.100s not found (apt-get install qemu-system-x86)",
			 qemu_arg);
	if (access(!strcmp(cmd, "startup") ? o->hello : o->payload, R_OK)) {
		fprintf(stderr, "vmm bench: %s: %s (make firmware)\n",
			!strcmp(cmd, "startup") ? o->hello : o->payload,
			strerror(errno));
		free(o);
		return VM_EXIT_ERROR;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "exits"))
		ret = bench_exits(o);
	else if (!strcmp(cmd, "startup"))
		ret = bench_startup(o);
	else
		ret = bench_memory(o);
	free(o);
	return ret;
}
