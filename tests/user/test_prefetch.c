/* SPDX-License-Identifier: MIT */
/*
 * The density prefetcher (SVM_PREFETCH, docs/configuration.md), counted:
 *  - a stream of device faults from one worker moves every page, and every
 *    page came either as a fault's own page or with the prefetcher
 *    (device_faults + prefetched_pages == pages), with far fewer faults
 *    than pages; the same back on the host;
 *  - a lone touch per 2 MiB moves one page: nothing is over-fetched;
 *  - pages kept in place by advice or a pin are never taken along;
 *  - a prefetch never evicts: a small device ends full, every byte right;
 *  - SVM_PREFETCH=off moves exactly the SVM_GRANULARITY block per fault.
 * The test runs with one device worker, so the order of faults is the
 * order of indices. On kshim the shim runs the prefetcher in its device
 * fault path (uAPI version 4); CPU faults there bring one page each (the
 * kernel's migrate_to_ram), so the host stream's fault bound is not
 * asserted there, only that every page came home with its bytes.
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "svmtest.h"

#define MIB (1ul << 20)

static size_t pg;
static bool kshim; /* CPU faults are the kernel's: no host-side prefetch */

struct kargs {
	uint64_t *p;
	size_t words; /* per page */
	size_t stride; /* pages between touches */
};

static void kernel_inc(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *w = svm_device_ptr(ctx, &a->p[i * a->stride * a->words]);

	*w += 1;
}

static void fill(uint64_t *p, size_t pages, size_t words)
{
	for (size_t i = 0; i < pages; i++)
		p[i * words] = i;
}

static void check_values(const uint64_t *p, size_t pages, size_t words, uint64_t add,
			 size_t stride)
{
	for (size_t i = 0; i < pages; i++)
		CHECK_MSG(p[i * words] == i + (i % stride ? 0 : add),
			  "page %zu holds %llu, expected %llu", i,
			  (unsigned long long)p[i * words],
			  (unsigned long long)(i + (i % stride ? 0 : add)));
}

/*
 * A new buffer of `pages` filled on the host, then one launch on device 0
 * that adds 1 to a word of every page; the stats around the launch.
 */
static uint64_t *device_pass(size_t pages, svm_stats_t *before, svm_stats_t *after)
{
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, pg / 8, 1 };

	fill(p, pages, pg / 8);
	*before = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	*after = svmt_stats();
	return p;
}

/* A device stream, then a host stream, with the prefetcher on (the default). */
static void stream(void)
{
	size_t pages = 8 * MIB / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	svm_stats_t s0, s1, s2;
	struct kargs a = { p, words, 1 };

	fill(p, pages, words);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
	CHECK_EQ((s1.device_faults - s0.device_faults) + (s1.prefetched_pages - s0.prefetched_pages),
		 pages);
	/* a few per doubling of what the stream has touched, not one per page */
	CHECK_MSG(s1.device_faults - s0.device_faults <= pages / 16,
		  "%llu device faults for %zu pages",
		  (unsigned long long)(s1.device_faults - s0.device_faults), pages);

	uint64_t sum = 0;

	for (size_t i = 0; i < pages; i++)
		sum += p[i * words];
	s2 = svmt_stats();
	CHECK_EQ(sum, (uint64_t)pages * (pages - 1) / 2 + pages);
	CHECK_EQ(s2.pages_to_host - s1.pages_to_host, pages);
	CHECK_EQ((s2.cpu_faults - s1.cpu_faults) + (s2.prefetched_pages - s1.prefetched_pages),
		 pages);
	if (!kshim)
		CHECK_MSG(s2.cpu_faults - s1.cpu_faults <= pages / 16,
			  "%llu CPU faults for %zu pages",
			  (unsigned long long)(s2.cpu_faults - s1.cpu_faults), pages);
	CHECK_EQ(s2.prefetched_evicted, s0.prefetched_evicted);
	printf("prefetch: stream of %zu pages: %llu device faults, %llu CPU faults\n", pages,
	       (unsigned long long)(s1.device_faults - s0.device_faults),
	       (unsigned long long)(s2.cpu_faults - s1.cpu_faults));
	CHECK_OK(svm_free(p));
}

/*
 * Ranges of odd sizes, not 2 MiB aligned (under 2 MiB) or crossing
 * chunks: every page arrives once, as a fault's or a prefetch's.
 */
static void odd_ranges(void)
{
	static const size_t sizes[] = { 3, 25, 513, 769, 1500 }; /* pages */

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t pages = sizes[k], words = pg / 8;
		uint64_t *p;
		svm_stats_t s0, s1;

		p = device_pass(pages, &s0, &s1);
		CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
		CHECK_EQ((s1.device_faults - s0.device_faults) +
				 (s1.prefetched_pages - s0.prefetched_pages),
			 pages);
		check_values(p, pages, words, 1, 1);
		CHECK_EQ(svmt_count_at(p, pages * pg, SVM_HOST), pages);
		CHECK_OK(svm_free(p));
	}
}

/* One touch per 2 MiB: one page each, nothing along. */
static void sparse(void)
{
	size_t pages = 16 * MIB / pg, words = pg / 8, stride = 2 * MIB / pg;
	uint64_t *p = svmt_alloc(pages * pg);
	svm_stats_t s0, s1;
	struct kargs a = { p, words, stride };

	fill(p, pages, words);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages / stride, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.device_faults - s0.device_faults, pages / stride);
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages / stride);
	CHECK_EQ(s1.prefetched_pages, s0.prefetched_pages);
	check_values(p, pages, words, 1, stride);
	CHECK_OK(svm_free(p));
}

/*
 * Advice and pins: in a stream over one 2 MiB region, the pages with
 * preferred location host, accessed-by the device, or pinned, stay home.
 */
static void respects_advice(void)
{
	size_t pages = 2 * MIB / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, words, 1 };
	svm_page_info_t info[512];

	CHECK(pages <= 512);
	fill(p, pages, words);
	CHECK_OK(svm_advise(p + 100 * words, 10 * pg, SVM_ADVISE_SET_PREFERRED_LOCATION, SVM_HOST));
	CHECK_OK(svm_advise(p + 200 * words, 10 * pg, SVM_ADVISE_SET_ACCESSED_BY, 0));
	CHECK_OK(svm_pin(p + 300 * words, 10 * pg));
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	CHECK_OK(svm_query(p, pages * pg, info, 512));
	for (size_t i = 0; i < pages; i++) {
		bool home = (i >= 100 && i < 110) || (i >= 200 && i < 210) || (i >= 300 && i < 310);

		CHECK_MSG(info[i].location == (home ? SVM_HOST : 0), "page %zu at %d", i,
			  info[i].location);
	}
	CHECK_OK(svm_unpin(p + 300 * words, 10 * pg));
	check_values(p, pages, words, 1, 1);
	CHECK_OK(svm_free(p));
}

/* A device smaller than the stream: faults evict, prefetches never do. */
static void small_device(size_t cap)
{
	size_t pages = 4 * cap / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, words, 1 };
	svm_stats_t s0, s1, d;

	fill(p, pages, words);
	s0 = svmt_stats();
	for (int round = 0; round < 2; round++)
		CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_OK(svm_device_stats(0, &d));
	CHECK(d.device_resident_bytes <= cap);
	CHECK(s1.evictions > s0.evictions);
	/* the second round's faults evict the first round's prefetched pages */
	CHECK(s1.prefetched_evicted > s0.prefetched_evicted);
	CHECK(s1.prefetched_evicted - s0.prefetched_evicted <=
	      s1.prefetched_pages - s0.prefetched_pages);
	check_values(p, pages, words, 2, 1);
	CHECK_OK(svm_free(p));
}

int main(int argc, char **argv)
{
	pg = svmt_page_size();
	svmt_init();
	kshim = !strcmp(svmt_backend(), "kshim");
	if (argc > 1 && !strcmp(argv[1], "fixed")) {
		/* SVM_PREFETCH=off, SVM_GRANULARITY unset: 64K blocks, nothing more */
		size_t pages = 4 * MIB / pg, words = pg / 8;
		svm_stats_t s0, s1;
		uint64_t *p = device_pass(pages, &s0, &s1);

		CHECK_EQ(s1.device_faults - s0.device_faults, pages / (64 * 1024 / pg));
		CHECK_EQ(s1.prefetched_pages, 0);
		check_values(p, pages, words, 1, 1);
		CHECK_OK(svm_free(p));
		CHECK_OK(svm_finalize());
		printf("prefetch off: ok\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "small")) {
		/* SVM_USER_DEVICE_MEMORY=1M (on kshim: the VM's module, 2 MiB) */
		svm_device_props_t props;

		CHECK_OK(svm_device_props(0, &props));
		CHECK_MSG(props.memory_bytes <= 2 * MIB, "device 0 has %llu bytes, not a small one",
			  (unsigned long long)props.memory_bytes);
		small_device(props.memory_bytes);
		CHECK_OK(svm_finalize());
		printf("prefetch small device: ok\n");
		return 0;
	}
	stream();
	odd_ranges();
	sparse();
	respects_advice();
	CHECK_OK(svm_finalize());
	printf("prefetch: ok\n");
	return 0;
}
