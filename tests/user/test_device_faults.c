/* SPDX-License-Identifier: MIT */
/*
 * Device faults served by the faulting worker (SVM_USER_DEVICE_FAULTS=self,
 * the default: a SIGBUS handler) next to the program's own use of SIGBUS,
 * and what device code may do with device memory:
 *   - chain:   a SIGBUS handler the program installed before svm_init
 *              still gets every SIGBUS that is not a device fault (an
 *              access beyond the end of a mapped file, a kill()) while
 *              launches fault pages over; svm_finalize puts it back;
 *   - after:   a handler installed after svm_init that passes on what it
 *              does not handle: launches still work, and it gets its own;
 *   - blocked: the thread that starts the workers blocks SIGBUS: launches
 *              still fault pages over;
 *   - syscall: device code read()s from a pipe into device memory whose
 *              page is on the host. Self: the call fails with EFAULT and
 *              the page keeps its bytes (docs/api.md); server: the bytes
 *              land. Either way nothing else changes.
 * Every mode also checks that every page a launch wrote holds its words.
 * Which way device faults are served is read from SIGBUS's handler after
 * svm_init (SVM_USER_DEVICE_FAULTS=server installs none).
 *
 * usage: test_device_faults chain|after|blocked|syscall|oneshot
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svmtest.h"

#define PAGES 256

static size_t pg, words;
static bool self_mode;

/* ---- the program's own SIGBUS handler ---------------------------------- */

static sigjmp_buf prog_jmp;
static volatile sig_atomic_t prog_hits, prog_sent;
static void *volatile prog_addr;
static struct sigaction prog_prev; /* "after": what it replaced */
static pthread_t main_thread;

static void prog_bus(int sig, siginfo_t *si, void *ctx)
{
	static const char wrong[] = "FAIL: a device fault (a SIGBUS in a launch worker) reached "
				    "the program's handler: svmrt's SIGBUS handler is gone\n";

	(void)sig;
	(void)ctx;
	if (!pthread_equal(pthread_self(), main_thread)) {
		/* its jump buffer is the main thread's: say so and leave */
		if (write(2, wrong, sizeof(wrong) - 1) < 0)
			_exit(3);
		_exit(1);
	}
	prog_hits++;
	if (si->si_code <= 0) { /* kill(): nothing to jump out of */
		prog_sent++;
		return;
	}
	prog_addr = si->si_addr;
	siglongjmp(prog_jmp, 1);
}

/* "after": handles the faults of its file, passes on the rest */
static void prog_bus_chained(int sig, siginfo_t *si, void *ctx)
{
	if (si->si_code > 0 && si->si_addr == prog_addr) {
		prog_bus(sig, si, ctx);
		return;
	}
	if (prog_prev.sa_flags & SA_SIGINFO)
		prog_prev.sa_sigaction(sig, si, ctx);
	else if (prog_prev.sa_handler != SIG_DFL && prog_prev.sa_handler != SIG_IGN)
		prog_prev.sa_handler(sig);
	else
		FAIL("SIGBUS at %p reached a handler installed after svm_init with nothing "
		     "to pass it on to", si->si_addr);
}

/* "oneshot": a library's handler that gives SIGBUS back to the one it replaced */
static struct sigaction oneshot_prev;
static volatile sig_atomic_t oneshot_hits;

static void oneshot_bus(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	oneshot_hits++;
	sigaction(sig, &oneshot_prev, NULL);
}

static void install(void (*fn)(int, siginfo_t *, void *), struct sigaction *prev)
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGBUS, &sa, prev) == 0);
}

static bool handler_is(void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction cur;

	CHECK(sigaction(SIGBUS, NULL, &cur) == 0);
	return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == fn;
}

/*
 * A SIGBUS of the program's own: a page of a file mapped past its end
 * (the file is one byte long). The handler jumps back here.
 */
static void own_sigbus(void)
{
	char path[] = "/tmp/svmt-bus-XXXXXX";
	int fd = mkstemp(path);
	volatile char *p;
	int hits = prog_hits;

	CHECK(fd >= 0);
	unlink(path);
	CHECK(write(fd, "x", 1) == 1);
	p = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	prog_addr = (void *)(p + pg);
	if (!sigsetjmp(prog_jmp, 1)) {
		(void)p[pg]; /* beyond the file's last page */
		FAIL("reading past the end of a mapped file raised no SIGBUS");
	}
	CHECK_EQ(prog_hits, hits + 1);
	CHECK(prog_addr == (void *)(p + pg));
	munmap((void *)p, 2 * pg);
	close(fd);
}

/* ---- launches ------------------------------------------------------------ */

struct kargs {
	uint64_t *buf;
	uint64_t tag;
	int pipe_rd;
	int *errs; /* plain memory: per page, errno of the read (0: it read) */
};

static void kernel_write(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->buf + i * words);

	d[1] = a->tag + i;
}

/* Host pages, a launch writes word 1 of each: every page faults over. */
static void launch_round(uint64_t *buf, uint64_t tag)
{
	struct kargs a = { .buf = buf, .tag = tag };
	svm_stats_t s0, s1;

	for (size_t i = 0; i < PAGES; i++)
		buf[i * words] = tag ^ i;
	CHECK_EQ(svmt_count_at(buf, PAGES * pg, SVM_HOST), PAGES);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, PAGES, kernel_write, &a));
	s1 = svmt_stats();
	CHECK(s1.device_faults > s0.device_faults);
	for (size_t i = 0; i < PAGES; i++) {
		CHECK_EQ(buf[i * words], tag ^ i);
		CHECK_EQ(buf[i * words + 1], tag + i);
	}
}

/* Reads one word per page from the pipe into device memory. */
static void kernel_read(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->buf + i * words);
	ssize_t got = read(a->pipe_rd, d + 2, sizeof(uint64_t));

	a->errs[i] = got == (ssize_t)sizeof(uint64_t) ? 0 : got < 0 ? errno : EIO;
}

static void syscall_into_device_memory(uint64_t *buf)
{
	int p[2], errs[4] = { 0 };
	uint64_t word = 0x5151515151515151ull;
	struct kargs a = { .buf = buf, .errs = errs };

	CHECK(pipe(p) == 0);
	for (size_t i = 0; i < 4; i++) {
		buf[i * words + 2] = 0x7070707070707070ull + i;
		CHECK(write(p[1], &word, sizeof(word)) == sizeof(word));
	}
	CHECK_EQ(svmt_count_at(buf, 4 * pg, SVM_HOST), 4);
	a.pipe_rd = p[0];
	CHECK_OK(svm_launch(0, 4, kernel_read, &a));
	for (size_t i = 0; i < 4; i++) {
		if (self_mode) {
			CHECK_MSG(errs[i] == EFAULT, "page %zu: read() into device memory not "
				  "resident there gave %d, expected EFAULT", i, errs[i]);
			CHECK_EQ(buf[i * words + 2], 0x7070707070707070ull + i);
		} else {
			CHECK_EQ(errs[i], 0);
			CHECK_EQ(buf[i * words + 2], word);
		}
	}
	close(p[0]);
	close(p[1]);
}

/* Frees buf and ends the runtime: SIGBUS must be the program's handler again. */
static void finish_to_program(uint64_t *buf)
{
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	CHECK_MSG(handler_is(prog_bus), "after svm_finalize, SIGBUS's handler is not the "
		  "program's");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "chain";
	struct sigaction before, after;
	uint64_t *buf;

	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	main_thread = pthread_self();
	if (!strcmp(mode, "chain") || !strcmp(mode, "oneshot"))
		install(prog_bus, NULL);
	if (!strcmp(mode, "oneshot"))
		install(oneshot_bus, &oneshot_prev);
	CHECK(sigaction(SIGBUS, NULL, &before) == 0);
	svmt_init();
	svmt_skip_on_kshim("the user backend's device faults");
	CHECK(sigaction(SIGBUS, NULL, &after) == 0);
	self_mode = (after.sa_flags & SA_SIGINFO) &&
		    (!(before.sa_flags & SA_SIGINFO) || after.sa_sigaction != before.sa_sigaction);
	buf = svmt_alloc(PAGES * pg);

	if (!strcmp(mode, "chain")) {
		own_sigbus();
		launch_round(buf, 0x1000);
		own_sigbus();
		CHECK(kill(getpid(), SIGBUS) == 0);
		CHECK_EQ(prog_sent, 1);
		launch_round(buf, 0x2000);
		finish_to_program(buf);
		own_sigbus();
		printf("ok: the program's SIGBUS handler got its %d signals around launches\n",
		       (int)prog_hits);
		return 0;
	} else if (!strcmp(mode, "oneshot")) {
		own_sigbus(); /* the library's handler goes, the program's gets it */
		CHECK_EQ(oneshot_hits, 1);
		CHECK_MSG(!handler_is(oneshot_bus) && (!self_mode || !handler_is(prog_bus)),
			  "after the library's handler put back the program's, SIGBUS's handler "
			  "is %s", handler_is(prog_bus) ? "the program's, not svmrt's" :
			  "the library's");
		launch_round(buf, 0x8000);
		own_sigbus();
		CHECK_EQ(oneshot_hits, 1);
		launch_round(buf, 0x9000);
		finish_to_program(buf);
		printf("ok: oneshot (%s): svmrt's handler stayed when the one it chains to put "
		       "back its own\n", self_mode ? "self" : "server");
		return 0;
	} else if (!strcmp(mode, "after")) {
		install(prog_bus_chained, &prog_prev);
		launch_round(buf, 0x3000);
		own_sigbus();
		launch_round(buf, 0x4000);
	} else if (!strcmp(mode, "blocked")) {
		sigset_t bus;

		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		CHECK(pthread_sigmask(SIG_BLOCK, &bus, NULL) == 0);
		launch_round(buf, 0x5000);
		launch_round(buf, 0x6000);
	} else if (!strcmp(mode, "syscall")) {
		syscall_into_device_memory(buf);
		launch_round(buf, 0x7000);
	} else {
		FAIL("unknown mode %s", mode);
	}
	CHECK_OK(svm_free(buf));
	CHECK_OK(svm_finalize());
	printf("ok: %s (%s)\n", mode, self_mode ? "self" : "server");
	return 0;
}
