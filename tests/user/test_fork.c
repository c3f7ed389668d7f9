/* SPDX-License-Identifier: MIT */
/*
 * fork(): device-resident pages are brought home before the fork, so the
 * child sees the parent's data as plain memory. The runtime is not
 * inherited: in the child every svm_* call says NOT_INITIALIZED. The
 * parent keeps working, and the child's writes never reach it.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "svmtest.h"

#define NPAGES 64

static size_t pg, words;

struct kargs {
	uint64_t *base;
	size_t words;
	uint64_t add;
};

static void kernel_add(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);

	for (size_t j = 0; j < a->words; j++)
		d[j] += a->add;
}

/* The child: exit code 0 when all is as promised, else the failing line
 * (CHECK exits with 1 after printing what failed). */
static void child(uint64_t *p, uint64_t add)
{
	svm_page_info_t info;
	svm_stats_t st;
	svm_migrate_report_t rep;
	void *q = NULL;

	for (size_t i = 0; i < NPAGES * words; i++)
		CHECK_MSG(p[i] == svmt_pattern(5, i) + add,
			  "child: word %zu is %llu, expected %llu", i,
			  (unsigned long long)p[i],
			  (unsigned long long)(svmt_pattern(5, i) + add));
	for (size_t i = 0; i < NPAGES * words; i++)
		p[i] = 0xdead; /* plain memory: private to the child */

	CHECK_EQ(svm_device_count(), 0);
	CHECK_NOINIT(svm_alloc(&q, pg));
	CHECK_NOINIT(svm_free(p));
	CHECK_NOINIT(svm_prefetch(p, pg, 0, &rep));
	CHECK_NOINIT(svm_query(p, pg, &info, 1));
	CHECK_NOINIT(svm_advise(p, pg, SVM_ADVISE_SET_READ_MOSTLY, 0));
	CHECK_NOINIT(svm_pin(p, pg));
	CHECK_NOINIT(svm_unpin(p, pg));
	CHECK_NOINIT(svm_launch(0, 1, kernel_add, NULL));
	CHECK_NOINIT(svm_stats(&st));
	CHECK_NOINIT(svm_finalize());
	fflush(stdout);
	_exit(0);
}

static void fork_and_check(uint64_t *p, uint64_t add)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		*svmt_in_child() = 1;
		child(p, add);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child failed (status 0x%x)", status);
}

int main(void)
{
	uint64_t *p;
	struct kargs a;

	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	p = svmt_alloc(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * words; i++)
		p[i] = svmt_pattern(5, i);

	/* All on the device, written there. */
	a = (struct kargs){ p, words, 1 };
	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, NULL));
	CHECK_OK(svm_launch(0, NPAGES, kernel_add, &a));
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES);
	fork_and_check(p, 1);
	printf("first fork: the child saw the device's writes\n");
	fflush(stdout);

	/* The parent still works: half on the device, kernels, faults. */
	CHECK_OK(svm_prefetch(p, NPAGES / 2 * pg, 0, NULL));
	CHECK_OK(svm_launch(0, NPAGES, kernel_add, &a));
	printf("after the fork: prefetch and launch work\n");
	fflush(stdout);
	fork_and_check(p, 2);
	CHECK_OK(svm_launch(0, NPAGES, kernel_add, &a));
	for (size_t i = 0; i < NPAGES * words; i++)
		CHECK_MSG(p[i] == svmt_pattern(5, i) + 3,
			  "parent: word %zu is %llu after the forks", i,
			  (unsigned long long)p[i]);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("fork: ok\n");
	return 0;
}
