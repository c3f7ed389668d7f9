/* SPDX-License-Identifier: MIT */
/*
 * A migration block that crosses a boundary between two VMAs of one
 * mapping (found by the soak, issue 15). Earlier allocations at the same
 * addresses leave the heap and views cut into anonymous VMAs that cannot
 * merge again (each got its own anon_vma while apart); UFFDIO_MOVE wants
 * each side inside one VMA and answered EINVAL for a block across the cut,
 * every time: a prefetch left the block behind as "unsupported" and a CPU
 * fault on it retried forever.
 *
 * Layout (4 KiB pages, SVM_GRANULARITY=16K): X (2 pages), S (1), Y (2);
 * S freed so X and Y are apart, both filled on the host and on device 0,
 * then everything freed and Z (5 pages) allocated over them: Z's first
 * block spans the old X | S | Y cuts.
 */
#define _GNU_SOURCE
#include "svmtest.h"

static size_t pg;

static void fill_and_send(uint64_t *p, size_t pages, uint64_t seed)
{
	for (size_t i = 0; i < pages * pg / 8; i++)
		p[i] = svmt_pattern(seed, i);
	CHECK_OK(svm_prefetch(p, pages * pg, 0, NULL));
	CHECK_OK(svm_prefetch(p, pages * pg, SVM_HOST, NULL));
	CHECK_OK(svm_prefetch(p, pages * pg, 0, NULL));
}

int main(void)
{
	svm_migrate_report_t rep;
	char *x, *s, *y, *z;

	svmt_default_env("SVM_GRANULARITY", "16K");
	svmt_init();
	svmt_skip_on_kshim("user-backend VMA layout (kshim moves pages in the kernel)");
	pg = svmt_page_size();
	if (pg != 4096)
		svmt_skip("page size %zu", pg);
	for (int round = 0; round < 8; round++) {
		x = svmt_alloc(2 * pg);
		s = svmt_alloc(pg);
		y = svmt_alloc(2 * pg);
		if (s != x + 2 * pg || y != s + pg || ((uintptr_t)x & (16 * 1024 - 1)))
			svmt_skip("the heap did not place X, S, Y back to back at a 16 KiB "
				  "boundary (%p %p %p)", (void *)x, (void *)s, (void *)y);
		CHECK_OK(svm_free(s));
		fill_and_send((uint64_t *)x, 2, 1);
		fill_and_send((uint64_t *)y, 2, 2);
		CHECK_OK(svm_free(x));
		CHECK_OK(svm_free(y));

		z = svmt_alloc(5 * pg);
		CHECK_MSG(z == x, "Z is not where X was (%p, %p)", (void *)z, (void *)x);
		for (size_t i = 0; i < 5 * pg / 8; i++)
			((uint64_t *)z)[i] = svmt_pattern(3 + (uint64_t)round, i);
		for (int loc = 0; loc >= SVM_HOST; loc--) {
			CHECK_OK(svm_prefetch(z, 5 * pg, loc, &rep));
			CHECK_EQ(rep.failed, 0);
			CHECK_EQ(svmt_count_at(z, 5 * pg, loc), 5);
		}
		CHECK_OK(svm_prefetch(z, 5 * pg, 0, NULL));
		/* a CPU fault on the block completes */
		for (size_t i = 0; i < 5 * pg / 8; i++)
			CHECK_MSG(((uint64_t *)z)[i] == svmt_pattern(3 + (uint64_t)round, i),
				  "round %d: word %zu lost", round, i);
		CHECK_OK(svm_free(z));
	}
	CHECK_OK(svm_finalize());
	printf("PASS\n");
	return 0;
}
