// SPDX-License-Identifier: MIT
/*
 * udpblast: send UDP datagrams to ADDR:PORT as fast as possible.
 *
 *   udpblast ADDR PORT COUNT SIZE
 *
 * First sends one datagram to ADDR port 9 (discard) and waits 500 ms so the
 * neighbour (ARP) entry is resolved before the burst, then sends COUNT
 * datagrams of SIZE payload bytes (a 32-bit sequence number first) without
 * pacing. Datagrams the path drops (a full tap queue) still count as sent:
 * the receiver's count is the measure. Prints "<sent> <bytes> <seconds>".
 * Exit 0, 2 on errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
	struct sockaddr_in sa = {.sin_family = AF_INET}, warm;
	unsigned long count, sent = 0, i;
	size_t size;
	int fd, sndbuf = 4 << 20;
	static char buf[65507];
	double t0;

	if (argc != 5) {
		fprintf(stderr, "usage: udpblast ADDR PORT COUNT SIZE\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "udpblast: bad address %s\n", argv[1]);
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	count = strtoul(argv[3], NULL, 10);
	size = strtoul(argv[4], NULL, 10);
	if (size < 4 || size > sizeof(buf)) {
		fprintf(stderr, "udpblast: size 4..%zu\n", sizeof(buf));
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpblast: socket");
		return 2;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
		       sizeof(sndbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	warm = sa;
	warm.sin_port = htons(9);
	if (sendto(fd, buf, 4, 0, (struct sockaddr *)&warm, sizeof(warm)) < 0)
		perror("udpblast: warm-up sendto");
	usleep(500000);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udpblast: connect");
		return 2;
	}
	t0 = now();
	for (i = 0; i < count; i++) {
		uint32_t seq = htonl((uint32_t)i);

		memcpy(buf, &seq, 4);
		if (send(fd, buf, size, 0) >= 0) {
			sent++;
		} else if (errno == ENOBUFS || errno == EAGAIN) {
			i--; /* a full queue: try again */
		} else if (errno != ECONNREFUSED) {
			perror("udpblast: send");
			return 2;
		}
	}
	printf("%lu %llu %.6f\n", sent, (unsigned long long)sent * size,
	       now() - t0);
	return 0;
}
