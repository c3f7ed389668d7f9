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

static atomic_ulong fail_req; /* the request to fail once, 0: none */
static atomic_int fail_errno;
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
	if (want && req == want &&
	    atomic_compare_exchange_strong(&fail_req, &want, 0)) {
		atomic_fetch_add(&failed, 1);
		errno = atomic_load(&fail_errno);
		return -1;
	}
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}

static void arm(unsigned long req, int err)
{
	atomic_store(&failed, 0);
	atomic_store(&fail_errno, err);
	atomic_store(&fail_req, req);
}

static void disarm_expect_used(const char *what)
{
	unsigned long left = atomic_exchange(&fail_req, 0);

	CHECK_MSG(!left && atomic_load(&failed) == 1, "%s: the armed ioctl failure was not used",
		  what);
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

int main(void)
{
	size_t pg = svmt_page_size();

	svmt_init();
	if (strcmp(svmt_backend(), "kshim"))
		svmt_skip("the shim's ioctls are made to fail here; backend is %s", svmt_backend());
	test_advise(pg);
	test_unpin(pg);
	CHECK_OK(svm_finalize());
	printf("PASS\n");
	return 0;
}
