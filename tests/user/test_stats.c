/* SPDX-License-Identifier: MIT */
/*
 * svm_stats and svm_device_stats move consistently (SVM_GRANULARITY=4K):
 * counters only grow, bytes match pages, resident bytes match what
 * svm_query reports, device counters add up to the totals, fault service
 * time is accounted when faults happen.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define NPAGES 64

static size_t pg, words;

struct kargs {
	uint64_t *base;
	size_t words;
};

static void kernel_inc(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	d[0]++;
}

static void check_monotonic(const svm_stats_t *a, const svm_stats_t *b)
{
	CHECK(b->cpu_faults >= a->cpu_faults);
	CHECK(b->device_faults >= a->device_faults);
	CHECK(b->pages_to_device >= a->pages_to_device);
	CHECK(b->pages_to_host >= a->pages_to_host);
	CHECK(b->bytes_to_device >= a->bytes_to_device);
	CHECK(b->bytes_to_host >= a->bytes_to_host);
	CHECK(b->retries >= a->retries);
	for (int f = 0; f < SVM_FAILURE_COUNT; f++)
		CHECK(b->failures_by[f] >= a->failures_by[f]);
	CHECK(b->evictions >= a->evictions);
	CHECK(b->read_duplicates >= a->read_duplicates);
	CHECK(b->prefetches >= a->prefetches);
	CHECK(b->launches >= a->launches);
	CHECK(b->fault_service_ns >= a->fault_service_ns);
	CHECK(b->fault_service_max_ns >= a->fault_service_max_ns);
}

static void check_consistent(const void *p, const svm_stats_t *s)
{
	svm_stats_t dev, sum;
	int n = svm_device_count();

	CHECK_EQ(s->bytes_to_device, s->pages_to_device * pg);
	CHECK_EQ(s->bytes_to_host, s->pages_to_host * pg);
	CHECK(s->fault_service_max_ns <= s->fault_service_ns);
	if (s->cpu_faults + s->device_faults > 0)
		CHECK(s->fault_service_max_ns > 0);
	CHECK_EQ(s->failures_by[SVM_FAILURE_NONE], 0);

	memset(&sum, 0, sizeof(sum));
	for (int d = 0; d < n; d++) {
		CHECK_OK(svm_device_stats(d, &dev));
		CHECK_EQ(dev.device_resident_bytes,
			 svmt_count_at(p, NPAGES * pg, d) * pg);
		sum.device_resident_bytes += dev.device_resident_bytes;
		sum.device_faults += dev.device_faults;
	}
	CHECK_EQ(sum.device_resident_bytes, s->device_resident_bytes);
	CHECK_EQ(sum.device_faults, s->device_faults);
}

int main(void)
{
	uint64_t *p;
	svm_stats_t s0, s1, s2, s3;
	struct kargs a;

	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	s0 = svmt_stats();
	CHECK_EQ(s0.cpu_faults + s0.device_faults + s0.pages_to_device +
			 s0.pages_to_host + s0.prefetches + s0.launches +
			 s0.device_resident_bytes,
		 0);
	p = svmt_alloc(NPAGES * pg);
	memset(p, 1, NPAGES * pg);

	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, NULL));
	s1 = svmt_stats();
	check_monotonic(&s0, &s1);
	check_consistent(p, &s1);
	CHECK_EQ(s1.prefetches, 1);
	CHECK_EQ(s1.pages_to_device, NPAGES);
	CHECK_EQ(s1.device_resident_bytes, NPAGES * pg);

	/* Host touches every other page: one CPU fault each. */
	for (size_t i = 0; i < NPAGES; i += 2)
		p[i * words] += 1;
	s2 = svmt_stats();
	check_monotonic(&s1, &s2);
	check_consistent(p, &s2);
	CHECK_EQ(s2.cpu_faults - s1.cpu_faults, NPAGES / 2);
	CHECK_EQ(s2.pages_to_host - s1.pages_to_host, NPAGES / 2);
	CHECK_EQ(s2.device_resident_bytes, NPAGES / 2 * pg);
	CHECK(s2.fault_service_ns > s1.fault_service_ns);

	/* The device touches every page: faults only for those at home. */
	a = (struct kargs){ p, words };
	CHECK_OK(svm_launch(0, NPAGES, kernel_inc, &a));
	s3 = svmt_stats();
	check_monotonic(&s2, &s3);
	check_consistent(p, &s3);
	CHECK_EQ(s3.device_faults - s2.device_faults, NPAGES / 2);
	CHECK_EQ(s3.pages_to_device - s2.pages_to_device, NPAGES / 2);
	CHECK_EQ(s3.launches - s2.launches, 1);
	CHECK_EQ(s3.device_resident_bytes, NPAGES * pg);

	/* Invalid calls do not count as prefetches or launches. */
	CHECK_INVAL(svm_prefetch(p, 0, 0, NULL));
	CHECK_INVAL(svm_launch(0, 0, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.prefetches, s3.prefetches);
	CHECK_EQ(s1.launches, s3.launches);

	CHECK_OK(svm_free(p));
	s1 = svmt_stats();
	CHECK_EQ(s1.device_resident_bytes, 0);
	CHECK_OK(svm_finalize());
	printf("stats: ok\n");
	return 0;
}
