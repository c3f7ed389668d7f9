/* SPDX-License-Identifier: MIT */
/*
 * Several host threads and device kernels touch the same pages at the same
 * time, while another thread prefetches those pages back and forth.
 *
 * Every page holds one slot (a word) per writer: host thread t owns slot t,
 * index i of launcher l's kernels owns slot HOST_THREADS + l * GRID + i.
 * Each writer checks that its slot still holds what it wrote last (a lost
 * write shows up at once), then writes the next value. The last word of
 * every page is a counter that every writer increments atomically, through
 * the host address or the device view. Host threads keep going until the
 * last kernel has run, and count their rounds. The final contents are
 * therefore known exactly: each slot holds its writer's last value and
 * each counter the exact number of increments.
 *
 * usage: test_concurrent [plain|read-mostly|accessed-by|pinned]
 * (launches, prefetches and host rounds scaled by SVMT_SCALE_PERCENT)
 * The mode puts that advice (or svm_pin) on the pages first, so the same
 * race runs through read duplicates and collapses, or through the device
 * working on copies coherent at launch boundaries.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define NPAGES 16
#define HOST_THREADS 3
#define LAUNCHERS 2
#define GRID 8
/* scaled by SVMT_SCALE_PERCENT (svmt_scaled) */
static unsigned long min_host_rounds = 200; /* at least; host threads go on while kernels run */
static unsigned long launches = 150;
static unsigned long prefetches = 1000;

static size_t pg, words;
static uint64_t *svm;
static int ndev;
static int pinned; /* mode pinned: prefetches leave pages behind */
static pthread_barrier_t start; /* everyone begins together */
static int launchers_left = LAUNCHERS;
static uint64_t host_rounds[HOST_THREADS]; /* rounds each host thread did */

static uint64_t *slot(size_t page, size_t s)
{
	return svm + page * words + s;
}

static uint64_t *counter(size_t page)
{
	return svm + page * words + words - 1;
}

static void *host_writer(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;

	uint64_t r;

	pthread_barrier_wait(&start);
	for (r = 0; r < min_host_rounds ||
		    __atomic_load_n(&launchers_left, __ATOMIC_ACQUIRE) > 0;
	     r++) {
		for (size_t p = 0; p < NPAGES; p++) {
			volatile uint64_t *s = slot(p, t);

			CHECK_MSG(*s == r * (t + 1),
				  "host thread %zu: page %zu slot holds %llu, "
				  "wrote %llu",
				  t, p, (unsigned long long)*s,
				  (unsigned long long)(r * (t + 1)));
			*s = (r + 1) * (t + 1);
			__atomic_fetch_add(counter(p), 1, __ATOMIC_RELAXED);
		}
	}
	host_rounds[t] = r;
	return NULL;
}

struct launch_args {
	size_t first_slot;
	uint64_t round; /* launch number: slots hold `round` before it */
	uint64_t errors;
};

static void kernel_writer(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct launch_args *a = arg;

	for (size_t p = 0; p < NPAGES; p++) {
		volatile uint64_t *s = svm_device_ptr(ctx, slot(p, a->first_slot + i));
		uint64_t *c = svm_device_ptr(ctx, counter(p));

		if (*s != a->round)
			__atomic_fetch_add(&a->errors, 1, __ATOMIC_RELAXED);
		*s = a->round + 1;
		__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
	}
}

static void *launcher(void *arg)
{
	size_t l = (size_t)(uintptr_t)arg;
	struct launch_args a = { .first_slot = HOST_THREADS + l * GRID };

	pthread_barrier_wait(&start);
	for (a.round = 0; a.round < launches; a.round++) {
		int dev = (int)((l + a.round) % (uint64_t)ndev);

		CHECK_OK(svm_launch(dev, GRID, kernel_writer, &a));
		CHECK_MSG(a.errors == 0,
			  "launcher %zu, launch %llu: %llu lost device writes",
			  l, (unsigned long long)a.round,
			  (unsigned long long)a.errors);
	}
	__atomic_fetch_sub(&launchers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *prefetcher(void *arg)
{
	uint64_t rng = 99;

	(void)arg;
	pthread_barrier_wait(&start);
	for (unsigned long k = 0; k < prefetches; k++) {
		size_t p = svmt_rand(&rng) % NPAGES;
		size_t n = 1 + svmt_rand(&rng) % (NPAGES - p);
		int where = (int)(svmt_rand(&rng) % (uint64_t)(ndev + 1)) - 1;
		svm_migrate_report_t rep;
		svm_result_t r = svm_prefetch(slot(p, 0), n * pg, where, &rep);

		/* Racing with faults may leave pages behind, but only for a
		 * transient reason. */
		CHECK_MSG(r == SVM_OK || r == SVM_PARTIAL,
			  "prefetch returned %s", svm_result_string(r));
		CHECK_EQ(rep.pages, n);
		CHECK_EQ(rep.moved + rep.already + rep.failed, n);
		CHECK_EQ(rep.failed, rep.failed_by[SVM_FAILURE_BUSY] +
					     rep.failed_by[SVM_FAILURE_PINNED]);
		if (!pinned)
			CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], 0);
	}
	return NULL;
}

static void verify(void)
{
	uint64_t want_count = (uint64_t)LAUNCHERS * launches * GRID;

	for (size_t t = 0; t < HOST_THREADS; t++)
		want_count += host_rounds[t];

	for (size_t p = 0; p < NPAGES; p++) {
		for (size_t t = 0; t < HOST_THREADS; t++)
			CHECK_EQ(*slot(p, t), host_rounds[t] * (t + 1));
		for (size_t s = HOST_THREADS;
		     s < HOST_THREADS + LAUNCHERS * GRID; s++)
			CHECK_EQ(*slot(p, s), launches);
		for (size_t s = HOST_THREADS + LAUNCHERS * GRID; s < words - 1;
		     s++)
			CHECK_EQ(*slot(p, s), 0);
		CHECK_MSG(*counter(p) == want_count,
			  "page %zu counter is %llu, expected %llu", p,
			  (unsigned long long)*counter(p),
			  (unsigned long long)want_count);
	}
}

static void apply_mode(const char *mode)
{
	size_t bytes = NPAGES * pg;

	if (!strcmp(mode, "plain"))
		return;
	if (!strcmp(mode, "read-mostly")) {
		CHECK_OK(svm_advise(svm, bytes, SVM_ADVISE_SET_READ_MOSTLY, 0));
		return;
	}
	if (!strcmp(mode, "accessed-by")) {
		for (int d = 0; d < ndev; d++)
			CHECK_OK(svm_advise(svm, bytes,
					    SVM_ADVISE_SET_ACCESSED_BY, d));
		return;
	}
	if (!strcmp(mode, "pinned")) {
		CHECK_OK(svm_pin(svm, bytes));
		pinned = 1;
		return;
	}
	FAIL("unknown mode \"%s\"", mode);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	pthread_t host[HOST_THREADS], launch[LAUNCHERS], pre;
	svm_stats_t st;

	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	min_host_rounds = svmt_scaled(min_host_rounds);
	launches = svmt_scaled(launches);
	prefetches = svmt_scaled(prefetches);
	svmt_init();
	ndev = svm_device_count();
	svm = svmt_alloc(NPAGES * pg);
	apply_mode(mode);
	CHECK(pthread_barrier_init(&start, NULL,
				   HOST_THREADS + LAUNCHERS + 1) == 0);

	for (size_t t = 0; t < HOST_THREADS; t++)
		CHECK(pthread_create(&host[t], NULL, host_writer,
				     (void *)(uintptr_t)t) == 0);
	for (size_t l = 0; l < LAUNCHERS; l++)
		CHECK(pthread_create(&launch[l], NULL, launcher,
				     (void *)(uintptr_t)l) == 0);
	CHECK(pthread_create(&pre, NULL, prefetcher, NULL) == 0);
	for (size_t t = 0; t < HOST_THREADS; t++)
		CHECK(pthread_join(host[t], NULL) == 0);
	for (size_t l = 0; l < LAUNCHERS; l++)
		CHECK(pthread_join(launch[l], NULL) == 0);
	CHECK(pthread_join(pre, NULL) == 0);

	verify();
	/* And the same seen from every device. */
	if (pinned)
		CHECK_OK(svm_unpin(svm, NPAGES * pg));
	for (int d = 0; d < ndev; d++) {
		CHECK_OK(svm_prefetch(svm, NPAGES * pg, d, NULL));
		CHECK_OK(svm_prefetch(svm, NPAGES * pg, SVM_HOST, NULL));
		verify();
	}
	st = svmt_stats();
	printf("host rounds %llu/%llu/%llu, ", (unsigned long long)host_rounds[0],
	       (unsigned long long)host_rounds[1],
	       (unsigned long long)host_rounds[2]);
	printf("mode %s, %d device(s): %llu CPU faults, %llu device faults, %llu pages "
	       "to devices, %llu to host, %llu thrash events\n",
	       mode, ndev, (unsigned long long)st.cpu_faults,
	       (unsigned long long)st.device_faults,
	       (unsigned long long)st.pages_to_device,
	       (unsigned long long)st.pages_to_host,
	       (unsigned long long)st.thrash_events);
	CHECK_OK(svm_free(svm));
	CHECK_OK(svm_finalize());
	printf("concurrent host and device writers: ok\n");
	return 0;
}
