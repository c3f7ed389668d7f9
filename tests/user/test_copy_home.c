/* SPDX-License-Identifier: MIT */
/*
 * Small moves home are copies (SVM_USER_COPY_HOME): the host's fault on a
 * page of a device that runs nothing copies the page and leaves the
 * device's copy to be dropped later. That stale copy must never be seen:
 *   - stale:    a launch on the device reads and writes the pages the host
 *               took back and changed (it must fault them over, not read
 *               its old copies);
 *   - prefetch: an svm_prefetch back to the device moves every page (an
 *               install over a stale copy would find the address taken);
 *   - free:     a new allocation over the freed one's stale copies;
 *   - two:      copies home from one device while another works;
 *   - race:     host threads take pages home and write them while the main
 *               thread launches kernels on the same pages, over and over:
 *               no write of either side is lost.
 * Each with copies home on (the default) and off, on both move paths.
 *
 * usage: test_copy_home [pages [rounds]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "svmtest.h"

static size_t pg, words;

struct kargs {
	uint64_t *buf;
	uint64_t *seen; /* plain memory: what the device read */
	uint64_t tag;
};

/* Reads word 0 of page i, writes word 2. */
static void kernel_read_write(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->buf + i * words);

	a->seen[i] = d[0];
	d[2] = a->tag + i;
}

/* Adds one to word 3 of page i. */
static void kernel_count(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->buf + i * words);

	d[3]++;
}

/* Pages on device dev, then the host writes word 0 of each: they come home. */
static uint64_t *setup(size_t n, int dev)
{
	uint64_t *buf = svmt_alloc(n * pg);
	svm_stats_t s0, s1;

	for (size_t i = 0; i < n; i++)
		buf[i * words] = 0xa0a0a0a0ull + i;
	CHECK_OK(svm_prefetch(buf, n * pg, dev, NULL));
	CHECK_EQ(svmt_count_at(buf, n * pg, dev), n);
	s0 = svmt_stats();
	for (size_t i = 0; i < n; i++)
		buf[i * words] = 0xb0b0b0b0ull + i;
	s1 = svmt_stats();
	/* one fault per page at 4K, one per block at a larger SVM_GRANULARITY */
	CHECK(s1.cpu_faults - s0.cpu_faults >= 1 && s1.cpu_faults - s0.cpu_faults <= n);
	CHECK_EQ(s1.pages_to_host - s0.pages_to_host, n);
	CHECK_EQ(svmt_count_at(buf, n * pg, SVM_HOST), n);
	return buf;
}

static void check_device_sees_host(uint64_t *buf, size_t n, int dev, const char *after)
{
	uint64_t *seen = calloc(n, sizeof(*seen));
	struct kargs a = { buf, seen, 0xc0c0c0c0ull };

	CHECK(seen != NULL);
	CHECK_OK(svm_launch(dev, n, kernel_read_write, &a));
	for (size_t i = 0; i < n; i++) {
		CHECK_MSG(seen[i] == 0xb0b0b0b0ull + i,
			  "%s: the device read %#llx on page %zu, not the host's %#llx "
			  "(0xa0a0...: its own stale copy)",
			  after, (unsigned long long)seen[i], i,
			  (unsigned long long)(0xb0b0b0b0ull + i));
		CHECK_EQ(buf[i * words + 2], 0xc0c0c0c0ull + i);
		CHECK_EQ(buf[i * words], 0xb0b0b0b0ull + i);
	}
	free(seen);
}

/*
 * Starts device 0's workers, so that the first launch of a test runs at
 * once: stale copies left alone long enough are dropped anyway (a fault
 * server idle for 1 ms drops them), and the launch must find them first.
 */
static void warm_up(void)
{
	uint64_t *buf = svmt_alloc(pg), seen = 0;
	struct kargs a = { buf, &seen, 0 };

	CHECK_OK(svm_launch(0, 1, kernel_read_write, &a));
	CHECK_OK(svm_free(buf));
}

static void test_stale(size_t n)
{
	uint64_t *buf = setup(n, 0);

	check_device_sees_host(buf, n, 0, "a launch after copies home");
	CHECK_OK(svm_free(buf));
	printf("stale: ok (%zu pages)\n", n);
}

/* Every page to dev in one prefetch: none may find a stale copy in its way. */
static void prefetch_all(uint64_t *buf, size_t n, int dev)
{
	svm_migrate_report_t rep;

	CHECK_OK(svm_prefetch(buf, n * pg, dev, &rep));
	CHECK_EQ(rep.pages, n);
	CHECK_EQ(rep.moved, n);
	CHECK_EQ(rep.failed, 0);
	CHECK_EQ(rep.retries, 0); /* a stale copy in the way fails the move, then retries */
	CHECK_EQ(svmt_count_at(buf, n * pg, dev), n);
}

static void test_prefetch(size_t n)
{
	uint64_t *buf = setup(n, 0);

	prefetch_all(buf, n, 0);
	check_device_sees_host(buf, n, 0, "a prefetch after copies home");
	CHECK_OK(svm_free(buf));
	printf("prefetch: ok (%zu pages)\n", n);
}

/*
 * The stale copies outlive their allocation: freed, allocated again (the
 * same addresses, as the heap hands out the lowest fit), the new pages go
 * to the device and must hold the new bytes.
 */
static void test_free(size_t n)
{
	uint64_t *buf = setup(n, 0), *again;

	CHECK_OK(svm_free(buf));
	again = svmt_alloc(n * pg);
	for (size_t i = 0; i < n; i++)
		again[i * words] = 0xb0b0b0b0ull + i;
	prefetch_all(again, n, 0);
	check_device_sees_host(again, n, 0, "a new allocation over copies home");
	CHECK_OK(svm_free(again));
	printf("free: ok (%zu pages%s)\n", n, again == buf ? ", same address" : "");
}

/* Two devices: copies home from device 1 while device 0 works, then back. */
static void test_two(size_t n)
{
	uint64_t *buf;

	if (svm_device_count() < 2) {
		printf("two: skipped (one device; SVM_USER_DEVICES=2 runs it)\n");
		return;
	}
	buf = setup(n, 1);
	check_device_sees_host(buf, n, 0, "device 0 after copies home from device 1");
	for (size_t i = 0; i < n; i++) /* home again, from device 0 this time */
		CHECK_EQ(buf[i * words + 2], 0xc0c0c0c0ull + i);
	prefetch_all(buf, n, 1);
	check_device_sees_host(buf, n, 1, "device 1 after copies home from both");
	CHECK_OK(svm_free(buf));
	printf("two: ok (%zu pages)\n", n);
}

struct host_arg {
	uint64_t *buf;
	size_t first, n, rounds; /* rounds: at least this many, then until stop */
	size_t done;
	int go, stop;
};

/* Writes word 1 of every page of its share, round after round. */
static void *host_thread(void *arg)
{
	struct host_arg *h = arg;
	size_t r = 0;

	while (!__atomic_load_n(&h->go, __ATOMIC_ACQUIRE))
		;
	while (r < h->rounds || !__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		r++;
		for (size_t i = h->first; i < h->first + h->n; i++)
			((volatile uint64_t *)h->buf)[i * words + 1] = r;
	}
	h->done = r;
	return NULL;
}

static void test_race(size_t n, size_t rounds)
{
	enum { NT = 2 };
	uint64_t *buf = svmt_alloc(n * pg);
	struct host_arg h[NT];
	pthread_t t[NT];
	struct kargs a = { buf, NULL, 0 };
	size_t launches = 0;
	bool joined[NT] = { false };

	memset(buf, 0, n * pg);
	for (int k = 0; k < NT; k++) {
		h[k] = (struct host_arg){ .buf = buf, .first = k * (n / NT), .n = n / NT,
					  .rounds = rounds };
		CHECK(pthread_create(&t[k], NULL, host_thread, &h[k]) == 0);
	}
	CHECK_OK(svm_prefetch(buf, n * pg, 0, NULL));
	for (int k = 0; k < NT; k++)
		__atomic_store_n(&h[k].go, 1, __ATOMIC_RELEASE);
	/* launches while the host threads run, and at least a few */
	/* at least 64 launches while the host threads write, more while they go on */
	for (int left = NT; left;) {
		CHECK_OK(svm_launch(0, n, kernel_count, &a));
		launches++;
		for (int k = 0; k < NT && launches >= 64; k++)
			__atomic_store_n(&h[k].stop, 1, __ATOMIC_RELEASE);
		for (int k = 0; k < NT; k++)
			if (!joined[k] && pthread_tryjoin_np(t[k], NULL) == 0) {
				joined[k] = true;
				left--;
			}
		if (launches % 8 == 0) /* pages away again: the host faults them home */
			CHECK_OK(svm_prefetch(buf, n * pg, 0, NULL));
	}
	for (size_t i = 0; i < n / NT * NT; i++) {
		size_t want = h[i / (n / NT)].done;

		CHECK_MSG(buf[i * words + 1] == want, "page %zu: host word %llu, wrote %zu", i,
			  (unsigned long long)buf[i * words + 1], want);
		CHECK_MSG(buf[i * words + 3] == launches,
			  "page %zu: device count %llu after %zu launches", i,
			  (unsigned long long)buf[i * words + 3], launches);
	}
	CHECK_OK(svm_free(buf));
	printf("race: ok (%zu pages, %zu and %zu host rounds, %zu launches)\n", n, h[0].done,
	       h[1].done, launches);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	size_t rounds = svmt_scaled(argc > 2 ? strtoul(argv[2], NULL, 0) : 200);

	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_init();
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	warm_up();
	test_stale(n);
	test_prefetch(n);
	test_free(n);
	test_two(n);
	test_race(n, rounds);
	CHECK_OK(svm_finalize());
	return 0;
}
