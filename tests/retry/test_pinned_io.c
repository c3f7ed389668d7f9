/* SPDX-License-Identifier: MIT */
/*
 * Pages that someone else holds stay the pages the program sees, on every
 * path of the user backend (UFFDIO_MOVE, or copying). Usage:
 * retry_pinned_io <case>
 *   uring    a 1 MiB io_uring registered buffer (a long-term pin) in SVM
 *            memory: a prefetch to a device reports every page PINNED; after
 *            device and host writes, IORING_OP_WRITE_FIXED writes out the
 *            current bytes; IORING_OP_READ_FIXED's bytes are seen by host
 *            and device; once unregistered the pages move again
 *   vmsplice the pages of a buffer spliced into a pipe (plain references)
 *            move while the pipe holds them; the pipe still delivers the
 *            buffer's bytes and the program still sees them
 *   odirect  a thread reads a file with O_DIRECT into SVM memory while
 *            another prefetches that memory back and forth: every read's
 *            bytes arrive (needs a file system with O_DIRECT)
 *   unpin    svm_pin keeps pages home, svm_unpin lets them move again
 *   logonce  a range found pinned over and over (an io_uring buffer
 *            registered and unregistered 20 times) is said once in the log;
 *            again after svm_unpin of the range; another range has its own
 *   stale    no pinned mark outlives its pin: after svm_pin/svm_unpin (with
 *            device kernels in place between), and after an io_uring buffer
 *            is unregistered, a prefetch to device 0 moves every page, none
 *            reported PINNED, and svm_query says no failure
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "svmtest.h"
#include "svmt_path.h"

#ifdef SVMT_HAVE_URING
#include <liburing.h>
#endif

static size_t pg;
static const char *path_why;
static char summary[256];

struct dev_check {
	const uint64_t *a;
	uint64_t seed;
	_Atomic size_t bad;
};

/* device code: each index checks one word against the pattern */
static void check_words(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct dev_check *c = arg;
	const uint64_t *a = svm_device_ptr(ctx, c->a);

	if (a[i] != svmt_pattern(c->seed, i))
		c->bad++;
}

/* device code: word i += i + 1 */
static void add_words(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, arg);

	a[i] += i + 1;
}

static size_t count_bad(const uint64_t *got, const uint64_t *want, size_t words)
{
	size_t bad = 0;

	for (size_t i = 0; i < words; i++)
		bad += got[i] != want[i];
	return bad;
}

#ifdef SVMT_HAVE_URING
static void uring_rw(struct io_uring *ring, bool write, int fd, void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;

	CHECK(sqe);
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, (unsigned)len, 0, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, (unsigned)len, 0, 0);
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	CHECK_MSG(cqe->res == (int)len, "%s_FIXED returned %d, expected %zu",
		  write ? "WRITE" : "READ", cqe->res, len);
	io_uring_cqe_seen(ring, cqe);
}

static void case_uring(void)
{
	size_t len = 1 << 20, words = len / 8, pages = len / pg;
	uint64_t *buf = svmt_alloc(len), *want = malloc(len), *out = malloc(len);
	struct dev_check dc = { .a = buf, .seed = 2 };
	svm_migrate_report_t rep;
	struct io_uring ring;
	struct iovec iov;
	int r, mfd;

	CHECK(want && out);
	for (size_t i = 0; i < words; i++)
		buf[i] = want[i] = svmt_pattern(1, i);
	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	iov.iov_base = buf;
	iov.iov_len = len;
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (r < 0)
		svmt_skip("cannot register a 1 MiB io_uring buffer: %s (RLIMIT_MEMLOCK?)",
			  strerror(-r));

	/* the prefetch meets the pins and says so */
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.moved, 0);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
	CHECK_EQ(svmt_location(buf), SVM_HOST);
	CHECK_EQ(svmt_page(buf).last_failure, SVM_FAILURE_PINNED);

	/* device and host change the bytes; WRITE_FIXED must write those */
	CHECK_OK(svm_launch(0, words, add_words, buf));
	for (size_t i = 0; i < words; i++)
		want[i] += i + 1;
	for (size_t i = 0; i < words; i += 509) {
		buf[i] ^= 0xa5a5;
		want[i] ^= 0xa5a5;
	}
	mfd = memfd_create("svmrt-pinned-io", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	uring_rw(&ring, true, mfd, buf, len);
	CHECK_EQ(pread(mfd, out, len, 0), (ssize_t)len);
	CHECK_MSG(count_bad(out, want, words) == 0,
		  "WRITE_FIXED wrote %zu stale words of %zu", count_bad(out, want, words), words);

	/* READ_FIXED's bytes: seen by the host and by the device */
	for (size_t i = 0; i < words; i++)
		out[i] = svmt_pattern(2, i);
	CHECK_EQ(pwrite(mfd, out, len, 0), (ssize_t)len);
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL); /* still pinned */
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
	uring_rw(&ring, false, mfd, buf, len);
	CHECK_MSG(count_bad(buf, out, words) == 0, "host sees %zu of %zu words READ_FIXED did not write",
		  count_bad(buf, out, words), words);
	CHECK_OK(svm_launch(0, words, check_words, &dc));
	CHECK_MSG(dc.bad == 0, "the device sees %zu words that READ_FIXED did not write", dc.bad);

	/* released, they move again */
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	io_uring_queue_exit(&ring);
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_OK);
	CHECK_EQ(rep.moved + rep.already, pages);
	CHECK_EQ(svmt_count_at(buf, len, 0), pages);
	dc.bad = 0;
	CHECK_OK(svm_launch(0, words, check_words, &dc));
	CHECK_EQ(dc.bad, 0);
	CHECK_MSG(count_bad(buf, out, words) == 0, "%zu words wrong after the pins went",
		  count_bad(buf, out, words));
	close(mfd);
	CHECK_OK(svm_free(buf));
	free(want);
	free(out);
	snprintf(summary, sizeof(summary), "%zu registered pages PINNED, WRITE_FIXED and "
		 "READ_FIXED exact, moved once unregistered", pages);
}
#else
static void case_uring(void)
{
	svmt_skip("built without liburing (liburing-dev)");
}
#endif

static void case_vmsplice(void)
{
	size_t len = 1 << 20, words = len / 8, pages = len / pg, got = 0;
	uint64_t *buf = svmt_alloc(len), *out = malloc(len);
	struct dev_check dc = { .a = buf, .seed = 5 };
	svm_migrate_report_t rep;
	svm_result_t res;
	int p[2];

	CHECK(out);
	for (size_t i = 0; i < words; i++)
		buf[i] = svmt_pattern(5, i);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	if (fcntl(p[1], F_SETPIPE_SZ, (int)len) < (int)len)
		svmt_skip("cannot make a 1 MiB pipe: %s (fs.pipe-max-size)", strerror(errno));
	for (size_t off = 0; off < len;) {
		struct iovec iov = { (char *)buf + off, len - off };
		ssize_t n = vmsplice(p[1], &iov, 1, 0);

		CHECK_MSG(n > 0, "vmsplice: %s", strerror(errno));
		off += (size_t)n;
	}
	/* the pipe holds the pages; they may move (a reference is no pin) */
	res = svm_prefetch(buf, len, 0, &rep);
	CHECK(res == SVM_OK || res == SVM_PARTIAL);
	CHECK_OK(svm_launch(0, words, check_words, &dc));
	CHECK_EQ(dc.bad, 0);
	while (got < len) {
		ssize_t n = read(p[0], (char *)out + got, len - got);

		CHECK_MSG(n > 0, "read from the pipe: %s", strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < words; i++)
		CHECK_MSG(out[i] == svmt_pattern(5, i), "the pipe delivered a wrong word %zu", i);
	for (size_t i = 0; i < words; i++)
		CHECK_MSG(buf[i] == svmt_pattern(5, i), "the program sees a wrong word %zu", i);
	close(p[0]);
	close(p[1]);
	CHECK_OK(svm_free(buf));
	free(out);
	snprintf(summary, sizeof(summary), "%zu spliced pages: %zu moved, pipe and program exact",
		 pages, rep.moved);
}

struct odirect {
	int fd;
	uint64_t *buf;
	size_t len;
	_Atomic int reading;
	_Atomic int stop;
	unsigned long moves;
};

static void *mover(void *arg)
{
	struct odirect *o = arg;

	while (!o->stop) {
		svm_result_t r;

		if (!o->reading) {
			sched_yield();
			continue;
		}
		r = svm_prefetch(o->buf, o->len, (int)(o->moves & 1) - 1, NULL);
		CHECK(r == SVM_OK || r == SVM_PARTIAL);
		o->moves++;
	}
	return NULL;
}

static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

static void case_odirect(bool moves)
{
	const char *dirs[] = { getenv("SVMT_ODIRECT_DIR"), ".", "/var/tmp", "/tmp" };
	size_t len = 8 << 20, words = len / 8;
	unsigned long rounds = svmt_scaled(20), lost = 0;
	struct odirect o = { .fd = -1, .len = len };
	uint64_t *file = malloc(len);
	char name[4096] = "";
	pthread_t t;

	/*
	 * Before Linux 6.4 an O_DIRECT read holds its pages with plain
	 * references, which nothing in user space can see; the copy path
	 * cannot keep those (docs/data-integrity.md). 6.4 and later pin them.
	 */
	if (!moves && kernel_before(6, 4))
		svmt_skip("O_DIRECT on this kernel takes plain page references, invisible to the "
			  "copy path (see docs/data-integrity.md)");
	CHECK(file);
	for (size_t i = 0; i < words; i++)
		file[i] = svmt_pattern(3, i);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && o.fd < 0; d++) {
		int wfd;

		if (!dirs[d])
			continue;
		snprintf(name, sizeof(name), "%s/svmt-odirect-%d", dirs[d], (int)getpid());
		wfd = open(name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
		if (wfd < 0)
			continue;
		if (write(wfd, file, len) != (ssize_t)len || fsync(wfd)) {
			close(wfd);
			unlink(name);
			continue;
		}
		close(wfd);
		o.fd = open(name, O_RDONLY | O_DIRECT | O_CLOEXEC);
		unlink(name);
	}
	if (o.fd < 0)
		svmt_skip("no file system here takes O_DIRECT (tried SVMT_ODIRECT_DIR, ., /var/tmp, "
			  "/tmp; tmpfs does not)");
	o.buf = svmt_alloc(len);
	CHECK(pthread_create(&t, NULL, mover, &o) == 0);
	for (unsigned long k = 0; k < rounds; k++) {
		ssize_t n;

		for (size_t i = 0; i < words; i++)
			o.buf[i] = svmt_pattern(100 + k, i); /* what the read must replace */
		o.reading = 1;
		n = pread(o.fd, o.buf, len, 0);
		o.reading = 0;
		CHECK_MSG(n == (ssize_t)len, "O_DIRECT read returned %zd: %s", n, strerror(errno));
		for (size_t i = 0; i < words; i++)
			lost += o.buf[i] != file[i];
	}
	o.stop = 1;
	pthread_join(t, NULL);
	CHECK_MSG(lost == 0, "%lu words of %lu O_DIRECT reads never arrived", lost, rounds * words);
	close(o.fd);
	CHECK_OK(svm_free(o.buf));
	free(file);
	snprintf(summary, sizeof(summary), "%lu O_DIRECT reads of 8 MiB during %lu prefetches, "
		 "every word arrived", rounds, o.moves);
}

static void case_unpin(void)
{
	size_t len = 64 * pg, words = len / 8, pages = 64;
	uint64_t *buf = svmt_alloc(len);
	svm_migrate_report_t rep;

	for (size_t i = 0; i < words; i++)
		buf[i] = svmt_pattern(7, i);
	CHECK_OK(svm_pin(buf, len));
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
	CHECK_EQ(svmt_location(buf), SVM_HOST);
	CHECK_OK(svm_unpin(buf, len));
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_OK);
	CHECK_EQ(rep.moved, pages);
	CHECK_EQ(svmt_count_at(buf, len, 0), pages);
	for (size_t i = 0; i < words; i++)
		CHECK_EQ(buf[i], svmt_pattern(7, i));
	CHECK_OK(svm_free(buf));
	snprintf(summary, sizeof(summary), "%zu pages PINNED while pinned, moved once unpinned",
		 pages);
}

/* All pages of [buf, +pages) where `loc` says, with no failure recorded. */
static void check_moved_clean(const uint64_t *buf, size_t pages, int loc, const char *when)
{
	for (size_t i = 0; i < pages; i++) {
		svm_page_info_t info = svmt_page((const char *)buf + i * pg);

		CHECK_MSG(info.location == loc && info.last_failure == SVM_FAILURE_NONE,
			  "%s: page %zu at %d with last failure %s", when, i, info.location,
			  svm_failure_string(info.last_failure));
	}
}

/* A prefetch to device 0 of pages nobody pins any more: all move. */
static void prefetch_unpinned(uint64_t *buf, size_t len, const char *when)
{
	svm_migrate_report_t rep;
	svm_result_t r = svm_prefetch(buf, len, 0, &rep);

	CHECK_MSG(r == SVM_OK && rep.failed == 0, "%s: prefetch to device 0 returned %s, %zu "
		  "failed (%zu pinned, %zu busy)", when, svm_result_string(r), rep.failed,
		  rep.failed_by[SVM_FAILURE_PINNED], rep.failed_by[SVM_FAILURE_BUSY]);
	CHECK_EQ(rep.moved + rep.already, len / pg);
	check_moved_clean(buf, len / pg, 0, when);
}

static void case_stale(void)
{
	size_t pages = 32, len = pages * pg, words = len / 8;
	uint64_t *buf = svmt_alloc(len), *want = malloc(len);
	svm_migrate_report_t rep;
	unsigned rounds = 0, uring_rounds = 0;

	CHECK(want != NULL);
	for (size_t i = 0; i < words; i++)
		buf[i] = want[i] = svmt_pattern(21, i);
	for (int k = 0; k < 12; k++, rounds++) {
		/* pinned: device kernels work on it in place, a prefetch leaves it */
		CHECK_OK(svm_pin(buf, len));
		if (k & 1) {
			CHECK_OK(svm_launch(0, words, add_words, buf));
			for (size_t i = 0; i < words; i++)
				want[i] += i + 1;
		}
		if (k % 3 == 0) {
			CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
			CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
		}
		CHECK_OK(svm_unpin(buf, len));
		prefetch_unpinned(buf, len, "after svm_pin/svm_unpin");
		CHECK_OK(svm_prefetch(buf, len, SVM_HOST, NULL));
		CHECK_EQ(count_bad(buf, want, words), 0);
	}
#ifdef SVMT_HAVE_URING
	struct io_uring ring;
	struct iovec iov = { buf, len };

	if (io_uring_queue_init(4, &ring, 0) == 0) {
		for (int k = 0; k < 6; k++) {
			if (io_uring_register_buffers(&ring, &iov, 1) < 0)
				break;
			CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
			CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], pages);
			if (k & 1) { /* devices reach the pinned pages in place */
				CHECK_OK(svm_launch(0, words, add_words, buf));
				for (size_t i = 0; i < words; i++)
					want[i] += i + 1;
			}
			CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
			prefetch_unpinned(buf, len, "after io_uring_unregister_buffers");
			CHECK_OK(svm_prefetch(buf, len, SVM_HOST, NULL));
			CHECK_EQ(count_bad(buf, want, words), 0);
			uring_rounds++;
		}
		io_uring_queue_exit(&ring);
	}
#endif
	CHECK_OK(svm_free(buf));
	free(want);
	snprintf(summary, sizeof(summary), "%u pin/unpin rounds and %u io_uring rounds: every "
		 "page moved once unpinned, none PINNED", rounds, uring_rounds);
}

#ifdef SVMT_HAVE_URING
/* Lines of `log` (a file) that contain `what`. */
static unsigned count_lines(int log, const char *what)
{
	char buf[65536];
	ssize_t got = pread(log, buf, sizeof(buf) - 1, 0);
	unsigned n = 0;

	CHECK(got >= 0 && got < (ssize_t)sizeof(buf) - 1);
	buf[got] = 0;
	for (char *p = buf; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* Registers [buf, +len) with io_uring, prefetches it (PINNED), unregisters. */
static void pinned_round(struct io_uring *ring, uint64_t *buf, size_t len)
{
	struct iovec iov = { buf, len };
	svm_migrate_report_t rep;
	int r = io_uring_register_buffers(ring, &iov, 1);

	if (r < 0)
		svmt_skip("cannot register an io_uring buffer: %s (RLIMIT_MEMLOCK?)", strerror(-r));
	CHECK_RES(svm_prefetch(buf, len, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(rep.failed_by[SVM_FAILURE_PINNED], len / pg);
	CHECK_EQ(io_uring_unregister_buffers(ring), 0);
	/* unpinned now: it moves, which clears the runtime's pinned marks */
	CHECK_OK(svm_prefetch(buf, len, 0, &rep));
	CHECK_OK(svm_prefetch(buf, len, SVM_HOST, NULL));
}
#endif

static void case_logonce(void)
{
#ifdef SVMT_HAVE_URING
	static const char line[] = "are pinned;";
	size_t len = 16 * pg;
	uint64_t *a = svmt_alloc(len), *b = svmt_alloc(len);
	struct io_uring ring;
	int log = fileno(tmpfile()), saved = dup(2);
	unsigned after20, after_unpin, other;
	int r = io_uring_queue_init(4, &ring, 0);

	if (r < 0)
		svmt_skip("io_uring is not available here: %s", strerror(-r));
	CHECK(log >= 0 && saved >= 0);
	memset(a, 1, len);
	memset(b, 2, len);
	fflush(stderr);
	CHECK(dup2(log, 2) == 2); /* the runtime logs to stderr */
	for (int k = 0; k < 20; k++)
		pinned_round(&ring, a, len);
	after20 = count_lines(log, line);
	/* marked pinned again, then svm_unpin clears the marks: news again after */
	struct iovec iov = { a, len };
	svm_migrate_report_t rep;

	CHECK_EQ(io_uring_register_buffers(&ring, &iov, 1), 0);
	CHECK_RES(svm_prefetch(a, len, 0, &rep), SVM_PARTIAL);
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	CHECK_OK(svm_pin(a, len));
	CHECK_OK(svm_unpin(a, len));
	pinned_round(&ring, a, len);
	after_unpin = count_lines(log, line);
	pinned_round(&ring, b, len);
	other = count_lines(log, line);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	io_uring_queue_exit(&ring);
	printf("\"pages are pinned\" lines: %u after 20 rounds, %u after svm_unpin and one more, "
	       "%u with another range\n", after20, after_unpin, other);
	CHECK_EQ(after20, 1);
	CHECK_EQ(after_unpin, 2);
	CHECK_EQ(other, 3);
	CHECK_OK(svm_free(a));
	CHECK_OK(svm_free(b));
	snprintf(summary, sizeof(summary), "a range pinned 20 times is logged once");
#else
	svmt_skip("built without liburing (liburing-dev)");
#endif
}

int main(int argc, char **argv)
{
	bool moves;

	if (argc != 2)
		FAIL("usage: %s uring|vmsplice|odirect|unpin|stale|logonce", argv[0]);
	pg = svmt_page_size();
	svmt_init();
	if (strcmp(svmt_backend(), "user"))
		svmt_skip("a test of the user backend's move and copy paths (backend %s)",
			  svmt_backend());
	moves = svmt_user_moves(&path_why);
	printf("user backend: %s\n", path_why);
	if (!strcmp(argv[1], "uring"))
		case_uring();
	else if (!strcmp(argv[1], "vmsplice"))
		case_vmsplice();
	else if (!strcmp(argv[1], "odirect"))
		case_odirect(moves);
	else if (!strcmp(argv[1], "unpin"))
		case_unpin();
	else if (!strcmp(argv[1], "stale"))
		case_stale();
	else if (!strcmp(argv[1], "logonce"))
		case_logonce();
	else
		FAIL("unknown case %s", argv[1]);
	CHECK_OK(svm_finalize());
	printf("PASS pinned_io %s on the %s: %s\n", argv[1], path_why, summary);
	return 0;
}
