/* SPDX-License-Identifier: MIT */
/*
 * Several fault-service threads (SVM_USER_FAULT_SERVERS, 4 here unless the
 * environment says otherwise) while host threads and device kernels fault
 * on the same pages and on different blocks, a thread prefetches those
 * pages to random places, and another allocates, fills, moves and frees
 * scratch buffers that a third keeps prefetching, so that svm_free races
 * with migrations of its own pages (issue 18: moves with the lock let go,
 * pages in flight).
 *
 * The shared buffers: every page holds one slot (a word) per writer. Each
 * host thread starts at its own buffer (different blocks at once) and goes
 * through all of them (the same blocks as the others); each launch of each
 * launcher does the same from the device. A writer checks that its slot
 * still holds what it wrote last, then writes the next value; the last word
 * of every page counts every write, atomically. The end state is known
 * exactly. The scratch buffers carry a pattern checked after every move.
 * Nothing here sleeps: threads meet at a barrier and go until done.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

#define NBUF 4
#define BUF_PAGES 32
#define HOST_THREADS 3
#define LAUNCHERS 2
#define GRID 4
#define SCRATCH_PAGES 24

static unsigned long min_host_rounds = 60;
static unsigned long launches = 60;
static unsigned long prefetches = 600;
static unsigned long scratch_rounds = 150;

static size_t pg, words;
static uint64_t *buf[NBUF];
static int ndev;
static pthread_barrier_t start;
static int launchers_left = LAUNCHERS;
static int scratch_done;
static uint64_t host_rounds[HOST_THREADS];
static void *scratch; /* the scratch buffer now live, or NULL (atomic) */
static uint64_t scratch_prefetches, scratch_gone;

static uint64_t *slot(size_t b, size_t page, size_t s)
{
	return buf[b] + page * words + s;
}

static uint64_t *counter(size_t b, size_t page)
{
	return buf[b] + page * words + words - 1;
}

static void *host_writer(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;
	uint64_t r;

	pthread_barrier_wait(&start);
	for (r = 0; r < min_host_rounds ||
		    __atomic_load_n(&launchers_left, __ATOMIC_ACQUIRE) > 0;
	     r++) {
		for (size_t k = 0; k < NBUF; k++) {
			size_t b = (t + k) % NBUF;

			for (size_t p = 0; p < BUF_PAGES; p++) {
				volatile uint64_t *s = slot(b, p, t);

				CHECK_MSG(*s == r * (t + 1),
					  "host thread %zu: buffer %zu page %zu slot holds %llu, "
					  "wrote %llu", t, b, p, (unsigned long long)*s,
					  (unsigned long long)(r * (t + 1)));
				*s = (r + 1) * (t + 1);
				__atomic_fetch_add(counter(b, p), 1, __ATOMIC_RELAXED);
			}
		}
	}
	host_rounds[t] = r;
	return NULL;
}

struct launch_args {
	size_t first_slot;
	uint64_t round;
	uint64_t errors;
};

static void kernel_writer(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct launch_args *a = arg;

	for (size_t k = 0; k < NBUF; k++) {
		size_t b = (i + k) % NBUF;

		for (size_t p = 0; p < BUF_PAGES; p++) {
			volatile uint64_t *s = svm_device_ptr(ctx, slot(b, p, a->first_slot + i));
			uint64_t *c = svm_device_ptr(ctx, counter(b, p));

			if (*s != a->round)
				__atomic_fetch_add(&a->errors, 1, __ATOMIC_RELAXED);
			*s = a->round + 1;
			__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
		}
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
		CHECK_MSG(a.errors == 0, "launcher %zu, launch %llu: %llu lost device writes", l,
			  (unsigned long long)a.round, (unsigned long long)a.errors);
	}
	__atomic_fetch_sub(&launchers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *prefetcher(void *arg)
{
	uint64_t rng = 7;

	(void)arg;
	pthread_barrier_wait(&start);
	for (unsigned long k = 0; k < prefetches; k++) {
		size_t b = svmt_rand(&rng) % NBUF;
		size_t p = svmt_rand(&rng) % BUF_PAGES;
		size_t n = 1 + svmt_rand(&rng) % (BUF_PAGES - p);
		int where = (int)(svmt_rand(&rng) % (uint64_t)(ndev + 1)) - 1;
		svm_migrate_report_t rep;
		svm_result_t r = svm_prefetch(slot(b, p, 0), n * pg, where, &rep);

		CHECK_MSG(r == SVM_OK || r == SVM_PARTIAL, "prefetch returned %s",
			  svm_result_string(r));
		CHECK_EQ(rep.moved + rep.already + rep.failed, n);
		CHECK_EQ(rep.failed, rep.failed_by[SVM_FAILURE_BUSY]);
	}
	return NULL;
}

static void check_scratch(const uint64_t *s, uint64_t seed, const char *when)
{
	for (size_t i = 0; i < SCRATCH_PAGES * words; i += 61)
		CHECK_MSG(s[i] == svmt_pattern(seed, i), "scratch %llu, word %zu, %s: %llu",
			  (unsigned long long)seed, i, when, (unsigned long long)s[i]);
}

/* Allocates, fills, moves around and frees scratch buffers. */
static void *scratch_owner(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (unsigned long k = 0; k < scratch_rounds; k++) {
		uint64_t *s = svmt_alloc(SCRATCH_PAGES * pg);

		for (size_t i = 0; i < SCRATCH_PAGES * words; i++) /* host first touch */
			s[i] = svmt_pattern(k, i);
		__atomic_store_n(&scratch, s, __ATOMIC_RELEASE);
		CHECK_OK(svm_prefetch(s, SCRATCH_PAGES * pg, (int)(k % (unsigned long)ndev),
				      NULL));
		check_scratch(s, k, "read back from a device"); /* CPU faults bring it home */
		CHECK_OK(svm_prefetch(s + words * (SCRATCH_PAGES / 2), SCRATCH_PAGES / 2 * pg,
				      (int)((k + 1) % (unsigned long)ndev), NULL));
		/* freed while the other thread may be moving its pages */
		__atomic_store_n(&scratch, NULL, __ATOMIC_RELEASE);
		CHECK_OK(svm_free(s));
	}
	__atomic_store_n(&scratch_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Prefetches whatever scratch buffer is live; it may be freed meanwhile. */
static void *scratch_mover(void *arg)
{
	uint64_t rng = 11;

	(void)arg;
	pthread_barrier_wait(&start);
	while (!__atomic_load_n(&scratch_done, __ATOMIC_ACQUIRE)) {
		void *s = __atomic_load_n(&scratch, __ATOMIC_ACQUIRE);
		int where = (int)(svmt_rand(&rng) % (uint64_t)(ndev + 1)) - 1;
		svm_result_t r;

		if (!s) {
			sched_yield();
			continue;
		}
		r = svm_prefetch(s, SCRATCH_PAGES * pg, where, NULL);
		/* freed under it (or another buffer allocated there): said so, nothing else */
		CHECK_MSG(r == SVM_OK || r == SVM_PARTIAL || r == SVM_ERROR_INVALID_ARGUMENT,
			  "scratch prefetch returned %s", svm_result_string(r));
		scratch_prefetches++;
		scratch_gone += r == SVM_ERROR_INVALID_ARGUMENT;
	}
	return NULL;
}

static void verify(void)
{
	uint64_t want_count = (uint64_t)LAUNCHERS * launches * GRID;

	for (size_t t = 0; t < HOST_THREADS; t++)
		want_count += host_rounds[t];
	for (size_t b = 0; b < NBUF; b++) {
		for (size_t p = 0; p < BUF_PAGES; p++) {
			for (size_t t = 0; t < HOST_THREADS; t++)
				CHECK_EQ(*slot(b, p, t), host_rounds[t] * (t + 1));
			for (size_t s = HOST_THREADS; s < HOST_THREADS + LAUNCHERS * GRID; s++)
				CHECK_EQ(*slot(b, p, s), launches);
			CHECK_MSG(*counter(b, p) == want_count,
				  "buffer %zu page %zu counter is %llu, expected %llu", b, p,
				  (unsigned long long)*counter(b, p),
				  (unsigned long long)want_count);
		}
	}
}

int main(void)
{
	pthread_t host[HOST_THREADS], launch[LAUNCHERS], pre, owner, mover;
	svm_stats_t st;

	svmt_default_env("SVM_USER_FAULT_SERVERS", "4");
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	min_host_rounds = svmt_scaled(min_host_rounds);
	launches = svmt_scaled(launches);
	prefetches = svmt_scaled(prefetches);
	scratch_rounds = svmt_scaled(scratch_rounds);
	svmt_init();
	svmt_skip_on_kshim("the user backend's fault-service threads");
	ndev = svm_device_count();
	for (size_t b = 0; b < NBUF; b++)
		buf[b] = svmt_alloc(BUF_PAGES * pg);
	CHECK(pthread_barrier_init(&start, NULL, HOST_THREADS + LAUNCHERS + 3) == 0);
	for (size_t t = 0; t < HOST_THREADS; t++)
		CHECK(pthread_create(&host[t], NULL, host_writer, (void *)(uintptr_t)t) == 0);
	for (size_t l = 0; l < LAUNCHERS; l++)
		CHECK(pthread_create(&launch[l], NULL, launcher, (void *)(uintptr_t)l) == 0);
	CHECK(pthread_create(&pre, NULL, prefetcher, NULL) == 0);
	CHECK(pthread_create(&owner, NULL, scratch_owner, NULL) == 0);
	CHECK(pthread_create(&mover, NULL, scratch_mover, NULL) == 0);
	for (size_t t = 0; t < HOST_THREADS; t++)
		CHECK(pthread_join(host[t], NULL) == 0);
	for (size_t l = 0; l < LAUNCHERS; l++)
		CHECK(pthread_join(launch[l], NULL) == 0);
	CHECK(pthread_join(pre, NULL) == 0);
	CHECK(pthread_join(owner, NULL) == 0);
	CHECK(pthread_join(mover, NULL) == 0);

	verify();
	for (int d = 0; d < ndev; d++) { /* the same seen from every device, then home */
		CHECK_OK(svm_prefetch(buf[0], BUF_PAGES * pg, d, NULL));
		CHECK_OK(svm_prefetch(buf[0], BUF_PAGES * pg, SVM_HOST, NULL));
		verify();
	}
	st = svmt_stats();
	printf("%s servers, %d device(s): host rounds %llu/%llu/%llu, %llu CPU faults, %llu device "
	       "faults, %llu pages to devices, %llu to host; scratch prefetches %llu (%llu "
	       "found it freed)\n", getenv("SVM_USER_FAULT_SERVERS"), ndev,
	       (unsigned long long)host_rounds[0], (unsigned long long)host_rounds[1],
	       (unsigned long long)host_rounds[2], (unsigned long long)st.cpu_faults,
	       (unsigned long long)st.device_faults, (unsigned long long)st.pages_to_device,
	       (unsigned long long)st.pages_to_host, (unsigned long long)scratch_prefetches,
	       (unsigned long long)scratch_gone);
	CHECK(st.cpu_faults > 0 && st.device_faults > 0);
	for (size_t b = 0; b < NBUF; b++)
		CHECK_OK(svm_free(buf[b]));
	CHECK_OK(svm_finalize());
	printf("several fault servers, racing faults, prefetches and frees: ok\n");
	return 0;
}
