/* SPDX-License-Identifier: MIT */
/*
 * svm_advise on the user backend (SVM_GRANULARITY=4K):
 * READ_MOSTLY makes read-only duplicates that a write collapses to the
 * writer (on kshim: the device reads and writes the host page in place); PREFERRED_LOCATION makes faults go toward the device;
 * ACCESSED_BY lets the device reach host pages without moving them, its
 * writes visible to the host when svm_launch returns.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define NPAGES 8

static size_t pg, words;

struct kargs {
	uint64_t *base;
	size_t words;
	int write;
	uint64_t add;
	uint64_t *sums; /* per page sum of the words read */
};

/* Index i reads (and maybe rewrites) every word of page i. */
static void kernel_rw(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);
	uint64_t sum = 0;

	for (size_t j = 0; j < a->words; j++) {
		sum += d[j];
		if (a->write)
			d[j] += a->add;
	}
	a->sums[i] = sum;
}

static uint64_t *shadow; /* what the pages must hold, in plain memory */

static uint64_t shadow_sum(size_t page)
{
	uint64_t s = 0;

	for (size_t j = 0; j < words; j++)
		s += shadow[page * words + j];
	return s;
}

/* Runs kernel_rw over the first `pages` pages of p (the test buffer) and
 * checks what the device read against the shadow, without touching the
 * pages from the host. */
static void launch(uint64_t *p, size_t pages, int write, uint64_t add)
{
	uint64_t sums[NPAGES];
	struct kargs a = { p, words, write, add, sums };

	CHECK_OK(svm_launch(0, pages, kernel_rw, &a));
	for (size_t i = 0; i < pages; i++) {
		CHECK_MSG(sums[i] == shadow_sum(i),
			  "the device read a wrong page %zu", i);
		if (write)
			for (size_t j = 0; j < words; j++)
				shadow[i * words + j] += add;
	}
}

static void host_add(uint64_t *p, size_t word, uint64_t add)
{
	p[word] += add;
	shadow[word] += add;
}

static void host_check(const uint64_t *p)
{
	for (size_t i = 0; i < NPAGES * words; i++)
		CHECK_MSG(p[i] == shadow[i], "host word %zu is %llu, expected %llu",
			  i, (unsigned long long)p[i],
			  (unsigned long long)shadow[i]);
}

static void fill(uint64_t *p, size_t pages, uint64_t seed)
{
	for (size_t i = 0; i < pages * words; i++)
		p[i] = shadow[i] = svmt_pattern(seed, i);
}

static void check_read_mostly(uint64_t *p)
{
	svm_stats_t s0, s1, s2;
	svm_page_info_t info;

	fill(p, NPAGES, 1);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_SET_READ_MOSTLY, 0));
	s0 = svmt_stats();
	launch(p, NPAGES, 0, 0);
	s1 = svmt_stats();
	CHECK_EQ(s1.read_duplicates - s0.read_duplicates, NPAGES);
	info = svmt_page(p);
	CHECK_EQ(info.location, SVM_HOST);
	CHECK_EQ(info.copies, 1u | 2u);
	/* Host reads need no fault; the device reads its copy again. */
	host_check(p);
	launch(p, NPAGES, 0, 0);
	s2 = svmt_stats();
	CHECK_EQ(s2.cpu_faults, s1.cpu_faults);
	CHECK_EQ(s2.read_duplicates, s1.read_duplicates);
	CHECK_EQ(svmt_page(p + 3 * words).copies, 3);

	/* A host write collapses the page to the host. */
	host_add(p, 2 * words + 5, 1);
	s1 = svmt_stats();
	CHECK_EQ(s1.collapses - s2.collapses, 1);
	info = svmt_page(p + 2 * words);
	CHECK_EQ(info.location, SVM_HOST);
	CHECK_EQ(info.copies, 1);
	CHECK_EQ(svmt_page(p + 3 * words).copies, 3);
	/* The device then reads the new value (a fresh duplicate). */
	launch(p, NPAGES, 0, 0);
	CHECK_EQ(svmt_page(p + 2 * words).copies, 3);

	/* A device write collapses to the device; the host sees it. */
	s1 = svmt_stats();
	launch(p, 4, 1, 10);
	s2 = svmt_stats();
	CHECK_EQ(s2.collapses - s1.collapses, 4);
	info = svmt_page(p);
	CHECK_EQ(info.location, 0);
	CHECK_EQ(info.copies, 2);
	CHECK_EQ(svmt_page(p + 5 * words).copies, 3);
	host_check(p);
	CHECK_EQ(p[2 * words + 5], svmt_pattern(1, 2 * words + 5) + 11);

	/* Without the advice a device read migrates. */
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_UNSET_READ_MOSTLY, 0));
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
	launch(p, NPAGES, 0, 0);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	CHECK_EQ(svmt_page(p).copies, 2);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
}

/*
 * kshim: the driver serves a read-mostly page's device reads from the host
 * page itself, mapped read-only into the view (no copy to collapse); a
 * device write takes the page to the writer, as on user.
 */
static void check_read_mostly_in_place(uint64_t *p)
{
	svm_stats_t s0, s1;

	fill(p, NPAGES, 1);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_SET_READ_MOSTLY, 0));
	s0 = svmt_stats();
	launch(p, NPAGES, 0, 0);
	s1 = svmt_stats();
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);
	CHECK_EQ(s1.pages_to_device, s0.pages_to_device);
	CHECK_GE(s1.remote_accesses - s0.remote_accesses, NPAGES);
	CHECK_EQ(svmt_page(p).copies, 1);
	host_check(p);
	/* the device sees a host write at once: it reads the same page */
	host_add(p, 2 * words + 5, 1);
	launch(p, NPAGES, 0, 0);
	/* a device write moves the page to the writer; the host sees it */
	launch(p, 4, 1, 10);
	CHECK_EQ(svmt_count_at(p, 4 * pg, 0), 4);
	CHECK_EQ(svmt_count_at(p + 4 * words, (NPAGES - 4) * pg, SVM_HOST), NPAGES - 4);
	host_check(p);
	CHECK_EQ(p[2 * words + 5], svmt_pattern(1, 2 * words + 5) + 11);
	/* without the advice a device read migrates */
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_UNSET_READ_MOSTLY, 0));
	launch(p, NPAGES, 0, 0);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	CHECK_EQ(svmt_page(p).copies, 2);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
	host_check(p);
}

static void check_preferred(uint64_t *p)
{
	fill(p, NPAGES, 2);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_SET_PREFERRED_LOCATION,
			    0));
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);
	launch(p, NPAGES, 1, 1);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	host_check(p);
	CHECK_OK(svm_advise(p, NPAGES * pg,
			    SVM_ADVISE_UNSET_PREFERRED_LOCATION, 0));
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
}

static void check_accessed_by(uint64_t *p)
{
	svm_stats_t s0, s1;

	fill(p, NPAGES, 3);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_SET_ACCESSED_BY, 0));
	s0 = svmt_stats();
	for (int r = 1; r <= 3; r++) {
		launch(p, NPAGES, 1, 100);
		CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);
		/* Visible on the host as soon as the launch returned. */
		host_check(p);
		CHECK_EQ(p[words + 1], svmt_pattern(3, words + 1) + 100 * r);
		host_add(p, 7, 1); /* host writes between launches count too */
	}
	s1 = svmt_stats();
	CHECK_GE(s1.remote_accesses - s0.remote_accesses, NPAGES);
	CHECK_EQ(s1.pages_to_device, s0.pages_to_device);
	CHECK_EQ(s1.device_resident_bytes, 0);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_UNSET_ACCESSED_BY, 0));
	launch(p, NPAGES, 0, 0);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
}

int main(void)
{
	uint64_t *p;

	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	p = svmt_alloc(NPAGES * pg);
	shadow = calloc(NPAGES, pg);
	CHECK(shadow != NULL);
	if (strcmp(svmt_backend(), "kshim"))
		check_read_mostly(p);
	else
		check_read_mostly_in_place(p);
	check_preferred(p);
	check_accessed_by(p);
	host_check(p);
	CHECK_OK(svm_free(p));
	free(shadow);
	CHECK_OK(svm_finalize());
	printf("advice: ok\n");
	return 0;
}
