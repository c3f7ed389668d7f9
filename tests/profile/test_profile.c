/* SPDX-License-Identifier: MIT */
/*
 * A workload that exercises every traced event kind, then writes its
 * svm_stats as JSON (argv[1]) before svm_finalize flushes the trace and the
 * profile. check_profile.py compares the files.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define PAGES 512

static void add_one(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i * 512] += 1;
}

int main(int argc, char **argv)
{
	size_t bytes = PAGES * svmt_page_size();
	svm_migrate_report_t r;
	uint64_t *a, *b;
	svm_stats_t s;
	FILE *f;

	if (argc != 2)
		FAIL("usage: %s stats.json", argv[0]);
	svmt_init();
	a = svmt_alloc(bytes);
	b = svmt_alloc(bytes);
	for (size_t i = 0; i < PAGES; i++)
		a[i * 512] = i;
	/* device faults, evictions (the device holds 256 pages), CPU faults */
	CHECK_OK(svm_launch(0, PAGES, add_one, a));
	for (size_t i = 0; i < PAGES; i++)
		CHECK_EQ(a[i * 512], i + 1);
	/* prefetch with injected BUSY failures: retries and failures */
	CHECK(svm_prefetch(b, bytes, 0, &r) == SVM_OK || r.failed > 0);
	CHECK_OK(svm_prefetch(b, bytes, SVM_HOST, NULL));
	s = svmt_stats();
	f = fopen(argv[1], "w");
	CHECK(f != NULL);
	fprintf(f, "{\"cpu_faults\":%llu,\"device_faults\":%llu,\"evictions\":%llu,"
		"\"retries\":%llu,\"launches\":%llu,\"prefetches\":%llu,\"failures\":[",
		(unsigned long long)s.cpu_faults, (unsigned long long)s.device_faults,
		(unsigned long long)s.evictions, (unsigned long long)s.retries,
		(unsigned long long)s.launches, (unsigned long long)s.prefetches);
	for (int c = 0; c < SVM_FAILURE_COUNT; c++)
		fprintf(f, "%s%llu", c ? "," : "", (unsigned long long)s.failures_by[c]);
	fprintf(f, "]}\n");
	fclose(f);
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_free(b));
	CHECK_OK(svm_finalize());
	return 0;
}
