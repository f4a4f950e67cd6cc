/* SPDX-License-Identifier: MIT */
/* Logging, fatal set-up errors and strict number parsing. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))

enum log_level { LOG_ERR, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
extern enum log_level log_level; /* the one global: how chatty we are */

void vmm_log(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define pr_err(...)    vmm_log(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)   vmm_log(LOG_WARN, __VA_ARGS__)
#define pr_notice(...) vmm_log(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...)   vmm_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)  vmm_log(LOG_DEBUG, __VA_ARGS__)

/* Only during set-up: print "vmm: <msg>" and exit(1). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno)" appended. */
_Noreturn void die_errno(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Strict parsers: decimal digits only (parse_size also takes 0x hex and one
 * K/M/G/T suffix, binary units), no sign, no trailing junk, no overflow.
 * Return 0 or -EINVAL / -ERANGE.
 */
int parse_u64(const char *s, uint64_t *out);
int parse_size(const char *s, uint64_t *out);

uint64_t now_ns(void);

/* Read a whole file into a malloc'ed buffer; -errno on failure. */
int read_file(const char *path, uint8_t **buf, size_t *len);

#endif
