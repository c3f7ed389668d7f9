/* SPDX-License-Identifier: MIT */
/*
 * One pin probe for a whole run (issue 18): the copy path write-protects
 * every page of a run, looks for pinned pages with one fork, and copies
 * the rest run by run. Here a prefetch of 2048 host pages (8 MiB, far
 * more than the 256 pages one probe used to cover) meets io_uring
 * registered buffers (long-term pins) at pages 255-256, 511-512, 1023 and
 * 2047: across the old 256-page batches and across the probe's pagemap
 * reads. Those 6 pages must stay on the host, reported PINNED; every
 * other page moves; after a device kernel adds to every word,
 * IORING_OP_WRITE_FIXED of each buffer writes the bytes the program sees
 * (a pinned page copied away would leave io_uring the old one). Runs on
 * both paths; on the move path UFFDIO_MOVE itself refuses the pinned
 * pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "svmtest.h"
#include "svmt_path.h"

#ifdef SVMT_HAVE_URING
#include <liburing.h>

#define PAGES 2048

static const struct {
	size_t first, n;
} pins[] = { { 255, 2 }, { 511, 2 }, { 1023, 1 }, { 2047, 1 } };
#define NPINS (sizeof(pins) / sizeof(pins[0]))

/* device code: word i += i + 1 */
static void add_words(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i] += i + 1;
}

static bool is_pinned(size_t page)
{
	for (size_t k = 0; k < NPINS; k++)
		if (page >= pins[k].first && page < pins[k].first + pins[k].n)
			return true;
	return false;
}

static void write_fixed(struct io_uring *ring, int fd, unsigned idx, void *buf, size_t len,
			off_t at)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;

	CHECK(sqe);
	io_uring_prep_write_fixed(sqe, fd, buf, (unsigned)len, at, (int)idx);
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	CHECK_MSG(cqe->res == (int)len, "WRITE_FIXED returned %d, expected %zu", cqe->res, len);
	io_uring_cqe_seen(ring, cqe);
}

int main(void)
{
	size_t pg = svmt_page_size(), len = PAGES * pg, words = len / 8, npinned = 0;
	struct iovec iov[NPINS];
	svm_migrate_report_t rep;
	struct io_uring ring;
	uint64_t *buf, *want;
	const char *path;
	int r, mfd;

	svmt_user_moves(&path);
	svmt_init();
	buf = svmt_alloc(len);
	want = malloc(len);
	CHECK(want);
	for (size_t i = 0; i < words; i++)
		buf[i] = want[i] = svmt_pattern(7, i);
	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	for (size_t k = 0; k < NPINS; k++) {
		iov[k].iov_base = (char *)buf + pins[k].first * pg;
		iov[k].iov_len = pins[k].n * pg;
		npinned += pins[k].n;
	}
	r = io_uring_register_buffers(&ring, iov, NPINS);
	if (r < 0)
		svmt_skip("cannot register io_uring buffers: %s (RLIMIT_MEMLOCK?)", strerror(-r));

	/* one prefetch of the whole buffer: the pinned pages stay, the rest move */
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], npinned);
	CHECK_EQ(rep.moved, PAGES - npinned);
	for (size_t p = 0; p < PAGES; p++)
		CHECK_MSG(svmt_location((char *)buf + p * pg) == (is_pinned(p) ? SVM_HOST : 0),
			  "page %zu is at %d", p, svmt_location((char *)buf + p * pg));

	/* the device changes every word; the host sees it, and so does io_uring */
	CHECK_OK(svm_launch(0, words, add_words, buf));
	for (size_t i = 0; i < words; i++)
		want[i] += i + 1;
	for (size_t i = 0; i < words; i++)
		CHECK_MSG(buf[i] == want[i], "word %zu (page %zu): %#llx, expected %#llx", i,
			  i * 8 / pg, (unsigned long long)buf[i], (unsigned long long)want[i]);
	mfd = memfd_create("svmrt-probe-window", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	for (size_t k = 0; k < NPINS; k++) {
		size_t n = pins[k].n * pg;
		uint64_t *got = malloc(n);

		CHECK(got);
		write_fixed(&ring, mfd, (unsigned)k, iov[k].iov_base, n, 0);
		CHECK_EQ(pread(mfd, got, n, 0), (ssize_t)n);
		CHECK_MSG(!memcmp(got, want + pins[k].first * pg / 8, n),
			  "WRITE_FIXED of pages %zu-%zu wrote stale bytes: the pinned page was "
			  "copied away", pins[k].first, pins[k].first + pins[k].n - 1);
		free(got);
	}
	close(mfd);

	/* released, they move too */
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	io_uring_queue_exit(&ring);
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_OK);
	CHECK_EQ(svmt_count_at(buf, len, 0), PAGES);
	CHECK_OK(svm_free(buf));
	free(want);
	CHECK_OK(svm_finalize());
	printf("PASS: %s: %zu pinned pages of a %d-page prefetch kept home, the rest moved, "
	       "io_uring writes the current bytes\n", path, npinned, PAGES);
	return 0;
}
#else
int main(void)
{
	svmt_skip("built without liburing (liburing-dev)");
}
#endif
