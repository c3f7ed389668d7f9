/* SPDX-License-Identifier: MIT */
/*
 * svm_launch: every index runs exactly once, on the device asked for, on a
 * worker thread in [0, compute_threads), and all of it is done when
 * svm_launch returns; several host threads may launch at once.
 *
 * With the argument "chunk C" (and SVM_LAUNCH_CHUNK=C in the environment):
 * a worker takes C consecutive indices at a time, so every aligned run of
 * C indices (and the short tail) ran on one worker, in order.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define LAUNCH_THREADS 4

struct kargs {
	uint32_t *hits; /* SVM, one counter per index */
	int device_seen_wrong;
	int device;
	unsigned threads;
	unsigned bad_thread;
};

static void kernel_count(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint32_t *h = svm_device_ptr(ctx, &a->hits[i]);

	__atomic_fetch_add(h, 1, __ATOMIC_RELAXED);
	if (svm_kernel_device(ctx) != a->device)
		__atomic_store_n(&a->device_seen_wrong, 1, __ATOMIC_RELAXED);
	if (svm_kernel_thread(ctx) >= a->threads)
		__atomic_store_n(&a->bad_thread, 1, __ATOMIC_RELAXED);
}

struct chunkargs {
	uint32_t *worker; /* SVM: worker of each index, +1 */
	uint64_t *order;  /* SVM: per index, a per-worker sequence number */
	uint64_t seq[1024];
};

static void kernel_owner(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct chunkargs *a = arg;
	unsigned t = svm_kernel_thread(ctx);
	uint32_t *w = svm_device_ptr(ctx, &a->worker[i]);
	uint64_t *o = svm_device_ptr(ctx, &a->order[i]);

	*w = t + 1;
	*o = a->seq[t % 1024]++; /* only worker t writes seq[t] */
}

/* Every aligned run of `chunk` indices ran on one worker, one after another. */
static void run_chunks(size_t grid, size_t chunk)
{
	struct chunkargs *a = calloc(1, sizeof(*a));

	CHECK(a);
	a->worker = svmt_alloc(grid * sizeof(uint32_t));
	a->order = svmt_alloc(grid * sizeof(uint64_t));
	memset(a->worker, 0, grid * sizeof(uint32_t));
	CHECK_OK(svm_launch(0, grid, kernel_owner, a));
	for (size_t c = 0; c < grid; c += chunk) {
		size_t end = c + chunk < grid ? c + chunk : grid;

		for (size_t i = c; i < end; i++) {
			CHECK_MSG(a->worker[i] != 0, "grid %zu: index %zu never ran", grid, i);
			CHECK_MSG(a->worker[i] == a->worker[c],
				  "grid %zu, chunk %zu: index %zu ran on worker %u, index %zu "
				  "of its chunk on %u", grid, chunk, i, a->worker[i] - 1, c,
				  a->worker[c] - 1);
			CHECK_MSG(i == c || a->order[i] == a->order[i - 1] + 1,
				  "grid %zu, chunk %zu: index %zu did not run right after %zu",
				  grid, chunk, i, i - 1);
		}
	}
	CHECK_OK(svm_free(a->worker));
	CHECK_OK(svm_free(a->order));
	free(a);
}

static unsigned compute_threads(int dev)
{
	svm_device_props_t props;

	CHECK_OK(svm_device_props(dev, &props));
	CHECK(props.compute_threads > 0);
	return props.compute_threads;
}

static void run(int dev, size_t grid, unsigned rounds)
{
	uint32_t *hits = svmt_alloc(grid * sizeof(uint32_t));
	struct kargs a = { .hits = hits, .device = dev,
			   .threads = compute_threads(dev) };

	for (unsigned r = 1; r <= rounds; r++) {
		CHECK_OK(svm_launch(dev, grid, kernel_count, &a));
		CHECK(!a.device_seen_wrong);
		CHECK(!a.bad_thread);
		for (size_t i = 0; i < grid; i++)
			CHECK_MSG(hits[i] == r,
				  "grid %zu: index %zu ran %u times after %u "
				  "launches",
				  grid, i, hits[i], r);
	}
	CHECK_OK(svm_free(hits));
}

static void *launcher(void *arg)
{
	size_t id = (size_t)(uintptr_t)arg;

	run((int)(id % (size_t)svm_device_count()), 1000 + id * 777, 10);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[LAUNCH_THREADS];
	svm_stats_t before, after;
	uint64_t launches = 0;

	svmt_init();
	if (argc == 3 && !strcmp(argv[1], "chunk")) {
		size_t chunk = strtoul(argv[2], NULL, 0);

		CHECK(chunk > 0);
		run_chunks(1, chunk);
		run_chunks(chunk * 5 + 3, chunk);
		run_chunks(100000, chunk);
		run(0, 100000, 2);
		CHECK_OK(svm_finalize());
		printf("launch: chunks of %zu: ok\n", chunk);
		return 0;
	}
	before = svmt_stats();
	for (int d = 0; d < svm_device_count(); d++) {
		run(d, 1, 3);
		run(d, 3, 3);
		run(d, 100000, 2);
		launches += 8;
	}
	for (size_t i = 0; i < LAUNCH_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, launcher, (void *)(uintptr_t)i) ==
		      0);
	for (size_t i = 0; i < LAUNCH_THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	launches += LAUNCH_THREADS * 10;
	after = svmt_stats();
	CHECK_EQ(after.launches - before.launches, launches);
	CHECK_OK(svm_finalize());
	printf("launch: ok\n");
	return 0;
}
