/* SPDX-License-Identifier: MIT */
/*
 * The kernel fault of docs/data-integrity.md ("Open"), played by
 * SVM_INJECT=class=left-behind: pages that UFFDIO_MOVE reported moved are
 * put back where they came from, behind the runtime's back. Nothing may
 * be lost:
 *   1. a device reads pages recorded on it and found on the host
 *      (refill_found brings them);
 *   2. the host reads pages recorded at home and found on the device
 *      after a prefetch home (refill_found again);
 *   3. a prefetch home meets pages of the prefetch before it that never
 *      left home (UFFDIO_MOVE: File exists; at_destination takes them as
 *      moved): every page is reported moved or already there, none failed.
 * Steps 1 and 2 also check, in /proc/self/pagemap, that the injection
 * happened (host pages present where the runtime records the device, or
 * missing where it records home) and that the reads put them right, so
 * that the test cannot pass for want of it.
 * User backend, UFFDIO_MOVE path only; SKIP elsewhere.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "svmtest.h"
#include "svmt_path.h"

#define NPAGES 1024

static size_t pg, wpp; /* page size, words per page */

struct dev_check {
	uint64_t *a;
	uint64_t seed;
	atomic_size_t bad;
};

/* index i: every word of page i as the device sees it */
static void dev_read(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct dev_check *c = arg;
	const uint64_t *a = svm_device_ptr(ctx, c->a);

	for (size_t w = i * wpp; w < (i + 1) * wpp; w++)
		if (a[w] != svmt_pattern(c->seed, w)) {
			atomic_fetch_add(&c->bad, 1);
			return;
		}
}

/* Pages of a whose host address maps a page now (pagemap: present or swapped). */
static size_t host_present(const uint64_t *a)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e[NPAGES];
	size_t n = 0;

	CHECK(fd >= 0);
	CHECK(pread(fd, e, sizeof(e), (off_t)((uintptr_t)a / pg * sizeof(e[0]))) ==
	      (ssize_t)sizeof(e));
	close(fd);
	for (size_t i = 0; i < NPAGES; i++)
		n += (e[i] >> 62) != 0;
	return n;
}

static void host_check(const uint64_t *a, uint64_t seed, const char *when)
{
	for (size_t w = 0; w < NPAGES * wpp; w++)
		CHECK_MSG(a[w] == svmt_pattern(seed, w), "%s: word %zu of page %zu is %#llx, "
			  "expected %#llx", when, w % wpp, w / wpp, (unsigned long long)a[w],
			  (unsigned long long)svmt_pattern(seed, w));
}

static void prefetch_all(uint64_t *a, int to, const char *when)
{
	svm_migrate_report_t rep;

	CHECK_MSG(svm_prefetch(a, NPAGES * pg, to, &rep) == SVM_OK,
		  "%s: %zu moved, %zu already there, %zu failed (busy %zu)", when, rep.moved,
		  rep.already, rep.failed, rep.failed_by[SVM_FAILURE_BUSY]);
	CHECK_EQ(rep.failed, 0);
	CHECK_EQ(rep.moved + rep.already, NPAGES);
}

int main(void)
{
	struct dev_check c = { .seed = 41 };
	const char *path;
	uint64_t *a;
	size_t left;

	pg = svmt_page_size();
	wpp = pg / sizeof(uint64_t);
	svmt_init();
	svmt_skip_on_kshim("plays a fault of the kernel's UFFDIO_MOVE");
	if (!svmt_user_moves(&path))
		svmt_skip("needs the UFFDIO_MOVE path: %s", path);
	a = svmt_alloc(NPAGES * pg);
	c.a = a;
	for (size_t w = 0; w < NPAGES * wpp; w++)
		a[w] = svmt_pattern(c.seed, w);

	/* 1. to device 0; pages put back on the host are read by the device */
	prefetch_all(a, 0, "prefetch to device 0");
	left = host_present(a);
	CHECK_MSG(left > 0 && left < NPAGES, "%zu of %d pages still on the host after a whole "
		  "prefetch to device 0: the injection did not play", left, NPAGES);
	CHECK_OK(svm_launch(0, NPAGES, dev_read, &c));
	CHECK_MSG(atomic_load(&c.bad) == 0, "the device read wrong words in %zu pages",
		  atomic_load(&c.bad));
	CHECK_EQ(host_present(a), 0); /* the device's reads brought them */
	printf("1: %zu pages left on the host, read right by the device\n", left);

	/* 2. home; pages put back on the device are read by the host */
	prefetch_all(a, SVM_HOST, "prefetch home");
	left = NPAGES - host_present(a);
	CHECK_MSG(left > 0 && left < NPAGES, "%zu of %d pages missing on the host after a "
		  "whole prefetch home: the injection did not play", left, NPAGES);
	host_check(a, c.seed, "host read after the prefetch home");
	CHECK_EQ(host_present(a), NPAGES);
	printf("2: %zu pages left on the device, read right by the host\n", left);

	/* 3. there and straight back: the pages that never left are found home */
	for (int round = 0; round < 4; round++) {
		prefetch_all(a, 0, "prefetch to device 0 (round trip)");
		prefetch_all(a, SVM_HOST, "prefetch home (round trip)");
	}
	host_check(a, c.seed, "host read after four round trips");
	c.seed = 42;
	for (size_t w = 0; w < NPAGES * wpp; w++)
		a[w] = svmt_pattern(c.seed, w);
	prefetch_all(a, 0, "prefetch to device 0 after the host wrote");
	CHECK_OK(svm_launch(0, NPAGES, dev_read, &c));
	CHECK_EQ(atomic_load(&c.bad), 0);
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_finalize());
	printf("PASS left_behind (%s)\n", path);
	return 0;
}
