/* SPDX-License-Identifier: MIT */
/* Shared bits for the cmocka unit tests: includes and a few asserts. */
#ifndef TESTS_UNIT_TESTLIB_H
#define TESTS_UNIT_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The message in buf must mention needle (e.g. the name of the bad field). */
#define assert_contains(buf, needle)                                           \
	do {                                                                   \
		const char *b_ = (buf), *n_ = (needle);                        \
		if (!strstr(b_, n_))                                           \
			fail_msg("expected \"%s\" in \"%s\"", n_, b_);         \
	} while (0)

#define assert_not_contains(buf, needle)                                       \
	do {                                                                   \
		const char *b_ = (buf), *n_ = (needle);                        \
		if (strstr(b_, n_))                                            \
			fail_msg("did not expect \"%s\" in \"%s\"", n_, b_);   \
	} while (0)

/* Count non-overlapping occurrences of needle in hay. */
static inline size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0, l = strlen(needle);

	for (const char *p = hay; (p = strstr(p, needle)); p += l)
		n++;
	return n;
}

#endif
