// SPDX-License-Identifier: MIT
/*
 * fnv64: byte count and FNV-1a 64-bit hash of standard input.
 *
 *   fnv64 < FILE
 *
 * Prints "<bytes> <16 hex digits>", the same numbers the guest /init prints
 * in its vmm.test=tcpsink mode ("vmm-guest-init: tcp bytes=N fnv64=H").
 * Exit 0, or 2 on a read error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

int main(void)
{
	static unsigned char buf[1 << 20];
	uint64_t hash = FNV64_OFFSET, bytes = 0;

	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		const unsigned char *p, *end;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "fnv64: read: %s\n", strerror(errno));
			return 2;
		}
		for (p = buf, end = buf + n; p < end; p++) {
			hash ^= *p;
			hash *= FNV64_PRIME;
		}
		bytes += (uint64_t)n;
	}
	printf("%" PRIu64 " %016" PRIx64 "\n", bytes, hash);
	return 0;
}
