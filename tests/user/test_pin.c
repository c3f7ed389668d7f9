/* SPDX-License-Identifier: MIT */
/*
 * svm_pin: pinned pages stay on the host. A prefetch to a device leaves
 * them behind as PINNED; device kernels still read and write them in
 * place, their writes visible to the host when svm_launch returns; pins
 * nest; pinning device-resident pages brings them home.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define NPAGES 32

static size_t pg, words;

struct kargs {
	uint64_t *base;
	size_t words;
	uint64_t mul, add;
	uint64_t *sums;
};

/* Index i checksums page i, then transforms it. */
static void kernel_rw(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	a->sums[i] = svmt_checksum(d, a->words * sizeof(uint64_t));
	for (size_t j = 0; j < a->words; j++)
		d[j] = d[j] * a->mul + a->add;
}

static uint64_t *shadow;

static void device_pass(uint64_t *p, uint64_t mul, uint64_t add)
{
	uint64_t sums[NPAGES];
	struct kargs a = { p, words, mul, add, sums };

	CHECK_OK(svm_launch(0, NPAGES, kernel_rw, &a));
	for (size_t i = 0; i < NPAGES; i++)
		CHECK_MSG(sums[i] == svmt_checksum(shadow + i * words, pg),
			  "the device read a wrong pinned page %zu", i);
	for (size_t i = 0; i < NPAGES * words; i++)
		shadow[i] = shadow[i] * mul + add;
}

static void host_check(const uint64_t *p)
{
	for (size_t i = 0; i < NPAGES * words; i++)
		CHECK_MSG(p[i] == shadow[i], "word %zu is %llu, expected %llu", i,
			  (unsigned long long)p[i],
			  (unsigned long long)shadow[i]);
}

static void expect_pinned_prefetch(uint64_t *p, size_t pages)
{
	svm_migrate_report_t rep;
	svm_stats_t before = svmt_stats(), after;

	CHECK_RES(svm_prefetch(p, pages * pg, 0, &rep), SVM_PARTIAL);
	after = svmt_stats();
	CHECK_EQ(rep.pages, pages);
	CHECK_EQ(rep.moved, 0);
	CHECK_EQ(rep.failed, pages);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
	CHECK_EQ(rep.retries, 0); /* PINNED is never retried */
	CHECK_EQ(after.failures_by[SVM_FAILURE_PINNED] -
			 before.failures_by[SVM_FAILURE_PINNED],
		 pages);
	CHECK_EQ(svmt_count_at(p, pages * pg, SVM_HOST), pages);
	CHECK_EQ(svmt_page(p).last_failure, SVM_FAILURE_PINNED);
}

/*
 * A host write to a pinned page while a kernel works on it: the kernel
 * writes slot 0, lets the host write slot 1, then reads slot 1 and writes
 * slot 2. Both sides' writes must survive, and the device must see the
 * host's write (coherence on a host write during a launch). The two sides
 * hand over through flags, each wait bounded by a deadline.
 */
struct overlap {
	uint64_t *page;
	int started, host_done;
	uint64_t seen;
	int timed_out;
};

static int wait_flag(int *flag, uint64_t deadline_ns)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		if (svmt_now_ns() > deadline_ns)
			return -1;
	return 0;
}

static void kernel_overlap(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct overlap *o = arg;
	volatile uint64_t *d = svm_device_ptr(ctx, o->page);

	(void)i;
	d[0] = 1000;
	__atomic_store_n(&o->started, 1, __ATOMIC_RELEASE);
	if (wait_flag(&o->host_done, svmt_now_ns() + 5000000000ull)) {
		o->timed_out = 1;
		return;
	}
	o->seen = d[1];
	d[2] = 3000;
}

static void *host_overlap(void *arg)
{
	struct overlap *o = arg;

	if (wait_flag(&o->started, svmt_now_ns() + 5000000000ull) == 0)
		((volatile uint64_t *)o->page)[1] = 2000;
	__atomic_store_n(&o->host_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void check_host_write_during_launch(void)
{
	uint64_t *q = svmt_alloc(pg);
	struct overlap o = { .page = q };
	pthread_t t;

	CHECK_OK(svm_pin(q, pg));
	CHECK(pthread_create(&t, NULL, host_overlap, &o) == 0);
	CHECK_OK(svm_launch(0, 1, kernel_overlap, &o));
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_MSG(!o.timed_out, "the host write to a pinned page waited for "
				"the launch to end (5 s deadline)");
	CHECK_EQ(q[0], 1000);
	CHECK_EQ(q[1], 2000);
	CHECK_EQ(q[2], 3000);
	CHECK_EQ(o.seen, 2000);
	CHECK_EQ(svmt_location(q), SVM_HOST);
	CHECK_OK(svm_unpin(q, pg));
	CHECK_OK(svm_free(q));
}

int main(void)
{
	uint64_t *p;
	svm_stats_t before, after;
	svm_migrate_report_t rep;

	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	p = svmt_alloc(NPAGES * pg);
	shadow = malloc(NPAGES * pg);
	CHECK(shadow != NULL);
	for (size_t i = 0; i < NPAGES * words; i++)
		p[i] = shadow[i] = svmt_pattern(11, i);

	/* Half on the device, then pin everything: it all comes home. */
	CHECK_OK(svm_prefetch(p, NPAGES / 2 * pg, 0, NULL));
	CHECK_OK(svm_pin(p, NPAGES * pg));
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);
	host_check(p);
	expect_pinned_prefetch(p, NPAGES);

	/* Kernels work in place; nothing moves. */
	before = svmt_stats();
	for (uint64_t r = 0; r < 5; r++) {
		device_pass(p, 3, r);
		CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);
		host_check(p);
		p[r * words + 1] += 1; /* a host write between launches */
		shadow[r * words + 1] += 1;
	}
	after = svmt_stats();
	CHECK_EQ(after.pages_to_device, before.pages_to_device);
	CHECK_EQ(after.cpu_faults, before.cpu_faults);
	CHECK_GE(after.remote_accesses - before.remote_accesses, NPAGES);
	CHECK_EQ(after.device_resident_bytes, 0);

	/* Half pinned: the other half moves, the pinned half is reported. */
	CHECK_OK(svm_unpin(p + NPAGES / 2 * words, NPAGES / 2 * pg));
	CHECK_RES(svm_prefetch(p, NPAGES * pg, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.pages, NPAGES);
	CHECK_EQ(rep.moved, NPAGES / 2);
	CHECK_EQ(rep.failed, NPAGES / 2);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], NPAGES / 2);
	CHECK_EQ(svmt_count_at(p, NPAGES / 2 * pg, SVM_HOST), NPAGES / 2);
	CHECK_EQ(svmt_count_at(p + NPAGES / 2 * words, NPAGES / 2 * pg, 0),
		 NPAGES / 2);
	device_pass(p, 7, 3);
	host_check(p);
	CHECK_OK(svm_pin(p + NPAGES / 2 * words, NPAGES / 2 * pg));
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);

	/* Pins nest: two pins need two unpins. */
	CHECK_OK(svm_pin(p, 4 * pg));
	CHECK_OK(svm_unpin(p, NPAGES * pg));
	expect_pinned_prefetch(p, 4);
	CHECK_OK(svm_prefetch(p + 4 * words, (NPAGES - 4) * pg, 0, &rep));
	CHECK_EQ(rep.moved, NPAGES - 4);
	CHECK_OK(svm_unpin(p, 4 * pg));
	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, &rep));
	CHECK_EQ(rep.moved, 4);
	CHECK_EQ(rep.already, NPAGES - 4);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	device_pass(p, 5, 1);
	host_check(p);
	check_host_write_during_launch();

	CHECK_OK(svm_free(p));
	free(shadow);
	CHECK_OK(svm_finalize());
	printf("pinned pages: ok\n");
	return 0;
}
