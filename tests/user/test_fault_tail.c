/* SPDX-License-Identifier: MIT */
/*
 * What a fault's service does after the faulting thread went on never
 * undoes what the program did since (user.integrity.move failed about
 * one run in a hundred on a loaded machine: a page that svm_prefetch had
 * just put on device 0, SVM_OK, was on the host at the svm_query right
 * after).
 *
 * With UFFDIO_MOVE the move that installs a fault's page wakes the
 * faulting thread at once, while its server still has work to do for
 * that fault, each move with rt->lock let go: the rest of the fault's
 * block, the density prefetcher's tail (the rest of the region, piece by
 * piece), and then the check whether the thread must wait on (a pending
 * CPU fault, retried later). The program goes on meanwhile and may move
 * those very pages itself.
 *
 *  tail-host:   a CPU fault whose density region is 64 MiB; right after
 *               the faulting read, svm_prefetch of the region's last 2 MiB
 *               to device 0 (where they are); after the fault service is
 *               over, those pages must still be on device 0.
 *  tail-device: the same the other way round: a device fault, then
 *               svm_prefetch of the last 2 MiB to the host.
 *  pending:     a host read of a device page whose block moves in eight
 *               runs, then at once svm_prefetch of that page back to
 *               device 0: it must stay there (its fault must not be left
 *               pending and served again).
 *
 * "After the fault service is over": one fault-service thread
 * (SVM_USER_FAULT_SERVERS=1) serves a batch to its end before it reads
 * the next, so a host fault on another allocation, once it returns, says
 * that the first fault's service, prefetcher tail included, is done.
 *
 * Whether the program gets rt->lock before the server is done is timing:
 * the program runs on a CPU of its own, away from the runtime's threads,
 * and each case runs several rounds. Before the fix every run of each
 * case failed here (10 of 10, idle 2-CPU machine; the tails print how
 * many rounds met the race). The assertions hold on every run once fixed,
 * and on the copy path (moves under the lock), where the race cannot be.
 *
 * usage: test_fault_tail tail-host|tail-device|pending
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>

#include "svmtest.h"

#define MIB (1ul << 20)

static size_t pg;

struct kargs {
	uint64_t *p;
	size_t words; /* per page */
};

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *w = svm_device_ptr(ctx, a->p);

	(void)i;
	*w += 1;
}

/*
 * A host fault that brings `barrier` (one page, an allocation of its own:
 * no prefetcher region around it) home from device 0: once it returns,
 * the server has finished the batches it read before.
 */
static void barrier_fault(uint64_t *barrier)
{
	CHECK_OK(svm_prefetch(barrier, pg, 0, NULL));
	CHECK_EQ(svmt_location(barrier), 0);
	CHECK_EQ(*(volatile uint64_t *)barrier, 42);
	CHECK_EQ(svmt_location(barrier), SVM_HOST);
}

/*
 * A 64 MiB buffer, first in the heap (its density regions are the
 * buffer's halves, quarters...: heap aligned), all at `from`, its first
 * half plus one page moved to `to` by svm_prefetch: one fault at `to` on
 * the page after makes the whole buffer dense there, and the server
 * brings the other half along in pieces, upwards. Right after the fault,
 * the program prefetches the last 2 MiB to `from`, where they are.
 */
static bool tail_once(int to)
{
	int from = to == SVM_HOST ? 0 : SVM_HOST;
	size_t bytes = 64 * MIB, pages = bytes / pg, words = pg / 8;
	size_t half = pages / 2 + 1, last = pages - 2 * MIB / pg;
	uint64_t *p = svmt_alloc(bytes), *barrier = svmt_alloc(pg);
	svm_migrate_report_t rep;
	svm_stats_t s0, s1;
	size_t before;

	for (size_t i = 0; i < pages; i++)
		p[i * words] = i;
	*barrier = 42;
	if (from != SVM_HOST)
		CHECK_OK(svm_prefetch(p, bytes, from, NULL));
	CHECK_OK(svm_prefetch(p, half * pg, to, NULL));
	CHECK_EQ(svmt_count_at(p, bytes, to), half);

	s0 = svmt_stats();
	if (to == SVM_HOST) {
		CHECK_EQ(((volatile uint64_t *)p)[half * words], half);
	} else {
		struct kargs a = { &p[half * words], words };

		CHECK_OK(svm_launch(to, 1, kernel_touch, &a));
	}
	/* the fault is served; its prefetcher may still be at work */
	CHECK_OK(svm_prefetch(&p[last * words], bytes - last * pg, from, &rep));
	CHECK_EQ(rep.moved + rep.already, pages - last);
	CHECK_EQ(rep.failed, 0);
	before = rep.already; /* still there: the program got in before the tail took them */

	barrier_fault(barrier);
	s1 = svmt_stats();
	/* the set-up made the prefetcher take the buffer's second half */
	CHECK_MSG(s1.prefetched_pages - s0.prefetched_pages >= (last - half - 1) / 2,
		  "the fault at page %zu brought only %llu pages along; the region was "
		  "meant to be the whole buffer", half,
		  (unsigned long long)(s1.prefetched_pages - s0.prefetched_pages));
	CHECK_MSG(svmt_count_at(&p[last * words], bytes - last * pg, from) == pages - last,
		  "svm_prefetch put pages [%zu, %zu) at %d (%zu of them were there already), "
		  "but once the fault service was over only %zu were: the prefetcher of the "
		  "fault before took them", last, pages, from, before,
		  svmt_count_at(&p[last * words], bytes - last * pg, from));
	for (size_t i = 0; i < pages; i++)
		CHECK_EQ(p[i * words], i + (to != SVM_HOST && i == half));
	CHECK_OK(svm_free(barrier));
	CHECK_OK(svm_free(p));
	return before == pages - last;
}

/*
 * Rounds of tail_once; each frees what it allocated, so the next buffer
 * is first in the heap again.
 */
static void tail(int to)
{
	size_t rounds = svmt_scaled(8), met = 0;

	for (size_t k = 0; k < rounds; k++)
		met += tail_once(to);
	printf("fault_tail: to %d: in %zu of %zu rounds the program's prefetch came before "
	       "the tail reached its pages\n", to, met, rounds);
}

/*
 * Rounds of: a host read of the first page X of a 64 KiB block (the fault
 * unit: SVM_GRANULARITY=64K, no prefetcher) whose even pages are on
 * device 0 and odd ones on the host, so the fault's move is eight runs
 * of one page, rt->lock let go for each: X's run, the first, wakes the
 * program, whose svm_prefetch of X back to device 0 gets in during the
 * others. The fault must not be left pending then (its retry, due at
 * once with SVM_RETRY_BACKOFF_US=0, would bring X home again). Each
 * round checks X after a barrier, and every X is checked again at the end.
 */
static void pending(void)
{
	size_t block = 16, rounds = svmt_scaled(64), words = pg / 8, away = 0;
	size_t pages = rounds * block;
	uint64_t *p = svmt_alloc(pages * pg < 2 * MIB ? 2 * MIB : pages * pg);
	uint64_t *barrier = svmt_alloc(pg);

	for (size_t i = 0; i < pages; i++)
		p[i * words] = i;
	*barrier = 42;
	CHECK_OK(svm_prefetch(p, pages * pg, 0, NULL));
	for (size_t i = 1; i < pages; i += 2)
		CHECK_OK(svm_prefetch(&p[i * words], pg, SVM_HOST, NULL));
	for (size_t k = 0; k < rounds; k++) {
		size_t x = k * block;
		svm_migrate_report_t rep;

		CHECK_EQ(((volatile uint64_t *)p)[x * words], x);
		CHECK_OK(svm_prefetch(&p[x * words], pg, 0, &rep));
		CHECK_EQ(rep.moved + rep.already, 1);
		CHECK_EQ(svmt_location(&p[x * words]), 0);
		barrier_fault(barrier);
		CHECK_MSG(svmt_location(&p[x * words]) == 0,
			  "round %zu: page %zu, which svm_prefetch had put back on device 0 "
			  "right after its host read, came home again: its fault was left "
			  "pending and served again", k, x);
	}
	for (size_t k = 0; k < rounds; k++)
		away += svmt_location(&p[k * block * words]) != 0;
	CHECK_MSG(away == 0, "%zu of %zu pages that svm_prefetch had put back on device 0 "
		  "came home later: their faults were served again", away, rounds);
	for (size_t i = 0; i < pages; i++)
		CHECK_EQ(p[i * words], i);
	printf("fault_tail: pending: %zu rounds\n", rounds);
	CHECK_OK(svm_free(barrier));
	CHECK_OK(svm_free(p));
}

/*
 * The program's thread on one CPU, the runtime's threads (started by
 * svm_init, which inherit the affinity of the thread that calls it) on
 * another, where there are two: a faulting thread woken by its server
 * would otherwise often be queued on the server's CPU behind it, and get
 * in only after the tail is done. Returns the CPU for the program, or -1
 * (one CPU: everything stays where it is, and the race is rarer).
 */
static int split_cpus(void)
{
	cpu_set_t all, one;
	int cpus[2], n = 0;

	if (sched_getaffinity(0, sizeof(all), &all))
		return -1;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &all))
			cpus[n++] = c;
	if (n < 2)
		return -1;
	CPU_ZERO(&one);
	CPU_SET(cpus[1], &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	return cpus[0];
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "tail-host";
	int cpu;

	pg = svmt_page_size();
	svmt_default_env("SVM_USER_FAULT_SERVERS", "1");
	if (!strcmp(mode, "pending")) {
		svmt_default_env("SVM_GRANULARITY", "64K");
		svmt_default_env("SVM_PREFETCH", "off");
		svmt_default_env("SVM_RETRY_BACKOFF_US", "0");
	} else {
		svmt_default_env("SVM_PREFETCH", "density");
	}
	cpu = split_cpus();
	svmt_init();
	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	}
	svmt_skip_on_kshim("the fault service and prefetcher of the user backend");
	if (!strcmp(mode, "tail-host"))
		tail(SVM_HOST);
	else if (!strcmp(mode, "tail-device"))
		tail(0);
	else if (!strcmp(mode, "pending"))
		pending();
	else
		FAIL("unknown mode %s", mode);
	CHECK_OK(svm_finalize());
	printf("fault_tail %s: ok\n", mode);
	return 0;
}
