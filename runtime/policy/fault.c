/* SPDX-License-Identifier: MIT */
/*
 * What a fault does. A CPU fault brings the block home and must complete;
 * a device fault migrates the block to the device, or makes a read-only
 * duplicate (read-mostly), or serves the page in place (pinned, accessed-by,
 * preferred location host, or when the move failed) so the device always
 * makes progress.
 *
 * Faults are reported by address; a fault on a page that is already where
 * it should be (it raced with another fault or a prefetch) does nothing:
 * the backend wakes the faulting thread, which retries its access.
 */
#include "policy.h"
#include "../core/ops.h"

struct loc_page {
	struct svm__range *r;
	size_t idx;
	struct svm__page *p;
};

/*
 * Finds the page; false if it is gone or changed since `seen` (stale). A
 * page in flight is waited for (rt->lock let go meanwhile): its mover
 * installs it and wakes the threads that wait on it there, then records
 * the move, which makes this fault stale; the backend wakes the thread
 * anyway, and it faults again if it still must.
 */
static bool lookup(struct svm__rt *rt, uintptr_t addr, uint32_t seen, struct loc_page *lp)
{
	for (;;) {
		lp->r = svm__range_find(rt, addr);
		if (!lp->r)
			return false;
		lp->idx = (addr - lp->r->start) / SVM__PAGE_SIZE;
		lp->p = &lp->r->pages[lp->idx];
		if (!lp->p->inflight)
			return !svm__page_changed_since(lp->p, seen);
		svm__wait_settled(rt, &lp->r, lp->idx, 1); /* then look again */
	}
}

/*
 * Where a fault starts: SVM_GRANULARITY; with the density prefetcher and
 * SVM_GRANULARITY not set, one page (the prefetcher grows it).
 */
static size_t fault_unit(const struct svm__rt *rt)
{
	if (rt->cfg.prefetch == SVM__PREFETCH_DENSITY && !rt->cfg.granularity_set)
		return SVM__PAGE_SIZE;
	return rt->cfg.granularity;
}

/* The migration block around a page, clamped to its range. */
static void block_of(const struct svm__rt *rt, const struct loc_page *lp, size_t unit,
		     size_t *first, size_t *n)
{
	size_t per = unit / SVM__PAGE_SIZE;
	uintptr_t heap_off = lp->r->start - rt->heap + lp->idx * SVM__PAGE_SIZE;
	size_t blk = heap_off / unit;
	size_t r0 = (lp->r->start - rt->heap) / SVM__PAGE_SIZE; /* range's first page */
	size_t b0 = blk * per, b1 = b0 + per;

	if (b0 < r0)
		b0 = r0;
	if (b1 > r0 + lp->r->npages)
		b1 = r0 + lp->r->npages;
	*first = b0 - r0;
	*n = b1 - b0;
}

/*
 * The density prefetcher (SVM_PREFETCH=density). A fault moves its block
 * (one page, or SVM_GRANULARITY when that is set); the prefetcher looks at
 * the heap-aligned power-of-two regions that contain the block, from twice
 * the block up to SVM_PREFETCH_MAX, and picks the largest in which more
 * than SVM_PREFETCH_THRESHOLD percent of the pages are at the destination
 * already, the block counted as there. The rest of that region comes
 * along after the block, in pieces of 2 MiB, first those above the fault
 * and nearest to it: the block's move woke the faulting thread, which
 * goes on while its next pages arrive piece by piece (and may move pages
 * itself meanwhile: those the tail leaves, see prefetchable). A stream
 * so takes a few faults per doubling of what it has touched, and a lone
 * touch moves its block only.
 *
 * What counts as at the destination: in a region up to 2 MiB (inside one
 * chunk, UVM's rule), every page there. Above 2 MiB, when the fault's
 * page came from another location, only the pages that arrived there by
 * a move, in chunks whose latest move went there, since a move in that
 * chunk last went elsewhere (svm__range.moves): pages that never left the
 * destination, or came long ago and were followed by a move the other
 * way, are no sign that the program is bringing this region over.
 * Counting them made one host touch among device pages sparse in a
 * buffer the host had filled (one per 2 MiB) bring every other one within
 * SVM_PREFETCH_MAX home, and a host pass over them in order take most of
 * them ahead of it. A stream's chunks behind it arrived whole, so streams
 * grow as before. On a first touch nothing is taken from anywhere, and
 * every page at the destination counts at every size.
 *
 * Only pages that would come anyway are taken: pages at the faulting
 * page's own location (or never touched), with no pin, no pinned mark, no
 * advice that keeps them in place, no copies elsewhere; and only as many
 * as fit without evicting. The move is one pass without retries (a
 * prefetch is a bet, never a wait). Counting costs one step per page up
 * to 2 MiB and one per 2 MiB chunk above (svm__range_count_at,
 * svm__range_count_arrived).
 */

/*
 * May the prefetcher bring page q, now at src, to dst, for a fault whose
 * service began at rt->seq `since`? Not a page that changed after that:
 * the fault's own move woke its thread (and whoever waits on the block),
 * which went on while the rest of the region comes piece by piece, each
 * move with rt->lock let go. What the program did since (an svm_prefetch
 * that sent these very pages elsewhere, or found them where it wanted
 * them and left them) is newer than the fault, and a bet made before it
 * must not undo it (user.integrity.move: pages an svm_prefetch had just
 * put on device 0 came home under it, taken by the tail of a CPU fault of
 * the step before).
 */
static bool prefetchable(struct svm__rt *rt, struct svm__page *q, int src, int dst, uint32_t since)
{
	if (q->inflight || q->loc == dst || (q->loc != src && q->loc != SVM__LOC_NONE) ||
	    svm__page_changed_since(q, since))
		return false;
	if (q->pins || q->pinned_seen || q->remote || q->read_mostly || svm__thrash_held(rt, q))
		return false;
	if (q->loc != SVM__LOC_NONE && q->copies != svm__loc_bit(q->loc))
		return false;
	if (dst >= 0)
		return !(q->accessed_by & (1u << dst)) && q->pref != SVM_HOST &&
		       (q->pref == SVM__PREF_NONE || q->pref == dst);
	return q->pref == SVM__PREF_NONE || q->pref == SVM_HOST;
}

/*
 * The heap-aligned region of `size` pages around range page `first`, as
 * range page indices [*a, *b) (the part of it inside the range).
 */
static void aligned_region(const struct svm__rt *rt, const struct svm__range *r, size_t first,
			   size_t size, size_t *a, size_t *b)
{
	size_t r0 = (r->start - rt->heap) / SVM__PAGE_SIZE; /* heap page of r's first page */
	size_t h0 = (r0 + first) / size * size;

	*a = h0 > r0 ? h0 - r0 : 0;
	*b = h0 + size - r0 < r->npages ? h0 + size - r0 : r->npages;
}

/* Pages of a 2 MiB chunk. */
#define CHUNK_PAGES (SVM__HUGE_SIZE / SVM__PAGE_SIZE)

/*
 * Pages of [a, b) of r, the part inside r of a region of `size` pages,
 * that count as at dst for a fault whose page came from src (the density
 * prefetcher's comment above).
 */
static size_t density_count(const struct svm__range *r, size_t a, size_t b, size_t size,
			    int src, int dst)
{
	if (src == SVM__LOC_NONE || size <= CHUNK_PAGES)
		return svm__range_count_at(r, a, b - a, dst);
	return svm__range_count_arrived(r, a, b - a, dst);
}

static bool dense(size_t count, size_t size, unsigned thr)
{
	return count * 100 > (size_t)thr * size;
}

/*
 * The region [*lo, *hi) of range page indices the density rule picks
 * around block [first, first + n), which came from src and is at dst;
 * lo == hi when it picks the block alone. Parts of a region outside the
 * range count as absent: a region is judged on the pages the range has
 * in it. The regions above 2 MiB are tried first, upwards; if none
 * passes, those up to 2 MiB, downwards: either way the largest that
 * passes wins, and each count of a kind is bounded by the count of the
 * largest region of that kind, so a lone touch costs a count or two.
 */
static void density_region(const struct svm__rt *rt, const struct svm__range *r, size_t first,
			   size_t n, size_t coming, int src, int dst, size_t *lo, size_t *hi)
{
	size_t max = rt->cfg.prefetch_max / SVM__PAGE_SIZE, top = 0, a, b;
	size_t sizes[64], k = 0, small = 0; /* sizes[0 .. small) are up to 2 MiB */
	unsigned thr = (unsigned)rt->cfg.prefetch_threshold;

	*lo = *hi = first;
	for (size_t size = 2 * n; size <= max && k < 64; size *= 2) {
		sizes[k++] = size;
		small += size <= CHUNK_PAGES;
	}
	if (k > small) {
		/* pages that count in the largest region: no smaller one has more */
		aligned_region(rt, r, first, sizes[k - 1], &a, &b);
		top = density_count(r, a, b, sizes[k - 1], src, dst) + coming;
	}
	for (size_t i = small; i < k; i++) {
		if (!dense(top, sizes[i], thr))
			break; /* this one and every larger one would need more than there are */
		aligned_region(rt, r, first, sizes[i], &a, &b);
		if (dense(density_count(r, a, b, sizes[i], src, dst) + coming, sizes[i], thr)) {
			*lo = a;
			*hi = b;
		}
		if (a == 0 && b == r->npages)
			break; /* the whole range: no larger region has more */
	}
	if (*lo != *hi || !small)
		return;
	aligned_region(rt, r, first, sizes[small - 1], &a, &b);
	top = density_count(r, a, b, sizes[small - 1], src, dst) + coming;
	for (size_t i = small; i-- > 0;) {
		if (!dense(top, sizes[i], thr))
			continue; /* a smaller one may pass: it needs fewer */
		if (i < small - 1)
			aligned_region(rt, r, first, sizes[i], &a, &b);
		if (i == small - 1 ||
		    dense(density_count(r, a, b, sizes[i], src, dst) + coming, sizes[i], thr)) {
			*lo = a;
			*hi = b;
			return;
		}
	}
}

/*
 * After the fault's block [first, first + n) moved to dst (its pages not
 * at dst count as there all the same): bring the rest of the density
 * region along, in runs of prefetchable pages of at most PREFETCH_PIECE,
 * above the block upwards, then below it downwards. Counts and traces what
 * it moved. One pass without retries; the moves let rt->lock go, so r
 * may be freed meanwhile (*gone is set then, and r must not be used).
 */
#define PREFETCH_PIECE 512

/*
 * Room on dev for more pages: what it has free, less what the commits of
 * taken pages will need at their launch's end (policy/launch.c).
 */
static size_t take_room(const struct svm__rt *rt, int dev)
{
	size_t room = svm__dev_room(rt, dev);

	return room > rt->dev[dev].taken_pages ? room - rt->dev[dev].taken_pages : 0;
}

/* Prefetches the prefetchable pages of [i, j) of r in runs; returns the pages moved. */
static size_t prefetch_span(struct svm__rt *rt, struct svm__range *r, size_t i, size_t j, int src,
			    int dst, uint32_t since, bool *gone)
{
	size_t moved = 0;

	while (i < j && !*gone) {
		size_t e = i, room = SIZE_MAX;

		if (dst >= 0) /* a prefetch never evicts: only what fits */
			room = take_room(rt, dst);
		if (!room)
			break;
		while (e < j && e - i < room && e - i < PREFETCH_PIECE &&
		       prefetchable(rt, &r->pages[e], src, dst, since))
			e++;
		if (e == i) {
			i++;
			continue;
		}
		if (svm__migrate(rt, r, i, e - i, dst, SVM__MIG_POPULATE | SVM__MIG_FAULT |
				 SVM__MIG_NOWAIT, NULL) == SVM_ERROR_INVALID_ARGUMENT) {
			*gone = true;
			break;
		}
		for (size_t k = i; k < e; k++)
			if (r->pages[k].loc == dst) {
				r->pages[k].prefetched = 1;
				moved++;
			}
		i = e;
	}
	return moved;
}

/* Brings the rest of the region [lo, hi) around the moved block [first, first + n) along. */
static void prefetch_region(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			    size_t lo, size_t hi, int src, int dst, uint32_t since)
{
	size_t moved = 0;
	bool gone = false;
	uintptr_t start = r->start;

	/*
	 * A region of whole chunks already all at dst (a lone touch among
	 * pages that never left it): nothing to take, and the per-chunk
	 * counts say so without walking its pages.
	 */
	if (hi - lo >= CHUNK_PAGES && svm__range_count_at(r, lo, hi - lo, dst) == hi - lo)
		return;
	moved = prefetch_span(rt, r, first + n, hi, src, dst, since, &gone);
	/* below the block: nearest piece first */
	for (size_t top = first; top > lo && !gone;) {
		size_t bottom = top - lo > PREFETCH_PIECE ? top - PREFETCH_PIECE : lo;

		moved += prefetch_span(rt, r, bottom, top, src, dst, since, &gone);
		top = bottom;
	}
	if (moved) {
		SVM__STAT(rt, dst >= 0 ? dst : src, prefetched_pages, moved);
		svm__trace_pages(SVM__EV_DENSITY, start + lo * SVM__PAGE_SIZE, hi - lo, src,
				 dst, moved);
	}
}

static void prefetch_around(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			    int src, int dst, uint32_t since)
{
	size_t lo, hi, coming = 0;

	if (rt->cfg.prefetch != SVM__PREFETCH_DENSITY)
		return;
	for (size_t i = first; i < first + n; i++)
		coming += r->pages[i].loc != dst;
	density_region(rt, r, first, n, coming, src, dst, &lo, &hi);
	if (lo != hi)
		prefetch_region(rt, r, first, n, lo, hi, src, dst, since);
}

/*
 * Page p, the faulting page of a fault whose service began at rt->seq
 * `since`, is not where the fault wants it, yet moved since: its latest
 * move succeeded (a failed one leaves its class in last_failure). The
 * fault's own move brought it and someone took it away again, or someone
 * else moved it: either way its thread was woken, or is woken now and
 * faults again if it still must. The fault has nothing left to do: not a
 * pending CPU fault to retry later (that would bring home a page the
 * program sent away after its access), not a device fault to serve in
 * place.
 */
static bool moved_since(const struct svm__page *p, uint32_t since)
{
	return svm__page_changed_since(p, since) && p->last_failure == SVM_FAILURE_NONE;
}

int svm__fault_cpu(struct svm__rt *rt, uintptr_t addr, bool write, uint32_t seen, bool again,
		   bool *pending, bool *moved_here)
{
	struct loc_page lp;
	size_t first, n;
	int owner, src;
	uint32_t since;

	(void)write;
	*pending = false;
	if (moved_here)
		*moved_here = false;
	if (!lookup(rt, addr, seen, &lp))
		return SVM__FAULT_NONE;
	owner = src = lp.p->loc;
	if (owner == SVM_HOST && !(lp.p->copies & ~svm__loc_bit(SVM_HOST)) && !lp.p->remote)
		return SVM__FAULT_NONE; /* raced: already home (or dropped: the backend looks) */
	if (owner < 0)
		owner = SVM_HOST; /* a first touch: no device involved */
	if (!again)
		SVM__STAT(rt, owner, cpu_faults, 1);
	block_of(rt, &lp, fault_unit(rt), &first, &n);
	since = (uint32_t)atomic_load(&rt->seq);
	/*
	 * One pass, no pause: the host cannot give up on its own page, but it
	 * must not sleep here with the lock held either. The backend keeps
	 * the faulting thread asleep and comes back (svm__fault_cpu's
	 * contract in policy.h).
	 */
	if (svm__migrate(rt, lp.r, first, n, SVM_HOST, SVM__MIG_POPULATE | SVM__MIG_NOWAIT,
			 NULL) == SVM_ERROR_INVALID_ARGUMENT)
		return owner; /* freed while the move let the lock go: the access faults again */
	/*
	 * The move woke the thread, and its lock was let go: the program may
	 * have sent the page away again already (moved_since).
	 */
	*pending = lp.p->loc != SVM_HOST && !moved_since(lp.p, since);
	if (moved_here)
		*moved_here = src != SVM_HOST && lp.p->loc == SVM_HOST;
	if (lp.p->loc == SVM_HOST && !again)
		prefetch_around(rt, lp.r, first, n, src, SVM_HOST, since);
	return owner;
}

bool svm__fault_dropped(struct svm__rt *rt, int loc, uintptr_t addr)
{
	struct loc_page lp;

	if (!lookup(rt, addr, (uint32_t)atomic_load(&rt->seq), &lp))
		return false;
	if (lp.p->loc == loc) {
		svm__make_exclusive(rt, lp.r, lp.idx, 1);
		svm__page_changed(rt, lp.p);
		return true;
	}
	/* a read copy or in-place copy there is gone: end them, the next access starts anew */
	if ((loc >= 0 && ((lp.p->copies & svm__loc_bit(loc)) || (lp.p->remote & (1u << loc)))) ||
	    (loc == SVM_HOST && (lp.p->copies & svm__loc_bit(SVM_HOST)))) {
		svm__make_exclusive(rt, lp.r, lp.idx, 1);
		svm__page_changed(rt, lp.p);
	}
	return false;
}

int svm__fault_cpu_wp(struct svm__rt *rt, uintptr_t addr, uint32_t seen)
{
	struct loc_page lp;

	if (!lookup(rt, addr, seen, &lp))
		return SVM__FAULT_NONE;
	/* a host write ends read duplicates and in-place device copies */
	if (lp.p->remote || (lp.p->loc != SVM__LOC_NONE &&
			     (lp.p->copies & ~svm__loc_bit(lp.p->loc)))) {
		SVM__STAT(rt, -1, cpu_faults, 1);
		svm__thrash_touched(lp.r, lp.idx, 1, SVM_HOST);
		svm__make_exclusive(rt, lp.r, lp.idx, 1);
		return SVM_HOST;
	}
	if (lp.p->loc == SVM_HOST) {
		/*
		 * A held page's watch (policy/thrash.c), or a protection left
		 * over from a failed step: lift it, never loop. A watch is
		 * lifted for the pages around it as well (policy/thrash.c).
		 */
		if (lp.p->held)
			SVM__STAT(rt, -1, cpu_faults, 1); /* a watch's fault */
		svm__thrash_host_wrote(rt, lp.r, lp.idx);
		svm__thrash_touched(lp.r, lp.idx, 1, SVM_HOST);
		/* launch coherence: the host writes them, so no device may take them unseen */
		if (svm__launch_host_wrote(rt, lp.r, lp.idx))
			SVM__STAT(rt, -1, cpu_faults, 1); /* a launch's protection's fault */
		else
			rt->be->engine.collapse(rt, addr, 1, SVM_HOST, 0);
	}
	/*
	 * If the host copy was a duplicate of a device-owned page it is gone
	 * now; the retried write faults as missing and brings the page home.
	 */
	return SVM__FAULT_NONE;
}

/*
 * Device dev reaches the page where it is. The page must end on the host.
 * False if the range was freed meanwhile (lp must not be used then).
 */
static bool serve_in_place(struct svm__rt *rt, int dev, struct loc_page *lp)
{
	struct svm__page *p = lp->p;

	if (p->remote & (1u << dev))
		return true;
	/* one working copy at a time: an earlier device's copy comes home first */
	svm__make_exclusive(rt, lp->r, lp->idx, 1);
	if (p->loc != SVM_HOST) {
		/* its pauses let the lock go: the range may be gone after */
		if (svm__migrate(rt, lp->r, lp->idx, 1, SVM_HOST, SVM__MIG_POPULATE, NULL) ==
		    SVM_ERROR_INVALID_ARGUMENT)
			return false;
		if (p->loc != SVM_HOST)
			return true; /* the device's access faults again and retries */
		svm__make_exclusive(rt, lp->r, lp->idx, 1); /* copies made meanwhile */
		if (p->remote & (1u << dev))
			return true;
	}
	if (rt->be->engine.remote_map(rt, lp->r->start + lp->idx * SVM__PAGE_SIZE, 1, dev) != SVM_OK)
		return true;
	p->remote |= 1u << dev;
	rt->dev[dev].remote_pages++;
	svm__page_changed(rt, p);
	SVM__STAT(rt, dev, remote_accesses, 1);
	svm__trace_pages(SVM__EV_INPLACE, svm__page_addr(p), 1, SVM_HOST, dev, 0);
	return true;
}

/* Does advice or a pin keep this page home while device dev reaches it? */
static bool in_place_for(struct svm__rt *rt, struct svm__page *p, int dev)
{
	return p->pins || p->pinned_seen || (p->accessed_by & (1u << dev)) ||
	       p->pref == SVM_HOST || svm__thrash_held(rt, p);
}

/*
 * The neighbours of a page served in place, in its block, that would be
 * served in place too and are plain host pages: give the device its
 * working copies of them now, in runs, instead of one fault per page.
 */
static void serve_block_in_place(struct svm__rt *rt, int dev, struct loc_page *lp)
{
	size_t first, n;

	/* at least a SVM_GRANULARITY block, also where faults start from a page */
	block_of(rt, lp, rt->cfg.granularity, &first, &n);
	for (size_t i = first; i < first + n;) {
		size_t j = i;

		while (j < first + n) {
			struct svm__page *q = &lp->r->pages[j];

			if (q->inflight || !in_place_for(rt, q, dev) || q->loc != SVM_HOST ||
			    q->remote || q->copies != svm__loc_bit(SVM_HOST))
				break;
			j++;
		}
		if (j == i) {
			i++;
			continue;
		}
		if (rt->be->engine.remote_map(rt, lp->r->start + i * SVM__PAGE_SIZE, j - i, dev) ==
		    SVM_OK) {
			for (size_t k = i; k < j; k++) {
				lp->r->pages[k].remote |= 1u << dev;
				svm__page_changed(rt, &lp->r->pages[k]);
			}
			rt->dev[dev].remote_pages += j - i;
			svm__thrash_touched(lp->r, i, j - i, dev); /* the device works on them */
			SVM__STAT(rt, dev, remote_accesses, j - i);
			svm__trace_pages(SVM__EV_INPLACE, lp->r->start + i * SVM__PAGE_SIZE, j - i,
					 SVM_HOST, dev, 0);
		}
		i = j;
	}
}

/*
 * Launch coherence (policy/launch.c): may device dev take page q, which
 * the launch write-protected, as a working copy that becomes its page
 * when the launch ends? What a fault would move, the usual way.
 */
static bool takeable_unprotected(struct svm__rt *rt, struct svm__page *q, int dev)
{
	return !q->inflight && q->loc == SVM_HOST && q->copies == svm__loc_bit(SVM_HOST) &&
	       !q->remote && !q->read_mostly && (q->pref == SVM__PREF_NONE || q->pref == dev) &&
	       !in_place_for(rt, q, dev);
}

static bool takeable(struct svm__rt *rt, struct svm__page *q, int dev)
{
	return q->lprot && takeable_unprotected(rt, q, dev);
}

/*
 * Has device dev pages [a, b) of r taken. The copies are made with
 * rt->lock let go (unless the backend's moves keep it:
 * rt->move_under_lock), the pages in flight meanwhile, as a move's are:
 * workers of a launch take their blocks at once. Their room is held
 * (taken_pages) from here; svm_free waits for pages in flight, so r stays.
 * False (nothing taken) if the backend could not.
 */
static bool take_run(struct svm__rt *rt, int dev, struct svm__range *r, size_t a, size_t b)
{
	uint32_t stamp = 0;
	bool ok;

	rt->dev[dev].taken_pages += b - a;
	rt->dev[dev].takes_inflight++;
	for (size_t i = a; i < b; i++)
		svm__page_claim(rt, &r->pages[i]);
	if (!rt->move_under_lock)
		pthread_mutex_unlock(&rt->lock);
	ok = rt->be->engine.take(rt, r->start + a * SVM__PAGE_SIZE, b - a, dev) == SVM_OK;
	if (!rt->move_under_lock)
		pthread_mutex_lock(&rt->lock);
	svm__pages_unclaim(rt, r, a, b - a);
	if (ok) {
		for (size_t i = a; i < b; i++) {
			r->pages[i].remote |= 1u << dev;
			r->pages[i].taken = 1;
			svm__page_changed_with(rt, &r->pages[i], &stamp);
		}
		rt->dev[dev].remote_pages += b - a;
		/* served without a move, for now: the move is counted at the commit */
		SVM__STAT(rt, dev, remote_accesses, b - a);
		svm__trace_pages(SVM__EV_INPLACE, r->start + a * SVM__PAGE_SIZE, b - a, SVM_HOST,
				 dev, 0);
	} else {
		/* not (or no longer) protected: these take the usual path from now on */
		rt->dev[dev].taken_pages -= b - a;
		for (size_t i = a; i < b; i++)
			svm__page_lprot_clear(r, &r->pages[i]);
	}
	/*
	 * The copy woke the faulting thread before this record: the launch
	 * may have ended meanwhile, and its end waits for this (launch.c).
	 */
	rt->dev[dev].takes_inflight--;
	svm__settled_broadcast(rt);
	return ok;
}

/* Pages of [a, b) of r that device dev has, or has taken. */
static size_t taken_or_at(const struct svm__range *r, size_t a, size_t b, int dev)
{
	size_t k = 0;

	for (size_t i = a; i < b; i++)
		k += r->pages[i].loc == dev || (r->pages[i].taken && (r->pages[i].remote & (1u << dev)));
	return k;
}

/*
 * Launch coherence takes small runs and moves large ones: a move costs a
 * TLB flush of every CPU that runs the process, which is why takes exist,
 * but one flush for a run of SVM_LAUNCH_MOVE_MIN (512 KiB: 128 pages) or
 * more costs less than taking each page (two copies now, the host's page
 * dropped at the launch's end; docs/performance.md, "Launch coherence").
 */
static bool launch_moves(const struct svm__rt *rt, size_t pages)
{
	return pages * SVM__PAGE_SIZE >= rt->cfg.launch_move_min;
}

/*
 * The density prefetcher for takes: the largest heap-aligned region of up
 * to 2 MiB (and SVM_PREFETCH_MAX) around the block [a, b), which dev is
 * about to take, in which more than SVM_PREFETCH_THRESHOLD percent of the
 * pages are dev's or taken by it, the block's counted as taken; [a, b)
 * itself when none. Up to 2 MiB, so counting walks at most two chunks'
 * worth of page records.
 */
static void take_region(const struct svm__rt *rt, int dev, const struct svm__range *r, size_t a,
			size_t b, size_t *lo, size_t *hi)
{
	size_t max = rt->cfg.prefetch_max < SVM__HUGE_SIZE ? rt->cfg.prefetch_max : SVM__HUGE_SIZE;
	unsigned thr = (unsigned)rt->cfg.prefetch_threshold;
	size_t ra, rb;

	*lo = a;
	*hi = b;
	if (rt->cfg.prefetch != SVM__PREFETCH_DENSITY)
		return;
	for (size_t size = 2 * (b - a); size <= max / SVM__PAGE_SIZE; size *= 2) {
		size_t in_a, in_b;

		/* the largest that passes wins: a smaller one may fail where it passes */
		aligned_region(rt, r, a, size, &ra, &rb);
		in_a = a > ra ? a : ra;
		in_b = b < rb ? b : rb;
		if (dense(taken_or_at(r, ra, rb, dev) + (in_b > in_a ? in_b - in_a : 0), size,
			  thr)) {
			*lo = ra;
			*hi = rb;
		}
	}
}

/*
 * After the block [a, b) was taken: the takeable pages of the rest of its
 * density region [lo, hi) are taken too, in runs, those above the block
 * first.
 */
static void take_around(struct svm__rt *rt, int dev, struct svm__range *r, size_t a, size_t b,
			size_t lo, size_t hi)
{
	size_t taken = 0;

	for (int up = 1; up >= 0; up--) {
		size_t i = up ? b : lo, end = up ? hi : a;

		while (i < end) {
			size_t j = i, room = take_room(rt, dev);

			while (j < end && j - i < room && j - i < PREFETCH_PIECE &&
			       takeable(rt, &r->pages[j], dev))
				j++;
			if (j == i) {
				if (!room)
					return;
				i++;
				continue;
			}
			if (take_run(rt, dev, r, i, j))
				taken += j - i;
			i = j;
		}
	}
	if (taken) {
		SVM__STAT(rt, dev, prefetched_pages, taken);
		svm__trace_pages(SVM__EV_DENSITY, r->start + lo * SVM__PAGE_SIZE, hi - lo, SVM_HOST,
				 dev, taken);
	}
}

/*
 * Would the usual fault path, by the density rule and what came to dev
 * before, move SVM_LAUNCH_MOVE_MIN or more around the faulting page (a
 * stream, or a buffer that went there in earlier launches)? Then that
 * path serves it (launch_moves says why).
 */
static bool streaming(const struct svm__rt *rt, const struct loc_page *lp, int dev)
{
	size_t first, n, lo, hi;

	if (rt->cfg.prefetch != SVM__PREFETCH_DENSITY)
		return false;
	block_of(rt, lp, fault_unit(rt), &first, &n);
	density_region(rt, lp->r, first, n, n, SVM_HOST, dev, &lo, &hi);
	return launch_moves(rt, hi - lo);
}

/* A block [a, b) and the region [lo, hi) around it that a fault moves (lo == hi: none). */
struct move_hint {
	size_t a, b, lo, hi;
};

/*
 * Takes the run of takeable pages around the faulting one in its
 * SVM_GRANULARITY block, as far as dev has room for them at the launch's
 * end, then what the density prefetcher adds; false (nothing done) when
 * the faulting page itself cannot be taken, or the fault's block or its
 * density region (by the usual rule, or by the takes' own) is
 * SVM_LAUNCH_MOVE_MIN or more (launch_moves): the fault then takes the
 * usual path, which moves them; *h says which when the takes' rule chose
 * them (the usual rule does not count taken pages).
 */
static bool take_block(struct svm__rt *rt, int dev, struct loc_page *lp, struct move_hint *h)
{
	struct svm__range *r = lp->r;
	size_t first, n, a = lp->idx, b = lp->idx + 1, lo, hi, room = take_room(rt, dev);

	if (!room || !takeable_unprotected(rt, lp->p, dev))
		return false;
	block_of(rt, lp, rt->cfg.granularity, &first, &n);
	if (launch_moves(rt, n) || streaming(rt, lp, dev))
		return false;
	if (!lp->p->lprot) /* the chunk's first take (or the host wrote it since) */
		svm__launch_protect(rt, r, lp->idx);
	if (!lp->p->lprot)
		return false;
	while (b < first + n && b - a < room && takeable(rt, &r->pages[b], dev))
		b++;
	while (a > first && b - a < room && takeable(rt, &r->pages[a - 1], dev))
		a--;
	take_region(rt, dev, r, a, b, &lo, &hi);
	if (launch_moves(rt, hi - lo)) {
		*h = (struct move_hint){ a, b, lo, hi };
		return false;
	}
	if (!take_run(rt, dev, r, a, b))
		return false;
	take_around(rt, dev, r, a, b, lo, hi);
	return true;
}

static void duplicate(struct svm__rt *rt, int dev, struct loc_page *lp)
{
	struct svm__page *p = lp->p;

	if (p->loc == SVM__LOC_NONE) {
		/* a zero fill is not retried, but the range may be gone after any call */
		if (svm__migrate(rt, lp->r, lp->idx, 1, SVM_HOST, SVM__MIG_POPULATE, NULL) ==
			    SVM_ERROR_INVALID_ARGUMENT ||
		    p->loc != SVM_HOST)
			return;
	}
	svm__make_exclusive(rt, lp->r, lp->idx, 1);
	if (rt->be->engine.duplicate(rt, lp->r->start + lp->idx * SVM__PAGE_SIZE, 1, p->loc, dev) !=
	    SVM_OK)
		return;
	p->copies |= svm__loc_bit(p->loc) | svm__loc_bit(dev);
	svm__page_changed(rt, p);
	SVM__STAT(rt, dev, read_duplicates, 1);
	svm__trace_pages(SVM__EV_DUP, svm__page_addr(p), 1, p->loc, dev, 0);
}

int svm__fault_device(struct svm__rt *rt, int dev, uintptr_t addr, bool write, uint32_t seen,
		      bool *moved_here)
{
	struct move_hint h = { 0, 0, 0, 0 };
	struct loc_page lp;
	struct svm__page *p;
	size_t first, n;
	uint32_t since;

	if (moved_here)
		*moved_here = false;
	if (!lookup(rt, addr, seen, &lp))
		return SVM__FAULT_NONE;
	p = lp.p;
	if (p->loc == dev || (p->copies & svm__loc_bit(dev)) || (p->remote & (1u << dev)))
		return SVM__FAULT_NONE; /* raced: already reachable */
	SVM__STAT(rt, dev, device_faults, 1);

	if (svm__thrash_held(rt, p) && !p->pins && !p->pinned_seen &&
	    !(p->accessed_by & (1u << dev)) && p->pref != SVM_HOST) {
		/*
		 * On hold for thrashing: a read gets a copy, a write works in
		 * place; and so does a read once a device wrote the page in
		 * this fight, since its write follows (a read copy, then its
		 * write protection, would cost two more faults per block).
		 */
		SVM__STAT(rt, dev, thrash_held_faults, 1);
		svm__thrash_touched(lp.r, lp.idx, 1, dev);
		if (write)
			p->held_wrote = 1;
		if (!write && !p->held_wrote)
			duplicate(rt, dev, &lp);
		else if (serve_in_place(rt, dev, &lp))
			serve_block_in_place(rt, dev, &lp);
	} else if (in_place_for(rt, p, dev)) {
		if (serve_in_place(rt, dev, &lp))
			serve_block_in_place(rt, dev, &lp);
	} else if (p->read_mostly && !write) {
		duplicate(rt, dev, &lp);
	} else if (rt->launch_windows && p->loc == SVM_HOST && take_block(rt, dev, &lp, &h)) {
		/* launch coherence: a working copy now, the device's page at the launch's end */
	} else {
		int src = p->loc;

		block_of(rt, &lp, fault_unit(rt), &first, &n);
		if (h.hi > h.lo) { /* launch coherence: a run to move (take_block) */
			first = h.a;
			n = h.b - h.a;
		}
		since = (uint32_t)atomic_load(&rt->seq);
		if (svm__migrate(rt, lp.r, first, n, dev, SVM__MIG_POPULATE | SVM__MIG_FAULT,
				 NULL) == SVM_ERROR_INVALID_ARGUMENT)
			return dev; /* freed during a retry pause: the access faults again */
		if (p->loc != dev && !(p->copies & svm__loc_bit(dev)) && !(p->remote & (1u << dev))) {
			/* could not move: work on it in place (unless it moved on: moved_since) */
			if (!moved_since(p, since))
				serve_in_place(rt, dev, &lp);
		} else if (p->loc == dev) {
			if (moved_here) /* src != dev: the early return above */
				*moved_here = true;
			if (h.hi > h.lo)
				prefetch_region(rt, lp.r, first, n, h.lo, h.hi, src, dev, since);
			else
				prefetch_around(rt, lp.r, first, n, src, dev, since);
		}
	}
	return dev;
}

int svm__fault_device_wp(struct svm__rt *rt, int dev, uintptr_t addr, uint32_t seen)
{
	struct loc_page lp;

	if (!lookup(rt, addr, seen, &lp))
		return SVM__FAULT_NONE;
	/*
	 * A device write to a read-only copy. Every duplicate holds the
	 * owner's bytes, so dropping them loses nothing. If the writer owned
	 * the page its copy is now writable; if not, the retried write faults
	 * as missing and takes the normal device-fault path.
	 */
	if (lp.p->loc != SVM__LOC_NONE && (lp.p->copies & ~svm__loc_bit(lp.p->loc))) {
		SVM__STAT(rt, dev, device_faults, 1);
		svm__make_exclusive(rt, lp.r, lp.idx, 1);
		return dev;
	}
	if (lp.p->loc == dev)
		rt->be->engine.collapse(rt, addr, 1, dev, 0); /* stale protection */
	return SVM__FAULT_NONE;
}
