/* SPDX-License-Identifier: MIT */
/*
 * stream - a STREAM-like triad, a[i] = b[i] + s * c[i], over shared memory,
 * on a device and on the host.
 *
 *   ./stream [MiB per array, default 64] [passes, default 5]
 *
 * For each side it times the first pass (pages migrate on faults), then
 * the best of the following passes (pages already there), and a pass after
 * an explicit svm_prefetch back to the other side. Bandwidth counts the
 * three arrays (two read, one written) like STREAM does.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <svmrt.h>

#define CHUNK 16384 /* doubles per kernel index: 128 KiB */

static double *a, *b, *c;
static size_t n;
static const double scalar = 3.0;

struct triad_args {
	double *a, *b, *c;
	size_t n;
};

static void triad_kernel(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct triad_args *t = arg;
	size_t lo = i * CHUNK, hi = lo + CHUNK < t->n ? lo + CHUNK : t->n;
	double *da = svm_device_ptr(ctx, t->a + lo);
	const double *db = svm_device_ptr(ctx, t->b + lo);
	const double *dc = svm_device_ptr(ctx, t->c + lo);

	for (size_t k = 0; k < hi - lo; k++)
		da[k] = db[k] + scalar * dc[k];
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int device_triad(void)
{
	struct triad_args t = { a, b, c, n };
	svm_result_t r = svm_launch(0, (n + CHUNK - 1) / CHUNK, triad_kernel, &t);

	if (r != SVM_OK)
		fprintf(stderr, "stream: svm_launch: %s\n", svm_result_string(r));
	return r == SVM_OK ? 0 : -1;
}

static int host_triad(void)
{
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] + scalar * c[i];
	return 0;
}

static void report(const char *what, double secs, const svm_stats_t *s0,
		   const svm_stats_t *s1)
{
	double bytes = 3.0 * (double)n * sizeof(double);

	printf("  %-34s %8.2f ms %9.1f MB/s   moved %" PRIu64
	       " pages to the device, %" PRIu64 " to the host "
	       "(%" PRIu64 " device / %" PRIu64 " CPU faults)\n",
	       what, secs * 1e3, bytes / secs / 1e6,
	       s1->pages_to_device - s0->pages_to_device,
	       s1->pages_to_host - s0->pages_to_host,
	       s1->device_faults - s0->device_faults,
	       s1->cpu_faults - s0->cpu_faults);
}

/* Times one pass of `fn` and prints it with the migrations it caused. */
static int timed(const char *what, int (*fn)(void), double *secs)
{
	svm_stats_t s0, s1;
	double t0;

	svm_stats(&s0);
	t0 = now();
	if (fn())
		return -1;
	*secs = now() - t0;
	svm_stats(&s1);
	if (what)
		report(what, *secs, &s0, &s1);
	return 0;
}

/* First pass, best of the resident passes, and a pass after prefetching
 * everything to this side. */
static int run_side(const char *side, int (*fn)(void), int location,
		    int passes)
{
	char label[64];
	double secs, best = 1e30;
	svm_stats_t s0, s1;

	printf("%s:\n", side);
	if (timed("first pass (faults migrate pages)", fn, &secs))
		return -1;
	svm_stats(&s0);
	for (int p = 0; p < passes; p++) {
		if (timed(NULL, fn, &secs))
			return -1;
		best = secs < best ? secs : best;
	}
	svm_stats(&s1);
	snprintf(label, sizeof(label), "best of %d resident passes", passes);
	report(label, best, &s0, &s1);

	/* Send everything away, then prefetch it back before the pass. */
	svm_prefetch(a, n * sizeof(double), location == SVM_HOST ? 0 : SVM_HOST, NULL);
	svm_prefetch(b, n * sizeof(double), location == SVM_HOST ? 0 : SVM_HOST, NULL);
	svm_prefetch(c, n * sizeof(double), location == SVM_HOST ? 0 : SVM_HOST, NULL);
	svm_stats(&s0);
	secs = now();
	svm_prefetch(a, n * sizeof(double), location, NULL);
	svm_prefetch(b, n * sizeof(double), location, NULL);
	svm_prefetch(c, n * sizeof(double), location, NULL);
	secs = now() - secs;
	svm_stats(&s1);
	report("svm_prefetch of the three arrays", secs, &s0, &s1);
	return timed("pass after the prefetch", fn, &secs);
}

/* The triad's inputs are small integers, so results are exact. */
static double expected(size_t i)
{
	return (double)(i % 1000) + scalar * (double)(i % 7);
}

struct verify_args {
	double *a;
	size_t n;
	size_t bad;
};

/* Checks the device's results on the device, so nothing moves, then
 * spoils them so that the host pass has to write every result again. */
static void verify_kernel(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct verify_args *v = arg;
	size_t lo = i * CHUNK, hi = lo + CHUNK < v->n ? lo + CHUNK : v->n;
	double *da = svm_device_ptr(ctx, v->a + lo);
	size_t bad = 0;

	for (size_t k = 0; k < hi - lo; k++) {
		bad += da[k] != expected(lo + k);
		da[k] = -1;
	}
	__atomic_fetch_add(&v->bad, bad, __ATOMIC_RELAXED);
}

static size_t verify_on_device(void)
{
	struct verify_args v = { a, n, 0 };

	if (svm_launch(0, (n + CHUNK - 1) / CHUNK, verify_kernel, &v) != SVM_OK)
		return n;
	return v.bad;
}

static size_t verify_on_host(void)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += a[i] != expected(i);
	return bad;
}

static int verdict(const char *side, size_t bad)
{
	if (bad == 0) {
		printf("  results on the %s: correct\n", side);
		return 0;
	}
	printf("WRONG: %zu of %zu results on the %s differ\n", bad, n, side);
	return -1;
}

static int alloc_array(double **p, size_t bytes)
{
	svm_result_t r = svm_alloc((void **)p, bytes);

	if (r != SVM_OK)
		fprintf(stderr, "stream: svm_alloc(%zu MiB): %s\n", bytes >> 20,
			svm_result_string(r));
	return r == SVM_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int passes = argc > 2 ? atoi(argv[2]) : 5;
	size_t bytes, bad;
	svm_result_t r;
	svm_stats_t st;

	if (mib == 0 || passes < 1) {
		fprintf(stderr, "usage: %s [MiB per array] [passes]\n", argv[0]);
		return 2;
	}
	bytes = mib << 20;
	n = bytes / sizeof(double);
	r = svm_init();
	if (r != SVM_OK) {
		fprintf(stderr, "stream: svm_init: %s\n", svm_result_string(r));
		return 1;
	}
	if (alloc_array(&a, bytes) || alloc_array(&b, bytes) ||
	    alloc_array(&c, bytes))
		return 1;
	printf("svmrt stream: triad a = b + %.0f*c over 3 arrays of %zu MiB, "
	       "%d passes\n", scalar, mib, passes);
	for (size_t i = 0; i < n; i++) {
		a[i] = 0;
		b[i] = (double)(i % 1000);
		c[i] = (double)(i % 7);
	}

	if (run_side("device 0", device_triad, 0, passes))
		return 1;
	if (verdict("device", verify_on_device()))
		return 1;
	if (run_side("host", host_triad, SVM_HOST, passes))
		return 1;
	bad = verify_on_host();
	svm_stats(&st);
	printf("in total: %" PRIu64 " pages to the device, %" PRIu64
	       " to the host, %" PRIu64 " evictions, fault service %.1f ms\n",
	       st.pages_to_device, st.pages_to_host, st.evictions,
	       (double)st.fault_service_ns / 1e6);
	if (verdict("host", bad))
		return 1;
	svm_free(a);
	svm_free(b);
	svm_free(c);
	svm_finalize();
	return 0;
}
