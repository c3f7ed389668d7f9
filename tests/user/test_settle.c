/* SPDX-License-Identifier: MIT */
/*
 * Pages stay where an explicit prefetch put them. Right after a burst of
 * faults (several device workers, or several host threads, faulting pages
 * of the same migration blocks), svm_prefetch moves the range and returns
 * SVM_OK; svm_query must then show every page there, and nothing may move
 * them again without an access. A fault that was already resolved (its
 * thread woken by another fault's migration of the same block) must not be
 * served a second time later.
 *
 * usage: test_settle [rounds]   (run with SVM_GRANULARITY=64K; rounds scaled
 * by SVMT_SCALE_PERCENT)
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define NPAGES 2048
#define HOST_THREADS 2

static size_t pg;
static unsigned char *buf;

struct kargs {
	unsigned char *base;
};

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	volatile unsigned char *d = svm_device_ptr(ctx, a->base + i * pg);

	*d = (unsigned char)(*d + 1);
}

/* Host thread t touches pages t, t + HOST_THREADS, ... */
static void *host_touch(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;

	for (size_t i = t; i < NPAGES; i += HOST_THREADS)
		buf[i * pg] = (unsigned char)(buf[i * pg] + 1);
	return NULL;
}

static void expect_all_at(int location, int round, const char *after)
{
	size_t at = svmt_count_at(buf, NPAGES * pg, location);

	CHECK_MSG(at == NPAGES,
		  "round %d: right after %s and a prefetch to %d that "
		  "returned SVM_OK, %zu of %d pages are elsewhere",
		  round, after, location, NPAGES - at, NPAGES);
}

int main(int argc, char **argv)
{
	int rounds = (int)svmt_scaled(argc > 1 ? strtoul(argv[1], NULL, 10) : 40);
	struct kargs a;
	pthread_t t[HOST_THREADS];

	svmt_default_env("SVM_GRANULARITY", "64K");
	pg = svmt_page_size();
	svmt_init();
	buf = svmt_alloc(NPAGES * pg);
	memset(buf, 0, NPAGES * pg);
	a.base = buf;

	for (int r = 0; r < rounds; r++) {
		/* Device faults from all workers, then everything home. */
		CHECK_OK(svm_launch(0, NPAGES, kernel_touch, &a));
		CHECK_OK(svm_prefetch(buf, NPAGES * pg, SVM_HOST, NULL));
		expect_all_at(SVM_HOST, r, "a fault-driven kernel");

		/* CPU faults from several host threads, then all to device. */
		CHECK_OK(svm_prefetch(buf, NPAGES * pg, 0, NULL));
		for (size_t i = 0; i < HOST_THREADS; i++)
			CHECK(pthread_create(&t[i], NULL, host_touch,
					     (void *)(uintptr_t)i) == 0);
		for (size_t i = 0; i < HOST_THREADS; i++)
			CHECK(pthread_join(t[i], NULL) == 0);
		CHECK_OK(svm_prefetch(buf, NPAGES * pg, 0, NULL));
		expect_all_at(0, r, "host threads' faults");
		CHECK_OK(svm_prefetch(buf, NPAGES * pg, SVM_HOST, NULL));
	}
	for (size_t i = 0; i < NPAGES; i++)
		CHECK_EQ(buf[i * pg], 2 * rounds);
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("settle: ok\n");
	return 0;
}
