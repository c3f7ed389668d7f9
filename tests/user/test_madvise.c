/* SPDX-License-Identifier: MIT */
/*
 * The program's own madvise() on SVM memory: MADV_DONTNEED, MADV_FREE and
 * MADV_PAGEOUT, on pages the host holds, pages a device holds, read
 * duplicates and pages served in place, then host and device accesses.
 *
 * As on anonymous memory, a page the host held and the program dropped
 * reads back as zeros afterwards, on the host and on a device; its next
 * writes are kept. A page a device held may keep its bytes (the user
 * backend: the host address held nothing to drop) or read back as zeros
 * (kshim: the kernel drops the device page too); both are allowed, per
 * page, but never anything else. PAGEOUT and FREE keep the bytes or (FREE,
 * once reclaimed) give zeros.
 *
 * Before the fix the user backend hung on the first host read after
 * MADV_DONTNEED (the fault found the page "home" and woke the thread, which
 * faulted again, forever), and a device access to such a page blocked its
 * fault-service thread on its own userfaultfd. Every step runs under a
 * watchdog: a hang is a failure that names the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svmtest.h"

#define NPAGES 64
#define STEP_S 20

static size_t pg, wpp;
static const char *volatile step = "start";

static void on_alarm(int sig)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "FAIL: step \"%s\" hung for %d s\n", step, STEP_S);

	(void)sig;
	if (write(2, msg, (size_t)n) < 0)
		_exit(3);
	_exit(1);
}

static void begin(const char *what)
{
	step = what;
	alarm(STEP_S);
}

static void fill(uint64_t *p, size_t pages, uint64_t seed)
{
	for (size_t i = 0; i < pages * wpp; i++)
		p[i] = svmt_pattern(seed, i);
}

/* Page k holds seed's pattern, or zeros (when zero_ok), and nothing else. */
static bool page_is(const uint64_t *p, size_t k, uint64_t seed, bool zero_ok, bool *zero)
{
	bool all_old = true, all_zero = true;

	for (size_t w = 0; w < wpp; w++) {
		uint64_t v = p[k * wpp + w];

		all_old = all_old && v == svmt_pattern(seed, k * wpp + w);
		all_zero = all_zero && v == 0;
	}
	if (zero)
		*zero = all_zero && !all_old;
	return all_old || (zero_ok && all_zero);
}

struct kargs {
	uint64_t *p;
	uint64_t *sums;
	uint64_t add; /* 0: read only */
};

/* Index i checksums page i, then adds `add` to its first word. */
static void kernel_page(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->p + i * wpp);

	a->sums[i] = svmt_checksum(d, pg);
	if (a->add)
		d[0] += a->add;
}

static void device_pass(uint64_t *p, uint64_t *sums, uint64_t add)
{
	struct kargs a = { p, sums, add };

	CHECK_OK(svm_launch(0, NPAGES, kernel_page, &a));
}

/* DONTNEED on host-held pages: zeros on the host, then writes are kept. */
static void host_dontneed(uint64_t *p)
{
	begin("host pages, MADV_DONTNEED, host read");
	fill(p, NPAGES, 1);
	CHECK(madvise(p, NPAGES / 2 * pg, MADV_DONTNEED) == 0);
	for (size_t k = 0; k < NPAGES; k++) {
		bool zero;

		CHECK_MSG(page_is(p, k, 1, k < NPAGES / 2, &zero),
			  "page %zu: neither its bytes nor zeros after MADV_DONTNEED", k);
		CHECK_MSG(zero == (k < NPAGES / 2), "page %zu: %s", k,
			  zero ? "zeros, but it was not dropped" : "old bytes after MADV_DONTNEED");
	}
	begin("host pages, MADV_DONTNEED, host write and read");
	fill(p, NPAGES, 2);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK(page_is(p, k, 2, false, NULL));
}

/* DONTNEED on host-held pages, then the first access is a device's. */
static void device_after_dontneed(uint64_t *p)
{
	uint64_t sums[NPAGES];
	uint64_t zero_sum;
	static uint64_t zeros[4096 / 8];

	begin("host pages, MADV_DONTNEED, device read and write");
	zero_sum = svmt_checksum(zeros, sizeof(zeros) < pg ? sizeof(zeros) : pg);
	fill(p, NPAGES, 3);
	CHECK(madvise(p, NPAGES * pg, MADV_DONTNEED) == 0);
	device_pass(p, sums, 5);
	for (size_t k = 0; k < NPAGES; k++) {
		CHECK_MSG(pg != sizeof(zeros) || sums[k] == zero_sum,
			  "page %zu: the device read something else than zeros", k);
		CHECK_EQ(p[k * wpp], 5);
		for (size_t w = 1; w < wpp; w++)
			CHECK_EQ(p[k * wpp + w], 0);
	}
}

/* Pages on a device, then DONTNEED on their host addresses. */
static void device_pages_dontneed(uint64_t *p)
{
	size_t zero = 0;

	begin("device pages, MADV_DONTNEED, host read");
	fill(p, NPAGES, 4);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, NULL));
	CHECK(madvise(p, NPAGES * pg, MADV_DONTNEED) == 0);
	for (size_t k = 0; k < NPAGES; k++) {
		bool z;

		CHECK_MSG(page_is(p, k, 4, true, &z),
			  "page %zu on a device: neither its bytes nor zeros after MADV_DONTNEED", k);
		zero += z;
	}
	printf("INFO: device pages after MADV_DONTNEED on the host address: %zu of %d zero\n",
	       zero, NPAGES);
	begin("device pages, MADV_DONTNEED, write and read");
	fill(p, NPAGES, 5);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK(page_is(p, k, 5, false, NULL));
}

/* Read duplicates and pages served in place, then DONTNEED. */
static void copies_dontneed(uint64_t *p)
{
	uint64_t sums[NPAGES];

	begin("read duplicates, MADV_DONTNEED");
	fill(p, NPAGES, 6);
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_SET_READ_MOSTLY, SVM_HOST));
	device_pass(p, sums, 0);
	CHECK(madvise(p, NPAGES * pg, MADV_DONTNEED) == 0);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK_MSG(page_is(p, k, 6, true, NULL), "read duplicate %zu after MADV_DONTNEED", k);
	fill(p, NPAGES, 7);
	device_pass(p, sums, 1);
	for (size_t k = 0; k < NPAGES; k++) {
		CHECK_EQ(p[k * wpp], svmt_pattern(7, k * wpp) + 1);
		CHECK_EQ(p[k * wpp + 1], svmt_pattern(7, k * wpp + 1));
	}
	CHECK_OK(svm_advise(p, NPAGES * pg, SVM_ADVISE_UNSET_READ_MOSTLY, SVM_HOST));

	begin("pinned pages, MADV_DONTNEED, device pass");
	CHECK_OK(svm_pin(p, NPAGES * pg));
	fill(p, NPAGES, 8);
	device_pass(p, sums, 0);
	CHECK(madvise(p, NPAGES * pg, MADV_DONTNEED) == 0);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK_MSG(page_is(p, k, 8, true, NULL), "pinned page %zu after MADV_DONTNEED", k);
	device_pass(p, sums, 2);
	fill(p, NPAGES, 9);
	device_pass(p, sums, 3);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK_EQ(p[k * wpp], svmt_pattern(9, k * wpp) + 3);
	CHECK_OK(svm_unpin(p, NPAGES * pg));
}

/* FREE and PAGEOUT: the bytes stay, or (FREE, reclaimed) zeros. */
static void free_and_pageout(uint64_t *p)
{
	uint64_t sums[NPAGES];

	begin("MADV_FREE, host read");
	fill(p, NPAGES, 10);
	CHECK(madvise(p, NPAGES * pg, MADV_FREE) == 0);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK(page_is(p, k, 10, true, NULL));
	begin("MADV_FREE, device pass");
	fill(p, NPAGES, 11);
	CHECK(madvise(p, NPAGES * pg, MADV_FREE) == 0);
	device_pass(p, sums, 0);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK(page_is(p, k, 11, true, NULL));
	begin("MADV_PAGEOUT, host and device");
	fill(p, NPAGES, 12);
	if (madvise(p, NPAGES * pg, MADV_PAGEOUT) != 0)
		printf("INFO: MADV_PAGEOUT: %s (kernel before 5.4?)\n", strerror(errno));
	for (size_t k = 0; k < NPAGES; k++)
		CHECK_MSG(page_is(p, k, 12, false, NULL), "page %zu lost its bytes to PAGEOUT", k);
	device_pass(p, sums, 1);
	for (size_t k = 0; k < NPAGES; k++)
		CHECK_EQ(p[k * wpp], svmt_pattern(12, k * wpp) + 1);
}

int main(void)
{
	uint64_t *p;

	svmt_default_env("SVM_GRANULARITY", "4K");
	signal(SIGALRM, on_alarm);
	svmt_init();
	pg = svmt_page_size();
	wpp = pg / sizeof(uint64_t);
	p = svmt_alloc(NPAGES * pg);
	host_dontneed(p);
	device_after_dontneed(p);
	device_pages_dontneed(p);
	copies_dontneed(p);
	free_and_pageout(p);
	alarm(0);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("PASS madvise: DONTNEED, FREE and PAGEOUT on host, device, duplicated and "
	       "pinned pages\n");
	return 0;
}
