/* SPDX-License-Identifier: MIT */
/*
 * svm-bench - what the user backend costs next to what the kernel offers,
 * and issue 18's targets, each next to its baseline from the same run.
 *
 * In one process:
 *  (a) 4 KiB CPU-fault service latency (p50/p99) of svmrt: a page is
 *      prefetched to device 0, then the host's first touch is timed; next
 *      to a raw userfaultfd round trip (a bare handler thread answering a
 *      MISSING fault with UFFDIO_COPY). The same-CPU pair is measured
 *      several times, alternating, and the medians compared; the full run
 *      adds the fault thread on another CPU and unbound.
 *  (b) svm_prefetch throughput host -> device and back, next to the raw
 *      primitive the backend moves pages with (UFFDIO_MOVE between two
 *      registered areas when the kernel has it, else UFFDIO_COPY plus
 *      MADV_DONTNEED of the source), runs interleaved; the full run adds
 *      memcpy and the copy path.
 *  (c) a sweep over SVM_GRANULARITY: a fault-driven pass over a buffer, on
 *      the device and back on the host, and a sparse pattern (one page per
 *      2 MiB), to weigh fewer faults against bytes moved for nothing; the
 *      sparse pattern also with the defaults, the issue 18 target.
 *  (d) fault service as threads are added: device workers and host
 *      threads, T = 1, 2, 4, ... up to 4x the CPUs, next to T=1.
 *  (e) what SVM_PROFILE and SVM_TRACE cost on the fault path.
 *  (f) ping-pong: device 0 writes every page of a buffer, then the host
 *      writes a word per page, in rounds; pages moved, faults and time per
 *      round, unadvised and with preferred-location host + accessed-by.
 *  (g) streaming with the defaults (no SVM_GRANULARITY, no prefetch):
 *      a fault-driven pass on device 0 and back on the host, next to
 *      svm_prefetch of the same buffer.
 * At the end a table of issue 18's targets: measured, baseline, ratio,
 * goal, met or NOT MET.
 *
 * usage: svm-bench [--quick] [--scaling | --fault | --targets | --only L] [--strict]
 *                  [--copy-path]
 *                  [--samples N] [--mib M] [--runs R] [--sweep-mib S]
 *                  [--sparse-mib S] [--pp-mib P] [--pp-rounds K]
 *   --scaling  section (d) only
 *   --fault    section (a) only: the 4 KiB fault latency next to its baselines
 *   --only L   the sections whose letters are in L (e.g. --only fg), in the
 *              usual order; the sparse part of (c) is "s"
 *   --targets  only what the target table needs (a, b, c-sparse, d, f, g)
 *   --strict   exit 3 when a target is NOT MET (for local use; CTest does
 *              not pass it: targets are not CI gates on a shared machine)
 *   --copy-path  svmrt and the raw baselines without UFFDIO_MOVE, as on
 *              kernels before 6.8 (write-protect, UFFDIO_COPY, MADV_DONTNEED)
 * Defaults: 2000 samples, 256 MiB prefetch, 5 runs, 64 MiB sweep (also
 * streaming and scaling), 256 MiB sparse, 16 MiB ping-pong, 8 rounds.
 * --quick (CTest): 300 samples, 32 MiB, 3 runs, 16 MiB sweep, 32 MiB
 * sparse, 4 MiB ping-pong.
 *
 * Whatever the speed, the benchmark fails (exit 1) when svmrt misbehaves:
 * data not coherent, counters that do not add up, prefetches that leave
 * pages behind, advice not honoured.
 *
 * svmrt reads its configuration at svm_init, so each measurement sets the
 * SVM_* variables it needs and runs its own svm_init/svm_finalize.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "svmtest.h"

/*
 * userfaultfd uAPI newer than some C libraries' kernel headers (UFFDIO_MOVE
 * came with Linux 6.8). The values are the kernel's ABI; defined here so
 * the benchmark needs nothing from the runtime's sources.
 */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define MIB (1ull << 20)
#define MAX_T 1024 /* SVM_USER_DEVICE_THREADS' upper bound */

enum mode { MODE_ALL, MODE_SCALING, MODE_FAULT, MODE_TARGETS, MODE_ONLY };

static struct {
	size_t samples, mib, runs, sweep_mib, sparse_mib, pp_mib, pp_rounds;
	enum mode mode;
	int strict, copy_path;
	const char *only; /* MODE_ONLY: the section letters to run */
} opt = { 2000, 256, 5, 64, 256, 16, 8, MODE_ALL, 0, 0, NULL };

static size_t pg;
static int ncpu;          /* CPUs this process may run on */
static int cpu_a, cpu_b;  /* the first two of them; cpu_b -1 with one CPU */
static cpu_set_t all_cpus;
static int have_move; /* the kernel has UFFDIO_MOVE and --copy-path is not given */
static char backend[16];  /* what svm_init picks under this environment */

/* ---- small helpers ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat {
	double p50_us, p99_us;
};

static struct lat percentiles(uint64_t *ns, size_t n)
{
	struct lat l;

	qsort(ns, n, sizeof(*ns), cmp_u64);
	l.p50_us = (double)ns[n / 2] / 1e3;
	l.p99_us = (double)ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3;
	return l;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double *dvec(size_t n)
{
	double *v = calloc(n ? n : 1, sizeof(double));

	CHECK(v != NULL);
	return v;
}

static double gib_per_s(size_t bytes, uint64_t ns)
{
	return (double)bytes / (double)(1ull << 30) / ((double)(ns ? ns : 1) / 1e9);
}

static double ratio_of(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK(pthread_setaffinity_np(t, sizeof(set), &set) == 0);
}

/* The toucher (main thread) on cpu_a; threads made later inherit this, so
 * svm_init runs before and unpin_main before the next svm_init. */
static void pin_main(void)
{
	pin_thread(pthread_self(), cpu_a);
}

static void unpin_main(void)
{
	CHECK(pthread_setaffinity_np(pthread_self(), sizeof(all_cpus),
				     &all_cpus) == 0);
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK_MSG(p != MAP_FAILED, "mmap(%zu MiB): %s", bytes >> 20,
		  strerror(errno));
	return p;
}

/* ---- the target table -------------------------------------------------- */

enum cmp { AT_MOST, AT_LEAST, REPORT };

struct target {
	char what[64], measured[40], baseline[40], goal[32];
	double ratio;
	int met; /* 1 met, 0 not met, -1 reported only */
};

#define MAX_TARGETS 32
static struct target targets[MAX_TARGETS];
static size_t ntargets;

static const char *met_str(int met)
{
	return met > 0 ? "met" : met == 0 ? "NOT MET" : "report";
}

/*
 * One row: ratio is measured/baseline (or what `what` says), compared with
 * goal; REPORT rows carry `note` as their goal. Returns the verdict.
 */
static int add_target(const char *what, const char *measured, const char *baseline,
		      double ratio, enum cmp cmp, double goal, const char *note)
{
	struct target *t;

	CHECK(ntargets < MAX_TARGETS);
	t = &targets[ntargets++];
	snprintf(t->what, sizeof(t->what), "%s", what);
	snprintf(t->measured, sizeof(t->measured), "%s", measured);
	snprintf(t->baseline, sizeof(t->baseline), "%s", baseline);
	t->ratio = ratio;
	if (cmp == REPORT) {
		snprintf(t->goal, sizeof(t->goal), "%s", note ? note : "-");
		t->met = -1;
	} else {
		snprintf(t->goal, sizeof(t->goal), "%s %.2fx", cmp == AT_MOST ? "<=" : ">=",
			 goal);
		t->met = cmp == AT_MOST ? ratio <= goal : ratio >= goal;
	}
	return t->met;
}

static size_t print_targets(void)
{
	size_t not_met = 0;

	if (!ntargets)
		return 0;
	printf("\nIssue 18 targets (%s backend, %d CPUs, UFFDIO_MOVE %s): "
	       "each figure next to its baseline from this run\n",
	       backend, ncpu, have_move ? "yes" : "no");
	printf("  %-6s %-50s %-24s %-26s %8s  %-20s %s\n", "", "target", "measured",
	       "baseline", "ratio", "goal", "verdict");
	for (size_t i = 0; i < ntargets; i++) {
		const struct target *t = &targets[i];

		printf("  TARGET %-50s %-24s %-26s %7.2fx  %-20s %s\n", t->what, t->measured,
		       t->baseline, t->ratio, t->goal, met_str(t->met));
		not_met += t->met == 0;
	}
	printf("  %zu of %zu targets NOT MET\n", not_met, ntargets);
	return not_met;
}

/* ---- raw userfaultfd ----------------------------------------------------- */

static int uffd_open(uint64_t features, uint64_t *got)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW,
				   O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
	}
	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		svmt_skip("userfaultfd is not available: %s", strerror(errno));
	CHECK_MSG(ioctl(fd, UFFDIO_API, &api) == 0, "UFFDIO_API: %s",
		  strerror(errno));
	if (got)
		*got = api.features;
	return fd;
}

/* Kernel features, asked on a throw-away descriptor. */
static uint64_t uffd_features(void)
{
	uint64_t f = 0;
	int fd = uffd_open(0, &f);

	close(fd);
	return f;
}

static void uffd_register(int fd, void *p, size_t bytes, uint64_t mode)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, bytes }, .mode = mode,
	};

	CHECK_MSG(ioctl(fd, UFFDIO_REGISTER, &reg) == 0, "UFFDIO_REGISTER: %s",
		  strerror(errno));
}

/* UFFDIO_COPY of len bytes to missing pages, all of it. */
static void uffd_copy_all(int fd, uintptr_t dst, uintptr_t src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct uffdio_copy c = { dst + done, src + done, len - done, 0, 0 };

		if (ioctl(fd, UFFDIO_COPY, &c) == 0) {
			done = len;
			break;
		}
		CHECK_MSG(errno == EAGAIN && c.copy > 0, "UFFDIO_COPY: %s",
			  strerror(errno));
		done += (size_t)c.copy;
	}
}

static void uffd_move_all(int fd, uintptr_t dst, uintptr_t src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct uffdio_move m = { dst + done, src + done, len - done, 0, 0 };

		if (ioctl(fd, UFFDIO_MOVE, &m) == 0) {
			done = len;
			break;
		}
		CHECK_MSG(errno == EAGAIN && m.move > 0, "UFFDIO_MOVE: %s",
			  strerror(errno));
		done += (size_t)m.move;
	}
}

/*
 * The bare handler: wait, read the fault, answer it with UFFDIO_COPY of
 * one source page, or (move) with UFFDIO_MOVE of the page at the same
 * offset of a source area as big as the faulting one.
 */
struct handler {
	int uffd, stopfd, cpu, move;
	const void *src; /* one page, or the source area when move */
	uintptr_t area;  /* the faulting area, for move */
	pthread_t thread;
};

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct uffd_msg msg;

	for (;;) {
		struct pollfd pfd[2] = { { h->uffd, POLLIN, 0 },
					 { h->stopfd, POLLIN, 0 } };

		if (poll(pfd, 2, -1) < 0 && errno == EINTR)
			continue;
		if (pfd[1].revents)
			return NULL;
		if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uintptr_t a = (uintptr_t)msg.arg.pagefault.address & ~(pg - 1);

		if (h->move)
			uffd_move_all(h->uffd, a, (uintptr_t)h->src + (a - h->area), pg);
		else
			uffd_copy_all(h->uffd, a, (uintptr_t)h->src, pg);
	}
}

/*
 * Raw round trip: touch a missing page, the handler copies it in (move:
 * moves a page in from another mapping, the primitive svmrt's CPU fault
 * uses to take a page home from a device view).
 */
static struct lat raw_fault_latency(int handler_cpu, int move)
{
	size_t n = opt.samples, warm = 16, src_bytes = move ? (n + warm) * pg : pg;
	unsigned char *area = map_anon((n + warm) * pg);
	unsigned char *src = map_anon(src_bytes);
	uint64_t *ns = calloc(n, sizeof(*ns));
	struct handler h = { .cpu = handler_cpu, .src = src, .move = move,
			     .area = (uintptr_t)area };
	uint64_t one = 1;

	CHECK(ns != NULL);
	madvise(src, src_bytes, MADV_NOHUGEPAGE);
	memset(src, 0x5a, src_bytes);
	madvise(area, (n + warm) * pg, MADV_NOHUGEPAGE);
	h.uffd = uffd_open(0, NULL);
	h.stopfd = eventfd(0, EFD_CLOEXEC);
	CHECK(h.stopfd >= 0);
	uffd_register(h.uffd, area, (n + warm) * pg, UFFDIO_REGISTER_MODE_MISSING);
	CHECK(pthread_create(&h.thread, NULL, handler_main, &h) == 0);
	pin_thread(h.thread, handler_cpu);
	pin_main();

	for (size_t i = 0; i < n + warm; i++) {
		volatile unsigned char *b = area + i * pg;
		uint64_t t0 = svmt_now_ns();

		CHECK(*b == 0x5a);
		if (i >= warm)
			ns[i - warm] = svmt_now_ns() - t0;
	}
	unpin_main();
	CHECK(write(h.stopfd, &one, sizeof(one)) == sizeof(one));
	CHECK(pthread_join(h.thread, NULL) == 0);
	close(h.stopfd);
	close(h.uffd);
	munmap(area, (n + warm) * pg);
	munmap(src, src_bytes);

	struct lat l = percentiles(ns, n);

	free(ns);
	return l;
}

/* ---- svmrt under a given configuration ------------------------------------ */

/*
 * gran NULL: the default granularity (SVM_GRANULARITY unset); fault_cpu -1:
 * the fault thread unbound (the default); uffd_move -1: the default
 * (UFFDIO_MOVE when the kernel has it; the copy path under --copy-path).
 * Device memory is always 4 GiB so that no measurement evicts.
 */
static void svm_start(const char *gran, int fault_cpu, int uffd_move)
{
	char cpu[16];

	setenv("SVM_BACKEND", "user", 0);
	if (gran)
		setenv("SVM_GRANULARITY", gran, 1);
	else
		unsetenv("SVM_GRANULARITY");
	if (fault_cpu >= 0) {
		snprintf(cpu, sizeof(cpu), "%d", fault_cpu);
		setenv("SVM_USER_FAULT_CPU", cpu, 1);
	} else {
		unsetenv("SVM_USER_FAULT_CPU");
	}
	if (uffd_move < 0 && !have_move)
		uffd_move = 0;
	if (uffd_move >= 0)
		setenv("SVM_USER_UFFD_MOVE", uffd_move ? "1" : "0", 1);
	else
		unsetenv("SVM_USER_UFFD_MOVE");
	setenv("SVM_USER_DEVICE_MEMORY", "4G", 1);
	svmt_init();
}

static int on_kshim(void)
{
	return !strcmp(backend, "kshim");
}

/* Counter deltas of one pass must add up. */
static void check_pass(const svm_stats_t *a, const svm_stats_t *b, size_t pages,
		       const char *what)
{
	uint64_t to_dev = b->pages_to_device - a->pages_to_device;
	uint64_t to_host = b->pages_to_host - a->pages_to_host;

	CHECK_MSG(b->bytes_to_device - a->bytes_to_device == to_dev * pg &&
			  b->bytes_to_host - a->bytes_to_host == to_host * pg,
		  "%s: bytes moved (%llu to device, %llu home) are not pages x %zu "
		  "(%llu, %llu pages)",
		  what, (unsigned long long)(b->bytes_to_device - a->bytes_to_device),
		  (unsigned long long)(b->bytes_to_host - a->bytes_to_host), pg,
		  (unsigned long long)to_dev, (unsigned long long)to_host);
	/* every page is touched once on one side: it moves at most once each way */
	CHECK_MSG(to_dev <= pages && to_host <= pages,
		  "%s: %llu pages to the device and %llu home for a buffer of %zu pages",
		  what, (unsigned long long)to_dev, (unsigned long long)to_host, pages);
}

/* With one device, its counters are the totals. */
static void check_device_totals(void)
{
	svm_stats_t t = svmt_stats(), d;

	if (svm_device_count() != 1)
		return;
	memset(&d, 0, sizeof(d));
	CHECK_OK(svm_device_stats(0, &d));
	CHECK_EQ(d.device_faults, t.device_faults);
	CHECK_EQ(d.pages_to_device, t.pages_to_device);
	CHECK_EQ(d.pages_to_host, t.pages_to_host);
	CHECK_EQ(d.device_resident_bytes, t.device_resident_bytes);
}

/* svmrt: a page on device 0, the host touches it: one 4 KiB CPU fault. */
static struct lat svm_fault_latency(int fault_cpu)
{
	size_t n = opt.samples, warm = 16, bytes = (n + warm) * pg;
	uint64_t *ns = calloc(n, sizeof(*ns));
	unsigned char *p;
	svm_stats_t s0, s1;

	CHECK(ns != NULL);
	svm_start("4K", fault_cpu, have_move);
	p = svmt_alloc(bytes);
	memset(p, 0x5a, bytes);
	CHECK_OK(svm_prefetch(p, bytes, 0, NULL));
	s0 = svmt_stats();
	pin_main();
	for (size_t i = 0; i < n + warm; i++) {
		volatile unsigned char *b = p + i * pg;
		uint64_t t0 = svmt_now_ns();

		CHECK(*b == 0x5a);
		if (i >= warm)
			ns[i - warm] = svmt_now_ns() - t0;
	}
	unpin_main();
	s1 = svmt_stats();
	CHECK_EQ(s1.cpu_faults - s0.cpu_faults, n + warm);
	CHECK_EQ(s1.pages_to_host - s0.pages_to_host, n + warm);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());

	struct lat l = percentiles(ns, n);

	free(ns);
	return l;
}

static void print_lat(const char *what, struct lat l)
{
	printf("  %-44s p50 %7.1f us   p99 %7.1f us\n", what, l.p50_us, l.p99_us);
}

/*
 * The same-CPU pair opt.runs times, raw and svmrt alternating so that a
 * change of load hits both; medians of the p50s and p99s. The target is
 * against the bare round trip with UFFDIO_COPY (the baseline);
 * where the kernel has UFFDIO_MOVE, the round trip with that primitive is
 * measured too, next to svmrt moving the page (SVM_USER_COPY_HOME=0; by
 * default a lone page comes home by UFFDIO_COPY, the device's copy dropped
 * later): the runtime's own share. The full run adds
 * the fault thread on the other CPU and unbound, once each.
 */
static void fault_section(int full)
{
	size_t runs = opt.runs;
	double *rp50 = dvec(runs), *rp99 = dvec(runs), *sp50 = dvec(runs), *sp99 = dvec(runs);
	double *mp50 = dvec(runs), *mp99 = dvec(runs), *vp50 = dvec(runs), *vp99 = dvec(runs);
	struct lat raw, svm, rmove = { 0, 0 }, svmove = { 0, 0 };
	char m[40], b[40];
	int other = full && cpu_b >= 0;

	printf("\n(a) 4 KiB CPU fault service, %zu samples; the toucher runs on CPU %d; "
	       "same CPU: medians of %zu runs, alternating\n",
	       opt.samples, cpu_a, runs);
	for (size_t r = 0; r < runs; r++) {
		struct lat x = raw_fault_latency(cpu_a, 0), y = svm_fault_latency(cpu_a);

		rp50[r] = x.p50_us;
		rp99[r] = x.p99_us;
		sp50[r] = y.p50_us;
		sp99[r] = y.p99_us;
		if (have_move) {
			struct lat z = raw_fault_latency(cpu_a, 1), v;

			setenv("SVM_USER_COPY_HOME", "0", 1);
			v = svm_fault_latency(cpu_a);
			unsetenv("SVM_USER_COPY_HOME");
			mp50[r] = z.p50_us;
			mp99[r] = z.p99_us;
			vp50[r] = v.p50_us;
			vp99[r] = v.p99_us;
		}
	}
	raw = (struct lat){ median(rp50, runs), median(rp99, runs) };
	svm = (struct lat){ median(sp50, runs), median(sp99, runs) };
	print_lat("raw uffd, handler on the toucher's CPU", raw);
	if (have_move) {
		rmove = (struct lat){ median(mp50, runs), median(mp99, runs) };
		print_lat("raw uffd answering with UFFDIO_MOVE, same CPU", rmove);
		svmove = (struct lat){ median(vp50, runs), median(vp99, runs) };
		print_lat("svmrt moving the page (SVM_USER_COPY_HOME=0)", svmove);
	}
	print_lat("svmrt, SVM_USER_FAULT_CPU = toucher's CPU", svm);
	if (other) {
		struct lat raw_o = raw_fault_latency(cpu_b, 0), svm_o = svm_fault_latency(cpu_b);

		print_lat("raw uffd, handler on another CPU", raw_o);
		print_lat("svmrt, SVM_USER_FAULT_CPU = another CPU", svm_o);
		printf("  ratio svmrt/raw, other CPU: p50 %.2fx  p99 %.2fx\n",
		       ratio_of(svm_o.p50_us, raw_o.p50_us), ratio_of(svm_o.p99_us, raw_o.p99_us));
	}
	if (full)
		print_lat("svmrt, fault thread unbound (default)", svm_fault_latency(-1));
	snprintf(m, sizeof(m), "p50 %.2f us", svm.p50_us);
	snprintf(b, sizeof(b), "raw uffd p50 %.2f us", raw.p50_us);
	if (have_move)
		printf("  ratio svmrt moving/raw UFFDIO_MOVE round trip, same CPU: p50 %.2fx  "
		       "p99 %.2fx (the runtime's own share)\n",
		       ratio_of(svmove.p50_us, rmove.p50_us), ratio_of(svmove.p99_us, rmove.p99_us));
	printf("  ratio svmrt/raw, same CPU:  p50 %.2fx  p99 %.2fx   (target p50 <= 1.2x: %s)\n",
	       ratio_of(svm.p50_us, raw.p50_us), ratio_of(svm.p99_us, raw.p99_us),
	       met_str(add_target("4 KiB CPU fault p50, same CPU, vs raw uffd", m, b,
				  ratio_of(svm.p50_us, raw.p50_us), AT_MOST, 1.2, NULL)));
	free(rp50);
	free(rp99);
	free(sp50);
	free(sp99);
	free(mp50);
	free(vp50);
	free(vp99);
	free(mp99);
}

/* ---- (e) what profiling costs on the fault path ---------------------------- */

/*
 * Fault p50 (same CPU) with profiling off, with SVM_PROFILE (a summary at
 * the end: nothing changes on the fault path) and with SVM_TRACE (every
 * fault also records an event), alternating so that drift hits all three.
 */
static void profiling_section(void)
{
	double *off = dvec(opt.runs), *prof = dvec(opt.runs), *trace = dvec(opt.runs);
	char tfile[] = "/tmp/svm-bench-trace-XXXXXX";
	int fd = mkstemp(tfile);

	CHECK(fd >= 0);
	close(fd);
	printf("\n(e) profiling cost on the 4 KiB fault path (same CPU), p50 medians "
	       "of %zu runs\n", (size_t)opt.runs);
	for (size_t r = 0; r < opt.runs; r++) {
		off[r] = svm_fault_latency(cpu_a).p50_us;
		setenv("SVM_PROFILE", "json:/dev/null", 1);
		prof[r] = svm_fault_latency(cpu_a).p50_us;
		unsetenv("SVM_PROFILE");
		setenv("SVM_TRACE", tfile, 1);
		trace[r] = svm_fault_latency(cpu_a).p50_us;
		unsetenv("SVM_TRACE");
	}
	unlink(tfile);
	double m_off = median(off, opt.runs), m_prof = median(prof, opt.runs);
	double m_trace = median(trace, opt.runs);

	printf("  %-44s p50 %7.2f us\n", "profiling off", m_off);
	printf("  %-44s p50 %7.2f us   %.3fx of off\n", "SVM_PROFILE=json:FILE", m_prof,
	       ratio_of(m_prof, m_off));
	printf("  %-44s p50 %7.2f us   %.3fx of off\n", "SVM_TRACE=FILE", m_trace,
	       ratio_of(m_trace, m_off));
	free(off);
	free(prof);
	free(trace);
}

/* ---- (b) throughput ------------------------------------------------------ */

struct pair {
	double there, back; /* GiB/s, medians */
};

static double memcpy_rate(void)
{
	size_t bytes = opt.mib * MIB;
	unsigned char *a = map_anon(bytes), *b = map_anon(bytes);
	double *v = dvec(opt.runs), m;

	memset(a, 1, bytes);
	memset(b, 2, bytes);
	for (size_t k = 0; k < opt.runs; k++) {
		uint64_t t0 = svmt_now_ns();

		memcpy(k % 2 ? a : b, k % 2 ? b : a, bytes);
		v[k] = gib_per_s(bytes, svmt_now_ns() - t0);
	}
	CHECK(a[bytes - 1] == b[bytes - 1]);
	munmap(a, bytes);
	munmap(b, bytes);
	m = median(v, opt.runs);
	free(v);
	return m;
}

/* Moves every page of src to dst in RAW_CHUNK calls, the size of the runs
 * the backend hands to the kernel. */
#define RAW_CHUNK (1u << 20)

static void raw_transfer(int fd, int move, unsigned char *dst,
			 unsigned char *src, size_t bytes)
{
	for (size_t off = 0; off < bytes; off += RAW_CHUNK) {
		size_t len = bytes - off < RAW_CHUNK ? bytes - off : RAW_CHUNK;

		if (move) {
			uffd_move_all(fd, (uintptr_t)(dst + off),
				      (uintptr_t)(src + off), len);
		} else {
			uffd_copy_all(fd, (uintptr_t)(dst + off),
				      (uintptr_t)(src + off), len);
			madvise(src + off, len, MADV_DONTNEED);
		}
	}
}

/*
 * svm_prefetch of opt.mib to device 0 and home, next to the raw primitive
 * between two anonymous areas registered like svmrt's (no huge pages,
 * MISSING + WP): UFFDIO_MOVE there and back, or UFFDIO_COPY plus
 * MADV_DONTNEED of the source. Runs interleaved, medians. A transfer takes
 * a few milliseconds, about a time slice, so one preemption by another
 * process decides a sample: PREFETCH_RUNS x opt.runs samples.
 */
#define PREFETCH_RUNS 3

static void prefetch_vs_raw(int move, size_t runs, struct pair *svm, struct pair *raw)
{
	size_t bytes = opt.mib * MIB, pages = bytes / pg;
	double *st = dvec(runs), *sb = dvec(runs), *rt = dvec(runs), *rb = dvec(runs);
	uint64_t mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	unsigned char *a = map_anon(bytes), *b = map_anon(bytes), *p;
	svm_migrate_report_t rep;
	int fd;

	svm_start(NULL, -1, move);
	p = svmt_alloc(bytes);
	memset(p, 0x33, bytes);
	fd = uffd_open(move ? UFFD_FEATURE_MOVE : 0, NULL);
	madvise(a, bytes, MADV_NOHUGEPAGE);
	madvise(b, bytes, MADV_NOHUGEPAGE);
	memset(a, 0x44, bytes); /* populated before it is registered */
	uffd_register(fd, a, bytes, mode);
	uffd_register(fd, b, bytes, mode);
	for (size_t k = 0; k < runs; k++) {
		uint64_t t0 = svmt_now_ns(), t1, t2, t3, t4;

		raw_transfer(fd, move, b, a, bytes);
		t1 = svmt_now_ns();
		raw_transfer(fd, move, a, b, bytes);
		t2 = svmt_now_ns();
		CHECK_OK(svm_prefetch(p, bytes, 0, &rep));
		t3 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		CHECK_OK(svm_prefetch(p, bytes, SVM_HOST, &rep));
		t4 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		rt[k] = gib_per_s(bytes, t1 - t0);
		rb[k] = gib_per_s(bytes, t2 - t1);
		st[k] = gib_per_s(bytes, t3 - t2);
		sb[k] = gib_per_s(bytes, t4 - t3);
	}
	for (size_t i = 0; i < bytes; i += pg) {
		CHECK(a[i] == 0x44); /* a holds every page again */
		CHECK(p[i] == 0x33);
	}
	close(fd);
	munmap(a, bytes);
	munmap(b, bytes);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	*svm = (struct pair){ median(st, runs), median(sb, runs) };
	*raw = (struct pair){ median(rt, runs), median(rb, runs) };
	free(st);
	free(sb);
	free(rt);
	free(rb);
}

static void throughput_section(int full)
{
	double mc = 0;
	struct pair svm, raw, svm_copy = { 0, 0 }, raw_copy = { 0, 0 };
	const char *prim = have_move ? "raw UFFDIO_MOVE" : "raw UFFDIO_COPY + MADV_DONTNEED";
	char m[40], b[40];
	int met_t, met_b;

	printf("\n(b) %zu MiB: svm_prefetch in one call, raw primitives in 1 MiB calls; "
	       "median of %zu runs, interleaved (GiB/s; the copy path: %zu runs)\n",
	       opt.mib, PREFETCH_RUNS * opt.runs, opt.runs);
	if (full)
		mc = memcpy_rate();
	prefetch_vs_raw(have_move, PREFETCH_RUNS * opt.runs, &svm, &raw);
	/* the copy path is slow (a fork probe for pins per run of pages): opt.runs */
	if (full && have_move)
		prefetch_vs_raw(0, opt.runs, &svm_copy, &raw_copy);
	if (full)
		printf("  %-44s %6.2f\n", "memcpy", mc);
	printf("  %-44s %6.2f there, %6.2f back\n", prim, raw.there, raw.back);
	printf("  %-44s %6.2f there, %6.2f back\n",
	       have_move ? "svm_prefetch (UFFDIO_MOVE path)" : "svm_prefetch (UFFDIO_COPY path)",
	       svm.there, svm.back);
	if (full && have_move) {
		printf("  %-44s %6.2f there, %6.2f back\n", "raw UFFDIO_COPY + MADV_DONTNEED",
		       raw_copy.there, raw_copy.back);
		printf("  %-44s %6.2f there, %6.2f back\n", "svm_prefetch, SVM_USER_UFFD_MOVE=0",
		       svm_copy.there, svm_copy.back);
	}
	if (full)
		printf("  ratio svm_prefetch/memcpy:  there %.2fx  back %.2fx   "
		       "(target >= 1x: %s)\n",
		       ratio_of(svm.there, mc), ratio_of(svm.back, mc),
		       svm.there >= mc && svm.back >= mc ? "met" : "NOT MET");
	snprintf(m, sizeof(m), "%.2f GiB/s", svm.there);
	snprintf(b, sizeof(b), "%.2f GiB/s", raw.there);
	met_t = add_target(have_move ? "svm_prefetch to device vs raw UFFDIO_MOVE" :
				       "svm_prefetch to device vs raw UFFDIO_COPY",
			   m, b, ratio_of(svm.there, raw.there), AT_LEAST, 0.8, NULL);
	snprintf(m, sizeof(m), "%.2f GiB/s", svm.back);
	snprintf(b, sizeof(b), "%.2f GiB/s", raw.back);
	met_b = add_target(have_move ? "svm_prefetch to host vs raw UFFDIO_MOVE" :
				       "svm_prefetch to host vs raw UFFDIO_COPY",
			   m, b, ratio_of(svm.back, raw.back), AT_LEAST, 0.8, NULL);
	printf("  ratio svm_prefetch/raw:     there %.2fx  back %.2fx   "
	       "(target >= 0.8x: %s, %s)\n",
	       ratio_of(svm.there, raw.there), ratio_of(svm.back, raw.back), met_str(met_t),
	       met_str(met_b));
}

/* ---- (c) granularity sweep ------------------------------------------------ */

struct touch_args {
	unsigned char *base;
};

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct touch_args *a = arg;
	volatile unsigned char *d = svm_device_ptr(ctx, a->base + i * 4096);

	*d = (unsigned char)(*d + 1);
}

static const char *gran_name(const char *gran)
{
	return gran ? gran : "default";
}

/* Median over opt.runs of a device pass then a host pass over the buffer;
 * each host pass brings every page home for the next run. */
static void sweep_one(const char *gran)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096;
	double *dev_ms = dvec(opt.runs), *host_ms = dvec(opt.runs);
	struct touch_args a;
	svm_stats_t s0, s1, s2;
	uint64_t dev_faults = 0, cpu_faults = 0;
	unsigned char *p;
	double dm, hm;

	svm_start(gran, -1, have_move);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	for (size_t k = 0; k < opt.runs; k++) {
		uint64_t t0, t1, t2;

		s0 = svmt_stats();
		t0 = svmt_now_ns();
		CHECK_OK(svm_launch(0, pages, kernel_touch, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (size_t i = 0; i < bytes; i += 4096)
			p[i] = (unsigned char)(p[i] + 1);
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		check_pass(&s0, &s1, pages, "sweep, device pass");
		check_pass(&s1, &s2, pages, "sweep, host pass");
		dev_ms[k] = (double)(t1 - t0) / 1e6;
		host_ms[k] = (double)(t2 - t1) / 1e6;
		dev_faults = s1.device_faults - s0.device_faults;
		cpu_faults = s2.cpu_faults - s1.cpu_faults;
	}
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(p[i] == (unsigned char)(1 + 2 * opt.runs));
	dm = median(dev_ms, opt.runs);
	hm = median(host_ms, opt.runs);
	printf("  %-7s device pass %8.1f ms %6.2f GiB/s %6llu faults | "
	       "host pass %8.1f ms %6.2f GiB/s %6llu faults\n",
	       gran_name(gran), dm, (double)bytes / (1 << 30) / (dm / 1e3),
	       (unsigned long long)dev_faults, hm, (double)bytes / (1 << 30) / (hm / 1e3),
	       (unsigned long long)cpu_faults);
	free(dev_ms);
	free(host_ms);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
}

/* Sparse access: one random 4 KiB page in each 2 MiB of the buffer,
 * touched on device 0 and then on the host; what a large block costs when
 * little of it is used (every touch is a fault at every granularity). */
struct sparse_args {
	unsigned char *base;
	const size_t *page;
	double *us; /* each touch's time */
};

/* Each access timed by the worker that makes it. */
static void kernel_sparse(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct sparse_args *a = arg;
	uint64_t t0 = svmt_now_ns();
	volatile unsigned char *d =
		svm_device_ptr(ctx, a->base + a->page[i] * 4096);

	*d = (unsigned char)(*d + 1);
	a->us[i] = (double)(svmt_now_ns() - t0) / 1e3;
}

struct sparse_res {
	double dev_us, host_us;           /* median time of one touch */
	double dev_mean_us, host_mean_us; /* pass time / touches, median over runs */
	uint64_t moved_dev;               /* pages moved to the device by one pass */
	size_t touches;
	/* the host pass: its faults, pages home, of them prefetched */
	uint64_t host_faults, moved_host, prefetched_host;
};

/*
 * One untimed round first (the device's memory and the page tables exist
 * afterwards, as in a program that has been running), then `runs` timed
 * rounds; each round ends with a prefetch home. A pass is only 128 touches
 * of some microseconds, less than a time slice, so one preemption can
 * double a pass: the figure is the median of every touch timed alone.
 */
static struct sparse_res sparse_one(const char *gran, size_t runs, int print)
{
	size_t bytes = opt.sparse_mib * MIB, sparse = bytes / (2 * MIB);
	size_t *page = calloc(sparse, sizeof(size_t));
	double *dev_us = dvec(runs), *host_us = dvec(runs);
	double *dev_touch = dvec(runs * sparse), *host_touch = dvec(runs * sparse);
	uint64_t rng = 42;
	struct sparse_args a;
	struct sparse_res res = { 0, 0, 0, 0, 0, sparse, 0, 0, 0 };
	unsigned char *p;

	CHECK(page != NULL);
	for (size_t i = 0; i < sparse; i++)
		page[i] = i * 512 + svmt_rand(&rng) % 512;
	/*
	 * The same pages go to the device and home in every round: the
	 * thrashing holds would keep them home after three rounds, and the
	 * touches would measure that, not what a fault brings along.
	 */
	setenv("SVM_THRASH", "0", 1);
	svm_start(gran, -1, have_move);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	a.page = page;
	for (size_t k = 0; k <= runs; k++) {
		svm_stats_t s0 = svmt_stats(), s1, s2;
		uint64_t t0 = svmt_now_ns(), t1, t2;
		/* the untimed round writes its times where the first timed one will */
		size_t at = (k ? k - 1 : 0) * sparse;

		a.us = dev_touch + at;
		CHECK_OK(svm_launch(0, sparse, kernel_sparse, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (size_t i = 0; i < sparse; i++) {
			volatile unsigned char *b = p + page[i] * 4096;
			uint64_t ts = svmt_now_ns();

			*b = (unsigned char)(*b + 1);
			host_touch[at + i] = (double)(svmt_now_ns() - ts) / 1e3;
		}
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		check_pass(&s0, &s1, bytes / pg, "sparse, device pass");
		check_pass(&s1, &s2, bytes / pg, "sparse, host pass");
		/* a touch moves at most the 2 MiB around it */
		CHECK(s1.pages_to_device - s0.pages_to_device <= sparse * 512);
		if (k > 0) {
			dev_us[k - 1] = (double)(t1 - t0) / 1e3 / (double)sparse;
			host_us[k - 1] = (double)(t2 - t1) / 1e3 / (double)sparse;
		}
		res.moved_dev = s1.pages_to_device - s0.pages_to_device;
		res.host_faults = s2.cpu_faults - s1.cpu_faults;
		res.moved_host = s2.pages_to_host - s1.pages_to_host;
		res.prefetched_host = s2.prefetched_pages - s1.prefetched_pages;
		CHECK_OK(svm_prefetch(p, bytes, SVM_HOST, NULL));
	}
	for (size_t i = 0; i < sparse; i++)
		CHECK(p[page[i] * 4096] == (unsigned char)(1 + 2 * (runs + 1)));
	res.dev_mean_us = median(dev_us, runs);
	res.host_mean_us = median(host_us, runs);
	res.dev_us = median(dev_touch, runs * sparse);
	res.host_us = median(host_touch, runs * sparse);
	if (print)
		printf("  %-7s touch median %6.1f us device, %6.1f us host (pass / touches "
		       "%6.1f, %6.1f); %6llu pages moved for %zu touches; host: %llu faults, "
		       "%llu pages home, %llu prefetched\n",
		       gran_name(gran), res.dev_us, res.host_us, res.dev_mean_us,
		       res.host_mean_us, (unsigned long long)res.moved_dev, sparse,
		       (unsigned long long)res.host_faults, (unsigned long long)res.moved_host,
		       (unsigned long long)res.prefetched_host);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	free(page);
	free(dev_us);
	free(host_us);
	free(dev_touch);
	free(host_touch);
	unsetenv("SVM_THRASH");
	return res;
}

/*
 * Issue 18's sparse target: the defaults next to 4K, one timed round of
 * each in turn opt.runs times (each after its own untimed round), so that
 * a change of load hits both; medians.
 */
static void sparse_targets(void)
{
	size_t runs = opt.runs;
	double *dd = dvec(runs), *dh = dvec(runs), *fd_ = dvec(runs), *fh = dvec(runs);
	struct sparse_res def = { 0 }, four_k = { 0 };
	char m[40], b[40];
	int md, mh;

	for (size_t r = 0; r < runs; r++) {
		four_k = sparse_one("4K", 1, 0);
		def = sparse_one(NULL, 1, 0);
		fd_[r] = four_k.dev_us;
		fh[r] = four_k.host_us;
		dd[r] = def.dev_us;
		dh[r] = def.host_us;
	}
	four_k.dev_us = median(fd_, runs);
	four_k.host_us = median(fh, runs);
	def.dev_us = median(dd, runs);
	def.host_us = median(dh, runs);
	printf("  target pair, %zu runs alternating, medians of the runs' touch medians:\n",
	       runs);
	for (int i = 0; i < 2; i++) {
		const struct sparse_res *x = i ? &def : &four_k;

		printf("  %-7s touch median %6.1f us device, %6.1f us host; %6llu pages moved "
		       "for %zu touches; host: %llu faults, %llu pages home, %llu prefetched\n",
		       i ? "default" : "4K", x->dev_us, x->host_us,
		       (unsigned long long)x->moved_dev, x->touches,
		       (unsigned long long)x->host_faults, (unsigned long long)x->moved_host,
		       (unsigned long long)x->prefetched_host);
	}

	snprintf(m, sizeof(m), "%.1f us/touch", def.dev_us);
	snprintf(b, sizeof(b), "4K %.1f us/touch", four_k.dev_us);
	md = add_target("sparse 1 page/2 MiB, defaults vs 4K: device touch", m, b,
			ratio_of(def.dev_us, four_k.dev_us), AT_MOST, 1.2, NULL);
	snprintf(m, sizeof(m), "%.1f us/touch", def.host_us);
	snprintf(b, sizeof(b), "4K %.1f us/touch", four_k.host_us);
	mh = add_target("sparse 1 page/2 MiB, defaults vs 4K: host touch", m, b,
			ratio_of(def.host_us, four_k.host_us), AT_MOST, 1.2, NULL);
	printf("  ratio defaults/4K per touch: device %.2fx  host %.2fx   "
	       "(target <= 1.2x: %s, %s)\n",
	       ratio_of(def.dev_us, four_k.dev_us), ratio_of(def.host_us, four_k.host_us),
	       met_str(md), met_str(mh));
	free(dd);
	free(dh);
	free(fd_);
	free(fh);
}

static void sweep_section(void)
{
	static const char *const grans[] = { "4K", "64K", "512K", "2M" };

	printf("\n(c) SVM_GRANULARITY sweep: fault-driven passes over %zu MiB "
	       "(one byte per 4 KiB page) on device 0, then on the host; "
	       "median of %zu runs\n",
	       opt.sweep_mib, opt.runs);
	for (size_t i = 0; i < sizeof(grans) / sizeof(grans[0]); i++)
		sweep_one(grans[i]);
	printf("  sparse: one random 4 KiB page in each 2 MiB of %zu MiB "
	       "touched on device 0, then on the host; median of %zu runs after one "
	       "untimed\n",
	       opt.sparse_mib, opt.runs);
	for (size_t i = 0; i < sizeof(grans) / sizeof(grans[0]); i++)
		sparse_one(grans[i], opt.runs, 1);
	sparse_one(NULL, opt.runs, 1);
	sparse_targets();
}

/* Just the target's pair: defaults and 4K. */
static void sparse_section(void)
{
	printf("\n(c) sparse: one random 4 KiB page in each 2 MiB of %zu MiB touched on "
	       "device 0, then on the host\n",
	       opt.sparse_mib);
	sparse_targets();
}

/* ---- (d) fault service as threads are added ------------------------------ */

/*
 * Issue 18's scaling measure, the baseline for its fault service work: at
 * T = 1, 2, 4, ... up to 4x the CPUs,
 *  - device faults: one launch over a host-resident buffer at the default
 *    granularity, one word per 4 KiB page, by a pool of T device workers
 *    (SVM_USER_DEVICE_THREADS=T);
 *  - CPU faults: the buffer on device 0, T host threads each touch their
 *    slice, one word per page.
 * Pages per second (median of opt.runs), as a ratio to T=1 of the same
 * run, and the faults each pass took (machine independent). Targets: never
 * below T=1 at any T, and at least 0.5 x T up to the CPU count.
 */
struct host_slice {
	volatile unsigned char *p;
	size_t bytes;
};

static void *host_toucher(void *arg)
{
	struct host_slice *s = arg;

	for (size_t i = 0; i < s->bytes; i += 4096)
		s->p[i] = (unsigned char)(s->p[i] + 1);
	return NULL;
}

/*
 * TLB shootdown interrupts taken so far, all CPUs together (x86's "TLB"
 * line of /proc/interrupts); -1 where there is none. Counted around a
 * pass, they say how many cross-CPU flushes its faults cost: a move that
 * unmaps a page another CPU running this process may have cached must
 * interrupt that CPU, and on a VM that costs more than the move. The
 * count is system-wide: other processes' flushes meanwhile count too.
 */
static long long tlb_shootdowns(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char *line = NULL; /* a line has a column per CPU: no fixed buffer holds every machine's */
	size_t cap = 0;
	long long sum = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *q = strchr(line, ':'), *end;

		if (!q || strncmp(line + strspn(line, " "), "TLB:", 4))
			continue;
		sum = 0;
		for (q++;; q = end) {
			long long v = strtoll(q, &end, 10);

			if (end == q)
				break;
			sum += v;
		}
		break;
	}
	free(line);
	fclose(f);
	return sum;
}

/* Shootdowns per fault between two counts; -1 when unknown. */
static double per_fault(long long before, long long after, uint64_t faults)
{
	if (before < 0 || after < before || !faults)
		return -1;
	return (double)(after - before) / (double)faults;
}

/*
 * One init with T workers: an untimed device + host pass (the device's
 * memory, the workers and the page tables exist afterwards), then one timed
 * pass of each; pages per second.
 */
static void scaling_one(unsigned t, double *dev_pps, double *host_pps, uint64_t *dev_faults,
			uint64_t *cpu_faults, double *dev_tlb, double *host_tlb)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096, per = pages / t * 4096;
	pthread_t *th = calloc(t, sizeof(pthread_t));
	struct host_slice *sl = calloc(t, sizeof(*sl));
	struct touch_args a;
	unsigned char *p;
	char nt[16];

	CHECK(th && sl);
	snprintf(nt, sizeof(nt), "%u", t);
	setenv("SVM_USER_DEVICE_THREADS", nt, 1);
	/*
	 * The fault service is measured, not the prefetcher: with it off each
	 * fault moves its 64K block, the same number of faults at every T
	 * (with it on, how many faults a pass takes depends on how the
	 * workers' chunks interleave).
	 */
	setenv("SVM_PREFETCH", "off", 1);
	svm_start(NULL, -1, have_move);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	for (unsigned i = 0; i < t; i++)
		sl[i] = (struct host_slice){ p + i * per, i + 1 == t ? bytes - i * per : per };
	for (int k = 0; k < 2; k++) {
		svm_stats_t s0 = svmt_stats(), s1, s2;
		long long f0 = tlb_shootdowns(), f1, f2;
		uint64_t t0 = svmt_now_ns(), t1, t2;

		CHECK_OK(svm_launch(0, pages, kernel_touch, &a));
		t1 = svmt_now_ns();
		f1 = tlb_shootdowns();
		s1 = svmt_stats();
		for (unsigned i = 0; i < t; i++)
			CHECK(pthread_create(&th[i], NULL, host_toucher, &sl[i]) == 0);
		for (unsigned i = 0; i < t; i++)
			CHECK(pthread_join(th[i], NULL) == 0);
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		f2 = tlb_shootdowns();
		check_pass(&s0, &s1, pages, "scaling, device pass");
		check_pass(&s1, &s2, pages, "scaling, host pass");
		*dev_pps = (double)pages / ((double)(t1 - t0 ? t1 - t0 : 1) / 1e9);
		*host_pps = (double)pages / ((double)(t2 - t1 ? t2 - t1 : 1) / 1e9);
		*dev_faults = s1.device_faults - s0.device_faults;
		*cpu_faults = s2.cpu_faults - s1.cpu_faults;
		*dev_tlb = per_fault(f0, f1, *dev_faults);
		*host_tlb = per_fault(f1, f2, *cpu_faults);
	}
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(p[i] == 1 + 2 * 2);
	check_device_totals();
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	unsetenv("SVM_USER_DEVICE_THREADS");
	free(th);
	free(sl);
	unsetenv("SVM_PREFETCH");
}

/*
 * The same device pass with the bare primitive and no runtime: T threads
 * each read one word per 4 KiB page of their slice of a registered area
 * (userfaultfd in SIGBUS mode), and each fault is answered by the thread
 * that made it, from its SIGBUS handler, with one UFFDIO_MOVE (copy path:
 * UFFDIO_COPY) of the 64K block from a filled source area, as svmrt's
 * self-served device faults do (SVM_USER_DEVICE_FAULTS=self). How the
 * kernel primitive itself scales with threads of one process on this
 * machine: the baseline for (d)'s device rows.
 */
#define RAW_BLOCK (64 * 1024)

static struct {
	int fd;
	uintptr_t src, dst;
	size_t bytes;
} raw_sc;

static void raw_scaling_fault(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(RAW_BLOCK - 1);

	(void)sig;
	(void)ctx;
	CHECK_MSG(a - raw_sc.dst < raw_sc.bytes, "raw scaling: SIGBUS at %p", si->si_addr);
	if (have_move)
		uffd_move_all(raw_sc.fd, a, raw_sc.src + (a - raw_sc.dst), RAW_BLOCK);
	else
		uffd_copy_all(raw_sc.fd, a, raw_sc.src + (a - raw_sc.dst), RAW_BLOCK);
}

static void *raw_toucher(void *arg)
{
	struct host_slice *s = arg;
	unsigned sum = 0;

	for (size_t i = 0; i < s->bytes; i += 4096)
		sum += s->p[i];
	return (void *)(uintptr_t)sum;
}

/*
 * Pages per second of the raw pass with t threads; 0 without SIGBUS mode.
 * *tlb: TLB shootdowns per fault (one fault per RAW_BLOCK), -1 unknown.
 */
static double raw_scaling_one(unsigned t, double *tlb)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096, per = pages / t * 4096;
	struct sigaction sa = { .sa_sigaction = raw_scaling_fault, .sa_flags = SA_SIGINFO }, old;
	pthread_t *th = calloc(t, sizeof(pthread_t));
	struct host_slice *sl = calloc(t, sizeof(*sl));
	uint64_t feat = 0, t0, t1;
	long long f0, f1;
	void *src, *dst;

	CHECK(th && sl);
	*tlb = -1;
	raw_sc.fd = uffd_open(UFFD_FEATURE_SIGBUS | (have_move ? UFFD_FEATURE_MOVE : 0), &feat);
	if (!(feat & UFFD_FEATURE_SIGBUS)) {
		close(raw_sc.fd);
		free(th);
		free(sl);
		return 0;
	}
	src = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(src != MAP_FAILED && dst != MAP_FAILED);
	memset(src, 1, bytes);
	raw_sc.src = (uintptr_t)src;
	raw_sc.dst = (uintptr_t)dst;
	raw_sc.bytes = bytes;
	uffd_register(raw_sc.fd, dst, bytes, UFFDIO_REGISTER_MODE_MISSING);
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGBUS, &sa, &old) == 0);
	for (unsigned i = 0; i < t; i++)
		sl[i] = (struct host_slice){ (unsigned char *)dst + i * per,
					     i + 1 == t ? bytes - i * per : per };
	f0 = tlb_shootdowns();
	t0 = svmt_now_ns();
	for (unsigned i = 0; i < t; i++)
		CHECK(pthread_create(&th[i], NULL, raw_toucher, &sl[i]) == 0);
	for (unsigned i = 0; i < t; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	t1 = svmt_now_ns();
	f1 = tlb_shootdowns();
	*tlb = per_fault(f0, f1, bytes / RAW_BLOCK);
	CHECK(sigaction(SIGBUS, &old, NULL) == 0);
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(((unsigned char *)dst)[i] == 1);
	munmap(src, bytes);
	munmap(dst, bytes);
	close(raw_sc.fd);
	free(th);
	free(sl);
	return (double)pages / ((double)(t1 - t0 ? t1 - t0 : 1) / 1e9);
}

/* The worst T for both scaling targets, for one side (device or host). */
struct scaling_worst {
	unsigned t_any, t_cpus;  /* worst T overall, worst T <= CPUs */
	double r_any, eff_cpus;  /* its ratio to T=1; ratio / T there */
	double pps_any, pps_cpus;
};

static void scaling_note(struct scaling_worst *w, unsigned t, double pps, double ratio)
{
	if (t > 1 && (!w->t_any || ratio < w->r_any)) {
		w->t_any = t;
		w->r_any = ratio;
		w->pps_any = pps;
	}
	if (t > 1 && t <= (unsigned)ncpu && (!w->t_cpus || ratio / t < w->eff_cpus)) {
		w->t_cpus = t;
		w->eff_cpus = ratio / t;
		w->pps_cpus = pps;
	}
}

static void scaling_targets(const char *side, const struct scaling_worst *w, double pps1)
{
	char what[64], m[40], b[40];

	snprintf(b, sizeof(b), "T=1 %.0fk pages/s", pps1 / 1e3);
	snprintf(what, sizeof(what), "%s-fault scaling: worst T vs T=1", side);
	if (w->t_any) {
		snprintf(m, sizeof(m), "T=%u %.0fk pages/s", w->t_any, w->pps_any / 1e3);
		add_target(what, m, b, w->r_any, AT_LEAST, 1.0, NULL);
	}
	snprintf(what, sizeof(what), "%s-fault scaling: worst T<=CPUs, (T vs T=1)/T", side);
	if (w->t_cpus) {
		snprintf(m, sizeof(m), "T=%u %.0fk pages/s", w->t_cpus, w->pps_cpus / 1e3);
		add_target(what, m, b, w->eff_cpus, AT_LEAST, 0.5, NULL);
	}
}

static void scaling_section(void)
{
	size_t pages = opt.sweep_mib * MIB / 4096, runs = opt.runs, nt = 0;
	unsigned tmax = 4u * (unsigned)ncpu, ts[16];
	double *dv[16], *hv[16], *rv[16], *dtlb[16], *rtlb[16], *htlb[16], dev1 = 0, host1 = 0, raw1 = 0;
	uint64_t df[16], cf[16];
	struct scaling_worst wd = { 0 }, wh = { 0 };
	double raw_worst = 0, raw_worst_dev = 0, raw_worst_raw = 0;
	unsigned raw_worst_t = 0;

	if (tmax > MAX_T)
		tmax = MAX_T;
	if (tmax > pages)
		tmax = (unsigned)pages;
	for (unsigned t = 1; t <= tmax && nt < 16; t *= 2) {
		ts[nt] = t;
		dv[nt] = dvec(runs);
		rv[nt] = dvec(runs);
		dtlb[nt] = dvec(runs);
		rtlb[nt] = dvec(runs);
		htlb[nt] = dvec(runs);
		hv[nt++] = dvec(runs);
	}
	printf("\n(d) fault scaling: %zu MiB at the default granularity, SVM_PREFETCH=off, one word per 4 KiB "
	       "page; T device workers (one launch), then T host threads (disjoint slices); "
	       "pages/s, median of %zu runs (each T in turn in every run, each after an "
	       "untimed pass), ratio to T=1 of this run; targets: >= 1.0x T=1 at every T, "
	       ">= 0.5 x T for T <= %d CPUs\n",
	       opt.sweep_mib, runs, ncpu);
	for (size_t r = 0; r < runs; r++)
		for (size_t i = 0; i < nt; i++) {
			scaling_one(ts[i], &dv[i][r], &hv[i][r], &df[i], &cf[i], &dtlb[i][r],
				    &htlb[i][r]);
			rv[i][r] = raw_scaling_one(ts[i], &rtlb[i][r]);
		}
	for (size_t i = 0; i < nt; i++) {
		unsigned t = ts[i];
		double dev = median(dv[i], runs), host = median(hv[i], runs), rd, rh;
		double raw = median(rv[i], runs);
		double ftlb = median(dtlb[i], runs), frtlb = median(rtlb[i], runs);
		double fhtlb = median(htlb[i], runs);
		int dmet, hmet;

		if (t == 1) {
			dev1 = dev;
			host1 = host;
			raw1 = raw;
		}
		rd = ratio_of(dev, dev1);
		rh = ratio_of(host, host1);
		scaling_note(&wd, t, dev, rd);
		scaling_note(&wh, t, host, rh);
		/* the verdict at this T: >= 1.0x, and >= 0.5 x T while T <= CPUs */
		dmet = rd >= 1.0 && (t > (unsigned)ncpu || rd >= 0.5 * t);
		hmet = rh >= 1.0 && (t > (unsigned)ncpu || rh >= 0.5 * t);
		printf("  BENCH scaling T=%-3u device %10.0f pages/s %5.2fx T=1 %7llu faults %-7s | "
		       "host %10.0f pages/s %5.2fx T=1 %7llu faults %s\n",
		       t, dev, rd, (unsigned long long)df[i], met_str(dmet), host, rh,
		       (unsigned long long)cf[i], met_str(hmet));
		if (raw > 0 && (!raw_worst_t || ratio_of(dev, raw) < raw_worst)) {
			raw_worst = ratio_of(dev, raw);
			raw_worst_t = t;
			raw_worst_dev = dev;
			raw_worst_raw = raw;
		}
		if (raw > 0)
			printf("        raw T=%-3u device %10.0f pages/s %5.2fx raw T=1 (the bare primitive, "
			       "each thread serving its own faults); svmrt device / raw %.2fx\n",
			       t, raw, ratio_of(raw, raw1), ratio_of(dev, raw));
		if (ftlb >= 0 && raw > 0 && frtlb >= 0)
			printf("        TLB shootdowns per fault, T=%-3u device: svmrt %5.2f  raw %5.2f | "
			       "host: svmrt %5.2f\n", t, ftlb, frtlb, fhtlb);
		else if (ftlb >= 0)
			printf("        TLB shootdowns per fault, T=%-3u device: svmrt %5.2f | host: svmrt "
			       "%5.2f\n", t, ftlb, fhtlb);
		free(htlb[i]);
		free(rtlb[i]);
		free(dtlb[i]);
		free(rv[i]);
		free(dv[i]);
		free(hv[i]);
	}
	scaling_targets("device", &wd, dev1);
	if (raw_worst_t) {
		char m[40], b[40];

		/* what the kernel's own move allows at that T, on this machine */
		snprintf(m, sizeof(m), "T=%u %.0fk pages/s", raw_worst_t, raw_worst_dev / 1e3);
		snprintf(b, sizeof(b), "raw T=%u %.0fk pages/s", raw_worst_t, raw_worst_raw / 1e3);
		add_target("device-fault scaling: worst T vs the bare primitive", m, b, raw_worst,
			   REPORT, 0, "(same T, same run)");
	}
	scaling_targets("host", &wh, host1);
}

/* ---- (f) ping-pong ----------------------------------------------------------- */

/*
 * Device 0 and the host take turns writing a buffer: in each round a launch
 * adds 1 to the first word of every page, then the host checks that it sees
 * the device's value and adds 1 too. With the defaults every round moves
 * every page there and back; issue 18 asks that after at most 3 rounds a
 * round moves at most 5% of the buffer. The "advised" series sets
 * preferred-location host and accessed-by device 0 first: the device then
 * works on the pages where they are and nothing moves, the best a
 * mitigation can do, and the time per round it takes is the baseline.
 */
#define PP_SETTLE 3 /* rounds a mitigation may take to act */

struct pp_args {
	unsigned char *base;
};

static void kernel_pp(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct pp_args *a = arg;
	volatile uint64_t *w = svm_device_ptr(ctx, a->base + i * 4096);

	*w = *w + 1;
}

struct pp_series {
	double ms_late;         /* median time per round after PP_SETTLE */
	uint64_t moved_late;    /* most pages moved by one round after PP_SETTLE */
	unsigned worst_round;   /* that round, 1-based */
};

static struct pp_series pingpong_series(int advised, int print)
{
	size_t bytes = opt.pp_mib * MIB, pages = bytes / 4096, rounds = opt.pp_rounds;
	double *late_ms = dvec(rounds);
	size_t nlate = 0;
	struct pp_series res = { 0, 0, 0 };
	struct pp_args a;
	unsigned char *p;

	svm_start(NULL, -1, -1);
	p = svmt_alloc(bytes);
	a.base = p;
	if (advised) {
		CHECK_OK(svm_advise(p, bytes, SVM_ADVISE_SET_PREFERRED_LOCATION, SVM_HOST));
		CHECK_OK(svm_advise(p, bytes, SVM_ADVISE_SET_ACCESSED_BY, 0));
	}
	memset(p, 0, bytes); /* every page on the host */
	for (size_t r = 0; r < rounds; r++) {
		svm_stats_t s0 = svmt_stats(), s1, s2;
		uint64_t t0 = svmt_now_ns(), t1, t2, moved, faults;
		double ms;

		CHECK_OK(svm_launch(0, pages, kernel_pp, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (size_t i = 0; i < pages; i++) {
			volatile uint64_t *w = (volatile uint64_t *)(p + i * 4096);
			uint64_t v = *w;

			CHECK_MSG(v == 2 * r + 1,
				  "ping-pong round %zu: the host reads %llu in page %zu, the "
				  "device wrote %llu",
				  r + 1, (unsigned long long)v, i, (unsigned long long)(2 * r + 1));
			*w = v + 1;
		}
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		check_pass(&s0, &s1, pages, "ping-pong, device pass");
		check_pass(&s1, &s2, pages, "ping-pong, host pass");
		/* the host wrote every page: every page is on the host now */
		CHECK_EQ(svmt_count_at(p, bytes, SVM_HOST), pages);
		if (advised) /* the advice keeps every page home */
			CHECK_EQ(s2.pages_to_device - s0.pages_to_device, 0);
		moved = s2.pages_to_device - s0.pages_to_device + s2.pages_to_host -
			s1.pages_to_host;
		faults = s2.device_faults - s0.device_faults + s2.cpu_faults - s0.cpu_faults;
		ms = (double)(t2 - t0) / 1e6;
		if (r >= PP_SETTLE) {
			late_ms[nlate++] = ms;
			if (!res.worst_round || moved > res.moved_late) {
				res.moved_late = moved;
				res.worst_round = (unsigned)r + 1;
			}
		}
		if (print)
			printf("  %-9s round %2zu: %7llu pages moved (%5.1f%%) %6llu faults "
			       "%5llu thrash events %5llu in place %8.2f ms (device %.2f)\n",
			       advised ? "advised" : "defaults", r + 1, (unsigned long long)moved,
			       100.0 * (double)moved / (double)pages, (unsigned long long)faults,
			       (unsigned long long)(s2.thrash_events - s0.thrash_events),
			       (unsigned long long)(s2.remote_accesses - s0.remote_accesses), ms,
			       (double)(t1 - t0) / 1e6);
	}
	check_device_totals();
	res.ms_late = median(late_ms, nlate);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	free(late_ms);
	return res;
}

static void pingpong_section(void)
{
	size_t pages = opt.pp_mib * MIB / 4096, runs = opt.runs;
	double *un = dvec(runs), *ad = dvec(runs), mu, ma;
	uint64_t worst = 0;
	unsigned worst_round = 0;
	char m[40], b[40];
	int met_moved, met_time;

	printf("\n(f) ping-pong: %zu MiB, device 0 writes every page, then the host a word per "
	       "page, %zu rounds; defaults, then preferred-location host + accessed-by "
	       "device 0; %zu series each, interleaved, the first printed\n",
	       opt.pp_mib, opt.pp_rounds, runs);
	for (size_t k = 0; k < runs; k++) {
		struct pp_series u = pingpong_series(0, k == 0);
		struct pp_series v = pingpong_series(1, k == 0);

		un[k] = u.ms_late;
		ad[k] = v.ms_late;
		if (!worst_round || u.moved_late > worst) {
			worst = u.moved_late;
			worst_round = u.worst_round;
		}
	}
	mu = median(un, runs);
	ma = median(ad, runs);
	snprintf(m, sizeof(m), "%llu moves, round %u", (unsigned long long)worst, worst_round);
	snprintf(b, sizeof(b), "buffer %zu pages", pages);
	met_moved = add_target("ping-pong: most page moves in a round > 3", m, b,
			       (double)worst / (double)pages, AT_MOST, 0.05, NULL);
	snprintf(m, sizeof(m), "%.2f ms/round", mu);
	snprintf(b, sizeof(b), "advised %.2f ms/round", ma);
	met_time = add_target("ping-pong: time per round, defaults vs advised", m, b,
			      ratio_of(mu, ma), on_kshim() ? AT_MOST : REPORT, 1.5,
			      "(kshim: <= 1.50x)");
	printf("  rounds after %d: at most %llu page moves (to the device + home) in a round "
	       "for %zu pages (%.1f%%; target <= 5%%: %s); time per round (median of rounds "
	       "> %d) %.2f ms, advised %.2f ms: %.2fx (%s)\n",
	       PP_SETTLE, (unsigned long long)worst, pages, 100.0 * (double)worst / (double)pages,
	       met_str(met_moved), PP_SETTLE, mu, ma, ratio_of(mu, ma),
	       on_kshim() ? met_str(met_time) : "target on kshim only");
	free(un);
	free(ad);
}

/* ---- (g) streaming with the defaults ---------------------------------------- */

/*
 * What an application that does not prefetch gets: a launch touching every
 * page of a host-resident buffer (one byte per 4 KiB page), then the host
 * touching every page, all with the defaults; next to svm_prefetch of the
 * same buffer to device 0 and home. One untimed round, then opt.runs
 * rounds, medians. The prefetches check the fault passes: after the host
 * pass every page is home, so the prefetch must move every page.
 */
static void stream_section(void)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096, runs = opt.runs;
	double *fd_ = dvec(runs), *fh = dvec(runs), *pd = dvec(runs), *ph = dvec(runs);
	uint64_t dev_faults = 0, cpu_faults = 0;
	double gran = 0;
	struct touch_args a;
	svm_migrate_report_t rep;
	unsigned char *p;
	struct pair fault, pf;
	char m[40], b[40];
	int md, mh;
	double goal = on_kshim() ? 0.8 : 0.5;

	printf("\n(g) streaming with the defaults over %zu MiB, no prefetch calls: one launch "
	       "touching every page, then the host; next to svm_prefetch of the same buffer; "
	       "median of %zu runs after one untimed (GiB/s)\n",
	       opt.sweep_mib, runs);
	svm_start(NULL, -1, -1);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	for (size_t k = 0; k <= runs; k++) {
		svm_stats_t s0 = svmt_stats(), s1, s2;
		uint64_t t0 = svmt_now_ns(), t1, t2, t3, t4;

		CHECK_OK(svm_launch(0, pages, kernel_touch, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (size_t i = 0; i < bytes; i += 4096)
			p[i] = (unsigned char)(p[i] + 1);
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		check_pass(&s0, &s1, pages, "streaming, device pass");
		check_pass(&s1, &s2, pages, "streaming, host pass");
		CHECK_OK(svm_prefetch(p, bytes, 0, &rep));
		t3 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		CHECK_OK(svm_prefetch(p, bytes, SVM_HOST, &rep));
		t4 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		if (k == 0)
			continue;
		fd_[k - 1] = gib_per_s(bytes, t1 - t0);
		fh[k - 1] = gib_per_s(bytes, t2 - t1);
		pd[k - 1] = gib_per_s(bytes, t3 - t2);
		ph[k - 1] = gib_per_s(bytes, t4 - t3);
		dev_faults = s1.device_faults - s0.device_faults;
		cpu_faults = s2.cpu_faults - s1.cpu_faults;
		gran = dev_faults ? (double)(s1.pages_to_device - s0.pages_to_device) /
					    (double)dev_faults : 0;
	}
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(p[i] == (unsigned char)(1 + 2 * (runs + 1)));
	check_device_totals();
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	fault = (struct pair){ median(fd_, runs), median(fh, runs) };
	pf = (struct pair){ median(pd, runs), median(ph, runs) };

	printf("  %-44s %6.2f to device (%llu faults, %.1f pages each), %6.2f to host "
	       "(%llu faults)\n",
	       "fault-driven", fault.there, (unsigned long long)dev_faults, gran, fault.back,
	       (unsigned long long)cpu_faults);
	printf("  %-44s %6.2f to device, %6.2f to host\n", "svm_prefetch", pf.there, pf.back);
	snprintf(m, sizeof(m), "%.2f GiB/s", fault.there);
	snprintf(b, sizeof(b), "prefetch %.2f GiB/s", pf.there);
	md = add_target("streaming, defaults: device faults vs prefetch", m, b,
			ratio_of(fault.there, pf.there), AT_LEAST, goal, NULL);
	snprintf(m, sizeof(m), "%.2f GiB/s", fault.back);
	snprintf(b, sizeof(b), "prefetch %.2f GiB/s", pf.back);
	mh = add_target("streaming, defaults: host faults vs prefetch", m, b,
			ratio_of(fault.back, pf.back), AT_LEAST, goal, NULL);
	printf("  ratio fault-driven/prefetch: device %.2fx  host %.2fx   (target >= %.1fx: "
	       "%s, %s)\n",
	       ratio_of(fault.there, pf.there), ratio_of(fault.back, pf.back), goal,
	       met_str(md), met_str(mh));
	free(fd_);
	free(fh);
	free(pd);
	free(ph);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--quick] [--scaling | --fault | --targets | --only L] [--strict] "
		"[--copy-path] [--samples N] "
		"[--mib M] [--runs R] [--sweep-mib S] [--sparse-mib S] [--pp-mib P] "
		"[--pp-rounds K]\n",
		argv0);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t *target = NULL;

		if (!strcmp(a, "--scaling")) {
			opt.mode = MODE_SCALING;
			continue;
		}
		if (!strcmp(a, "--fault")) {
			opt.mode = MODE_FAULT;
			continue;
		}
		if (!strcmp(a, "--only")) {
			if (i + 1 >= argc || !argv[i + 1][0] ||
			    strspn(argv[i + 1], "abcdefgs") != strlen(argv[i + 1]))
				usage(argv[0]);
			opt.mode = MODE_ONLY;
			opt.only = argv[++i];
			continue;
		}
		if (!strcmp(a, "--targets")) {
			opt.mode = MODE_TARGETS;
			continue;
		}
		if (!strcmp(a, "--strict")) {
			opt.strict = 1;
			continue;
		}
		if (!strcmp(a, "--copy-path")) {
			opt.copy_path = 1;
			continue;
		}
		if (!strcmp(a, "--quick")) {
			opt.samples = 300;
			opt.mib = 32;
			opt.runs = 3;
			opt.sweep_mib = 16;
			opt.sparse_mib = 32;
			opt.pp_mib = 4;
			continue;
		}
		if (!strcmp(a, "--samples"))
			target = &opt.samples;
		else if (!strcmp(a, "--mib"))
			target = &opt.mib;
		else if (!strcmp(a, "--runs"))
			target = &opt.runs;
		else if (!strcmp(a, "--sweep-mib"))
			target = &opt.sweep_mib;
		else if (!strcmp(a, "--sparse-mib"))
			target = &opt.sparse_mib;
		else if (!strcmp(a, "--pp-mib"))
			target = &opt.pp_mib;
		else if (!strcmp(a, "--pp-rounds"))
			target = &opt.pp_rounds;
		if (!target || i + 1 >= argc || (*target = strtoul(argv[++i], NULL, 0)) == 0)
			usage(argv[0]);
	}
	if (opt.sweep_mib < 2)
		opt.sweep_mib = 2;
	if (opt.sparse_mib < 2)
		opt.sparse_mib = 2;
	if (opt.pp_rounds <= PP_SETTLE)
		opt.pp_rounds = PP_SETTLE + 1;
}

/* The first two CPUs this process may run on (cpusets need not start at 0). */
static void pick_cpus(void)
{
	CHECK(pthread_getaffinity_np(pthread_self(), sizeof(all_cpus), &all_cpus) == 0);
	ncpu = CPU_COUNT(&all_cpus);
	CHECK(ncpu >= 1);
	cpu_a = cpu_b = -1;
	for (int c = 0; c < CPU_SETSIZE && cpu_b < 0; c++) {
		if (!CPU_ISSET(c, &all_cpus))
			continue;
		if (cpu_a < 0)
			cpu_a = c;
		else
			cpu_b = c;
	}
}

/*
 * The machine's load average, printed at the start and the end: the
 * figures of a shared machine mean little without it. "" if unknown.
 */
static const char *loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* The backend svm_init picks in this environment. */
static void probe_backend(void)
{
	svm_start(NULL, -1, -1);
	snprintf(backend, sizeof(backend), "%s", svmt_backend());
	CHECK_OK(svm_finalize());
}

/*
 * The sections named by their letters, in the usual order (a b c g s f d
 * e); (a), (b) and (e) compare the user backend with raw userfaultfd and
 * run on it only. `full`: (a) and (b) add their other configurations.
 */
static void run_sections(const char *letters, int user, int full)
{
	if (user && strchr(letters, 'a'))
		fault_section(full);
	if (user && strchr(letters, 'b'))
		throughput_section(full);
	if (strchr(letters, 'c'))
		sweep_section();
	if (strchr(letters, 'g'))
		stream_section();
	if (strchr(letters, 's'))
		sparse_section();
	if (strchr(letters, 'f'))
		pingpong_section();
	if (strchr(letters, 'd'))
		scaling_section();
	if (user && strchr(letters, 'e'))
		profiling_section();
}

int main(int argc, char **argv)
{
	uint64_t features;
	int user;
	char la[128];

	parse_args(argc, argv);
	pg = svmt_page_size();
	CHECK_MSG(pg == 4096, "page size %zu: the benchmark assumes 4 KiB", pg);
	pick_cpus();
	features = uffd_features();
	have_move = (features & UFFD_FEATURE_MOVE) && !opt.copy_path;
	probe_backend();
	user = !strcmp(backend, "user");

	printf("svm-bench: %s backend, %d CPUs (first %d, %d), page %zu, kernel userfaultfd "
	       "features %#llx (UFFDIO_MOVE %s)\n",
	       backend, ncpu, cpu_a, cpu_b, pg, (unsigned long long)features,
	       have_move ? "available" :
	       (features & UFFD_FEATURE_MOVE) ? "available, not used: --copy-path" :
						"not available");
	printf("  load average at the start: %s\n", loadavg(la, sizeof(la)));
	if (!user && opt.mode != MODE_SCALING && opt.mode != MODE_FAULT && opt.mode != MODE_ONLY)
		printf("  (a), (b) and (e) compare the user backend with raw userfaultfd: "
		       "skipped on %s\n", backend);
	switch (opt.mode) {
	case MODE_SCALING:
		run_sections("d", user, 0);
		break;
	case MODE_FAULT:
		run_sections("a", user, 0);
		break;
	case MODE_ONLY:
		run_sections(opt.only, user, 1);
		break;
	case MODE_TARGETS:
		run_sections("abgsfd", user, 0);
		break;
	case MODE_ALL: /* (c) holds the sparse pattern too */
		run_sections("abcgfde", user, 1);
		break;
	}
	printf("\nload average at the end: %s\n", loadavg(la, sizeof(la)));
	fflush(stdout);
	if (print_targets() && opt.strict) {
		printf("--strict: targets NOT MET, exit 3\n");
		return 3;
	}
	return 0;
}
