/* SPDX-License-Identifier: MIT */
/*
 * Real pins through the runtime: SVM memory registered as an io_uring
 * fixed buffer (a FOLL_LONGTERM pin, the kind RDMA takes). A prefetch
 * reports every page PINNED and moves none; device kernels still read and
 * write those pages (in place); io_uring's fixed-buffer reads still land
 * in the very pages the program sees, so nothing was copied away from
 * under the pin. Once unregistered, the pages move.
 *
 * "writeback" (user backend): the end of the device's in-place copy cannot
 * make a pinned host page writable again (SVM_USER_SERVICE_FAIL=writeback).
 * No state is right then (the host page stays mapped for its pinner, so the
 * device cannot own it), and the process must stop at once with the reason
 * (SIGABRT), not go on with host reads that miss the device's writes and a
 * host write that waits for the fault timeout.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
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

/* Registers buf (len bytes) with a new ring: a long-term pin. SKIP if it cannot. */
static void register_buf(struct io_uring *ring, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	int r = io_uring_queue_init(4, ring, 0);

	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	r = io_uring_register_buffers(ring, &iov, 1);
	if (r < 0)
		svmt_skip("cannot register an io_uring buffer: %s (RLIMIT_MEMLOCK?)",
			  strerror(-r));
}

/* The child: pinned pages, a launch writes them in place; its end must stop. */
static void writeback_child(void)
{
	svm_migrate_report_t rep;
	struct io_uring ring;
	uint64_t *buf;

	setenv("SVM_USER_SERVICE_FAIL", "writeback", 1);
	svmt_init();
	svmt_skip_on_kshim("the user backend's in-place write-back");
	buf = svmt_alloc(PAGES * pg);
	for (size_t i = 0; i < PAGES * pg / 8; i++)
		buf[i] = svmt_pattern(2, i);
	register_buf(&ring, buf, PAGES * pg);
	CHECK_RES(svm_prefetch(buf, PAGES * pg, 0, &rep), SVM_PARTIAL);
	check_pinned(buf, &rep);
	CHECK_OK(svm_launch(0, PAGES, add_index, buf));
	/* not reached: what the old code did, visible as a failure */
	for (size_t i = 0; i < PAGES; i++)
		CHECK_EQ(buf[i * (pg / 8)], svmt_pattern(2, i * (pg / 8)) + i);
	FAIL("the in-place write-back could not unprotect a pinned page, and the launch "
	     "returned as if nothing happened");
}

static int writeback_fails(void)
{
	int p[2], st;
	char out[8192];
	size_t got = 0;
	ssize_t r;
	uint64_t t0 = svmt_now_ns();
	pid_t pid;

	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		alarm(30); /* a hang shows as SIGALRM, not as a stuck test */
		writeback_child();
		_exit(0);
	}
	close(p[1]);
	while (got < sizeof(out) - 1 && (r = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(p[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	fputs(out, stderr);
	if (WIFEXITED(st) && WEXITSTATUS(st) == SVMT_SKIP)
		svmt_skip("the child skipped (see above)");
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		  "the child ended with status %#x, expected SIGABRT at the launch's end", st);
	CHECK_MSG(strstr(out, "cannot be made writable again") != NULL,
		  "the abort did not say why");
	printf("PASS retry io_uring writeback: a pinned page that cannot be unprotected stops "
	       "the process in %.0f ms, with the reason\n", (double)(svmt_now_ns() - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	static const char msg[] = "io_uring wrote this into pinned SVM memory";
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	svm_migrate_report_t rep;
	struct io_uring ring;
	svm_stats_t s0, s1;
	size_t len, words;
	uint64_t *buf;
	int mfd;

	pg = svmt_page_size();
	if (argc > 1 && !strcmp(argv[1], "writeback"))
		return writeback_fails();
	svmt_init();
	len = PAGES * pg;
	words = len / 8;
	buf = svmt_alloc(len);
	for (size_t i = 0; i < words; i++)
		buf[i] = svmt_pattern(1, i);

	register_buf(&ring, buf, len);

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
int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	svmt_skip("built without liburing (liburing-dev)");
	return 77;
}
#endif
