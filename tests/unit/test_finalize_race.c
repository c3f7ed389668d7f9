/* SPDX-License-Identifier: MIT */
/*
 * Every entry point against a concurrent last svm_finalize (issue 15
 * item 6): threads call svm_launch, svm_alloc/svm_free, svm_stats,
 * svm_device_props, svm_query, svm_pointer_info and svm_prefetch in a
 * loop while the main thread brings the runtime up and down again and again. Each call either
 * works or answers SVM_ERROR_NOT_INITIALIZED (or INVALID_ARGUMENT for a
 * pointer of a runtime that went away); none crashes or hangs, and no
 * launch runs on a torn-down device.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "svmtest.h"

#define THREADS 6

static atomic_bool stop;
static atomic_ulong calls_ok, calls_noinit;

static void kernel_noop(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	(void)ctx;
	(void)i;
	(void)arg;
}

static void tally(const char *what, svm_result_t r, bool inval_ok)
{
	if (r == SVM_OK || r == SVM_PARTIAL)
		atomic_fetch_add(&calls_ok, 1);
	else if (r == SVM_ERROR_NOT_INITIALIZED)
		atomic_fetch_add(&calls_noinit, 1);
	else if (!(inval_ok && r == SVM_ERROR_INVALID_ARGUMENT))
		FAIL("%s during init/finalize returned %s", what, svm_result_string(r));
}

static void *hammer(void *arg)
{
	long kind = (long)arg;

	while (!atomic_load(&stop)) {
		svm_result_t r;

		switch (kind % 4) {
		case 0: /* two launchers, so one waits on the launch lock */
		case 1:
			tally("svm_launch", svm_launch(0, 8, kernel_noop, NULL), false);
			break;
		case 2: {
			void *p = NULL;
			svm_stats_t s;
			svm_device_props_t props;

			r = svm_alloc(&p, 3 * 4096);
			tally("svm_alloc", r, false);
			if (r == SVM_OK) {
				svm_page_info_t info[3];

				/* the memory is never touched: finalize may take it */
				svm_pointer_info_t pi;

				tally("svm_query", svm_query(p, 3 * 4096, info, 3), true);
				tally("svm_pointer_info",
				      svm_pointer_info((char *)p + 4096, &pi), true);
				tally("svm_free", svm_free(p), true);
			}
			tally("svm_stats", svm_stats(&s), false);
			tally("svm_device_props", svm_device_props(0, &props), true);
			break;
		}
		case 3: {
			void *p = NULL;
			svm_migrate_report_t rep;

			r = svm_alloc(&p, 4096);
			tally("svm_alloc", r, false);
			if (r == SVM_OK) {
				tally("svm_prefetch", svm_prefetch(p, 4096, 0, &rep), true);
				tally("svm_advise", svm_advise(p, 4096, SVM_ADVISE_SET_READ_MOSTLY, 0),
				      true);
				tally("svm_pin", svm_pin(p, 4096), true);
				tally("svm_free", svm_free(p), true);
			}
			break;
		}
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	unsigned long rounds = svmt_scaled(150);

	svmt_default_env("SVM_USER_DEVICE_THREADS", "2");
	/* the first init tells whether there is a device at all */
	svmt_init();
	CHECK_OK(svm_finalize());
	CHECK_EQ(svm_launch(0, 1, kernel_noop, NULL), SVM_ERROR_NOT_INITIALIZED);

	for (long i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
	for (unsigned long r = 0; r < rounds; r++) {
		void *p;

		CHECK_OK(svm_init());
		/* some work of its own, so the others find the runtime up */
		p = svmt_alloc(4096);
		CHECK_OK(svm_launch(0, 4, kernel_noop, NULL));
		/*
		 * A thread holding a pointer from an earlier runtime may free
		 * this one: the new heap hands out the same addresses. That is
		 * the application's use after free, not the runtime's.
		 */
		tally("svm_free", svm_free(p), true);
		CHECK_OK(svm_finalize());
	}
	atomic_store(&stop, true);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(svm_launch(0, 1, kernel_noop, NULL), SVM_ERROR_NOT_INITIALIZED);
	printf("%lu init/finalize rounds: %lu calls worked, %lu found no runtime\n", rounds,
	       atomic_load(&calls_ok), atomic_load(&calls_noinit));
	printf("PASS\n");
	return 0;
}
