/* SPDX-License-Identifier: MIT */
/*
 * Real pins through the runtime: SVM memory registered as an io_uring
 * fixed buffer (a FOLL_LONGTERM pin, the kind RDMA takes). A prefetch
 * reports every page PINNED and moves none; device kernels still read and
 * write those pages (in place); io_uring's fixed-buffer reads still land
 * in the very pages the program sees, so nothing was copied away from
 * under the pin. Once unregistered, the pages move.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "svmtest.h"

#ifdef SVMT_HAVE_URING
#include <liburing.h>

#define PAGES 64

static size_t pg;

static void add_index(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i * (pg / 8)] += i;
}

static void check_pinned(uint64_t *buf, const svm_migrate_report_t *rep)
{
	CHECK_EQ(rep->pages, PAGES);
	CHECK_EQ(rep->moved, 0);
	CHECK_EQ(rep->failed_by[SVM_FAILURE_PINNED], PAGES);
	for (size_t i = 0; i < PAGES; i++) {
		svm_page_info_t info = svmt_page((char *)buf + i * pg);

		CHECK_EQ(info.location, SVM_HOST);
		CHECK_EQ(info.last_failure, SVM_FAILURE_PINNED);
	}
}

int main(void)
{
	static const char msg[] = "io_uring wrote this into pinned SVM memory";
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	svm_migrate_report_t rep;
	struct io_uring ring;
	svm_stats_t s0, s1;
	struct iovec iov;
	size_t len, words;
	uint64_t *buf;
	int r, mfd;

	svmt_init();
	pg = svmt_page_size();
	len = PAGES * pg;
	words = len / 8;
	buf = svmt_alloc(len);
	for (size_t i = 0; i < words; i++)
		buf[i] = svmt_pattern(1, i);

	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	iov.iov_base = buf;
	iov.iov_len = len;
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r < 0)
		svmt_skip("cannot register an io_uring buffer: %s (RLIMIT_MEMLOCK?)",
			  strerror(-r));

	/* A prefetch meets the pins: every page PINNED, none moved. */
	CHECK_OK(svm_stats(&s0));
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
	check_pinned(buf, &rep);
	CHECK_OK(svm_stats(&s1));
	CHECK(s1.failures_by[SVM_FAILURE_PINNED] - s0.failures_by[SVM_FAILURE_PINNED] >=
	      PAGES);

	/* The device reaches them where they are. */
	CHECK_OK(svm_launch(0, PAGES, add_index, buf));
	for (size_t i = 0; i < PAGES; i++)
		CHECK_EQ(buf[i * (pg / 8)], svmt_pattern(1, i * (pg / 8)) + i);
	CHECK_EQ(svmt_location(buf), SVM_HOST);

	/* io_uring's DMA-like writes land in the pages the program reads. */
	mfd = memfd_create("svmrt-io_uring", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_EQ(write(mfd, msg, sizeof(msg)), (ssize_t)sizeof(msg));
	sqe = io_uring_get_sqe(&ring);
	CHECK(sqe);
	io_uring_prep_read_fixed(sqe, mfd, (char *)buf + 5 * pg, sizeof(msg), 0, 0);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK_EQ(cqe->res, (int)sizeof(msg));
	io_uring_cqe_seen(&ring, cqe);
	CHECK(memcmp((char *)buf + 5 * pg, msg, sizeof(msg)) == 0);
	close(mfd);

	/* Unregistered, nothing holds them: they move. */
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	io_uring_queue_exit(&ring);
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_OK);
	CHECK_EQ(rep.moved + rep.already, PAGES);
	CHECK_EQ(svmt_location(buf), 0);
	CHECK(memcmp((char *)buf + 5 * pg, msg, sizeof(msg)) == 0);
	CHECK_EQ(buf[7 * (pg / 8)], svmt_pattern(1, 7 * (pg / 8)) + 7);

	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("PASS retry io_uring: %d registered pages PINNED, served in place, moved once released\n",
	       PAGES);
	return 0;
}
#else
int main(void)
{
	svmt_skip("built without liburing (liburing-dev)");
	return 77;
}
#endif
