/* SPDX-License-Identifier: MIT */
/*
 * On-disk formats written by blk.elf, shared with the host-side checker
 * tests/tools/blkcheck.c. Freestanding: only <stdint.h>.
 *
 * Pattern mode: 512-byte sector s, 64-bit word w (0..63):
 *   word 0 = s ^ (seed << 40)             (says which sector it was meant for)
 *   word w = blkfmt_base(seed, s) + w * BLKFMT_STEP   for w >= 1
 *
 * Records mode: record i lives in sector i:
 *   word 0 = BLKFMT_REC_MAGIC, word 1 = i, word 2 = seed,
 *   word 3 = blkfmt_rec_sum() over the sector with word 3 taken as 0,
 *   words 4..63 = the pattern words of sector i with seed ^ BLKFMT_REC_SALT.
 */
#ifndef BLKFMT_H
#define BLKFMT_H

#include <stdint.h>

#define BLKFMT_WORDS 64 /* 64-bit words per 512-byte sector */
#define BLKFMT_STEP 0x0101010101010101ULL
#define BLKFMT_REC_MAGIC 0x31304345524b4c42ULL /* "BLKREC01" */
#define BLKFMT_REC_SALT 0x5a5a5a5a5a5a5a5aULL

/* splitmix64 finaliser: a cheap, well-mixed base value per sector. */
static inline uint64_t blkfmt_base(uint64_t seed, uint64_t sector)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + sector * 0xbf58476d1ce4e5b9ULL + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t blkfmt_word0(uint64_t seed, uint64_t sector)
{
	return sector ^ (seed << 40);
}

/* Fill one sector (64 words) with its pattern. */
static inline void blkfmt_fill(uint64_t *p, uint64_t seed, uint64_t sector)
{
	uint64_t v = blkfmt_base(seed, sector);

	p[0] = blkfmt_word0(seed, sector);
	for (int w = 1; w < BLKFMT_WORDS; w++)
		p[w] = v + (uint64_t)w * BLKFMT_STEP;
}

/* Index of the first word that differs from the pattern, or -1. */
static inline int blkfmt_check(const uint64_t *p, uint64_t seed, uint64_t sector)
{
	uint64_t v = blkfmt_base(seed, sector) + BLKFMT_STEP;

	if (p[0] != blkfmt_word0(seed, sector))
		return 0;
	for (int w = 1; w < BLKFMT_WORDS; w++, v += BLKFMT_STEP)
		if (p[w] != v)
			return w;
	return -1;
}

static inline uint64_t blkfmt_rec_sum(const uint64_t *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int w = 0; w < BLKFMT_WORDS; w++)
		h = (h ^ (w == 3 ? 0 : p[w])) * 0x100000001b3ULL;
	return h;
}

static inline void blkfmt_rec_fill(uint64_t *p, uint64_t seed, uint64_t i)
{
	blkfmt_fill(p, seed ^ BLKFMT_REC_SALT, i);
	p[0] = BLKFMT_REC_MAGIC;
	p[1] = i;
	p[2] = seed;
	p[3] = 0;
	p[3] = blkfmt_rec_sum(p);
}

/* 0: intact record i; else a short reason. */
static inline const char *blkfmt_rec_check(const uint64_t *p, uint64_t seed, uint64_t i)
{
	uint64_t pat[BLKFMT_WORDS];

	if (p[0] != BLKFMT_REC_MAGIC)
		return "bad magic";
	if (p[1] != i)
		return "wrong index";
	if (p[2] != seed)
		return "wrong seed";
	if (p[3] != blkfmt_rec_sum(p))
		return "bad checksum";
	blkfmt_fill(pat, seed ^ BLKFMT_REC_SALT, i);
	for (int w = 4; w < BLKFMT_WORDS; w++)
		if (p[w] != pat[w])
			return "bad body";
	return 0;
}

#endif
