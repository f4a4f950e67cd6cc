// SPDX-License-Identifier: MIT
/* Unit tests for the strict number parsers and read_file. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"

#include "util.h"

static void test_parse_u64_ok(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"0", 0},
	    {"1", 1},
	    {"007", 7},
	    {"4096", 4096},
	    {"4294967296", 4294967296ULL},
	    {"18446744073709551615", UINT64_MAX},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 12345;

		assert_int_equal(parse_u64(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
}

static void test_parse_u64_bad(void **state)
{
	static const struct {
		const char *s;
		int ret;
	} bad[] = {
	    {"", -EINVAL},
	    {"-1", -EINVAL},
	    {"+1", -EINVAL},
	    {" 1", -EINVAL},
	    {"1 ", -EINVAL},
	    {"1x", -EINVAL},
	    {"0x10", -EINVAL},
	    {"1K", -EINVAL},
	    {"1.5", -EINVAL},
	    {"abc", -EINVAL},
	    {"1\n", -EINVAL},
	    {"18446744073709551616", -ERANGE},
	    {"99999999999999999999999", -ERANGE},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 0xdead;

		if (parse_u64(bad[i].s, &v) != bad[i].ret)
			fail_msg("parse_u64(\"%s\") should give %d", bad[i].s,
				 bad[i].ret);
		assert_int_equal(v, 0xdead); /* untouched on error */
	}
	assert_int_equal(parse_u64(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_parse_size_ok(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"0", 0},
	    {"512", 512},
	    {"1k", 1024},
	    {"1K", 1024},
	    {"4M", 4ULL << 20},
	    {"256m", 256ULL << 20},
	    {"2G", 2ULL << 30},
	    {"1T", 1ULL << 40},
	    {"0x1000", 0x1000},
	    {"0XfF", 0xff},
	    {"0x10M", 16ULL << 20},
	    {"16777215T", 16777215ULL << 40},
	    {"17179869183G", 17179869183ULL << 30},
	    {"0xffffffffffffffff", UINT64_MAX},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 1;

		if (parse_size(ok[i].s, &v))
			fail_msg("parse_size(\"%s\") failed", ok[i].s);
		assert_int_equal(v, ok[i].v);
	}
}

static void test_parse_size_bad(void **state)
{
	static const struct {
		const char *s;
		int ret;
	} bad[] = {
	    {"", -EINVAL},
	    {"K", -EINVAL},
	    {"-1M", -EINVAL},
	    {"+1M", -EINVAL},
	    {"1MB", -EINVAL},
	    {"1KK", -EINVAL},
	    {"1 M", -EINVAL},
	    {"1P", -EINVAL},
	    {"0x", -EINVAL},
	    {"0xM", -EINVAL},
	    {"0xg", -EINVAL},
	    {"1.5G", -EINVAL},
	    {"M1", -EINVAL},
	    {"12abc", -EINVAL},
	    {"16777216T", -ERANGE},
	    {"17179869184G", -ERANGE},
	    {"0x10000000000000000", -ERANGE},
	    {"18446744073709551616", -ERANGE},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 0xdead;
		int ret = parse_size(bad[i].s, &v);

		if (ret != bad[i].ret)
			fail_msg("parse_size(\"%s\") gave %d, want %d",
				 bad[i].s, ret, bad[i].ret);
		assert_int_equal(v, 0xdead);
	}
	assert_int_equal(parse_size(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_align(void **state)
{
	(void)state;
	assert_int_equal(ALIGN_UP(0x1001ULL, 0x1000), 0x2000);
	assert_int_equal(ALIGN_UP(0x1000ULL, 0x1000), 0x1000);
	assert_int_equal(ALIGN_DOWN(0x1fffULL, 0x1000), 0x1000);
	assert_int_equal(ALIGN_DOWN(0xffffffffffffffffULL, 16),
			 0xfffffffffffffff0ULL);
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/vmm-test-util-XXXXXX";
	uint8_t *buf = NULL;
	size_t len = 99;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	/* Empty file: zero length, a buffer that can be freed. */
	assert_int_equal(read_file(path, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(buf);
	free(buf);
	assert_int_equal(write(fd, "hello, world", 12), 12);
	assert_int_equal(read_file(path, &buf, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, "hello, world", 12);
	free(buf);
	close(fd);
	unlink(path);
	assert_int_equal(read_file(path, &buf, &len), -ENOENT);
	assert_int_equal(read_file("/tmp", &buf, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_u64_ok),
	    cmocka_unit_test(test_parse_u64_bad),
	    cmocka_unit_test(test_parse_size_ok),
	    cmocka_unit_test(test_parse_size_bad),
	    cmocka_unit_test(test_align),
	    cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
