// SPDX-License-Identifier: MIT
/*
 * blkcheck: checks on the host what guest-firmware blk.elf wrote to a disk
 * image (formats in guest-firmware/payloads/blkfmt.h).
 *
 *   blkcheck pattern FILE SEED
 *       every sector holds the pattern of its own number and SEED
 *   blkcheck records FILE SEED ACKED
 *       records 0..ACKED-1 (every record the guest acknowledged as durable)
 *       are present and intact; also reports how many records follow
 *
 * Prints one summary line; exit 0 if all is well, 1 on a mismatch, 2 on
 * usage or I/O errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../guest-firmware/payloads/blkfmt.h"

#define SECTOR 512

static int read_sector(int fd, uint64_t s, uint64_t *buf)
{
	ssize_t n = pread(fd, buf, SECTOR, (off_t)(s * SECTOR));

	if (n < 0) {
		fprintf(stderr, "blkcheck: read sector %" PRIu64 ": %s\n", s,
			strerror(errno));
		exit(2);
	}
	return n == SECTOR;
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (!*s || *end) {
		fprintf(stderr, "blkcheck: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t buf[BLKFMT_WORDS], seed, sectors, bad = 0;
	off_t size;
	int fd;

	if (argc < 4 ||
	    (strcmp(argv[1], "pattern") && strcmp(argv[1], "records")) ||
	    (!strcmp(argv[1], "records") && argc != 5) ||
	    (!strcmp(argv[1], "pattern") && argc != 4)) {
		fprintf(stderr, "usage: blkcheck pattern FILE SEED\n"
				"       blkcheck records FILE SEED ACKED\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "blkcheck: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	seed = num(argv[3]);
	size = lseek(fd, 0, SEEK_END);
	sectors = size < 0 ? 0 : (uint64_t)size / SECTOR;

	if (!strcmp(argv[1], "pattern")) {
		for (uint64_t s = 0; s < sectors; s++) {
			int w;

			read_sector(fd, s, buf);
			w = blkfmt_check(buf, seed, s);
			if (w < 0)
				continue;
			if (bad++ < 10)
				printf("blkcheck: sector %" PRIu64
				       " word %d: 0x%016" PRIx64
				       " (word 0: 0x%016" PRIx64 ")\n",
				       s, w, buf[w], buf[0]);
		}
		if (bad || !sectors) {
			printf("blkcheck: pattern FAILED: %" PRIu64
			       " of %" PRIu64 " sectors bad\n",
			       bad, sectors);
			return 1;
		}
		printf("blkcheck: pattern ok sectors=%" PRIu64 " seed=%" PRIu64
		       "\n",
		       sectors, seed);
		return 0;
	} else {
		uint64_t acked = num(argv[4]), extra = 0;

		if (acked > sectors) {
			printf(
			    "blkcheck: %" PRIu64
			    " records acknowledged but the disk has only %" PRIu64
			    " sectors\n",
			    acked, sectors);
			return 1;
		}
		for (uint64_t i = 0; i < acked; i++) {
			const char *why;

			read_sector(fd, i, buf);
			why = blkfmt_rec_check(buf, seed, i);
			if (why && bad++ < 10)
				printf("blkcheck: acknowledged record %" PRIu64
				       " lost: %s\n",
				       i, why);
		}
		/* Records after the last ack may or may not have made it: count them. */
		for (uint64_t i = acked; i < sectors; i++) {
			read_sector(fd, i, buf);
			if (blkfmt_rec_check(buf, seed, i))
				break;
			extra++;
		}
		if (bad) {
			printf("blkcheck: records FAILED: %" PRIu64
			       " of %" PRIu64 " acknowledged records lost\n",
			       bad, acked);
			return 1;
		}
		printf("blkcheck: records ok acked=%" PRIu64 " intact, %" PRIu64
		       " more written after the last ack\n",
		       acked, extra);
		return 0;
	}
}
