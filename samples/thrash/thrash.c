/* SPDX-License-Identifier: MIT */
/*
 * thrash - pages fought over by the host and a device, and how advice
 * ends the fight.
 *
 * Two common patterns, each run without and with advice:
 *  1. a lookup table that device kernels and the host both read
 *     (fix: SVM_ADVISE_SET_READ_MOSTLY: read-only copies on both sides);
 *  2. results that a device kernel updates and the host inspects after
 *     every launch (fix: SVM_ADVISE_SET_ACCESSED_BY the device: the pages
 *     stay home and the device works on them in place).
 * For each run it prints the time, the pages moved, the thrash events and
 * what the advice did instead, side by side. Without advice the runtime
 * ends the fight by itself after a few rounds (SVM_THRASH: fought-over
 * pages are held on the host); SVM_THRASH=0 shows the fight in full.
 *
 *   ./thrash [MiB per array, default 16] [iterations, default 20]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <svmrt.h>

#define PAGE 4096

struct args {
	uint64_t *table;  /* read by everyone */
	uint64_t *result; /* written by the device, read by the host */
	size_t words;
	uint64_t sum;     /* device side of pattern 1 (one word per page) */
};

static void read_table(const svm_kernel_ctx_t *ctx, size_t page, void *arg)
{
	struct args *a = arg;
	const uint64_t *t = svm_device_ptr(ctx, a->table);

	__atomic_fetch_add(&a->sum, t[page * (PAGE / 8)], __ATOMIC_RELAXED);
}

static void update_results(const svm_kernel_ctx_t *ctx, size_t page, void *arg)
{
	struct args *a = arg;
	uint64_t *r = svm_device_ptr(ctx, a->result);

	r[page * (PAGE / 8)] += 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct run {
	double ms;
	uint64_t moved, thrash, dups, in_place;
};

static int take(svm_result_t r, const char *what)
{
	if (r == SVM_OK)
		return 0;
	fprintf(stderr, "thrash: %s failed: %s\n", what, svm_result_string(r));
	return 1;
}

/* Runs one pattern `iters` times and reports what it cost. */
static int run(int pattern, bool advice, struct args *a, size_t pages, int iters,
	       struct run *out)
{
	uint64_t *buf = pattern == 1 ? a->table : a->result;
	size_t bytes = pages * PAGE;
	svm_stats_t s0, s1;
	double t0;
	uint64_t host = 0;

	if (take(svm_advise(buf, bytes, pattern == 1 ? SVM_ADVISE_UNSET_READ_MOSTLY :
				 SVM_ADVISE_UNSET_ACCESSED_BY, 0), "advise"))
		return 1;
	if (advice && take(svm_advise(buf, bytes, pattern == 1 ? SVM_ADVISE_SET_READ_MOSTLY :
					SVM_ADVISE_SET_ACCESSED_BY, 0), "advise"))
		return 1;
	if (take(svm_prefetch(buf, bytes, SVM_HOST, NULL), "prefetch"))
		return 1;
	if (take(svm_stats(&s0), "stats"))
		return 1;
	t0 = now_ms();
	for (int it = 0; it < iters; it++) {
		if (take(svm_launch(0, pages, pattern == 1 ? read_table : update_results, a),
			 "launch"))
			return 1;
		for (size_t p = 0; p < pages; p++) /* the host looks at every page */
			host += buf[p * (PAGE / 8)];
	}
	out->ms = now_ms() - t0;
	if (take(svm_stats(&s1), "stats"))
		return 1;
	out->moved = (s1.pages_to_device - s0.pages_to_device) +
		     (s1.pages_to_host - s0.pages_to_host);
	out->thrash = s1.thrash_events - s0.thrash_events;
	out->dups = s1.read_duplicates - s0.read_duplicates;
	out->in_place = s1.remote_accesses - s0.remote_accesses;
	/* pattern 2: after the last launch every result is its page's count */
	if (pattern == 2 && buf[0] == 0) {
		fprintf(stderr, "thrash: the device's updates did not reach the host\n");
		return 1;
	}
	return host == (uint64_t)-1; /* keeps the host reads */
}

static void row(const char *what, const char *advice, const struct run *r)
{
	printf("  %-34s %-22s %8.1f ms %9" PRIu64 " %8" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n",
	       what, advice, r->ms, r->moved, r->thrash, r->dups, r->in_place);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 16;
	int iters = argc > 2 ? atoi(argv[2]) : 20;
	size_t pages = mib * 256, bytes = pages * PAGE;
	struct args a = { 0 };
	struct run r[4];
	svm_result_t res;

	if (!mib || iters <= 0) {
		fprintf(stderr, "usage: %s [MiB per array] [iterations]\n", argv[0]);
		return 2;
	}
	res = svm_init();
	if (res != SVM_OK) {
		fprintf(stderr, "thrash: svm_init: %s\n", svm_result_string(res));
		return res == SVM_ERROR_NO_DEVICE ? 77 : 1;
	}
	if (take(svm_alloc((void **)&a.table, bytes), "alloc") ||
	    take(svm_alloc((void **)&a.result, bytes), "alloc"))
		return 1;
	for (size_t p = 0; p < pages; p++) {
		a.table[p * (PAGE / 8)] = p;
		a.result[p * (PAGE / 8)] = 0;
	}
	printf("Two arrays of %zu MiB, %d rounds of: a device kernel touches every page, "
	       "then the host reads every page.\n\n", mib, iters);
	if (run(1, false, &a, pages, iters, &r[0]) || run(1, true, &a, pages, iters, &r[1]) ||
	    run(2, false, &a, pages, iters, &r[2]) || run(2, true, &a, pages, iters, &r[3]))
		return 1;
	printf("  %-34s %-22s %11s %9s %8s %9s %9s\n", "pattern", "advice", "time",
	       "moved", "thrash", "read-dups", "in-place");
	row("table read by device and host", "none", &r[0]);
	row("table read by device and host", "READ_MOSTLY", &r[1]);
	row("device writes, host reads", "none", &r[2]);
	row("device writes, host reads", "ACCESSED_BY device 0", &r[3]);
	printf("\nWithout advice every round moves each page to the device and back: "
	       "%" PRIu64 " and %" PRIu64 " page moves.\n", r[0].moved, r[2].moved);
	printf("READ_MOSTLY gives both sides a read-only copy: %" PRIu64 " moves, %" PRIu64
	       " copies made.\n", r[1].moved, r[1].dups);
	printf("ACCESSED_BY keeps the results at home and lets the device work on them in "
	       "place: %" PRIu64 " moves, %" PRIu64 " pages served in place.\n", r[3].moved,
	       r[3].in_place);
	printf("(On the user backend a page served in place costs a copy and a write-back per "
	       "launch, so it saves moves more than time; see docs/backends.md.)\n");
	svm_free(a.table);
	svm_free(a.result);
	svm_finalize();
	if (r[1].moved >= r[0].moved || r[3].moved >= r[2].moved) {
		fprintf(stderr, "thrash: advice did not reduce the moves\n");
		return 1;
	}
	return 0;
}
