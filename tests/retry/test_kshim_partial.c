/* SPDX-License-Identifier: MIT */
/*
 * No partial state on kshim (issue 15 item 4), with the shim's ioctls made
 * to fail on demand: this program defines ioctl() itself, so the runtime's
 * calls come here first and go on to libc's unless a failure is armed.
 *
 *   advise  a SET_ATTR that fails makes svm_advise fail and records
 *           nothing: a later advice on the same pages must not carry the
 *           refused one to the driver (read-mostly would keep the pages
 *           home on a device read; without it they move to the preferred
 *           device).
 *   unpin   an svm_unpin whose re-PIN of the pages that stay pinned fails
 *           is undone: every page is still pinned in the kernel (a
 *           prefetch finds all of them PINNED) and the pin counts are
 *           unchanged (the same unpins work afterwards, one more does not).
 *   query   a SNAPSHOT that answers EBUSY a few times (the page tables
 *           changed under the shim's walk) is asked again: svm_query
 *           succeeds with the right locations; one that stays EBUSY fails
 *           svm_query with SVM_ERROR_BACKEND after at most SVM_RETRY_ROUNDS
 *           retries within about SVM_RETRY_BUDGET_US; another error is
 *           not retried.
 *
 * Only for the kshim backend (the VM runs it); elsewhere SKIP.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "svmtest.h"
#include "uapi/svmshim.h"

static atomic_ulong fail_req; /* the request to fail, 0: none */
static atomic_int fail_errno;
static atomic_uint fail_left; /* how many more times */
static atomic_uint failed;

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	unsigned long want = atomic_load(&fail_req);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (want && req == want) {
		unsigned left = atomic_load(&fail_left);

		while (left && !atomic_compare_exchange_weak(&fail_left, &left, left - 1))
			;
		if (left) {
			if (left == 1)
				atomic_store(&fail_req, 0);
			atomic_fetch_add(&failed, 1);
			errno = atomic_load(&fail_errno);
			return -1;
		}
	}
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}

/* The next @times calls of @req fail with @err. */
static void arm_n(unsigned long req, int err, unsigned times)
{
	atomic_store(&failed, 0);
	atomic_store(&fail_errno, err);
	atomic_store(&fail_left, times);
	atomic_store(&fail_req, req);
}

static void arm(unsigned long req, int err)
{
	arm_n(req, err, 1);
}

static void disarm_expect_used(const char *what)
{
	unsigned long left = atomic_exchange(&fail_req, 0);

	atomic_store(&fail_left, 0);
	CHECK_MSG(!left && atomic_load(&failed) == 1, "%s: the armed ioctl failure was not used",
		  what);
}

/* Disarms; how many armed failures were used. */
static unsigned disarm(void)
{
	atomic_store(&fail_req, 0);
	atomic_store(&fail_left, 0);
	return atomic_load(&failed);
}

struct kargs {
	const uint64_t *p;
	size_t words_per_page;
	uint64_t sum;
};

static void kernel_read(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	const volatile uint64_t *w = svm_device_ptr(ctx, a->p + i * a->words_per_page);

	__atomic_fetch_add(&a->sum, *w, __ATOMIC_RELAXED);
}

static void test_advise(size_t pg)
{
	uint64_t *p = svmt_alloc(4 * pg);
	struct kargs a = { .p = p, .words_per_page = pg / 8 };

	for (size_t i = 0; i < 4 * pg / 8; i++)
		p[i] = svmt_pattern(41, i);
	arm(DRM_IOCTL_SVMSHIM_SET_ATTR, EIO);
	CHECK_RES(svm_advise(p, 4 * pg, SVM_ADVISE_SET_READ_MOSTLY, 0), SVM_ERROR_BACKEND);
	disarm_expect_used("SET_READ_MOSTLY");
	/* this one is taken; it must not bring the refused read-mostly along */
	CHECK_OK(svm_advise(p, 4 * pg, SVM_ADVISE_SET_PREFERRED_LOCATION, 0));
	CHECK_OK(svm_launch(0, 4, kernel_read, &a));
	CHECK_MSG(svmt_count_at(p, 4 * pg, 0) == 4,
		  "a device read left %zu of 4 pages home: the refused read-mostly advice "
		  "reached the driver", 4 - svmt_count_at(p, 4 * pg, 0));
	for (size_t i = 0; i < 4 * pg / 8; i++)
		CHECK_MSG(p[i] == svmt_pattern(41, i), "word %zu lost", i);
	CHECK_OK(svm_free(p));
	printf("advise: a refused advice is not recorded\n");
}

static void test_unpin(size_t pg)
{
	uint64_t *p = svmt_alloc(4 * pg);
	svm_migrate_report_t rep;
	svm_result_t res;

	for (size_t i = 0; i < 4 * pg / 8; i++)
		p[i] = svmt_pattern(42, i);
	CHECK_OK(svm_pin(p, 4 * pg));
	CHECK_OK(svm_pin((char *)p + pg, 2 * pg)); /* pages 1, 2 nested */
	/* unpin all 4: the kernel extent goes, pages 1-2 are pinned again;
	 * that re-PIN fails */
	arm(DRM_IOCTL_SVMSHIM_PIN, ENOMEM);
	res = svm_unpin(p, 4 * pg);
	CHECK_MSG(res < 0, "svm_unpin with a failing re-PIN: %s", svm_result_string(res));
	disarm_expect_used("re-PIN");
	/* undone: every page is pinned in the kernel */
	CHECK_RES(svm_prefetch(p, 4 * pg, 0, &rep), SVM_PARTIAL);
	CHECK_MSG(rep.failed_by[SVM_FAILURE_PINNED] == 4,
		  "after a failed unpin %zu of 4 pages are pinned in the kernel (moved %zu)",
		  rep.failed_by[SVM_FAILURE_PINNED], rep.moved);
	/* and counted as before: two levels on pages 1-2, one on 0 and 3 */
	CHECK_OK(svm_unpin(p, 4 * pg));
	CHECK_RES(svm_prefetch(p, 4 * pg, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], 2);
	CHECK_OK(svm_unpin((char *)p + pg, 2 * pg));
	CHECK_INVAL(svm_unpin(p, pg));
	CHECK_OK(svm_prefetch(p, 4 * pg, 0, NULL));
	CHECK_EQ(svmt_count_at(p, 4 * pg, 0), 4);
	for (size_t i = 0; i < 4 * pg / 8; i++)
		CHECK_MSG(p[i] == svmt_pattern(42, i), "word %zu lost", i);
	CHECK_OK(svm_free(p));
	printf("unpin: a failed unpin is undone in the kernel and the counts\n");
}

static void test_query(size_t pg)
{
	uint64_t *p = svmt_alloc(4 * pg);
	svm_page_info_t info[4];
	unsigned used;
	uint64_t t0;
	double dt;

	for (size_t i = 0; i < 4 * pg / 8; i++)
		p[i] = svmt_pattern(43, i);
	CHECK_OK(svm_prefetch(p, 4 * pg, 0, NULL));
	CHECK_EQ(svmt_count_at(p, 4 * pg, 0), 4);

	/* transient: three EBUSY answers, then the real one */
	arm_n(DRM_IOCTL_SVMSHIM_SNAPSHOT, EBUSY, 3);
	CHECK_OK(svm_query(p, 4 * pg, info, 4));
	used = disarm();
	CHECK_MSG(used == 3, "svm_query used %u of 3 EBUSY answers", used);
	for (int i = 0; i < 4; i++)
		CHECK_MSG(info[i].location == 0, "page %d is at %d after a retried query, not 0", i,
			  info[i].location);

	/* lasting: bounded by SVM_RETRY_ROUNDS (CTest sets 8) and the budget */
	arm_n(DRM_IOCTL_SVMSHIM_SNAPSHOT, EBUSY, 1000000);
	t0 = svmt_now_ns();
	CHECK_RES(svm_query(p, 4 * pg, info, 4), SVM_ERROR_BACKEND);
	dt = (double)(svmt_now_ns() - t0) / 1e9;
	used = disarm();
	CHECK_MSG(used == 9, "a lasting EBUSY was asked %u times, not 1 + 8 retries", used);
	CHECK_MSG(dt < 2.0, "a lasting EBUSY took %.2f s to fail", dt);

	/* another error: no retry */
	arm_n(DRM_IOCTL_SVMSHIM_SNAPSHOT, EIO, 5);
	CHECK_RES(svm_query(p, 4 * pg, info, 4), SVM_ERROR_BACKEND);
	used = disarm();
	CHECK_MSG(used == 1, "EIO was asked %u times, not once", used);

	CHECK_OK(svm_query(p, 4 * pg, info, 4));
	for (size_t i = 0; i < 4 * pg / 8; i++)
		CHECK_MSG(p[i] == svmt_pattern(43, i), "word %zu lost", i);
	CHECK_OK(svm_free(p));
	printf("query: a transient EBUSY is retried, a lasting one fails in bounds\n");
}

int main(void)
{
	size_t pg = svmt_page_size();

	svmt_init();
	if (strcmp(svmt_backend(), "kshim"))
		svmt_skip("the shim's ioctls are made to fail here; backend is %s", svmt_backend());
	test_advise(pg);
	test_unpin(pg);
	test_query(pg);
	CHECK_OK(svm_finalize());
	printf("PASS\n");
	return 0;
}
