/* SPDX-License-Identifier: MIT */
/*
 * Migration granularity (SVM_GRANULARITY=64K): a fault moves the whole
 * aligned 64 KiB block that holds the faulting page, and never more than
 * the allocation. On kshim a CPU fault brings just its page home (the
 * driver's migrate_to_ram); device faults move the block. Allocations of 2 MiB or more are 2 MiB aligned, so block
 * boundaries are the same by address and by offset.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define GRAN (64u << 10)
#define ALLOC (2u << 20)

static size_t pg;
static int on_kshim; /* the shim brings one page home per CPU fault */

struct touch_args {
	unsigned char *addr;
};

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	struct touch_args *a = arg;
	volatile unsigned char *d = svm_device_ptr(ctx, a->addr);

	(void)index;
	*d = (unsigned char)(*d + 1);
}

/* Page i of p must be at `in` when i is inside [lo, hi), else at `out`. */
static void expect_block(unsigned char *p, size_t bytes, size_t lo, size_t hi,
			 int in, int out)
{
	size_t n = bytes / pg;
	svm_page_info_t *info = calloc(n, sizeof(*info));

	CHECK(info != NULL);
	CHECK_OK(svm_query(p, bytes, info, n));
	for (size_t i = 0; i < n; i++) {
		int want = (i * pg >= lo && i * pg < hi) ? in : out;

		CHECK_MSG(info[i].location == want,
			  "page %zu (offset %zu KiB) is at %d, expected %d", i,
			  i * pg >> 10, info[i].location, want);
	}
	free(info);
}

static void check_cpu_fault_block(unsigned char *p)
{
	size_t off = 5 * GRAN + 3 * pg + 100; /* inside block 5 */
	svm_stats_t before, after;

	memset(p, 0x5a, ALLOC);
	CHECK_OK(svm_prefetch(p, ALLOC, 0, NULL));
	before = svmt_stats();
	CHECK_EQ(p[off], 0x5a);
	after = svmt_stats();
	CHECK_EQ(after.cpu_faults - before.cpu_faults, 1);
	if (on_kshim) { /* SVM_GRANULARITY is for device faults there */
		CHECK_EQ(after.pages_to_host - before.pages_to_host, 1);
		expect_block(p, ALLOC, off & ~(pg - 1), (off & ~(pg - 1)) + pg, SVM_HOST, 0);
		CHECK_OK(svm_prefetch(p, ALLOC, SVM_HOST, NULL));
		return;
	}
	CHECK_EQ(after.pages_to_host - before.pages_to_host, GRAN / pg);
	expect_block(p, ALLOC, 5 * GRAN, 6 * GRAN, SVM_HOST, 0);

	/* The rest of the block is home: no more faults there. */
	for (size_t o = 5 * GRAN; o < 6 * GRAN; o += pg)
		CHECK_EQ(p[o], 0x5a);
	CHECK_EQ(svmt_stats().cpu_faults, after.cpu_faults);
	CHECK_OK(svm_prefetch(p, ALLOC, SVM_HOST, NULL));
}

static void check_device_fault_block(unsigned char *p)
{
	struct touch_args a = { p + 9 * GRAN + GRAN - 1 }; /* last byte */
	svm_stats_t before = svmt_stats(), after;

	expect_block(p, ALLOC, 0, 0, 0, SVM_HOST);
	CHECK_OK(svm_launch(0, 1, kernel_touch, &a));
	after = svmt_stats();
	CHECK_EQ(after.device_faults - before.device_faults, 1);
	CHECK_EQ(after.pages_to_device - before.pages_to_device, GRAN / pg);
	expect_block(p, ALLOC, 9 * GRAN, 10 * GRAN, 0, SVM_HOST);
	CHECK_EQ(p[9 * GRAN + GRAN - 1], 0x5b);
	CHECK_EQ(p[9 * GRAN], 0x5a);
}

/* A block is clamped to its allocation: 2 MiB + 3 pages, touch the tail. */
static void check_clamp(void)
{
	size_t bytes = ALLOC + 3 * pg;
	unsigned char *q = svmt_alloc(bytes);
	svm_stats_t before, after;

	memset(q, 1, bytes);
	CHECK_OK(svm_prefetch(q, bytes, 0, NULL));
	before = svmt_stats();
	CHECK_EQ(q[ALLOC + pg + 1], 1);
	after = svmt_stats();
	if (on_kshim) {
		CHECK_EQ(after.pages_to_host - before.pages_to_host, 1);
		expect_block(q, bytes, ALLOC + pg, ALLOC + 2 * pg, SVM_HOST, 0);
	} else {
		CHECK_EQ(after.pages_to_host - before.pages_to_host, 3);
		expect_block(q, bytes, ALLOC, bytes, SVM_HOST, 0);
	}
	CHECK_OK(svm_free(q));
}

int main(void)
{
	unsigned char *p;

	svmt_default_env("SVM_GRANULARITY", "64K");
	pg = svmt_page_size();
	svmt_init();
	on_kshim = !strcmp(svmt_backend(), "kshim");
	p = svmt_alloc(ALLOC);
	CHECK(((uintptr_t)p % ALLOC) == 0);
	check_cpu_fault_block(p);
	check_device_fault_block(p);
	check_clamp();
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("granularity: ok\n");
	return 0;
}
