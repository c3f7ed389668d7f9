/* SPDX-License-Identifier: MIT */
/*
 * thrash_events: a page that moves back within a short window is a thrash
 * event. A page bounced between device 0 and the host a hundred times back
 * to back (each move a few microseconds after the last) must be counted;
 * the data must survive the bouncing.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define BOUNCES 100

struct kargs {
	uint64_t *word;
};

static void kernel_inc(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->word);

	(void)i;
	*d += 1;
}

int main(void)
{
	svm_stats_t before, after;
	struct kargs a;
	uint64_t *p;

	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_init();
	p = svmt_alloc(svmt_page_size());
	a.word = p;
	*p = 0;
	before = svmt_stats();
	for (int i = 0; i < BOUNCES; i++) {
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a)); /* to device 0 */
		*p += 1;                                    /* back home */
	}
	after = svmt_stats();
	CHECK_EQ(*p, 2 * BOUNCES);
	CHECK_GE(after.device_faults - before.device_faults, BOUNCES);
	CHECK_GE(after.cpu_faults - before.cpu_faults, BOUNCES);
	printf("%d bounces: %llu thrash events\n", BOUNCES,
	       (unsigned long long)(after.thrash_events - before.thrash_events));
	CHECK_MSG(after.thrash_events > before.thrash_events,
		  "a page bounced %d times between device 0 and the host "
		  "within microseconds, and thrash_events did not move",
		  BOUNCES);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("thrash: ok\n");
	return 0;
}
