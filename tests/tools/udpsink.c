// SPDX-License-Identifier: MIT
/*
 * udpsink: count UDP datagrams arriving at ADDR:PORT.
 *
 *   udpsink ADDR PORT [COUNT] [IDLE_MS] [WAIT_MS]
 *
 * Binds ADDR:PORT (IP_FREEBIND: ADDR need not exist yet, so the sink can
 * start before the interface is configured), then counts datagrams and
 * payload bytes until COUNT arrived (0: no limit, the default), or IDLE_MS
 * (default 1000) passed without one after the first, or WAIT_MS (default
 * 60000) passed without any. Prints "<datagrams> <bytes> <seconds>", the
 * seconds from the first to the last datagram. Exit 0, 2 on errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned long count = 0, n = 0;
	unsigned long long bytes = 0;
	int idle_ms = 1000, wait_ms = 60000, fd, one = 1, rcvbuf = 16 << 20;
	double first = 0, last = 0;
	static char buf[65536];

	if (argc < 3 || argc > 6) {
		fprintf(
		    stderr,
		    "usage: udpsink ADDR PORT [COUNT] [IDLE_MS] [WAIT_MS]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "udpsink: bad address %s\n", argv[1]);
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (argc > 3)
		count = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		idle_ms = atoi(argv[4]);
	if (argc > 5)
		wait_ms = atoi(argv[5]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpsink: socket");
		return 2;
	}
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	/* Force needs CAP_NET_ADMIN; the plain one is capped by rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udpsink: bind");
		return 2;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, n ? idle_ms : wait_ms);
		ssize_t len;

		if (r < 0) {
			perror("udpsink: poll");
			return 2;
		}
		if (r == 0)
			break;
		/* Drain without blocking, then take one timestamp. */
		while ((len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			n++;
			bytes += (unsigned long long)len;
			if (n == 1)
				first = now();
			if (count && n >= count)
				break;
		}
		last = now();
		if (count && n >= count)
			break;
	}
	printf("%lu %llu %.6f\n", n, bytes, n ? last - first : 0.0);
	return 0;
}
