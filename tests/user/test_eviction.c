/* SPDX-License-Identifier: MIT */
/*
 * Device memory full (SVM_USER_DEVICE_MEMORY=1M, SVM_GRANULARITY=4K):
 * least recently used device pages are evicted to the host to make room;
 * a prefetch never evicts pages of its own request, so one larger than the
 * device leaves the rest behind as NO_MEMORY; preferred-location pages are
 * evicted last; a fault-driven pass over four times the device memory
 * keeps every byte.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define MIB (1u << 20)

static size_t pg, cap_pages;

struct pass_args {
	uint64_t *base;
	size_t words; /* per page */
	uint64_t add;
};

/* Index i adds `add` to every word of page i. */
static void kernel_add(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct pass_args *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	for (size_t j = 0; j < a->words; j++)
		d[j] += a->add;
}

static void fill(uint64_t *p, size_t bytes, uint64_t seed)
{
	for (size_t i = 0; i < bytes / sizeof(uint64_t); i++)
		p[i] = svmt_pattern(seed, i);
}

static void expect(const uint64_t *p, size_t bytes, uint64_t seed,
		   uint64_t add)
{
	for (size_t i = 0; i < bytes / sizeof(uint64_t); i++)
		CHECK_MSG(p[i] == svmt_pattern(seed, i) + add,
			  "word %zu (page %zu) is wrong", i,
			  i * sizeof(uint64_t) / pg);
}

/* Fill the device with A then B (half each); C must push out A, not B. */
static void check_lru(unsigned char *buf)
{
	size_t half = cap_pages / 2 * pg;
	unsigned char *a = buf, *b = buf + half, *c = buf + 2 * half;
	svm_stats_t before, after;
	svm_migrate_report_t rep;

	fill((uint64_t *)buf, 3 * half, 1);
	CHECK_OK(svm_prefetch(a, half, 0, &rep));
	CHECK_EQ(rep.moved, half / pg);
	CHECK_OK(svm_prefetch(b, half, 0, &rep));
	CHECK_EQ(rep.moved, half / pg);
	CHECK_EQ(svmt_stats().device_resident_bytes, cap_pages * pg);

	before = svmt_stats();
	CHECK_OK(svm_prefetch(c, half, 0, &rep));
	after = svmt_stats();
	CHECK_EQ(rep.moved, half / pg);
	CHECK_EQ(rep.failed, 0);
	CHECK_EQ(after.evictions - before.evictions, half / pg);
	CHECK_EQ(after.pages_to_host - before.pages_to_host, half / pg);
	CHECK_EQ(svmt_count_at(a, half, SVM_HOST), half / pg);
	CHECK_EQ(svmt_count_at(b, half, 0), half / pg);
	CHECK_EQ(svmt_count_at(c, half, 0), half / pg);
	CHECK_EQ(after.device_resident_bytes, cap_pages * pg);
	expect((uint64_t *)buf, 3 * half, 1, 0);
	CHECK_OK(svm_prefetch(buf, 3 * half, SVM_HOST, NULL));
}

/* A prefetch of twice the device: the first capacity's worth fits, the
 * rest is NO_MEMORY, and none of the request was evicted for itself. */
static void check_oversized_prefetch(unsigned char *buf)
{
	size_t bytes = 2 * cap_pages * pg;
	svm_migrate_report_t rep;
	svm_stats_t before = svmt_stats(), after;
	svm_page_info_t *info = calloc(2 * cap_pages, sizeof(*info));

	CHECK(info != NULL);
	fill((uint64_t *)buf, bytes, 2);
	CHECK_RES(svm_prefetch(buf, bytes, 0, &rep), SVM_PARTIAL);
	after = svmt_stats();
	CHECK_EQ(rep.pages, 2 * cap_pages);
	CHECK_EQ(rep.moved + rep.already, cap_pages);
	CHECK_EQ(rep.failed, cap_pages);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_NO_MEMORY], cap_pages);
	CHECK_EQ(after.evictions, before.evictions);
	CHECK_EQ(after.failures_by[SVM_FAILURE_NO_MEMORY] -
			 before.failures_by[SVM_FAILURE_NO_MEMORY],
		 cap_pages);
	CHECK_EQ(svmt_count_at(buf, bytes, 0), cap_pages);
	CHECK_OK(svm_query(buf, bytes, info, 2 * cap_pages));
	for (size_t i = 0; i < 2 * cap_pages; i++)
		if (info[i].location == SVM_HOST)
			CHECK_EQ(info[i].last_failure, SVM_FAILURE_NO_MEMORY);
	free(info);
	expect((uint64_t *)buf, bytes, 2, 0);
	CHECK_OK(svm_prefetch(buf, bytes, SVM_HOST, NULL));
}

/* Pages preferring device 0 stay while four device-sized waves of other
 * pages fault through it. */
static void check_preferred_evicted_last(unsigned char *buf, size_t bytes)
{
	size_t keep = 16 * pg;
	unsigned char *rest = buf + keep;
	size_t rest_bytes = bytes - keep;
	struct pass_args a = { (uint64_t *)rest, pg / sizeof(uint64_t), 0 };
	svm_stats_t before = svmt_stats();

	fill((uint64_t *)buf, bytes, 3);
	CHECK_OK(svm_advise(buf, keep, SVM_ADVISE_SET_PREFERRED_LOCATION, 0));
	CHECK_OK(svm_prefetch(buf, keep, 0, NULL));
	for (a.add = 1; a.add <= 2; a.add++)
		CHECK_OK(svm_launch(0, rest_bytes / pg, kernel_add, &a));
	CHECK(svmt_stats().evictions - before.evictions >= rest_bytes / pg);
	CHECK_EQ(svmt_count_at(buf, keep, 0), keep / pg);
	expect((uint64_t *)buf, keep, 3, 0);
	/* rest was filled with the pattern of seed 3 from offset `keep`. */
	for (size_t i = 0; i < rest_bytes / sizeof(uint64_t); i++)
		CHECK_EQ(((uint64_t *)rest)[i],
			 svmt_pattern(3, i + keep / sizeof(uint64_t)) + 3);
	CHECK_OK(svm_advise(buf, keep, SVM_ADVISE_UNSET_PREFERRED_LOCATION, 0));
}

int main(void)
{
	svm_device_props_t props;
	size_t bytes;
	unsigned char *buf;
	struct pass_args a;
	svm_stats_t before, after;

	svmt_default_env("SVM_USER_DEVICE_MEMORY", "1M");
	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	svmt_init();
	CHECK_OK(svm_device_props(0, &props));
	cap_pages = props.memory_bytes / pg;
	CHECK_MSG(cap_pages >= 16 && cap_pages <= 4096,
		  "device memory %llu: run with SVM_USER_DEVICE_MEMORY=1M",
		  (unsigned long long)props.memory_bytes);
	bytes = 4 * cap_pages * pg;
	buf = svmt_alloc(bytes);

	check_lru(buf);
	check_oversized_prefetch(buf);

	/* Fault-driven pass over 4x the device memory, twice. */
	fill((uint64_t *)buf, bytes, 4);
	before = svmt_stats();
	a = (struct pass_args){ (uint64_t *)buf, pg / sizeof(uint64_t), 5 };
	CHECK_OK(svm_launch(0, bytes / pg, kernel_add, &a));
	CHECK_OK(svm_launch(0, bytes / pg, kernel_add, &a));
	after = svmt_stats();
	CHECK(after.evictions - before.evictions >= bytes / pg);
	CHECK(after.device_resident_bytes <= props.memory_bytes);
	expect((uint64_t *)buf, bytes, 4, 10);
	printf("fault-driven passes over %zu KiB with a %zu KiB device: "
	       "%llu evictions\n",
	       bytes >> 10, cap_pages * pg >> 10,
	       (unsigned long long)(after.evictions - before.evictions));

	CHECK_OK(svm_prefetch(buf, bytes, SVM_HOST, NULL));
	check_preferred_evicted_last(buf, bytes);
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("eviction: ok\n");
	return 0;
}
