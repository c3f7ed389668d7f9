/* SPDX-License-Identifier: MIT */
/*
 * The migration engine: classify, make room, move in runs, record every
 * page's outcome, retry what can succeed. This is the one path every move
 * takes (prefetch, faults, eviction, pin, fork), so the retry policy has
 * one place to live.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "../core/ops.h"

static uintptr_t page_addr(const struct svm__range *r, size_t i)
{
	return r->start + i * SVM__PAGE_SIZE;
}

/* What a request (svm__migrate) does with each of its pages: its mark. */
enum {
	MARK_STAY,  /* nothing: at dst, served where it is, or given up */
	MARK_MOVE,  /* to move in this round; in flight, ours */
	MARK_HERE,  /* at dst, brought or found there: not to be evicted for this request */
	MARK_RETRY, /* failed with a class worth retrying; not in flight, classified again
		     * after the pause between rounds */
};

/*
 * One backend move, timed for the profile's bandwidth figures; *now_us
 * is when it ended, in µs since svm_init (for thrash detection: one clock
 * read per run of pages serves both). Unless `locked`, rt->lock is let go
 * for the move itself: the caller has the pages in flight (and, to a
 * device, their room in dev[].incoming), so nobody else touches them; it
 * must expect anything else to have changed when this returns.
 */
static size_t timed_move(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			 svm_failure_t *out, uint32_t *now_us, bool locked)
{
	uint64_t t0, t1, dt;
	size_t moved;

	locked = locked || rt->move_under_lock;
	if (!locked)
		pthread_mutex_unlock(&rt->lock);
	t0 = svm__now_ns();
	moved = rt->be->engine.move(rt, addr, n, src, dst, out);
	t1 = svm__now_ns();
	if (!locked)
		pthread_mutex_lock(&rt->lock);
	dt = t1 - t0;
	*now_us = (uint32_t)((t1 - rt->t0_ns) / 1000);
	if (src == SVM__LOC_NONE)
		return moved; /* zero fill */
	if (dst >= 0)
		SVM__STAT(rt, dst, move_ns_to_device, dt);
	else
		SVM__STAT(rt, src, move_ns_to_host, dt);
	return moved;
}

size_t svm__dev_room(const struct svm__rt *rt, int dev)
{
	const struct svm__devstate *d = &rt->dev[dev];
	size_t used = d->resident + d->incoming;

	return d->capacity > used ? d->capacity - used : 0;
}

/* svm__note_migration but the range's count, which the caller keeps */
static inline void note_page(struct svm__rt *rt, struct svm__page *p, int src, int dst,
			     uint32_t now_us, bool asked)
{
	/* back again within the window: the page is being fought over */
	bool thrash = p->migrations &&
		      now_us - p->last_move_us < (uint32_t)rt->cfg.thrash_window_us;

	if (thrash)
		SVM__STAT(rt, dst >= 0 ? dst : src, thrash_events, 1);
	svm__trace_pages(SVM__EV_MOVE, svm__page_addr(p), 1, src, dst, thrash);
	svm__thrash_note(rt, p, thrash && !asked, src, dst);
	p->last_move_us = now_us;
	p->migrations++;
	p->last_failure = SVM_FAILURE_NONE;
}

void svm__note_migration(struct svm__rt *rt, struct svm__page *p, int src, int dst,
			 uint32_t now_us, bool asked)
{
	note_page(rt, p, src, dst, now_us, asked);
	p->range->migrations++;
}

static void clear_pinned(struct svm__range *r, struct svm__page *p);

/*
 * Records that pages [first, first + n) of r moved from src to dst at time
 * `now` (now_us): what one call per page did, with the location, LRU and
 * sequence number set for the run at once and the counters added once.
 * For a request's own pages (mark: theirs, mark[0] for page first) they
 * are no longer known pinned, and arrived (MARK_HERE).
 */
static void note_moved(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n, int src,
		       int dst, uint32_t now, bool asked, uint8_t *mark)
{
	uint32_t copies = dst == SVM__LOC_NONE ? 0 : svm__loc_bit(dst);

	svm__pages_set_loc(rt, r, first, n, dst);
	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		p->copies = copies;
		p->last_failure = SVM_FAILURE_NONE;
		p->prefetched = 0;
		if (mark) {
			clear_pinned(r, p);
			mark[i - first] = MARK_HERE;
		}
		if (src == SVM__LOC_NONE) /* a first touch fills zeros; nothing moved */
			svm__trace_pages(SVM__EV_MOVE, page_addr(r, i), 1, src, dst, 0);
		else
			note_page(rt, p, src, dst, now, asked);
	}
	if (src == SVM__LOC_NONE)
		return;
	r->migrations += n;
	svm__stat_moved(rt, dst >= 0 ? dst : src, dst >= 0, n);
}

/* The length of the run of pages at out[0..n) that moved (FAILURE_NONE). */
static size_t moved_run(const svm_failure_t *out, size_t n)
{
	size_t k = 0;

	while (k < n && out[k] == SVM_FAILURE_NONE)
		k++;
	return k;
}

static int cmp_page(const void *a, const void *b)
{
	uintptr_t x = svm__page_addr(*(struct svm__page *const *)a);
	uintptr_t y = svm__page_addr(*(struct svm__page *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * Moves up to `want` least recently used pages of dev home, never a page
 * in flight nor one the request [first, first + n) of r has brought
 * (mark[i - first] == MARK_HERE), preferred-location pages last. The victims are
 * put in flight, then moved run by run with rt->lock let go (unless
 * `locked`). Returns how many left.
 */
static size_t evict(struct svm__rt *rt, int dev, size_t want, const struct svm__range *r,
		    size_t first, size_t n, const uint8_t *mark, bool locked)
{
	struct svm__devstate *d;
	struct svm__page **v;
	size_t nv = 0, done = 0;

	/* the host has no room to make (every caller checks; -O3 cannot tell) */
	if (!want || dev < 0 || dev >= SVM__MAX_DEVICES)
		return 0;
	d = &rt->dev[dev];
	v = malloc(want * sizeof(*v));
	if (!v)
		return 0;
	for (int pass = 0; pass < 2 && nv < want; pass++) {
		for (struct svm__page *p = d->lru.lru_prev; p != &d->lru && nv < want;
		     p = p->lru_prev) {
			size_t idx = (size_t)(p - p->range->pages);

			if (p->inflight || (p->pref == dev) != (pass == 1))
				continue;
			if (p->range == r && idx - first < n && mark[idx - first] == MARK_HERE)
				continue;
			v[nv++] = p;
		}
	}
	qsort(v, nv, sizeof(*v), cmp_page);
	for (size_t i = 0; i < nv; i++) /* read copies elsewhere would block the move */
		svm__make_exclusive(rt, v[i]->range, (size_t)(v[i] - v[i]->range->pages), 1);
	for (size_t i = 0; i < nv; i++)
		svm__page_claim(rt, v[i]);
	for (size_t i = 0; i < nv;) {
		size_t j = i + 1;
		svm_failure_t out[256];

		while (j < nv && j - i < 256 && v[j]->range == v[i]->range &&
		       v[j] == v[j - 1] + 1)
			j++;
		uint64_t t0 = svm__now_ns();
		uint32_t now;
		size_t moved = timed_move(rt, svm__page_addr(v[i]), j - i, dev, SVM_HOST, out, &now,
					  locked);
		uint32_t pf = 0; /* the prefetcher's unused pages among them */

		for (size_t k = i; k < j;) {
			size_t m = moved_run(&out[k - i], j - k);

			if (!m) {
				k++;
				continue;
			}
			for (size_t q = k; q < k + m; q++)
				pf += v[q]->prefetched; /* the prefetcher's bet cost room */
			note_moved(rt, v[k]->range, (size_t)(v[k] - v[k]->range->pages), m, dev,
				   SVM_HOST, now, false, NULL);
			k += m;
		}
		for (size_t k = i; k < j; k++)
			svm__page_unclaim(rt, v[k]);
		svm__settled_broadcast(rt);
		SVM__STAT(rt, dev, evictions, moved);
		SVM__STAT(rt, dev, prefetched_evicted, pf);
		svm__trace((struct svm__event){ .type = SVM__EV_EVICT, .ts_ns = t0,
						.dur_ns = svm__now_ns() - t0,
						.addr = svm__page_addr(v[i]), .pages = moved,
						.src = (int8_t)dev, .dst = SVM_HOST,
						.prefetched = pf });
		done += moved;
		i = j;
	}
	free(v);
	if (done)
		svm__dbg("device %d: evicted %zu of %zu pages wanted", dev, done, want);
	return done;
}

/* Does advice keep this page where it is when a fault would pull it to dst? */
static bool stays_in_place(struct svm__rt *rt, struct svm__page *p, int dst)
{
	if (dst < 0)
		return false; /* the host can always take its pages back */
	return p->pins || p->pinned_seen || (p->accessed_by & (1u << dst)) ||
	       p->pref == SVM_HOST || svm__thrash_held(rt, p);
}

/*
 * Ends device dev's in-place copies of n pages (n <= 256). A page whose
 * bytes could not come home is owned by the device from now on: nothing
 * is lost, and the host's next access faults it home.
 */
static void remote_end(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
		       int dev)
{
	svm_failure_t out[256];

	rt->be->engine.remote_unmap(rt, page_addr(r, first), n, dev, out);
	for (size_t i = 0; i < n; i++) {
		struct svm__page *p = &r->pages[first + i];

		p->remote &= ~(1u << dev);
		rt->dev[dev].remote_pages--;
		if (p->taken) { /* launch coherence: written back instead (not committed) */
			p->taken = 0;
			rt->dev[dev].taken_pages--;
		}
		svm__page_changed(rt, p);
		svm__trace_pages(SVM__EV_INPLACE_END, page_addr(r, first + i), 1, SVM_HOST, dev, 0);
		if (out[i] == SVM_FAILURE_NONE)
			continue;
		svm__trace_pages(SVM__EV_MOVE, page_addr(r, first + i), 1, p->loc, dev, 0);
		svm__page_set_loc(rt, p, dev);
		p->copies = svm__loc_bit(dev);
		p->last_failure = (uint8_t)out[i];
	}
	/* the host page is writable again: a held one is watched anew */
	svm__thrash_watch(rt, r, first, n);
}

/* Has p neither read duplicates nor in-place copies (nothing for make_exclusive)? */
static inline bool exclusive(const struct svm__page *p)
{
	return !p->remote && (p->loc == SVM__LOC_NONE || !(p->copies & ~svm__loc_bit(p->loc)));
}

void svm__make_exclusive(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		while (p->remote)
			remote_end(rt, r, i, 1, __builtin_ctz(p->remote));
		if (p->loc != SVM__LOC_NONE && (p->copies & ~svm__loc_bit(p->loc))) {
			rt->be->engine.collapse(rt, page_addr(r, i), 1, p->loc,
					 p->copies & ~svm__loc_bit(p->loc));
			p->copies = svm__loc_bit(p->loc);
			svm__page_changed(rt, p);
			SVM__STAT(rt, -1, collapses, 1);
			svm__trace_pages(SVM__EV_COLLAPSE, page_addr(r, i), 1, -2, p->loc, 0);
			svm__thrash_watch(rt, r, i, 1);
		}
	}
}

/* A move failed as PINNED: remember it (svm__pinned_report says it once). */
bool svm__pinned_mark(struct svm__range *r, struct svm__page *p)
{
	if (p->pinned_seen)
		return false;
	p->pinned_seen = 1;
	r->pinned_seen++;
	svm__trace_pages(SVM__EV_PIN, svm__page_addr(p), 1, -2, SVM_HOST, 0);
	return true;
}

static void clear_pinned(struct svm__range *r, struct svm__page *p)
{
	if (!p->pinned_seen)
		return;
	p->pinned_seen = 0;
	r->pinned_seen--;
	svm__trace_pages(SVM__EV_UNPIN, svm__page_addr(p), 1, -2, SVM_HOST, 0);
}

/*
 * The log says it once per range (issue 15: a buffer that io_uring
 * registers again and again made thousands of lines): again only after an
 * svm_unpin of the range (pinned_said cleared there), since that is the
 * program saying its pins ended. Pins others take and drop (an io_uring
 * registration, RDMA) cannot be seen ending; later finds are debug lines.
 * The trace keeps one instant per find (it is data, not a warning).
 */
void svm__pinned_report(struct svm__range *r, size_t pinned_before, int dst)
{
	if (pinned_before || !r->pinned_seen)
		return;
	if (!r->pinned_said)
		svm__warn("range %#lx (%zu KiB): %zu pages are pinned; they stay on the host "
			  "while pinned; device faults reach them in place, and svm_prefetch "
			  "tries them again (said once per range)",
			  (unsigned long)r->start, r->npages * 4, r->pinned_seen);
	else
		svm__dbg("range %#lx: %zu pages are pinned again", (unsigned long)r->start,
			 r->pinned_seen);
	r->pinned_said = true;
	svm__trace((struct svm__event){ .type = SVM__EV_PINNED, .ts_ns = svm__now_ns(),
					.addr = r->start, .pages = r->pinned_seen, .src = -2,
					.dst = (int8_t)dst, .cls = SVM_FAILURE_PINNED });
}

void svm__pinned_clear(struct svm__range *r, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++)
		clear_pinned(r, &r->pages[i]);
}

/*
 * Gives up on a page: its class goes into the report and last_failure, and
 * it is no longer in flight if it was ours (*m: its mark in the request).
 */
static void give_up(struct svm__rt *rt, struct svm__page *p, uint8_t *m, svm_failure_t f,
		    svm_migrate_report_t *rep)
{
	if (*m == MARK_MOVE)
		svm__page_unclaim(rt, p);
	*m = MARK_STAY;
	p->last_failure = (uint8_t)f;
	rep->failed_by[f]++;
}

/* Is p where a migration to dst wants it (nothing to move)? */
static bool already_there(const struct svm__page *p, int dst, unsigned flags)
{
	return p->loc == dst ||
	       (dst == SVM_HOST && p->loc == SVM__LOC_NONE && !(flags & SVM__MIG_POPULATE));
}

/*
 * Classifies page i of the request (mark m): MARK_HERE when it is at dst
 * already, MARK_MOVE when this call will move it (then it is in flight
 * from here on), MARK_STAY when it stays where it is. Returns 1 when it
 * is to move. The page is not in flight on entry.
 * *stamp: the sequence number the pages classified under this hold of
 * rt->lock share (svm__page_changed_with), 0 before the first.
 */
static inline size_t classify(struct svm__rt *rt, struct svm__range *r, size_t i, uint8_t *m,
			      int dst, unsigned flags, svm_migrate_report_t *rep, uint32_t *stamp)
{
	struct svm__page *p = &r->pages[i];

	*m = MARK_STAY;
	if (already_there(p, dst, flags)) {
		rep->already++;
		if (dst >= 0)
			svm__lru_touch(rt, dst, p);
		/*
		 * The program asked for the page here and finds it here: that
		 * is its latest word on the page all the same, newer than a
		 * fault served before (whose prefetcher tail, still at work,
		 * leaves pages that changed since it began: policy/fault.c).
		 */
		if (flags & SVM__MIG_EXPLICIT)
			svm__page_changed_with(rt, p, stamp);
		*m = MARK_HERE;
	} else if ((flags & SVM__MIG_FAULT) && stays_in_place(rt, p, dst)) {
		rep->already++; /* advice or a known pin: served where it is */
	} else if (p->pins && dst >= 0) {
		give_up(rt, p, m, SVM_FAILURE_PINNED, rep);
	} else {
		if (!exclusive(p))
			svm__make_exclusive(rt, r, i, 1);
		*m = MARK_MOVE;
		svm__page_claim(rt, p);
		return 1;
	}
	return 0;
}

/* Ahead of the page it classifies, classify_piece asks for this one's record. */
#define CLASSIFY_AHEAD 8

/*
 * make_exclusive and classify of pages [a, e) of the request at first,
 * in one pass: every page ends exclusive, even one already at dst. The
 * records come from memory here (in a request that goes piece by piece,
 * its later steps find them in the cache): each is asked for a few pages
 * ahead, so that the loads overlap rather than wait one by one.
 */
static size_t classify_piece(struct svm__rt *rt, struct svm__range *r, size_t first, size_t a,
			     size_t e, uint8_t *mark, int dst, unsigned flags,
			     svm_migrate_report_t *rep, uint32_t *stamp)
{
	size_t todo = 0;

	for (size_t i = a; i < e; i++) {
		struct svm__page *p = &r->pages[i];

		if (i + CLASSIFY_AHEAD < r->npages)
			__builtin_prefetch(p + CLASSIFY_AHEAD, 1);
		if (!exclusive(p))
			svm__make_exclusive(rt, r, i, 1);
		todo += classify(rt, r, i, &mark[i - first], dst, flags, rep, stamp);
	}
	return todo;
}

/*
 * Recording a run's moves makes three passes over its page records
 * (svm__pages_set_loc, note_moved's own loop, the unclaim). A run longer
 * than this is recorded piece by piece, the three passes over one piece
 * before the next, so that the records (64 bytes each: 4 MiB for 256 MiB)
 * the first pass reads are still in the cache for the other two. A
 * request that goes piece by piece has no longer runs.
 */
#define MIG_PIECE 256

/*
 * Pages [k, k + m) of the request at first (marks mark) moved from src
 * to dst at `now`: recorded, no longer pinned, arrived (MARK_HERE) and
 * out of flight.
 */
static void arrived(struct svm__rt *rt, struct svm__range *r, size_t first, size_t k, size_t m,
		    int src, int dst, uint32_t now, bool asked, uint8_t *mark)
{
	for (size_t a = k; a < k + m; a += MIG_PIECE) {
		size_t e = k + m - a < MIG_PIECE ? k + m : a + MIG_PIECE;

		note_moved(rt, r, a, e - a, src, dst, now, asked, &mark[a - first]);
		svm__pages_unclaim(rt, r, a, e - a);
	}
}

/*
 * The pause between two retry rounds, taken without rt->lock and with
 * none of the request's pages in flight (a page to retry is let go when
 * its move fails: MARK_RETRY): while it lasts, every CPU fault, device
 * fault and other call goes on. Afterwards the range is looked up again
 * by start and id (false: it was freed, and r must not be used), the
 * request's pages are waited for until none is in flight, and the pages
 * to retry are classified again: they may have moved, been pinned,
 * duplicated or mapped in place meanwhile. A page that arrived earlier
 * (MARK_HERE) and has left again is no longer this request's to keep.
 * *settled gets how many of the pages to retry need no move now. With
 * SVM__MIG_LOCKED the pause keeps the lock, so nothing else has moved.
 */
static bool pause_round(struct svm__rt *rt, struct svm__range **rp, size_t first, size_t n,
			int dst, unsigned flags, uint64_t pause_ns, uint8_t *mark,
			svm_migrate_report_t *rep, size_t *settled)
{
	struct svm__range *r = *rp;
	uintptr_t start = r->start;
	uint64_t id = r->id;
	uint32_t stamp = 0;

	*settled = 0;
	if (flags & SVM__MIG_LOCKED) {
		svm__retry_pause(pause_ns);
	} else if (pause_ns) {
		svm__settled_broadcast(rt);
		pthread_mutex_unlock(&rt->lock);
		svm__retry_pause(pause_ns);
		pthread_mutex_lock(&rt->lock);
		r = svm__range_again(rt, start, id);
		*rp = r;
		if (!r)
			return false;
	}
	if (!svm__wait_settled(rt, rp, first, n))
		return false;
	r = *rp;
	for (size_t i = 0; i < n; i++) {
		struct svm__page *p = &r->pages[first + i];

		if (mark[i] == MARK_HERE && p->loc != dst)
			mark[i] = MARK_STAY;
		if (mark[i] == MARK_RETRY)
			*settled += !classify(rt, r, first + i, &mark[i], dst, flags, rep, &stamp);
	}
	return true;
}

/*
 * Rounds or time are spent on page i (MARK_RETRY, not in flight): it
 * failed with its last class, unless someone else has brought it to dst
 * since its move failed.
 */
static void retry_spent(struct svm__rt *rt, struct svm__range *r, size_t i, uint8_t *m, int dst,
			unsigned flags, svm_migrate_report_t *rep)
{
	struct svm__page *p = &r->pages[i];

	if (already_there(p, dst, flags)) {
		rep->already++;
		*m = MARK_STAY;
		return;
	}
	give_up(rt, p, m,
		p->last_failure != SVM_FAILURE_NONE ? (svm_failure_t)p->last_failure :
						      SVM_FAILURE_BUSY,
		rep);
}

/*
 * The most pages one engine.move call takes. A run goes to the backend
 * whole, not in slices: a backend may pay a cost per call that does not
 * grow with the run (the user backend's copy path forks once per call to
 * look for pinned pages, and the fork costs what the process maps, not
 * what moves), so a large request is cut only where its pages differ, or
 * at this bound on the out[] array (4 bytes a page, taken from the heap
 * above MIG_RUN_STACK). A backend whose calls cost by the page says so
 * (rt->move_piece), and its requests go piece by piece (piecewise()).
 */
#define MIG_RUN_MAX 65536
#define MIG_RUN_STACK 256

/* Without memory for the marks of a large request: pieces of MIG_RUN_STACK pages. */
static svm_result_t migrate_pieces(struct svm__rt *rt, struct svm__range *r, size_t first,
				   size_t n, int dst, unsigned flags, svm_migrate_report_t *rep)
{
	uintptr_t start = r->start;
	uint64_t id = r->id;
	svm_result_t res = SVM_OK;

	*rep = (svm_migrate_report_t){ .pages = n };
	for (size_t i = 0; i < n; i += MIG_RUN_STACK) {
		svm_migrate_report_t one;
		size_t m = n - i < MIG_RUN_STACK ? n - i : MIG_RUN_STACK;

		r = svm__range_again(rt, start, id);
		res = r ? svm__migrate(rt, r, first + i, m, dst, flags, &one) :
			  SVM_ERROR_INVALID_ARGUMENT;
		if (res == SVM_ERROR_INVALID_ARGUMENT)
			return res;
		rep->moved += one.moved;
		rep->already += one.already;
		rep->failed += one.failed;
		rep->retries += one.retries;
		for (int f = 0; f < SVM_FAILURE_COUNT; f++)
			rep->failed_by[f] += one.failed_by[f];
	}
	return rep->failed ? SVM_PARTIAL : SVM_OK;
}

/* Frees what svm__migrate took and says the range was freed meanwhile. */
static svm_result_t migrate_gone(uint8_t *mark, const uint8_t *mark_stack, svm_failure_t *out,
				 const svm_failure_t *out_stack, svm_migrate_report_t *rep)
{
	if (mark != mark_stack)
		free(mark);
	if (out != out_stack)
		free(out);
	rep->failed = 0;
	for (int f = 1; f < SVM_FAILURE_COUNT; f++)
		rep->failed += rep->failed_by[f];
	return SVM_ERROR_INVALID_ARGUMENT;
}

/*
 * Pages per piece when request [first, first + n) of r (flags) goes piece
 * by piece, each classified just before its moves (the first round only;
 * a retry round classifies its pages in the pause): on a backend whose
 * moves cost by the page (rt->move_piece), so that a page's record is
 * still in the cache when its move is recorded. 0: the whole request is
 * classified first. That is needed where room must be made: eviction
 * comes before the request touches any page, and its size is the
 * request's count of pages to move. Where the room is there for every
 * page not at dst already (an upper bound, from the chunk counts), the
 * count is not needed up front.
 */
static size_t piecewise(const struct svm__rt *rt, const struct svm__range *r, size_t first,
			size_t n, int dst, unsigned flags)
{
	size_t piece = rt->move_piece < MIG_RUN_STACK ? rt->move_piece : MIG_RUN_STACK;

	/*
	 * Only what the program asked for (svm_prefetch, svm_pin). A fault's
	 * block and its prefetcher's tail were judged when the fault's
	 * service began; a later piece, classified after the moves before it
	 * let the lock go, could undo what the program did meanwhile (moved
	 * those pages elsewhere): a fault is older than that and must not
	 * win (policy/fault.c: prefetchable).
	 */
	if (!piece || n <= piece || !(flags & SVM__MIG_EXPLICIT))
		return 0;
	if (dst >= 0 && n - svm__range_count_at(r, first, n, dst) > svm__dev_room(rt, dst))
		return 0;
	return piece;
}

svm_result_t svm__migrate(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			  int dst, unsigned flags, svm_migrate_report_t *rep)
{
	svm_migrate_report_t local = { 0 };
	size_t todo = 0, end = first + n, pinned_before, piece, ready;
	svm_failure_t out_stack[MIG_RUN_STACK], *out = out_stack;
	uint8_t mark_stack[MIG_RUN_STACK], *mark = mark_stack; /* MARK_* */
	size_t run_max = MIG_RUN_STACK;
	struct svm__retry st;
	uint64_t t0 = svm__tracing ? svm__now_ns() : 0; /* for the trace only */
	bool locked = flags & SVM__MIG_LOCKED;
	uint32_t stamp = 0;

	if (!rep)
		rep = &local;
	*rep = (svm_migrate_report_t){ .pages = n };
	if (n > MIG_RUN_STACK && !(mark = malloc(n)))
		return migrate_pieces(rt, r, first, n, dst, flags, rep);
	/* pages another migration has in flight are its own until it is done */
	if (!svm__wait_settled(rt, &r, first, n))
		return migrate_gone(mark, mark_stack, out, out_stack, rep);
	pinned_before = r->pinned_seen;

	piece = piecewise(rt, r, first, n, dst, flags);
	if (piece) {
		/*
		 * Classified piece by piece in the first round (below). Until
		 * then a page is marked MARK_HERE, so that an eviction that
		 * room taken meanwhile by others calls for does not pick the
		 * request's own pages at dst ahead of it.
		 */
		memset(mark, MARK_HERE, n);
		ready = first;
	} else {
		todo = classify_piece(rt, r, first, first, end, mark, dst, flags, rep, &stamp);
		ready = end;
		if (todo > MIG_RUN_STACK) { /* without memory: runs of MIG_RUN_STACK pages */
			size_t want = todo < MIG_RUN_MAX ? todo : MIG_RUN_MAX;
			svm_failure_t *o = malloc(want * sizeof(*o));

			if (o) {
				out = o;
				run_max = want;
			}
		}
		/* room first: evict before any page of the request is touched */
		if (dst >= 0 && todo && todo > svm__dev_room(rt, dst))
			evict(rt, dst, todo - svm__dev_room(rt, dst), r, first, n, mark, locked);
	}

	svm__retry_start(&st);
	while (todo || ready < end) {
		size_t again = 0, nomem = 0;

		for (size_t i = first; i < end;) {
			struct svm__page *p;
			size_t j = i + 1, room = SIZE_MAX;

			if (i == ready) { /* piecewise: the next piece, just before it moves */
				size_t e = end - i < piece ? end : i + piece;

				/* none is ours in flight here: those to retry were let go */
				if (!svm__wait_settled(rt, &r, i, e - i))
					return migrate_gone(mark, mark_stack, out, out_stack, rep);
				stamp = 0; /* rt->lock was let go since the last piece */
				todo += classify_piece(rt, r, first, i, e, mark, dst, flags, rep,
						       &stamp);
				ready = e;
			}
			p = &r->pages[i];
			if (mark[i - first] != MARK_MOVE) {
				i++;
				continue;
			}
			if (dst >= 0) {
				/* a move in flight elsewhere may have taken room meanwhile */
				room = svm__dev_room(rt, dst);
				if (!room)
					room = evict(rt, dst, todo, r, first, n, mark, locked) ?
						       svm__dev_room(rt, dst) : 0;
			}
			if (room == 0) { /* nothing left to evict */
				give_up(rt, p, &mark[i - first], SVM_FAILURE_NO_MEMORY, rep);
				todo--;
				i++;
				continue;
			}
			int src = p->loc;
			size_t lim = ready - i < run_max ? ready : i + run_max;
			uint32_t now;

			if (lim - i > room)
				lim = i + room;
			while (j < lim && mark[j - first] == MARK_MOVE && r->pages[j].loc == src)
				j++;

			if (dst >= 0)
				rt->dev[dst].incoming += j - i;
			timed_move(rt, page_addr(r, i), j - i, src, dst, out, &now, locked);

			if (dst >= 0)
				rt->dev[dst].incoming -= j - i;
			SVM__STAT(rt, dst, move_attempts, j - i);

			for (size_t k = i; k < j; k++) {
				struct svm__page *q = &r->pages[k];
				svm_failure_t f = out[k - i];
				size_t m = moved_run(&out[k - i], j - k);

				if (m) {
					arrived(rt, r, first, k, m, src, dst, now,
						flags & SVM__MIG_EXPLICIT, mark);
					rep->moved += m;
					todo -= m;
					k += m - 1;
					continue;
				}
				q->last_failure = (uint8_t)f;
				if (f == SVM_FAILURE_PINNED)
					svm__pinned_mark(r, q);
				if (svm__retry_class(rt, f)) {
					again++;
					nomem += f == SVM_FAILURE_NO_MEMORY;
					/* let go until the pause: nothing waits on it meanwhile */
					mark[k - first] = MARK_RETRY;
					svm__page_unclaim(rt, q);
					continue;
				}
				give_up(rt, q, &mark[k - first], f, rep);
				todo--;
			}
			if (!locked)
				svm__settled_broadcast(rt);
			i = j;
		}
		if (!again)
			break;
		uint64_t pause_ns;
		size_t settled;

		if ((flags & SVM__MIG_NOWAIT) || !svm__retry_next_round(rt, &st, &pause_ns)) {
			/* rounds or time spent: what is left failed with its last class */
			for (size_t i = first; i < end; i++)
				if (mark[i - first] == MARK_RETRY)
					retry_spent(rt, r, i, &mark[i - first], dst, flags, rep);
			break;
		}
		rep->retries++;
		SVM__STAT(rt, dst, retries, 1);
		svm__trace((struct svm__event){ .type = SVM__EV_RETRY, .ts_ns = svm__now_ns(),
						.addr = page_addr(r, first), .pages = again,
						.src = -2, .dst = (int8_t)dst,
						.retries = (uint16_t)rep->retries });
		if (!pause_round(rt, &r, first, n, dst, flags, pause_ns, mark, rep, &settled))
			/* freed meanwhile: nothing is left to move, or to report on */
			return migrate_gone(mark, mark_stack, out, out_stack, rep);
		todo -= settled;
		if (nomem && dst >= 0 && todo) /* NO_MEMORY: make room, then try again */
			evict(rt, dst, nomem, r, first, n, mark, locked);
	}
	if (out != out_stack)
		free(out);
	for (size_t i = first; todo && i < end; i++) /* none left but ours: each ended above */
		if (mark[i - first] == MARK_MOVE)
			svm__page_unclaim(rt, &r->pages[i]);
	if (!locked)
		svm__settled_broadcast(rt);

	for (int f = 1; f < SVM_FAILURE_COUNT; f++) {
		rep->failed += rep->failed_by[f];
		SVM__STAT(rt, dst, failures_by[f], rep->failed_by[f]);
		if (rep->failed_by[f])
			svm__trace((struct svm__event){ .type = SVM__EV_FAILURE,
							.ts_ns = svm__now_ns(),
							.addr = page_addr(r, first),
							.pages = rep->failed_by[f], .src = -2,
							.dst = (int8_t)dst, .cls = (uint8_t)f });
	}
	if (svm__tracing && (rep->moved || rep->failed))
		svm__trace((struct svm__event){ .type = SVM__EV_MIGRATE, .ts_ns = t0,
						.dur_ns = svm__now_ns() - t0,
						.addr = page_addr(r, first), .pages = rep->moved,
						.failed = rep->failed, .src = -2, .dst = (int8_t)dst,
						.retries = (uint16_t)rep->retries });
	svm__pinned_report(r, pinned_before, dst);
	if (rep->failed)
		svm__info("migration of %zu pages at %#lx to %d: %zu moved, %zu failed "
			  "(pinned %zu, busy %zu, no-memory %zu, unsupported %zu), %u retries",
			  n, (unsigned long)page_addr(r, first), dst, rep->moved, rep->failed,
			  rep->failed_by[SVM_FAILURE_PINNED], rep->failed_by[SVM_FAILURE_BUSY],
			  rep->failed_by[SVM_FAILURE_NO_MEMORY],
			  rep->failed_by[SVM_FAILURE_UNSUPPORTED], rep->retries);
	if (mark != mark_stack)
		free(mark);
	/*
	 * Returns with no page of the request in flight, so the caller may act
	 * on them (map in place, pin, duplicate) under the lock it holds now.
	 * While the moves let the lock go, another migration may have put one
	 * of them in flight: wait for it (the range may go then).
	 */
	if (!svm__wait_settled(rt, &r, first, n))
		return SVM_ERROR_INVALID_ARGUMENT;
	return rep->failed ? SVM_PARTIAL : SVM_OK;
}

void svm__remote_flush_device(struct svm__rt *rt, int dev)
{
	uint32_t bit = 1u << dev;

	for (size_t k = 0; k < rt->nranges && rt->dev[dev].remote_pages; k++) {
		struct svm__range *r = rt->ranges[k];

		for (size_t i = 0; i < r->npages;) {
			size_t j = i;

			while (j < r->npages && (r->pages[j].remote & bit))
				j++;
			if (j == i) {
				i++;
				continue;
			}
			if (j - i > 256)
				j = i + 256;
			remote_end(rt, r, i, j - i, dev);
			i = j;
		}
	}
}

void svm__evacuate_all(struct svm__rt *rt)
{
	svm__wait_all_settled(rt); /* from here on nothing moves but this */
	for (size_t k = 0; k < rt->nranges; k++) {
		struct svm__range *r = rt->ranges[k];
		svm_migrate_report_t rep;

		/*
		 * A CPU fault would retry forever; here we only get one go.
		 * The pauses and the moves keep the lock: this walks
		 * rt->ranges, and the fork holds everything else stopped
		 * anyway (no page is in flight from the wait above on).
		 */
		if (svm__migrate(rt, r, 0, r->npages, SVM_HOST, SVM__MIG_LOCKED, &rep) != SVM_OK)
			svm__err("fork: %zu pages of range %#lx could not come home; the child "
				 "will read zeros there", rep.failed, (unsigned long)r->start);
	}
	svm__settled_broadcast(rt); /* locked moves do not: whoever waits looks again */
}
