/* SPDX-License-Identifier: MIT */
/*
 * svm-bench - what the user backend costs next to what the kernel offers.
 *
 * In one process:
 *  (a) 4 KiB CPU-fault service latency (p50/p99) of svmrt: a page is
 *      prefetched to device 0, then the host's first touch is timed; next
 *      to a raw userfaultfd round trip (a bare handler thread answering a
 *      MISSING fault with UFFDIO_COPY). Both with the fault thread on the
 *      toucher's CPU and on another CPU.
 *  (b) svm_prefetch throughput host -> device and back, next to memcpy of
 *      the same size and next to the raw primitive the backend moves pages
 *      with (UFFDIO_MOVE between two registered areas when the kernel has
 *      it, else UFFDIO_COPY plus MADV_DONTNEED of the source).
 *  (c) a sweep over SVM_GRANULARITY: a fault-driven pass over a buffer, on
 *      the device and back on the host, and a sparse pattern (one page per
 *      2 MiB), to weigh fewer faults against bytes moved for nothing.
 *  (d) fault service as threads are added: device workers and host
 *      threads, T = 1, 2, 4, ... up to 4x the CPUs, next to T=1.
 *  (e) what SVM_PROFILE and SVM_TRACE cost on the fault path.
 *
 * usage: svm-bench [--quick] [--scaling] [--samples N] [--mib M] [--runs R]
 *                  [--sweep-mib S]      (--scaling: section (d) only)
 * Defaults: 2000 samples, 256 MiB, 5 runs, 64 MiB sweep. --quick (CTest):
 * 300 samples, 32 MiB, 3 runs, 16 MiB sweep.
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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "svmtest.h"

/* UFFDIO_MOVE definitions newer than Debian 12's headers: the backend's */
#include "../../runtime/backends/user/uffd.h"
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define MIB (1ull << 20)

static struct {
	size_t samples, mib, runs, sweep_mib;
	int only_scaling;
} opt = { 2000, 256, 5, 64, 0 };

static size_t pg;
static int ncpu;
static cpu_set_t all_cpus;
static int have_move;

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

static double median(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double gib_per_s(size_t bytes, uint64_t ns)
{
	return (double)bytes / (double)(1ull << 30) / ((double)ns / 1e9);
}

static void pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK(pthread_setaffinity_np(t, sizeof(set), &set) == 0);
}

/* The toucher (main thread) on CPU 0; threads made later inherit this, so
 * svm_init runs before and unpin_main before the next svm_init. */
static void pin_main(void)
{
	pin_thread(pthread_self(), 0);
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

/* The bare handler: wait, read the fault, answer it with UFFDIO_COPY. */
struct handler {
	int uffd, stopfd, cpu;
	const void *src; /* one page */
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
		uffd_copy_all(h->uffd, msg.arg.pagefault.address & ~(pg - 1),
			      (uintptr_t)h->src, pg);
	}
}

/* Raw round trip: touch a missing page, the handler copies it in. */
static struct lat raw_fault_latency(int handler_cpu)
{
	size_t n = opt.samples, warm = 16;
	unsigned char *area = map_anon((n + warm) * pg);
	unsigned char *src = map_anon(pg);
	uint64_t *ns = calloc(n, sizeof(*ns));
	struct handler h = { .cpu = handler_cpu, .src = src };
	uint64_t one = 1;

	CHECK(ns != NULL);
	memset(src, 0x5a, pg);
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
	munmap(src, pg);

	struct lat l = percentiles(ns, n);

	free(ns);
	return l;
}

/* ---- svmrt under a given configuration ------------------------------------ */

static void svm_start(const char *granularity, int fault_cpu, int uffd_move)
{
	char cpu[16];

	snprintf(cpu, sizeof(cpu), "%d", fault_cpu);
	setenv("SVM_BACKEND", "user", 0);
	setenv("SVM_GRANULARITY", granularity, 1);
	setenv("SVM_USER_FAULT_CPU", cpu, 1);
	setenv("SVM_USER_UFFD_MOVE", uffd_move ? "1" : "0", 1);
	setenv("SVM_USER_DEVICE_MEMORY", "4G", 1);
	svmt_init();
}

/* svmrt: a page on device 0, the host touches it: one 4 KiB CPU fault. */
static struct lat svm_fault_latency(int fault_cpu)
{
	size_t n = opt.samples, warm = 16, bytes = (n + warm) * pg;
	uint64_t *ns = calloc(n, sizeof(*ns));
	unsigned char *p;
	svm_stats_t s0, s1;

	CHECK(ns != NULL);
	svm_start("4K", fault_cpu, 1);
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

static void fault_section(void)
{
	struct lat raw_same, raw_other = { 0, 0 }, svm_same, svm_other = { 0, 0 };
	struct lat svm_free_cpu;
	int other = ncpu > 1;

	printf("\n(a) 4 KiB CPU fault service, %zu samples; the toucher runs "
	       "on CPU 0\n", opt.samples);
	raw_same = raw_fault_latency(0);
	svm_same = svm_fault_latency(0);
	if (other) {
		raw_other = raw_fault_latency(1);
		svm_other = svm_fault_latency(1);
	}
	svm_free_cpu = svm_fault_latency(-1);

	print_lat("raw uffd, handler on CPU 0 (same)", raw_same);
	print_lat("svmrt, SVM_USER_FAULT_CPU=0 (same)", svm_same);
	if (other) {
		print_lat("raw uffd, handler on CPU 1 (other)", raw_other);
		print_lat("svmrt, SVM_USER_FAULT_CPU=1 (other)", svm_other);
	}
	print_lat("svmrt, SVM_USER_FAULT_CPU=-1 (unbound)", svm_free_cpu);
	printf("  ratio svmrt/raw, same CPU:  p50 %.2fx  p99 %.2fx   "
	       "(target p50 <= 1.5x: %s)\n",
	       svm_same.p50_us / raw_same.p50_us,
	       svm_same.p99_us / raw_same.p99_us,
	       svm_same.p50_us <= 1.5 * raw_same.p50_us ? "met" : "NOT met");
	if (other)
		printf("  ratio svmrt/raw, other CPU: p50 %.2fx  p99 %.2fx   "
		       "(target p50 <= 1.5x: %s)\n",
		       svm_other.p50_us / raw_other.p50_us,
		       svm_other.p99_us / raw_other.p99_us,
		       svm_other.p50_us <= 1.5 * raw_other.p50_us ? "met" :
								    "NOT met");
}

/* ---- (e) what profiling costs on the fault path ---------------------------- */

/*
 * Fault p50 (same CPU) with profiling off, with SVM_PROFILE (a summary at
 * the end: nothing changes on the fault path) and with SVM_TRACE (every
 * fault also records an event), alternating so that drift hits all three.
 */
static void profiling_section(void)
{
	double *off = calloc(opt.runs, sizeof(double));
	double *prof = calloc(opt.runs, sizeof(double));
	double *trace = calloc(opt.runs, sizeof(double));
	char tfile[] = "/tmp/svm-bench-trace-XXXXXX";
	int fd = mkstemp(tfile);

	CHECK(off && prof && trace && fd >= 0);
	close(fd);
	printf("\n(e) profiling cost on the 4 KiB fault path (same CPU), p50 medians "
	       "of %zu runs\n", (size_t)opt.runs);
	for (size_t r = 0; r < opt.runs; r++) {
		off[r] = svm_fault_latency(0).p50_us;
		setenv("SVM_PROFILE", "json:/dev/null", 1);
		prof[r] = svm_fault_latency(0).p50_us;
		unsetenv("SVM_PROFILE");
		setenv("SVM_TRACE", tfile, 1);
		trace[r] = svm_fault_latency(0).p50_us;
		unsetenv("SVM_TRACE");
	}
	unlink(tfile);
	double m_off = median(off, opt.runs), m_prof = median(prof, opt.runs);
	double m_trace = median(trace, opt.runs);

	printf("  %-44s p50 %7.2f us\n", "profiling off", m_off);
	printf("  %-44s p50 %7.2f us   %.3fx of off\n", "SVM_PROFILE=json:FILE", m_prof,
	       m_prof / m_off);
	printf("  %-44s p50 %7.2f us   %.3fx of off\n", "SVM_TRACE=FILE", m_trace,
	       m_trace / m_off);
	free(off);
	free(prof);
	free(trace);
}

/* ---- (b) throughput ------------------------------------------------------ */

struct pair {
	double there, back; /* GiB/s, medians */
};

static struct pair svm_prefetch_rate(int uffd_move)
{
	size_t bytes = opt.mib * MIB, pages = bytes / pg;
	double *there = calloc(opt.runs, sizeof(double));
	double *back = calloc(opt.runs, sizeof(double));
	svm_migrate_report_t rep;
	unsigned char *p;
	struct pair r;

	CHECK(there && back);
	svm_start("64K", -1, uffd_move);
	p = svmt_alloc(bytes);
	memset(p, 0x33, bytes);
	for (size_t k = 0; k < opt.runs; k++) {
		uint64_t t0 = svmt_now_ns(), t1, t2;

		CHECK_OK(svm_prefetch(p, bytes, 0, &rep));
		t1 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		CHECK_OK(svm_prefetch(p, bytes, SVM_HOST, &rep));
		t2 = svmt_now_ns();
		CHECK_EQ(rep.moved, pages);
		there[k] = gib_per_s(bytes, t1 - t0);
		back[k] = gib_per_s(bytes, t2 - t1);
	}
	for (size_t i = 0; i < bytes; i += pg)
		CHECK(p[i] == 0x33);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	r.there = median(there, opt.runs);
	r.back = median(back, opt.runs);
	free(there);
	free(back);
	return r;
}

static double memcpy_rate(void)
{
	size_t bytes = opt.mib * MIB;
	unsigned char *a = map_anon(bytes), *b = map_anon(bytes);
	double *v = calloc(opt.runs, sizeof(double)), m;

	CHECK(v != NULL);
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

/* The raw primitive between two registered areas shaped like svmrt's (no
 * huge pages, MISSING + WP): UFFDIO_MOVE there and back, or UFFDIO_COPY
 * plus MADV_DONTNEED of the source. */
static struct pair raw_primitive_rate(int move)
{
	size_t bytes = opt.mib * MIB;
	unsigned char *a = map_anon(bytes), *b = map_anon(bytes);
	double *there = calloc(opt.runs, sizeof(double));
	double *back = calloc(opt.runs, sizeof(double));
	uint64_t mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	int fd = uffd_open(move ? UFFD_FEATURE_MOVE : 0, NULL);
	struct pair r;

	CHECK(there && back);
	madvise(a, bytes, MADV_NOHUGEPAGE);
	madvise(b, bytes, MADV_NOHUGEPAGE);
	memset(a, 0x44, bytes); /* populated before it is registered */
	uffd_register(fd, a, bytes, mode);
	uffd_register(fd, b, bytes, mode);
	for (size_t k = 0; k < opt.runs; k++) {
		uint64_t t0 = svmt_now_ns(), t1, t2;

		raw_transfer(fd, move, b, a, bytes);
		t1 = svmt_now_ns();
		raw_transfer(fd, move, a, b, bytes);
		t2 = svmt_now_ns();
		there[k] = gib_per_s(bytes, t1 - t0);
		back[k] = gib_per_s(bytes, t2 - t1);
	}
	for (size_t i = 0; i < bytes; i += pg)
		CHECK(a[i] == 0x44); /* a holds every page again */
	close(fd);
	munmap(a, bytes);
	munmap(b, bytes);
	r.there = median(there, opt.runs);
	r.back = median(back, opt.runs);
	free(there);
	free(back);
	return r;
}

static void throughput_section(void)
{
	double mc;
	struct pair svm, raw, svm_copy = { 0, 0 }, raw_copy = { 0, 0 };

	printf("\n(b) %zu MiB: svm_prefetch in one call, raw primitives in 1 MiB calls; median of %zu runs (GiB/s)\n",
	       opt.mib, opt.runs);
	mc = memcpy_rate();
	svm = svm_prefetch_rate(have_move);
	raw = raw_primitive_rate(have_move);
	if (have_move) {
		svm_copy = svm_prefetch_rate(0);
		raw_copy = raw_primitive_rate(0);
	}
	printf("  %-44s %6.2f\n", "memcpy", mc);
	printf("  %-44s %6.2f there, %6.2f back\n",
	       have_move ? "raw UFFDIO_MOVE" : "raw UFFDIO_COPY + MADV_DONTNEED",
	       raw.there, raw.back);
	printf("  %-44s %6.2f there, %6.2f back\n",
	       have_move ? "svm_prefetch (UFFDIO_MOVE path)" :
			   "svm_prefetch (UFFDIO_COPY path)",
	       svm.there, svm.back);
	if (have_move) {
		printf("  %-44s %6.2f there, %6.2f back\n",
		       "raw UFFDIO_COPY + MADV_DONTNEED", raw_copy.there,
		       raw_copy.back);
		printf("  %-44s %6.2f there, %6.2f back\n",
		       "svm_prefetch, SVM_USER_UFFD_MOVE=0", svm_copy.there,
		       svm_copy.back);
	}
	printf("  ratio svm_prefetch/memcpy:  there %.2fx  back %.2fx   "
	       "(target >= 1x: %s)\n",
	       svm.there / mc, svm.back / mc,
	       svm.there >= mc && svm.back >= mc ? "met" : "NOT met");
	printf("  ratio svm_prefetch/raw:     there %.2fx  back %.2fx\n",
	       svm.there / raw.there, svm.back / raw.back);
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

/* Median over opt.runs of a device pass then a host pass over the buffer;
 * each host pass brings every page home for the next run. */
static void sweep_one(const char *gran)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096;
	double *dev_ms = calloc(opt.runs, sizeof(double));
	double *host_ms = calloc(opt.runs, sizeof(double));
	struct touch_args a;
	svm_stats_t s0, s1, s2;
	uint64_t dev_faults = 0, cpu_faults = 0;
	unsigned char *p;
	double dm, hm;

	CHECK(dev_ms && host_ms);
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
		dev_ms[k] = (double)(t1 - t0) / 1e6;
		host_ms[k] = (double)(t2 - t1) / 1e6;
		dev_faults = s1.device_faults - s0.device_faults;
		cpu_faults = s2.cpu_faults - s1.cpu_faults;
	}
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(p[i] == (unsigned char)(1 + 2 * opt.runs));
	dm = median(dev_ms, opt.runs);
	hm = median(host_ms, opt.runs);
	printf("  %-6s device pass %8.1f ms %6.2f GiB/s %6llu faults | "
	       "host pass %8.1f ms %6.2f GiB/s %6llu faults\n",
	       gran, dm, (double)bytes / (1 << 30) / (dm / 1e3),
	       (unsigned long long)dev_faults, hm,
	       (double)bytes / (1 << 30) / (hm / 1e3),
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
};

static void kernel_sparse(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct sparse_args *a = arg;
	volatile unsigned char *d =
		svm_device_ptr(ctx, a->base + a->page[i] * 4096);

	*d = (unsigned char)(*d + 1);
}

static void sparse_one(const char *gran)
{
	size_t bytes = opt.sweep_mib * MIB, sparse = bytes / (2 * MIB);
	size_t *page = calloc(sparse, sizeof(size_t));
	double *dev_us = calloc(opt.runs, sizeof(double));
	double *host_us = calloc(opt.runs, sizeof(double));
	uint64_t rng = 42, moved_dev = 0;
	struct sparse_args a;
	unsigned char *p;

	CHECK(page && dev_us && host_us);
	for (size_t i = 0; i < sparse; i++)
		page[i] = i * 512 + svmt_rand(&rng) % 512;
	svm_start(gran, -1, have_move);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	a.page = page;
	for (size_t k = 0; k < opt.runs; k++) {
		svm_stats_t s0 = svmt_stats(), s1;
		uint64_t t0 = svmt_now_ns(), t1, t2;

		CHECK_OK(svm_launch(0, sparse, kernel_sparse, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (size_t i = 0; i < sparse; i++)
			p[page[i] * 4096] = (unsigned char)(p[page[i] * 4096] + 1);
		t2 = svmt_now_ns();
		dev_us[k] = (double)(t1 - t0) / 1e3 / (double)sparse;
		host_us[k] = (double)(t2 - t1) / 1e3 / (double)sparse;
		moved_dev = s1.pages_to_device - s0.pages_to_device;
		CHECK_OK(svm_prefetch(p, bytes, SVM_HOST, NULL));
	}
	printf("  %-6s %8.1f us per device touch, %8.1f us per host touch, "
	       "%6llu pages moved for %zu touches\n",
	       gran, median(dev_us, opt.runs), median(host_us, opt.runs),
	       (unsigned long long)moved_dev, sparse);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	free(page);
	free(dev_us);
	free(host_us);
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
	printf("  sparse: one random 4 KiB page in each 2 MiB of the %zu MiB "
	       "touched on device 0, then on the host; median of %zu runs\n",
	       opt.sweep_mib, opt.runs);
	for (size_t i = 0; i < sizeof(grans) / sizeof(grans[0]); i++)
		sparse_one(grans[i]);
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
 * run, and the faults each pass took (machine independent).
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

static void scaling_one(unsigned t, double *dev_pps, double *host_pps, uint64_t *dev_faults,
			uint64_t *cpu_faults)
{
	size_t bytes = opt.sweep_mib * MIB, pages = bytes / 4096;
	double *dv = calloc(opt.runs, sizeof(double)), *hv = calloc(opt.runs, sizeof(double));
	pthread_t *th = calloc(t, sizeof(pthread_t));
	struct host_slice *sl = calloc(t, sizeof(*sl));
	struct touch_args a;
	unsigned char *p;
	char nt[16];

	CHECK(dv && hv && th && sl);
	snprintf(nt, sizeof(nt), "%u", t);
	setenv("SVM_USER_DEVICE_THREADS", nt, 1);
	svm_start("64K", -1, have_move);
	p = svmt_alloc(bytes);
	memset(p, 1, bytes);
	a.base = p;
	for (size_t k = 0; k < opt.runs; k++) {
		svm_stats_t s0 = svmt_stats(), s1, s2;
		uint64_t t0 = svmt_now_ns(), t1, t2;

		CHECK_OK(svm_launch(0, pages, kernel_touch, &a));
		t1 = svmt_now_ns();
		s1 = svmt_stats();
		for (unsigned i = 0; i < t; i++) {
			size_t per = pages / t * 4096;

			sl[i] = (struct host_slice){ p + i * per,
						     i + 1 == t ? bytes - i * per : per };
			CHECK(pthread_create(&th[i], NULL, host_toucher, &sl[i]) == 0);
		}
		for (unsigned i = 0; i < t; i++)
			CHECK(pthread_join(th[i], NULL) == 0);
		t2 = svmt_now_ns();
		s2 = svmt_stats();
		dv[k] = (double)pages / ((double)(t1 - t0) / 1e9);
		hv[k] = (double)pages / ((double)(t2 - t1) / 1e9);
		*dev_faults = s1.device_faults - s0.device_faults;
		*cpu_faults = s2.cpu_faults - s1.cpu_faults;
	}
	for (size_t i = 0; i < bytes; i += 4096)
		CHECK(p[i] == (unsigned char)(1 + 2 * opt.runs));
	*dev_pps = median(dv, opt.runs);
	*host_pps = median(hv, opt.runs);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	unsetenv("SVM_USER_DEVICE_THREADS");
	free(dv);
	free(hv);
	free(th);
	free(sl);
}

static void scaling_section(void)
{
	double dev1 = 0, host1 = 0;

	printf("\n(d) fault scaling: %zu MiB at 64K granularity, one word per 4 KiB page; "
	       "T device workers (one launch), then T host threads (disjoint slices); "
	       "pages/s, median of %zu runs, ratio to T=1 of this run\n",
	       opt.sweep_mib, opt.runs);
	for (unsigned t = 1; t <= 4u * (unsigned)ncpu; t *= 2) {
		double dev, host;
		uint64_t df = 0, cf = 0;

		scaling_one(t, &dev, &host, &df, &cf);
		if (t == 1) {
			dev1 = dev;
			host1 = host;
		}
		printf("  BENCH scaling T=%-3u device %10.0f pages/s %5.2fx T=1 %7llu faults | "
		       "host %10.0f pages/s %5.2fx T=1 %7llu faults\n",
		       t, dev, dev / dev1, (unsigned long long)df, host, host / host1,
		       (unsigned long long)cf);
	}
}

/* ---- main ------------------------------------------------------------------ */

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t *target = NULL;

		if (!strcmp(a, "--scaling")) {
			opt.only_scaling = 1;
			continue;
		}
		if (!strcmp(a, "--quick")) {
			opt.samples = 300;
			opt.mib = 32;
			opt.runs = 3;
			opt.sweep_mib = 16;
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
		if (!target || i + 1 >= argc ||
		    (*target = strtoul(argv[++i], NULL, 0)) == 0) {
			fprintf(stderr, "usage: %s [--quick] [--scaling] [--samples N] "
					"[--mib M] [--runs R] [--sweep-mib S]\n",
				argv[0]);
			exit(2);
		}
	}
	if (opt.sweep_mib < 2)
		opt.sweep_mib = 2;
}

int main(int argc, char **argv)
{
	uint64_t features;

	parse_args(argc, argv);
	pg = svmt_page_size();
	CHECK_MSG(pg == 4096, "page size %zu: the benchmark assumes 4 KiB", pg);
	CHECK(pthread_getaffinity_np(pthread_self(), sizeof(all_cpus),
				     &all_cpus) == 0);
	CHECK_MSG(CPU_ISSET(0, &all_cpus), "CPU 0 is not available to us");
	ncpu = CPU_COUNT(&all_cpus);
	if (ncpu > 1)
		CHECK_MSG(CPU_ISSET(1, &all_cpus), "CPU 1 is not available");
	features = uffd_features();
	have_move = (features & UFFD_FEATURE_MOVE) != 0;

	printf("svm-bench: %d CPUs, page %zu, kernel userfaultfd features "
	       "%#llx (UFFDIO_MOVE %s)\n",
	       ncpu, pg, (unsigned long long)features,
	       have_move ? "available" : "not available");
	if (opt.only_scaling) {
		scaling_section();
		return 0;
	}
	fault_section();
	throughput_section();
	sweep_section();
	scaling_section();
	profiling_section();
	return 0;
}
