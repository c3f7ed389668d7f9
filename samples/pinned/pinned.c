/* SPDX-License-Identifier: MIT */
/*
 * pinned - a pinned buffer is served in place while the rest migrates.
 *
 * A "network" buffer is pinned (as an RDMA or io_uring registration would
 * pin it); a "work" buffer is not. One device kernel writes both. The work
 * pages move to the device; the pinned pages never leave the host, yet the
 * device's writes to them are there when the kernel returns. A prefetch of
 * the pinned buffer reports every page as PINNED instead of hanging or
 * retrying.
 *
 *   SVM_PROFILE=1 ./pinned
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <svmrt.h>

#define PAGES 256
#define PAGE 4096

struct args {
	uint64_t *net, *work;
};

static void fill(const svm_kernel_ctx_t *ctx, size_t page, void *arg)
{
	struct args *a = arg;
	uint64_t *net = svm_device_ptr(ctx, a->net);
	uint64_t *work = svm_device_ptr(ctx, a->work);

	net[page * (PAGE / 8)] = 1000 + page;
	work[page * (PAGE / 8)] = 2000 + page;
}

static size_t count_at(const void *p, int location)
{
	svm_page_info_t info[PAGES];
	size_t n = 0;

	if (svm_query(p, PAGES * PAGE, info, PAGES) != SVM_OK)
		return 0;
	for (size_t i = 0; i < PAGES; i++)
		n += info[i].location == location;
	return n;
}

static int take(svm_result_t r, const char *what)
{
	if (r == SVM_OK)
		return 0;
	fprintf(stderr, "pinned: %s failed: %s\n", what, svm_result_string(r));
	return 1;
}

int main(void)
{
	struct args a;
	svm_migrate_report_t rep;
	svm_stats_t s;
	svm_result_t res = svm_init();
	size_t bad = 0, net_home, work_away;

	if (res != SVM_OK) {
		fprintf(stderr, "pinned: svm_init: %s\n", svm_result_string(res));
		return res == SVM_ERROR_NO_DEVICE ? 77 : 1;
	}
	if (take(svm_alloc((void **)&a.net, PAGES * PAGE), "alloc") ||
	    take(svm_alloc((void **)&a.work, PAGES * PAGE), "alloc") ||
	    take(svm_pin(a.net, PAGES * PAGE), "pin"))
		return 1;
	for (size_t i = 0; i < PAGES; i++) /* the host fills both first */
		a.net[i * (PAGE / 8)] = a.work[i * (PAGE / 8)] = 0;
	printf("Pinned a %d KiB network buffer; the %d KiB work buffer is not pinned.\n",
	       PAGES * 4, PAGES * 4);
	if (take(svm_launch(0, PAGES, fill, &a), "launch"))
		return 1;
	net_home = count_at(a.net, SVM_HOST);
	work_away = count_at(a.work, 0);
	printf("A device kernel wrote both. Now %zu of %d network pages are on the host and "
	       "%zu of %d work pages are on device 0.\n", net_home, PAGES, work_away, PAGES);
	res = svm_prefetch(a.net, PAGES * PAGE, 0, &rep);
	printf("Prefetching the network buffer to device 0: %s, %zu moved, %zu pinned "
	       "(never retried: %u retry rounds).\n", svm_result_string(res), rep.moved,
	       rep.failed_by[SVM_FAILURE_PINNED], rep.retries);
	for (size_t i = 0; i < PAGES; i++) {
		bad += a.net[i * (PAGE / 8)] != 1000 + i;
		bad += a.work[i * (PAGE / 8)] != 2000 + i;
	}
	if (take(svm_stats(&s), "stats"))
		return 1;
	printf("The host reads the device's values from both: %s. Pages served in place: "
	       "%" PRIu64 ", moved to the device: %" PRIu64 ".\n", bad ? "WRONG" : "all right",
	       s.remote_accesses, s.pages_to_device);
	svm_unpin(a.net, PAGES * PAGE);
	svm_free(a.net);
	svm_free(a.work);
	svm_finalize();
	return bad || net_home != PAGES || work_away != PAGES || res != SVM_PARTIAL ||
	       rep.failed_by[SVM_FAILURE_PINNED] != PAGES;
}
