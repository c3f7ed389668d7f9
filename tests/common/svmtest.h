/* SPDX-License-Identifier: MIT */
/*
 * svmtest.h - a tiny helper for svmrt's tests: checks that stop the test
 * with a precise message, SKIP, a seeded random generator, checksums and
 * short-hands for svm_query / svm_stats.
 *
 * Exit codes: 0 pass, 1 fail, 77 skip (CTest's SKIP_RETURN_CODE).
 * Every helper is static inline so a test pays only for what it uses.
 */
#ifndef SVMTEST_H
#define SVMTEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svmrt.h"

#define SVMT_SKIP 77

#define SVMT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set in a fork()ed child: failures then leave with _exit, so no atexit
 * handler of the parent's libraries runs in the child. */
static inline int *svmt_in_child(void)
{
	static int in_child;

	return &in_child;
}

static inline void svmt_vfail(const char *file, int line, const char *fmt,
			      va_list ap) __attribute__((noreturn));
static inline void svmt_vfail(const char *file, int line, const char *fmt,
			      va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	if (*svmt_in_child())
		_exit(1);
	exit(1);
}

static inline void svmt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn)) SVMT_PRINTF(3, 4);
static inline void svmt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svmt_vfail(file, line, fmt, ap);
}

/* Prints "SKIP: <reason>" first and leaves with 77. */
static inline void svmt_skip(const char *fmt, ...)
	__attribute__((noreturn)) SVMT_PRINTF(1, 2);
static inline void svmt_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(SVMT_SKIP);
}

#define FAIL(...) svmt_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond))                                             \
			FAIL("check failed: %s", #cond);                 \
	} while (0)

#define CHECK_MSG(cond, ...)                                             \
	do {                                                             \
		if (!(cond))                                             \
			FAIL(__VA_ARGS__);                               \
	} while (0)

/* expr must return `want` (both svm_result_t). */
#define CHECK_RES(expr, want)                                            \
	do {                                                             \
		svm_result_t got_ = (expr);                              \
		svm_result_t want_ = (want);                             \
		if (got_ != want_)                                       \
			FAIL("%s returned %d (%s), expected %d (%s)",    \
			     #expr, (int)got_, svm_result_string(got_),  \
			     (int)want_, svm_result_string(want_));      \
	} while (0)

#define CHECK_OK(expr) CHECK_RES(expr, SVM_OK)
#define CHECK_INVAL(expr) CHECK_RES(expr, SVM_ERROR_INVALID_ARGUMENT)
#define CHECK_NOINIT(expr) CHECK_RES(expr, SVM_ERROR_NOT_INITIALIZED)

/* Two integers must be equal. */
#define CHECK_EQ(a, b)                                                   \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ != b_)                                            \
			FAIL("%s is %lld, expected %s = %lld", #a, a_,   \
			     #b, b_);                                    \
	} while (0)

/* a >= b for integers. */
#define CHECK_GE(a, b)                                                   \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ < b_)                                             \
			FAIL("%s is %lld, expected at least %s = %lld",  \
			     #a, a_, #b, b_);                            \
	} while (0)

static inline size_t svmt_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Sets an SVM_* knob unless the caller's environment already has it, so a
 * test run by hand behaves like the CTest entry. Call before svm_init(). */
static inline void svmt_default_env(const char *name, const char *value)
{
	setenv(name, value, 0);
}

static inline uint64_t svmt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Hand-offs between threads (a device kernel and a host thread) through a
 * counter in plain memory: waits until *step reaches want; -1 after 10 s,
 * so that a lost hand-off is a failure, not a hang.
 */
#define SVMT_WAIT_NS 10000000000ull

static inline int svmt_wait_step(const int *step, int want)
{
	uint64_t deadline = svmt_now_ns() + SVMT_WAIT_NS;

	while (__atomic_load_n(step, __ATOMIC_ACQUIRE) < want)
		if (svmt_now_ns() > deadline)
			return -1;
	return 0;
}

/* xorshift64*: a small, seeded, reproducible generator. */
static inline uint64_t svmt_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* The value a test stores at word i of a pattern with the given seed. */
static inline uint64_t svmt_pattern(uint64_t seed, size_t i)
{
	uint64_t x = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return x;
}

/* FNV-1a over bytes. */
static inline uint64_t svmt_checksum(const void *p, size_t bytes)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < bytes; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The svm_query entry of the page holding p (p page aligned). */
static inline svm_page_info_t svmt_page(const void *p)
{
	svm_page_info_t info;

	CHECK_OK(svm_query(p, svmt_page_size(), &info, 1));
	return info;
}

static inline int svmt_location(const void *p)
{
	return svmt_page(p).location;
}

/* How many pages of [p, p + bytes) have `location` as their owner. */
static inline size_t svmt_count_at(const void *p, size_t bytes, int location)
{
	size_t n = (bytes + svmt_page_size() - 1) / svmt_page_size();
	svm_page_info_t *info = calloc(n, sizeof(*info));
	size_t count = 0;

	CHECK(info != NULL);
	CHECK_OK(svm_query(p, bytes, info, n));
	for (size_t i = 0; i < n; i++)
		count += info[i].location == location;
	free(info);
	return count;
}

static inline svm_stats_t svmt_stats(void)
{
	svm_stats_t s;

	memset(&s, 0, sizeof(s));
	CHECK_OK(svm_stats(&s));
	return s;
}

/* svm_init, and SKIP (not FAIL) when this machine has no SVM device at all
 * (no userfaultfd); every other failure is a real failure. */
static inline void svmt_init(void)
{
	svm_result_t r = svm_init();

	if (r == SVM_ERROR_NO_DEVICE)
		svmt_skip("svm_init: no device (%s); see the SVM log",
			  svm_result_string(r));
	CHECK_RES(r, SVM_OK);
}

/*
 * n scaled by SVMT_SCALE_PERCENT (default 100), at least 1: long tests do
 * less work where time is short (the VM harness runs them under TCG).
 */
static inline unsigned long svmt_scaled(unsigned long n)
{
	const char *s = getenv("SVMT_SCALE_PERCENT");
	unsigned long pct = s && *s ? strtoul(s, NULL, 10) : 100;
	unsigned long v = pct ? n * pct / 100 : n;

	return v ? v : 1;
}

/* The active backend ("kshim", "user", "ze"); svm_init must have run. */
static inline const char *svmt_backend(void)
{
	static svm_device_props_t props;

	CHECK_OK(svm_device_props(0, &props));
	return props.backend;
}

/*
 * For tests of one backend's internals: on kshim, SKIP with the reason.
 * Call after svm_init.
 */
static inline void svmt_skip_on_kshim(const char *why)
{
	if (!strcmp(svmt_backend(), "kshim"))
		svmt_skip("not for the kshim backend: %s", why);
}

static inline void *svmt_alloc(size_t bytes)
{
	void *p = NULL;

	CHECK_OK(svm_alloc(&p, bytes));
	CHECK(p != NULL);
	return p;
}

/* Reads one byte of every page: host first touch / CPU faults. */
static inline uint64_t svmt_touch_read(const void *p, size_t bytes)
{
	const volatile unsigned char *b = p;
	uint64_t sum = 0;

	for (size_t off = 0; off < bytes; off += svmt_page_size())
		sum += b[off];
	return sum;
}

#endif /* SVMTEST_H */
