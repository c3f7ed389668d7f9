/* SPDX-License-Identifier: MIT */
/*
 * thrash_events: a page that moves back within a short window is a thrash
 * event. A page bounced between device 0 and the host a hundred times back
 * to back (each move a few microseconds after the last) must be counted;
 * the data must survive the bouncing. (Run with SVM_THRASH=0: the page
 * really moves every time.)
 *
 * With the argument "mitigate" (SVM_THRASH on, the default): the bouncing
 * page is put on hold after SVM_THRASH_THRESHOLD thrash events, then
 * stays home while the device works on it in place, so the bounces stop
 * moving it; explicit prefetches never put a page on hold; when the hold
 * runs out (SVM_THRASH_HOLD_MS) the page moves again (with
 * SVM_THRASH_RENEW=1, the default, a hold during which both sides used
 * the page is renewed first, and one during which the host did not write
 * it ends),
 * and one more round trip holds it again.
 *
 * With "renew" (SVM_THRASH_RENEW=1, SVM_THRASH_HOLD_MS=100; a 1 s window, so that a loaded
 * machine's slow bounces still count as a fight): a fight that outlasts many holds
 * renews the hold each time instead of moving the page again at each end;
 * once the host stops writing, the hold ends within two holds and the
 * device's next fault moves the page.
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "svmtest.h"

#define BOUNCES 100

struct kargs {
	uint64_t *word;
};

static void kernel_inc(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->word);

	(void)i;
	*d += 1;
}

static uint64_t moves(const svm_stats_t *s)
{
	return s->pages_to_device + s->pages_to_host;
}

/* SVM_THRASH_HOLD_MS=300, SVM_THRASH_THRESHOLD=3 */
static void mitigate(void)
{
	bool kshim = !strcmp(svmt_backend(), "kshim");
	const char *rv = getenv("SVM_THRASH_RENEW");
	bool renew = !rv || strcmp(rv, "0"); /* on by default */
	svm_stats_t s0, s1, s2, s3, s4;
	struct kargs a;
	uint64_t *p = svmt_alloc(svmt_page_size()), *q = svmt_alloc(svmt_page_size());
	uint64_t t0, t_hold = 0;
	int bounces = 0, held_bounces = 0;

	a.word = p;
	*p = 0;
	s0 = svmt_stats();
	t0 = svmt_now_ns();
	/*
	 * A bounce takes microseconds: all of them fit in the hold. When the
	 * hold began is noted (a loaded machine can take long to get there):
	 * the checks below wait for its end from then on, and at least ten
	 * bounces use the held page (up to 2 s on a slow machine).
	 */
	for (; (bounces < BOUNCES && svmt_now_ns() - t0 < 150000000ull) ||
	       (held_bounces < 10 && svmt_now_ns() - t0 < 2000000000ull);
	     bounces++) {
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
		*p += 1;
		if (t_hold)
			held_bounces++;
		else if (svmt_stats().thrash_holds > s0.thrash_holds)
			t_hold = svmt_now_ns();
	}
	s1 = svmt_stats();
	CHECK_EQ(*p, 2 * (uint64_t)bounces);
	/*
	 * Enough bounces on hold to mean something; not a count in 150 ms:
	 * where a launch takes 15 ms (the 6.1 VM under TCG) 20 of them would
	 * outlast the 300 ms hold, and the moves after it are no failure.
	 */
	CHECK_MSG(held_bounces >= 10, "only %d of %d bounces on hold in 2 s", held_bounces,
		  bounces);
	CHECK_EQ(s1.thrash_holds - s0.thrash_holds, 1);
	/* moves until the hold (3 thrash events: 4 moves), then none */
	CHECK_MSG(moves(&s1) - moves(&s0) <= 4, "%llu moves in %d bounces",
		  (unsigned long long)(moves(&s1) - moves(&s0)), bounces);
	/*
	 * kshim: the shim maps the held host page into the view once and the
	 * mapping stays (nothing changes the page's CPU mapping), so later
	 * bounces take no fault at all.
	 */
	if (kshim)
		CHECK(s1.thrash_held_faults - s0.thrash_held_faults >= 1 &&
		      s1.thrash_held_faults - s0.thrash_held_faults <= 2);
	else
		CHECK_GE(s1.thrash_held_faults - s0.thrash_held_faults, (uint64_t)bounces - 3);
	CHECK_EQ(svmt_location(p), SVM_HOST);

	/* asked moves are never held */
	*q = 7;
	for (int i = 0; i < BOUNCES; i++) {
		CHECK_OK(svm_prefetch(q, svmt_page_size(), 0, NULL));
		CHECK_EQ(svmt_location(q), 0);
		CHECK_OK(svm_prefetch(q, svmt_page_size(), SVM_HOST, NULL));
	}
	s2 = svmt_stats();
	CHECK_EQ(s2.thrash_holds, s1.thrash_holds);
	CHECK_EQ(*q, 7);
	if (kshim) {
		/* kshim-tests view_thrash checks the end of a hold on the uAPI */
		printf("thrash: kshim: the end of the hold is not checked here (the view keeps "
		       "the held page mapped in place until its mapping changes)\n");
		CHECK_OK(svm_free(p));
		CHECK_OK(svm_free(q));
		return;
	}

	/*
	 * The hold began before t_hold, so it has run out 300 ms after it;
	 * wait only just past that: renewal needs the end noticed within a
	 * hold's length, and the hold may have begun well before t_hold on a
	 * loaded machine.
	 */
	CHECK(t_hold != 0);
	while (svmt_now_ns() - t_hold < 310000000ull)
		;
	if (renew) {
		/*
		 * SVM_THRASH_RENEW=1: the hold runs out; both sides used the
		 * page during it, so the device's next access renews it
		 * (counted as a hold) and works in place; the host does not
		 * write it during the renewed hold, so when that one runs out
		 * the device's next access moves the page again.
		 */
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
		s3 = svmt_stats();
		CHECK_EQ(s3.thrash_holds - s2.thrash_holds, 1);
		CHECK_EQ(s3.pages_to_device - s2.pages_to_device, 0);
		CHECK_EQ(svmt_location(p), SVM_HOST);
		t0 = svmt_now_ns(); /* the renewed hold ends 300 ms after this at the latest */
		while (svmt_now_ns() - t0 < 310000000ull)
			;
		s2 = s3;
	}
	/* the hold runs out: the next device access moves the page again */
	CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
	s3 = svmt_stats();
	CHECK_EQ(s3.thrash_holds, s2.thrash_holds);
	CHECK_EQ(s3.pages_to_device - s2.pages_to_device, 1);
	CHECK_EQ(svmt_location(p), 0);
	CHECK_EQ(*p, 2 * (uint64_t)bounces + (renew ? 2 : 1));
	/* and if the fight goes on, one round trip holds it again */
	*p += 1;
	CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
	s4 = svmt_stats();
	CHECK_EQ(s4.thrash_holds - s3.thrash_holds, 1);
	/* one write fault, or a read (a copy) then a write, as the CPU reports the += */
	CHECK(s4.thrash_held_faults - s3.thrash_held_faults >= 1 &&
	      s4.thrash_held_faults - s3.thrash_held_faults <= 2);
	CHECK_EQ(svmt_location(p), SVM_HOST);
	CHECK_EQ(*p, 2 * (uint64_t)bounces + (renew ? 4 : 3));
	printf("thrash: %d bounces, %llu moves, held once, %llu faults served on hold\n", bounces,
	       (unsigned long long)(moves(&s1) - moves(&s0)),
	       (unsigned long long)(s1.thrash_held_faults - s0.thrash_held_faults));
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_free(q));
}

/* SVM_THRASH_HOLD_MS=100, SVM_THRASH_THRESHOLD=3, SVM_THRASH_WINDOW_US=1000000 */
static void renew(void)
{
	svm_stats_t s0, s1, s2;
	struct kargs a;
	uint64_t *p = svmt_alloc(svmt_page_size()), t0, t1, want;
	int bounces = 0, launches = 0;

	if (!strcmp(svmt_backend(), "kshim"))
		svmt_skip("renewal of holds: the shim decides holds itself (kshim-tests view_thrash)");
	a.word = p;
	*p = 0;
	s0 = svmt_stats();
	t0 = svmt_now_ns();
	/*
	 * six holds' worth of fighting, each bounce microseconds apart; where
	 * a bounce takes milliseconds (TCG), on until 50 bounces, up to 5 s
	 */
	for (; bounces < 200000 && (svmt_now_ns() - t0 < 600000000ull ||
				    (bounces < 50 && svmt_now_ns() - t0 < 5000000000ull));
	     bounces++) {
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
		*p += 1;
	}
	s1 = svmt_stats();
	CHECK_EQ(*p, 2 * (uint64_t)bounces);
	CHECK_MSG(bounces >= 50, "only %d bounces in 5 s", bounces);
	/* the moves before the first hold (3 thrash events), then none: renewed, not let go */
	CHECK_MSG(moves(&s1) - moves(&s0) <= 4, "%llu moves in %d bounces over 600 ms (holds of "
		  "100 ms: each end let the page go)", (unsigned long long)(moves(&s1) - moves(&s0)),
		  bounces);
	CHECK_MSG(s1.thrash_holds - s0.thrash_holds >= 2, "%llu holds in 600 ms of fighting",
		  (unsigned long long)(s1.thrash_holds - s0.thrash_holds));
	CHECK_EQ(svmt_location(p), SVM_HOST);

	/* the host stops: the device alone ends up with the page */
	t1 = svmt_now_ns();
	while (svmt_location(p) != 0 && svmt_now_ns() - t1 < 2000000000ull) {
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a));
		launches++;
	}
	s2 = svmt_stats();
	want = 2 * (uint64_t)bounces + (uint64_t)launches;
	CHECK_MSG(svmt_location(p) == 0, "the host stopped, %d device launches in 2 s, and the "
		  "page is still held on the host", launches);
	CHECK_EQ(*p, want);
	/* at most the renewal of the hold the host still wrote in; no hold after it ends */
	CHECK_MSG(s2.thrash_holds - s1.thrash_holds <= 1, "%llu holds after the host stopped",
		  (unsigned long long)(s2.thrash_holds - s1.thrash_holds));
	printf("thrash renew: %d bounces in 600 ms, %llu moves, %llu holds; the device alone "
	       "got the page after %.1f ms (%d launches, %llu more holds)\n",
	       bounces, (unsigned long long)(moves(&s1) - moves(&s0)),
	       (unsigned long long)(s1.thrash_holds - s0.thrash_holds),
	       (double)(svmt_now_ns() - t1) / 1e6, launches,
	       (unsigned long long)(s2.thrash_holds - s1.thrash_holds));
	CHECK_OK(svm_free(p));
}

/*
 * "span" (SVM_GRANULARITY=64K, SVM_THRASH_HOLD_MS=100, SVM_THRASH_THRESHOLD=3,
 * SVM_THRASH_WINDOW_US=1000000, renewal on as by default): a ping-pong of
 * SPAN_PAGES pages, each round a launch adds 1 to every page and the host
 * checks and adds 1, for six holds' worth of rounds. Once every page is
 * held, no round moves a page: every hold is renewed. What that costs is
 * bounded: the host's writes are seen by one fault per 64 KiB and hold
 * (not one per page), and a held round takes one device fault per 64 KiB
 * block (the device's read of a page it wrote before works in place, so
 * there is no read copy and no write fault on it after).
 */
#define SPAN_PAGES 256
#define SPAN_BLOCK 16 /* pages per 64 KiB */

static void kernel_inc_pages(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->word + i * (svmt_page_size() / 8));

	*d += 1;
}

static void span(void)
{
	size_t n = SPAN_PAGES, w = svmt_page_size() / 8;
	uint64_t *p = svmt_alloc(n * svmt_page_size()), t0, late_moves = 0, late_cpu = 0,
		 late_holds = 0, worst_dev = 0;
	svm_stats_t s0, a0, a1, b;
	struct kargs a;
	int rounds = 0, late = 0;
	bool warm = false;

	if (!strcmp(svmt_backend(), "kshim"))
		svmt_skip("renewal of holds: the shim decides holds itself (kshim-tests view_thrash)");
	a.word = p;
	for (size_t i = 0; i < n; i++)
		p[i * w] = 0;
	s0 = svmt_stats();
	t0 = svmt_now_ns();
	/* 600 ms; where rounds take long (TCG), on until 5 held ones, up to 5 s */
	while ((svmt_now_ns() - t0 < 600000000ull ||
		(late < 5 && svmt_now_ns() - t0 < 5000000000ull)) && rounds < 100000) {
		bool settled = svmt_stats().thrash_holds - s0.thrash_holds >= n;

		a0 = svmt_stats();
		CHECK_OK(svm_launch(0, n, kernel_inc_pages, &a));
		b = svmt_stats();
		for (size_t i = 0; i < n; i++) {
			CHECK_MSG(p[i * w] == 2 * (uint64_t)rounds + 1, "round %d: page %zu reads %llu",
				  rounds + 1, i, (unsigned long long)p[i * w]);
			p[i * w] += 1;
		}
		a1 = svmt_stats();
		rounds++;
		if (!settled)
			continue; /* every page held once: from the next round on */
		if (!warm) {
			/*
			 * The first held round learns that the device writes
			 * the pages (a read copy, then its write fault): three
			 * faults per block there, one from then on.
			 */
			warm = true;
			continue;
		}
		late++;
		late_moves += moves(&a1) - moves(&a0);
		late_cpu += a1.cpu_faults - a0.cpu_faults;
		late_holds += a1.thrash_holds - a0.thrash_holds;
		if (b.device_faults - a0.device_faults > worst_dev)
			worst_dev = b.device_faults - a0.device_faults;
	}
	printf("thrash span: %d rounds, %d after the first held one: %llu moves, %llu holds "
	       "renewed (pages), %llu host faults, at most %llu device faults in a round\n",
	       rounds, late, (unsigned long long)late_moves, (unsigned long long)late_holds,
	       (unsigned long long)late_cpu, (unsigned long long)worst_dev);
	CHECK_MSG(late >= 5, "only %d rounds after the first held one, in 5 s", late);
	CHECK_MSG(late_moves == 0, "%llu page moves in the %d rounds after the first held one",
		  (unsigned long long)late_moves, late);
	CHECK_MSG(late_holds >= n, "holds of 100 ms over about 500 ms: only %llu renewals",
		  (unsigned long long)late_holds);
	/*
	 * One watch fault per 64 KiB and renewal; twice where a span's pages
	 * were first held in two rounds (their holds end apart); and one
	 * per span for the hold under way at the start. Per page: 1280+.
	 */
	CHECK_MSG(late_cpu <= 2 * late_holds / SPAN_BLOCK + n / SPAN_BLOCK,
		  "%llu host faults for %llu renewed holds: the watch faults per page, not per 64 KiB",
		  (unsigned long long)late_cpu, (unsigned long long)late_holds);
	CHECK_MSG(worst_dev <= n / SPAN_BLOCK + 2,
		  "%llu device faults in a held round of %zu blocks of 64 KiB",
		  (unsigned long long)worst_dev, n / SPAN_BLOCK);
	CHECK_OK(svm_free(p));
}

int main(int argc, char **argv)
{
	svm_stats_t before, after;
	struct kargs a;
	uint64_t *p;

	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_init();
	if (argc > 1 && !strcmp(argv[1], "span")) {
		span();
		CHECK_OK(svm_finalize());
		printf("thrash span: ok\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "renew")) {
		renew();
		CHECK_OK(svm_finalize());
		printf("thrash renewal: ok\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "mitigate")) {
		mitigate();
		CHECK_OK(svm_finalize());
		printf("thrash mitigation: ok\n");
		return 0;
	}
	p = svmt_alloc(svmt_page_size());
	a.word = p;
	*p = 0;
	before = svmt_stats();
	for (int i = 0; i < BOUNCES; i++) {
		CHECK_OK(svm_launch(0, 1, kernel_inc, &a)); /* to device 0 */
		*p += 1;                                    /* back home */
	}
	after = svmt_stats();
	CHECK_EQ(*p, 2 * BOUNCES);
	CHECK_GE(after.device_faults - before.device_faults, BOUNCES);
	CHECK_GE(after.cpu_faults - before.cpu_faults, BOUNCES);
	printf("%d bounces: %llu thrash events\n", BOUNCES,
	       (unsigned long long)(after.thrash_events - before.thrash_events));
	CHECK_MSG(after.thrash_events > before.thrash_events,
		  "a page bounced %d times between device 0 and the host "
		  "within microseconds, and thrash_events did not move",
		  BOUNCES);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("thrash: ok\n");
	return 0;
}
