/* SPDX-License-Identifier: MIT */
/*
 * Pages shared with a fork child, met at once by a move to a device and
 * an io_uring registration (a long-term writable pin).
 *
 * Round after round the host writes a small SVM buffer, a child is forked
 * that only waits (so the buffer's pages are shared with it), and then
 * one thread prefetches the buffer to a device while another registers it
 * as a fixed buffer. On the move path UFFDIO_MOVE refuses a shared page
 * and the runtime copies it instead, since a shared page cannot be
 * pinned; but the registration breaks the sharing (a copy-on-write gives
 * this process a new page, exclusive and pinned), and a page copied away
 * after that is lost to its pinner. The host then writes the buffer and
 * the kernel must read that (WRITE_FIXED); the kernel writes it
 * (READ_FIXED) and the host must read that. Before the fix, on the move
 * path, 8 of 17 runs of 5 s lost a page (WRITE_FIXED read the old one).
 *
 *   user_pin_shared [seconds]   default SVMT_PIN_SHARED_SECONDS or 5
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svmtest.h"
#include "svmt_path.h"

#ifdef SVMT_HAVE_URING
#include <liburing.h>

#define PAGES 64

static size_t pg, words;
static uint64_t *buf;
static pthread_barrier_t go, done;
static atomic_bool stop;
static atomic_ulong moved, pinned, from;

/* prefetches the buffer to device 0 once per round, as the registration runs */
static void *mover(void *arg)
{
	(void)arg;
	for (;;) {
		svm_migrate_report_t rep;
		svm_result_t res;

		pthread_barrier_wait(&go);
		if (atomic_load(&stop))
			return NULL;
		/* from a page that changes each round: the two meet at different pages */
		size_t a = atomic_load(&from) % PAGES;

		res = svm_prefetch((char *)buf + a * pg, (PAGES - a) * pg, 0, &rep);
		CHECK_MSG(res == SVM_OK || res == SVM_PARTIAL, "prefetch: %s",
			  svm_result_string(res));
		atomic_fetch_add(&moved, rep.moved);
		atomic_fetch_add(&pinned, rep.failed_by[SVM_FAILURE_PINNED]);
		pthread_barrier_wait(&done);
	}
}

static void fixed_rw(struct io_uring *ring, int fd, bool to_file)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	unsigned len = (unsigned)(PAGES * pg);

	CHECK(sqe);
	if (to_file)
		io_uring_prep_write_fixed(sqe, fd, buf, len, 0, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, 0, 0);
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	CHECK_EQ(cqe->res, (int)len);
	io_uring_cqe_seen(ring, cqe);
}

int main(int argc, char **argv)
{
	const char *env = getenv("SVMT_PIN_SHARED_SECONDS"), *path;
	double seconds = argc > 1 ? atof(argv[1]) : env && *env ? atof(env) : 5;
	struct iovec iov;
	struct io_uring ring;
	uint64_t *io, key = svmt_now_ns(), t_end;
	unsigned long rounds = 0;
	uint32_t gen = 0;
	pthread_t t;
	int r, mfd;

	svmt_user_moves(&path);
	svmt_init();
	pg = svmt_page_size();
	words = PAGES * pg / 8;
	buf = svmt_alloc(PAGES * pg);
	io = malloc(PAGES * pg);
	CHECK(io);
	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	iov = (struct iovec){ buf, PAGES * pg };
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r < 0)
		svmt_skip("cannot register io_uring buffers: %s (RLIMIT_MEMLOCK?)", strerror(-r));
	/*
	 * The runtime meets this pin before the race: the copy path in
	 * long-term mode cannot see pins taken before it has seen one
	 * (docs/data-integrity.md), and that is not what this test is about.
	 */
	{
		svm_migrate_report_t rep;

		CHECK_RES(svm_prefetch(buf, PAGES * pg, 0, &rep), SVM_PARTIAL);
		CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], PAGES);
	}
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	mfd = memfd_create("svmrt-pin-shared", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK(ftruncate(mfd, (off_t)(PAGES * pg)) == 0);
	CHECK(pthread_barrier_init(&go, NULL, 2) == 0);
	CHECK(pthread_barrier_init(&done, NULL, 2) == 0);
	CHECK(pthread_create(&t, NULL, mover, NULL) == 0);

	t_end = svmt_now_ns() + (uint64_t)(seconds * 1e9);
	while (svmt_now_ns() < t_end) {
		int p[2], st;
		pid_t pid;

		gen++;
		for (size_t w = 0; w < words; w++)
			buf[w] = svmt_pattern(key ^ gen, w);
		CHECK(pipe2(p, O_CLOEXEC) == 0);
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) { /* shares the buffer's pages until the parent lets it go */
			char c;

			close(p[1]);
			(void)!read(p[0], &c, 1);
			_exit(0);
		}
		close(p[0]);
		pthread_barrier_wait(&go);
		CHECK_EQ(io_uring_register_buffers(&ring, &iov, 1), 0);
		pthread_barrier_wait(&done);

		/* the host writes; the kernel must read it from the pinned pages */
		gen++;
		for (size_t w = 0; w < words; w++)
			buf[w] = svmt_pattern(key ^ gen, w);
		fixed_rw(&ring, mfd, true);
		CHECK_EQ(pread(mfd, io, PAGES * pg, 0), (ssize_t)(PAGES * pg));
		for (size_t w = 0; w < words; w++)
			CHECK_MSG(io[w] == svmt_pattern(key ^ gen, w),
				  "round %lu: WRITE_FIXED read a page the program no longer sees "
				  "(word %zu, page %zu)", rounds, w, w * 8 / pg);
		/* the kernel writes; the host must read it */
		gen++;
		for (size_t w = 0; w < words; w++)
			io[w] = svmt_pattern(key ^ gen, w);
		CHECK_EQ(pwrite(mfd, io, PAGES * pg, 0), (ssize_t)(PAGES * pg));
		fixed_rw(&ring, mfd, false);
		for (size_t w = 0; w < words; w++)
			CHECK_MSG(buf[w] == svmt_pattern(key ^ gen, w),
				  "round %lu: READ_FIXED wrote a page the program no longer sees "
				  "(word %zu, page %zu)", rounds, w, w * 8 / pg);
		CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
		CHECK(write(p[1], "", 1) == 1);
		close(p[1]);
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		rounds++;
		atomic_store(&from, rounds * 7);
	}
	atomic_store(&stop, true);
	pthread_barrier_wait(&go);
	CHECK(pthread_join(t, NULL) == 0);
	io_uring_queue_exit(&ring);
	close(mfd);
	free(io);
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("PASS: %s: %lu rounds, %lu pages moved, %lu found pinned, nothing lost\n", path,
	       rounds, atomic_load(&moved), atomic_load(&pinned));
	return 0;
}
#else
int main(void)
{
	svmt_skip("built without liburing (liburing-dev)");
}
#endif
