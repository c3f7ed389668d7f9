/* SPDX-License-Identifier: MIT */
/*
 * svm_init / svm_finalize from several threads at once. One reference is
 * held by main for the whole run, so every thread's init succeeds and its
 * allocations stay valid until its own finalize. A second phase lets the
 * reference count fall to zero and rise again concurrently: a thread whose
 * init succeeded must always be able to use the runtime.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define THREADS 8
#define ROUNDS 40

static pthread_barrier_t start;

static void use_runtime(unsigned seed)
{
	size_t pg = svmt_page_size();
	size_t bytes = (1 + seed % 4) * pg;
	unsigned char *p = svmt_alloc(bytes);

	CHECK_GE(svm_device_count(), 1);
	for (size_t i = 0; i < bytes; i += 512)
		CHECK_EQ(p[i], 0);
	memset(p, (int)(seed & 0xff), bytes);
	CHECK_EQ(p[bytes - 1], seed & 0xff);
	CHECK_OK(svm_free(p));
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	pthread_barrier_wait(&start);
	for (unsigned r = 0; r < ROUNDS; r++) {
		CHECK_OK(svm_init());
		use_runtime(id * ROUNDS + r);
		CHECK_OK(svm_finalize());
	}
	return NULL;
}

static void run_threads(void)
{
	pthread_t t[THREADS];

	CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
	for (unsigned i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker,
				     (void *)(uintptr_t)i) == 0);
	for (unsigned i = 0; i < THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	pthread_barrier_destroy(&start);
}

int main(void)
{
	/* Phase 1: main holds a reference. */
	svmt_init();
	run_threads();
	CHECK_GE(svm_device_count(), 1);
	use_runtime(1);
	CHECK_OK(svm_finalize());
	CHECK_NOINIT(svm_finalize());

	/* Phase 2: the count falls to zero and rises again concurrently. */
	run_threads();
	CHECK_NOINIT(svm_finalize());
	CHECK_EQ(svm_device_count(), 0);
	printf("concurrent init/finalize: ok\n");
	return 0;
}
