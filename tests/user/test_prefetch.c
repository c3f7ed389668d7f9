/* SPDX-License-Identifier: MIT */
/*
 * The density prefetcher (SVM_PREFETCH, docs/configuration.md), counted:
 *  - a stream of device faults from one worker moves every page, and every
 *    page came either as a fault's own page or with the prefetcher
 *    (device_faults + prefetched_pages == pages), with far fewer faults
 *    than pages; the same back on the host;
 *  - a lone touch per 2 MiB moves one page: nothing is over-fetched;
 *  - after a device touched one page per 2 MiB of a host buffer, one host
 *    touch of one of them brings that page home and leaves the others on
 *    the device (the host pages that never left do not make the region
 *    dense), and a host pass over the others faults on each, also after the whole buffer had been on the device and came
 *    home by svm_prefetch; and the same the other way round: a device
 *    touch of one of a few pages the host took back does not take the
 *    host's other pages (user backend: kshim's device faults run the
 *    shim's own prefetcher);
 *  - but a host pass over a buffer with every other page on the device
 *    still takes each 2 MiB in one fault (user backend);
 *  - pages kept in place by advice or a pin are never taken along;
 *  - a prefetch never evicts: a small device ends full, every byte right;
 *    the faults' evictions take prefetched pages, and the trace's evict
 *    events (SVM_TRACE, args.prefetched) sum to prefetched_evicted;
 *  - SVM_PREFETCH=off moves exactly the SVM_GRANULARITY block per fault;
 *  - (kshim) another process that fills the device evicts our prefetched
 *    pages, and our stats count them (uAPI version 6's OTHER_FILE
 *    events): evictions, and prefetched_evicted.
 * The test runs with one device worker, so the order of faults is the
 * order of indices. On kshim the shim runs the prefetcher in its device
 * fault path (uAPI version 4); CPU faults there bring one page each (the
 * kernel's migrate_to_ram), so the host stream's fault bound is not
 * asserted there, only that every page came home with its bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svmtest.h"

#define MIB (1ul << 20)

static size_t pg;
static bool kshim; /* CPU faults are the kernel's: no host-side prefetch */

struct kargs {
	uint64_t *p;
	size_t words; /* per page */
	size_t stride; /* pages between touches */
};

static void kernel_inc(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *w = svm_device_ptr(ctx, &a->p[i * a->stride * a->words]);

	*w += 1;
}

static void fill(uint64_t *p, size_t pages, size_t words)
{
	for (size_t i = 0; i < pages; i++)
		p[i * words] = i;
}

static void check_values(const uint64_t *p, size_t pages, size_t words, uint64_t add,
			 size_t stride)
{
	for (size_t i = 0; i < pages; i++)
		CHECK_MSG(p[i * words] == i + (i % stride ? 0 : add),
			  "page %zu holds %llu, expected %llu", i,
			  (unsigned long long)p[i * words],
			  (unsigned long long)(i + (i % stride ? 0 : add)));
}

/*
 * A new buffer of `pages` filled on the host, then one launch on device 0
 * that adds 1 to a word of every page; the stats around the launch.
 */
static uint64_t *device_pass(size_t pages, svm_stats_t *before, svm_stats_t *after)
{
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, pg / 8, 1 };

	fill(p, pages, pg / 8);
	*before = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	*after = svmt_stats();
	return p;
}

/* A device stream, then a host stream, with the prefetcher on (the default). */
static void stream(void)
{
	size_t pages = 8 * MIB / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	svm_stats_t s0, s1, s2;
	struct kargs a = { p, words, 1 };

	fill(p, pages, words);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
	CHECK_EQ((s1.device_faults - s0.device_faults) + (s1.prefetched_pages - s0.prefetched_pages),
		 pages);
	/* a few per doubling of what the stream has touched, not one per page */
	CHECK_MSG(s1.device_faults - s0.device_faults <= pages / 16,
		  "%llu device faults for %zu pages",
		  (unsigned long long)(s1.device_faults - s0.device_faults), pages);

	uint64_t sum = 0;

	for (size_t i = 0; i < pages; i++)
		sum += p[i * words];
	s2 = svmt_stats();
	CHECK_EQ(sum, (uint64_t)pages * (pages - 1) / 2 + pages);
	CHECK_EQ(s2.pages_to_host - s1.pages_to_host, pages);
	CHECK_EQ((s2.cpu_faults - s1.cpu_faults) + (s2.prefetched_pages - s1.prefetched_pages),
		 pages);
	if (!kshim)
		CHECK_MSG(s2.cpu_faults - s1.cpu_faults <= pages / 16,
			  "%llu CPU faults for %zu pages",
			  (unsigned long long)(s2.cpu_faults - s1.cpu_faults), pages);
	CHECK_EQ(s2.prefetched_evicted, s0.prefetched_evicted);
	printf("prefetch: stream of %zu pages: %llu device faults, %llu CPU faults\n", pages,
	       (unsigned long long)(s1.device_faults - s0.device_faults),
	       (unsigned long long)(s2.cpu_faults - s1.cpu_faults));
	CHECK_OK(svm_free(p));
}

/*
 * Ranges of odd sizes, not 2 MiB aligned (under 2 MiB) or crossing
 * chunks: every page arrives once, as a fault's or a prefetch's.
 */
static void odd_ranges(void)
{
	static const size_t sizes[] = { 3, 25, 513, 769, 1500 }; /* pages */

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t pages = sizes[k], words = pg / 8;
		uint64_t *p;
		svm_stats_t s0, s1;

		p = device_pass(pages, &s0, &s1);
		CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages);
		CHECK_EQ((s1.device_faults - s0.device_faults) +
				 (s1.prefetched_pages - s0.prefetched_pages),
			 pages);
		check_values(p, pages, words, 1, 1);
		CHECK_EQ(svmt_count_at(p, pages * pg, SVM_HOST), pages);
		CHECK_OK(svm_free(p));
	}
}

/* One touch per 2 MiB: one page each, nothing along. */
static void sparse(void)
{
	size_t pages = 16 * MIB / pg, words = pg / 8, stride = 2 * MIB / pg;
	uint64_t *p = svmt_alloc(pages * pg);
	svm_stats_t s0, s1;
	struct kargs a = { p, words, stride };

	fill(p, pages, words);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages / stride, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.device_faults - s0.device_faults, pages / stride);
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, pages / stride);
	CHECK_EQ(s1.prefetched_pages, s0.prefetched_pages);
	check_values(p, pages, words, 1, stride);
	CHECK_OK(svm_free(p));
}

/*
 * A host buffer of `pages`, one page per `stride` touched on device 0;
 * then one host touch of the sparse page `one`: it alone comes home, no
 * prefetch, the other sparse pages stay on the device (issue 18's sparse
 * pattern: every page that never left the host is at the destination, so
 * counting them made the 16 MiB region dense and brought every sparse
 * page home with the first). `before` runs after the fill and before the
 * device touches (NULL: nothing).
 */
/*
 * One touch of sparse page `one` (of n, `step` words apart) by `who`
 * moved that page alone (`moved` pages, `prefetched` of them by the
 * prefetcher): it is at `there`, every other sparse page still at `rest`.
 */
static void only_one_moved(const uint64_t *p, size_t n, size_t step, size_t one, int there,
			   int rest, uint64_t moved, uint64_t prefetched, const char *who)
{
	CHECK_MSG(moved == 1 && prefetched == 0,
		  "one %s touch moved %llu pages, %llu of them prefetched", who,
		  (unsigned long long)moved, (unsigned long long)prefetched);
	for (size_t k = 0; k < n; k++)
		CHECK_MSG(svmt_location(&p[k * step]) == (k == one ? there : rest),
			  "sparse page %zu at %d after the %s touched page %zu", k,
			  svmt_location(&p[k * step]), who, one);
}

static void sparse_host_touch(size_t pages, size_t stride, size_t one,
			      void (*before)(uint64_t *p, size_t pages))
{
	size_t words = pg / 8, n = pages / stride;
	uint64_t *p = svmt_alloc(pages * pg);
	svm_stats_t s0, s1, s2, s3;
	struct kargs a = { p, words, stride };
	volatile uint64_t *w = &p[one * stride * words];

	fill(p, pages, words);
	if (before)
		before(p, pages);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, n, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_EQ(s1.pages_to_device - s0.pages_to_device, n);
	for (size_t k = 0; k < n; k++)
		CHECK_EQ(svmt_location(&p[k * stride * words]), 0);
	CHECK_EQ(*w, one * stride + 1 + (before ? 1 : 0));
	s2 = svmt_stats();
	CHECK_EQ(s2.cpu_faults - s1.cpu_faults, 1);
	only_one_moved(p, n, stride * words, one, SVM_HOST, 0,
		       s2.pages_to_host - s1.pages_to_host,
		       s2.prefetched_pages - s1.prefetched_pages, "host");
	/* then the host reads the others in order: each a fault of its own */
	s2 = svmt_stats();
	for (size_t k = 0; k < n; k++)
		if (k != one)
			CHECK_EQ(p[k * stride * words], k * stride + 1 + (before ? 1 : 0));
	s3 = svmt_stats();
	CHECK_MSG(s3.cpu_faults - s2.cpu_faults == n - 1 &&
			  s3.pages_to_host - s2.pages_to_host == n - 1 &&
			  s3.prefetched_pages == s2.prefetched_pages,
		  "a host pass over %zu sparse pages: %llu faults, %llu pages home, %llu "
		  "prefetched",
		  n - 1, (unsigned long long)(s3.cpu_faults - s2.cpu_faults),
		  (unsigned long long)(s3.pages_to_host - s2.pages_to_host),
		  (unsigned long long)(s3.prefetched_pages - s2.prefetched_pages));
	check_values(p, pages, words, before ? 2 : 1, stride);
	CHECK_OK(svm_free(p));
}

/* The whole buffer on the device and back home by svm_prefetch. */
static void there_and_back(uint64_t *p, size_t pages)
{
	struct kargs a = { p, pg / 8, 1 };

	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	CHECK_OK(svm_prefetch(p, pages * pg, SVM_HOST, NULL));
	/* every page got 1 once; check_values expects 2 on the sparse ones */
	for (size_t i = 0; i < pages; i++)
		p[i * (pg / 8)] -= i % (2 * MIB / pg) ? 1 : 0;
}

/*
 * The same the other way: a buffer on the device, the host takes back
 * one page per 2 MiB, then one device touch of one of them brings it
 * alone. kshim: the shim's prefetcher decides device faults (SKIP).
 */
static void sparse_device_touch(void)
{
	size_t pages = 16 * MIB / pg, words = pg / 8, stride = 2 * MIB / pg, n = pages / stride;
	uint64_t *p;
	svm_stats_t s0, s1;
	struct kargs one;

	if (kshim) {
		printf("SKIP: sparse device touch: kshim's device faults run the shim's "
		       "prefetcher\n");
		return;
	}
	p = device_pass(pages, &s0, &s1);
	CHECK_EQ(svmt_count_at(p, pages * pg, 0), pages);
	for (size_t k = 0; k < n; k++)
		p[k * stride * words] += 1; /* home, one page each */
	for (size_t k = 0; k < n; k++)
		CHECK_EQ(svmt_location(&p[k * stride * words]), SVM_HOST);
	one = (struct kargs){ p + 5 * stride * words, words, 1 };
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, 1, kernel_inc, &one));
	s1 = svmt_stats();
	only_one_moved(p, n, stride * words, 5, 0, SVM_HOST,
		       s1.pages_to_device - s0.pages_to_device,
		       s1.prefetched_pages - s0.prefetched_pages, "device");
	for (size_t i = 0; i < pages; i++)
		CHECK_EQ(p[i * words], i + 1 + (i % stride ? 0 : 1) + (i == 5 * stride ? 1 : 0));
	CHECK_OK(svm_free(p));
}

/*
 * What the arrivals-only count above 2 MiB leaves: a host pass over a
 * buffer of which every other page is on the device still takes each
 * 2 MiB chunk in one fault (inside a chunk every page at the host counts,
 * UVM's rule), not one per page. kshim: CPU faults bring one page (SKIP).
 */
static void mixed_host_pass(void)
{
	size_t pages = 16 * MIB / pg, words = pg / 8, chunks = pages / (2 * MIB / pg);
	uint64_t *p, sum = 0;
	struct kargs a;
	svm_stats_t s0, s1;

	if (kshim) {
		printf("SKIP: mixed host pass: kshim's CPU faults bring one page each\n");
		return;
	}
	p = svmt_alloc(pages * pg);
	a = (struct kargs){ p, words, 2 };
	fill(p, pages, words);
	CHECK_OK(svm_launch(0, pages / 2, kernel_inc, &a));
	CHECK_EQ(svmt_count_at(p, pages * pg, 0), pages / 2);
	s0 = svmt_stats();
	for (size_t i = 0; i < pages; i++)
		sum += p[i * words];
	s1 = svmt_stats();
	CHECK_EQ(sum, (uint64_t)pages * (pages - 1) / 2 + pages / 2);
	CHECK_EQ(s1.pages_to_host - s0.pages_to_host, pages / 2);
	CHECK_MSG(s1.cpu_faults - s0.cpu_faults <= chunks,
		  "a host pass over %zu pages, every other one on the device: %llu faults", pages,
		  (unsigned long long)(s1.cpu_faults - s0.cpu_faults));
	CHECK_OK(svm_free(p));
}

/*
 * Advice and pins: in a stream over one 2 MiB region, the pages with
 * preferred location host, accessed-by the device, or pinned, stay home.
 */
static void respects_advice(void)
{
	size_t pages = 2 * MIB / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, words, 1 };
	svm_page_info_t info[512];

	CHECK(pages <= 512);
	fill(p, pages, words);
	CHECK_OK(svm_advise(p + 100 * words, 10 * pg, SVM_ADVISE_SET_PREFERRED_LOCATION, SVM_HOST));
	CHECK_OK(svm_advise(p + 200 * words, 10 * pg, SVM_ADVISE_SET_ACCESSED_BY, 0));
	CHECK_OK(svm_pin(p + 300 * words, 10 * pg));
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	CHECK_OK(svm_query(p, pages * pg, info, 512));
	for (size_t i = 0; i < pages; i++) {
		bool home = (i >= 100 && i < 110) || (i >= 200 && i < 210) || (i >= 300 && i < 310);

		CHECK_MSG(info[i].location == (home ? SVM_HOST : 0), "page %zu at %d", i,
			  info[i].location);
	}
	CHECK_OK(svm_unpin(p + 300 * words, 10 * pg));
	check_values(p, pages, words, 1, 1);
	CHECK_OK(svm_free(p));
}

/* A device smaller than the stream: faults evict, prefetches never do. */
static void small_device(size_t cap)
{
	size_t pages = 4 * cap / pg, words = pg / 8;
	uint64_t *p = svmt_alloc(pages * pg);
	struct kargs a = { p, words, 1 };
	svm_stats_t s0, s1, d;

	fill(p, pages, words);
	s0 = svmt_stats();
	for (int round = 0; round < 2; round++)
		CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	s1 = svmt_stats();
	CHECK_OK(svm_device_stats(0, &d));
	CHECK(d.device_resident_bytes <= cap);
	CHECK(s1.evictions > s0.evictions);
	/* the second round's faults evict the first round's prefetched pages */
	CHECK(s1.prefetched_evicted > s0.prefetched_evicted);
	CHECK(s1.prefetched_evicted - s0.prefetched_evicted <=
	      s1.prefetched_pages - s0.prefetched_pages);
	check_values(p, pages, words, 2, 1);
	CHECK_OK(svm_free(p));
}

/*
 * The other process (kshim): once told, it moves the device's size to
 * device 0, which evicts the parent's pages, then says so and leaves.
 */
static void other_evictor(int go, int done)
{
	svm_device_props_t props;
	svm_migrate_report_t rep;
	svm_result_t r;
	uint64_t *p;
	char c;

	if (read(go, &c, 1) != 1 || c != 'g')
		_exit(0); /* the parent skipped */
	svmt_init();
	CHECK_OK(svm_device_props(0, &props));
	p = svmt_alloc(props.memory_bytes);
	fill(p, props.memory_bytes / pg, pg / 8);
	r = svm_prefetch(p, props.memory_bytes, 0, &rep);
	CHECK_MSG(r == SVM_OK || r == SVM_PARTIAL, "svm_prefetch: %s", svm_result_string(r));
	printf("prefetch other: the other process moved %llu pages to device 0\n",
	       (unsigned long long)rep.moved);
	CHECK(write(done, "d", 1) == 1);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	_exit(0);
}

/*
 * Two processes, each its own runtime and (kshim) its own open file of
 * the shim, on one device: ours streams half the device in with the
 * prefetcher, the other fills the device. Our pages that went were
 * evicted by the other's call; the shim tells our file (OTHER_FILE), and
 * our evictions and prefetched_evicted count them.
 */
static int other_process(void)
{
	int go[2], done[2], status;
	svm_device_props_t props;
	svm_stats_t s0, s1, s2;
	size_t pages, words = pg / 8, left, lost;
	uint64_t *p, pf, dpf;
	struct kargs a;
	pid_t pid;
	char c;

	CHECK(pipe(go) == 0 && pipe(done) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(done[0]);
		other_evictor(go[0], done[1]);
	}
	close(go[0]);
	close(done[1]);
	svmt_init();
	kshim = !strcmp(svmt_backend(), "kshim");
	CHECK_OK(svm_device_props(0, &props));
	if (!kshim || props.memory_bytes > 256 * MIB) {
		CHECK(write(go[1], "q", 1) == 1);
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!kshim)
			svmt_skip("two processes share a device only on kshim (a user-backend "
				  "device is its process's own)");
		svmt_skip("device 0 has %llu MiB: too much to fill in a test",
			  (unsigned long long)(props.memory_bytes / MIB));
	}
	pages = props.memory_bytes / 2 / pg;
	p = svmt_alloc(pages * pg);
	a = (struct kargs){ p, words, 1 };
	fill(p, pages, words);
	s0 = svmt_stats();
	CHECK_OK(svm_launch(0, pages, kernel_inc, &a));
	s1 = svmt_stats();
	pf = s1.prefetched_pages - s0.prefetched_pages;
	CHECK_EQ(svmt_count_at(p, pages * pg, 0), pages);
	CHECK_MSG(pf > 0, "the stream of %zu pages prefetched nothing", pages);
	CHECK_EQ(s1.evictions, s0.evictions);

	CHECK(write(go[1], "g", 1) == 1);
	CHECK_MSG(read(done[0], &c, 1) == 1 && c == 'd', "the other process ended early");
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "other process: status %#x",
		  status);
	s2 = svmt_stats();
	left = svmt_count_at(p, pages * pg, 0);
	lost = pages - left;
	dpf = s2.prefetched_evicted - s1.prefetched_evicted;
	printf("prefetch other: %zu pages streamed in (%llu prefetched); the other process "
	       "evicted %zu of them: evictions +%llu, prefetched_evicted +%llu\n", pages,
	       (unsigned long long)pf, lost, (unsigned long long)(s2.evictions - s1.evictions),
	       (unsigned long long)dpf);
	CHECK_MSG(lost > pages / 2, "the other process evicted %zu of %zu pages", lost, pages);
	CHECK_EQ(s2.evictions - s1.evictions, lost);
	/* every page that went counts, but those the faults placed themselves */
	CHECK_MSG(dpf <= lost && dpf <= pf && dpf + (pages - pf) >= lost,
		  "%llu prefetched evicted of %zu lost (%llu prefetched)",
		  (unsigned long long)dpf, lost, (unsigned long long)pf);
	check_values(p, pages, words, 1, 1);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("prefetch other: ok\n");
	return 0;
}

/*
 * The trace's evict events (one per line, written at svm_finalize): their
 * pages and args.prefetched summed. The ring must have kept every event.
 */
static void trace_evictions(const char *path, uint64_t *pages, uint64_t *prefetched)
{
	FILE *f = fopen(path, "r");
	static const char ev[] = "{\"name\":\"evict\",";
	char line[1024];
	bool whole = false;

	CHECK_MSG(f != NULL, "%s: %s", path, strerror(errno));
	*pages = *prefetched = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *a = strstr(line, "\"pages\":"), *b = strstr(line, "\"prefetched\":");

		if (strstr(line, "\"dropped_events\":0,"))
			whole = true;
		if (strncmp(line, ev, sizeof(ev) - 1))
			continue;
		CHECK_MSG(a && b, "evict event without pages or prefetched: %s", line);
		*pages += strtoull(a + 8, NULL, 10);
		*prefetched += strtoull(b + 13, NULL, 10);
	}
	fclose(f);
	CHECK_MSG(whole, "%s: events dropped (or no otherData)", path);
}

int main(int argc, char **argv)
{
	char trace_dir[] = "/tmp/svmt-prefetch-XXXXXX", trace[64] = "";

	pg = svmt_page_size();
	if (argc > 1 && !strcmp(argv[1], "other"))
		return other_process();
	if (argc > 1 && !strcmp(argv[1], "small")) {
		CHECK(mkdtemp(trace_dir) != NULL);
		snprintf(trace, sizeof(trace), "%s/trace.json", trace_dir);
		setenv("SVM_TRACE", trace, 1);
	}
	svmt_init();
	kshim = !strcmp(svmt_backend(), "kshim");
	if (argc > 1 && !strcmp(argv[1], "fixed")) {
		/* SVM_PREFETCH=off, SVM_GRANULARITY unset: 64K blocks, nothing more */
		size_t pages = 4 * MIB / pg, words = pg / 8;
		svm_stats_t s0, s1;
		uint64_t *p = device_pass(pages, &s0, &s1);

		CHECK_EQ(s1.device_faults - s0.device_faults, pages / (64 * 1024 / pg));
		CHECK_EQ(s1.prefetched_pages, 0);
		check_values(p, pages, words, 1, 1);
		CHECK_OK(svm_free(p));
		CHECK_OK(svm_finalize());
		printf("prefetch off: ok\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "small")) {
		/* SVM_USER_DEVICE_MEMORY=1M (on kshim: the VM's module, 2 MiB) */
		svm_device_props_t props;

		CHECK_OK(svm_device_props(0, &props));
		CHECK_MSG(props.memory_bytes <= 2 * MIB, "device 0 has %llu bytes, not a small one",
			  (unsigned long long)props.memory_bytes);
		small_device(props.memory_bytes);
		svm_stats_t s = svmt_stats();
		uint64_t tp, tpf;

		CHECK_OK(svm_finalize());
		trace_evictions(trace, &tp, &tpf);
		CHECK_MSG(tp == s.evictions && tpf == s.prefetched_evicted,
			  "trace: %llu pages evicted, %llu of them prefetched; svm_stats: %llu, %llu",
			  (unsigned long long)tp, (unsigned long long)tpf,
			  (unsigned long long)s.evictions,
			  (unsigned long long)s.prefetched_evicted);
		unlink(trace);
		rmdir(trace_dir);
		printf("prefetch small device: ok (%llu pages evicted, %llu prefetched; the trace "
		       "agrees)\n", (unsigned long long)tp, (unsigned long long)tpf);
		return 0;
	}
	stream();
	odd_ranges();
	sparse();
	/* one page per 2 MiB, and per 4 MiB (half the chunks never left the host) */
	sparse_host_touch(16 * MIB / pg, 2 * MIB / pg, 3, NULL);
	sparse_host_touch(32 * MIB / pg, 4 * MIB / pg, 2, NULL);
	sparse_host_touch(16 * MIB / pg, 2 * MIB / pg, 6, there_and_back);
	sparse_device_touch();
	mixed_host_pass();
	respects_advice();
	CHECK_OK(svm_finalize());
	printf("prefetch: ok\n");
	return 0;
}
