/*
 * vmm guest /init: a tiny static program run as PID 1 from the initramfs.
 *
 * Mounts /proc, /sys and /dev, prints the marker line "vmm-guest-init: ready"
 * to /dev/console, then either powers off at once (kernel command line
 * contains "vmm.test=poweroff") or prints a few facts about the machine and
 * starts /bin/sh if present (else powers off).
 *
 * "vmm.test=tcpsink": listens on TCP 0.0.0.0:5001 (eth0 was configured by
 * the kernel's ip= option), prints "vmm-guest-init: tcp listening 5001",
 * accepts one connection, reads it to EOF and prints
 * "vmm-guest-init: tcp bytes=<N> fnv64=<16 hex digits>" (FNV-1a 64 of every
 * byte received; tests/tools/fnv64.c computes the same on the host), then
 * powers off.
 *
 * Build: gcc -static -Os -Wall -Wextra -o init init.c
 *
 * Note: on the PVM-based development/CI hosts guest user space cannot make
 * system calls, so this program crashes there on its first syscall; the
 * kernel still reaches "Run /init as init process". It is meant for real
 * hardware virtualization.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int console_fd = -1;

static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(console_fd >= 0 ? console_fd : 1, buf, (size_t)n) < 0) {
		/* nothing sensible to do */
	}
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* If power-off failed, PID 1 must not exit (that panics the kernel). */
	say("vmm-guest-init: power-off failed: %s\n", strerror(errno));
	for (;;)
		pause();
}

static void do_mount(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, NULL) != 0 && errno != EBUSY)
		say("vmm-guest-init: mount %s on %s failed: %s\n", type, dst,
		    strerror(errno));
}

/* Read a small file into buf, strip the trailing newline. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* Does the whitespace-separated kernel command line contain word? */
static int cmdline_has(const char *cmdline, const char *word)
{
	size_t len = strlen(word);
	const char *p = cmdline;

	while ((p = strstr(p, word)) != NULL) {
		int start_ok = (p == cmdline || p[-1] == ' ');
		int end_ok = (p[len] == '\0' || p[len] == ' ' || p[len] == '\n');
		if (start_ok && end_ok)
			return 1;
		p += len;
	}
	return 0;
}

static void list_dir(const char *label, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char line[768];
	size_t used = 0;
	int count = 0;

	line[0] = '\0';
	if (!d) {
		say("vmm-guest-init: %s: (cannot open %s: %s)\n", label, path,
		    strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		int n;

		if (e->d_name[0] == '.')
			continue;
		n = snprintf(line + used, sizeof(line) - used, " %s", e->d_name);
		if (n > 0 && (size_t)n < sizeof(line) - used)
			used += (size_t)n;
		count++;
	}
	closedir(d);
	say("vmm-guest-init: %s (%d):%s\n", label, count,
	    count ? line : " none");
}

static void print_facts(void)
{
	char buf[4096];

	if (read_file("/proc/sys/kernel/osrelease", buf, sizeof(buf)) == 0)
		say("vmm-guest-init: kernel %s\n", buf);
	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) == 0)
		say("vmm-guest-init: cpus online: %s (%ld)\n", buf,
		    sysconf(_SC_NPROCESSORS_ONLN));
	else
		say("vmm-guest-init: cpus online: unknown\n");
	if (read_file("/proc/meminfo", buf, sizeof(buf)) == 0) {
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		say("vmm-guest-init: %s\n", buf);
	}
	list_dir("block devices", "/sys/block");
	list_dir("network interfaces", "/sys/class/net");
}

static void run_shell(void)
{
	pid_t pid;
	int status;

	say("vmm-guest-init: starting /bin/sh\n");
	pid = fork();
	if (pid < 0) {
		say("vmm-guest-init: fork failed: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		char *const argv[] = { "/bin/sh", NULL };
		char *const envp[] = { "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
				       "HOME=/", "TERM=linux", NULL };
		int fd;

		setsid();
		/* Open /dev/console read-write; as session leader it becomes
		 * the controlling terminal. */
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execve(argv[0], argv, envp);
		say("vmm-guest-init: exec /bin/sh failed: %s\n", strerror(errno));
		_exit(127);
	}
	/* Reap everything until the shell exits (PID 1 adopts orphans). */
	for (;;) {
		pid_t w = wait(&status);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
	}
	say("vmm-guest-init: shell exited\n");
}

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL
#define TCPSINK_PORT 5001

/* Accept one TCP connection on TCPSINK_PORT, read it to EOF, report the
 * byte count and FNV-1a 64 hash. Returns 0 on success. */
static int tcp_sink(void)
{
	static unsigned char buf[256 * 1024];
	struct sockaddr_in addr;
	uint64_t hash = FNV64_OFFSET, bytes = 0;
	int one = 1, ls, cs;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		say("vmm-guest-init: tcp socket failed: %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		say("vmm-guest-init: tcp SO_REUSEADDR failed: %s\n",
		    strerror(errno));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons(TCPSINK_PORT);
	if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(ls, 1) != 0) {
		say("vmm-guest-init: tcp bind/listen failed: %s\n",
		    strerror(errno));
		close(ls);
		return -1;
	}
	say("vmm-guest-init: tcp listening %d\n", TCPSINK_PORT);
	do
		cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	while (cs < 0 && errno == EINTR);
	close(ls);
	if (cs < 0) {
		say("vmm-guest-init: tcp accept failed: %s\n", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(cs, buf, sizeof(buf));
		ssize_t i;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			say("vmm-guest-init: tcp read failed after %" PRIu64
			    " bytes: %s\n", bytes, strerror(errno));
			close(cs);
			return -1;
		}
		for (i = 0; i < n; i++) {
			hash ^= buf[i];
			hash *= FNV64_PRIME;
		}
		bytes += (uint64_t)n;
	}
	close(cs);
	say("vmm-guest-init: tcp bytes=%" PRIu64 " fnv64=%016" PRIx64 "\n",
	    bytes, hash);
	return 0;
}

int main(void)
{
	char cmdline[4096] = "";

	do_mount("proc", "/proc", "proc");
	do_mount("sysfs", "/sys", "sysfs");
	do_mount("devtmpfs", "/dev", "devtmpfs");

	console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	say("vmm-guest-init: ready\n");

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (cmdline_has(cmdline, "vmm.test=poweroff")) {
		say("vmm-guest-init: vmm.test=poweroff, powering off\n");
		power_off();
	}
	if (cmdline_has(cmdline, "vmm.test=tcpsink")) {
		tcp_sink();
		say("vmm-guest-init: powering off\n");
		power_off();
	}

	print_facts();

	if (access("/bin/sh", X_OK) == 0)
		run_shell();
	else
		say("vmm-guest-init: no /bin/sh\n");

	say("vmm-guest-init: powering off\n");
	power_off();
	return 0;
}
