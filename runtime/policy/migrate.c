/* SPDX-License-Identifier: MIT */
/*
 * The migration engine: classify, make room, move in runs, record every
 * page's outcome, retry what can succeed. This is the one path every move
 * takes (prefetch, faults, eviction, pin, fork), so the retry policy has
 * one place to live.
 */
#include <stdlib.h>

#include "policy.h"
#include "../core/ops.h"

static uintptr_t page_addr(const struct svm__range *r, size_t i)
{
	return r->start + i * SVM__PAGE_SIZE;
}

/*
 * One backend move, timed for the profile's bandwidth figures; *now_us
 * is when it ended, in µs since svm_init (for thrash detection: one clock
 * read per run of pages serves both).
 */
static size_t timed_move(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			 svm_failure_t *out, uint32_t *now_us)
{
	uint64_t t0 = svm__now_ns(), t1, dt;
	size_t moved = rt->be->engine.move(rt, addr, n, src, dst, out);

	t1 = svm__now_ns();
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

void svm__note_migration(struct svm__rt *rt, struct svm__page *p, int src, int dst,
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
	p->range->migrations++;
	p->last_failure = SVM_FAILURE_NONE;
}

/*
 * Records that pages [first, first + n) of r moved from src to dst at time
 * `now` (now_us): what one call per page did, with the location, LRU and
 * sequence number set for the run at once and the counters added once.
 */
static void note_moved(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n, int src,
		       int dst, uint32_t now, bool asked)
{
	uint32_t copies = dst == SVM__LOC_NONE ? 0 : svm__loc_bit(dst);

	svm__pages_set_loc(rt, r, first, n, dst);
	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		p->copies = copies;
		p->last_failure = SVM_FAILURE_NONE;
		p->prefetched = 0;
		if (src == SVM__LOC_NONE) /* a first touch fills zeros; nothing moved */
			svm__trace_pages(SVM__EV_MOVE, page_addr(r, i), 1, src, dst, 0);
		else
			svm__note_migration(rt, p, src, dst, now, asked);
	}
	if (src != SVM__LOC_NONE)
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
 * marked busy, preferred-location pages last. Returns how many left.
 */
static size_t evict(struct svm__rt *rt, int dev, size_t want)
{
	struct svm__devstate *d = &rt->dev[dev];
	struct svm__page **v;
	size_t nv = 0, done = 0;

	if (!want)
		return 0;
	v = malloc(want * sizeof(*v));
	if (!v)
		return 0;
	for (int pass = 0; pass < 2 && nv < want; pass++) {
		for (struct svm__page *p = d->lru.lru_prev; p != &d->lru && nv < want;
		     p = p->lru_prev) {
			if (p->busy || (p->pref == dev) != (pass == 1))
				continue;
			v[nv++] = p;
		}
	}
	qsort(v, nv, sizeof(*v), cmp_page);
	for (size_t i = 0; i < nv; i++) /* read copies elsewhere would block the move */
		svm__make_exclusive(rt, v[i]->range, (size_t)(v[i] - v[i]->range->pages), 1);
	for (size_t i = 0; i < nv;) {
		size_t j = i + 1;
		svm_failure_t out[256];

		while (j < nv && j - i < 256 && v[j]->range == v[i]->range &&
		       v[j] == v[j - 1] + 1)
			j++;
		uint64_t t0 = svm__now_ns();
		uint32_t now;
		size_t moved = timed_move(rt, svm__page_addr(v[i]), j - i, dev, SVM_HOST, out, &now);

		for (size_t k = i; k < j;) {
			size_t m = moved_run(&out[k - i], j - k);

			if (!m) {
				k++;
				continue;
			}
			for (size_t q = k; q < k + m; q++)
				if (v[q]->prefetched) /* the prefetcher's bet cost room */
					SVM__STAT(rt, dev, prefetched_evicted, 1);
			note_moved(rt, v[k]->range, (size_t)(v[k] - v[k]->range->pages), m, dev,
				   SVM_HOST, now, false);
			k += m;
		}
		SVM__STAT(rt, dev, evictions, moved);
		svm__trace((struct svm__event){ .type = SVM__EV_EVICT, .ts_ns = t0,
						.dur_ns = svm__now_ns() - t0,
						.addr = svm__page_addr(v[i]), .pages = moved,
						.src = (int8_t)dev, .dst = SVM_HOST });
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
		svm__page_changed(rt, p);
		svm__trace_pages(SVM__EV_INPLACE_END, page_addr(r, first + i), 1, SVM_HOST, dev, 0);
		if (out[i] == SVM_FAILURE_NONE)
			continue;
		svm__trace_pages(SVM__EV_MOVE, page_addr(r, first + i), 1, p->loc, dev, 0);
		svm__page_set_loc(rt, p, dev);
		p->copies = svm__loc_bit(dev);
		p->last_failure = (uint8_t)out[i];
	}
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

/* Gives up on a page: its class goes into the report and last_failure. */
static void give_up(struct svm__page *p, svm_failure_t f, svm_migrate_report_t *rep)
{
	p->busy = 0;
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
 * The pause between two retry rounds, taken without rt->lock: while it
 * lasts, every CPU fault, device fault and other call goes on (before,
 * they all waited behind it). What the pause may find changed, and how:
 * - the range may be freed (and another allocated at its place): it is
 *   looked up again by start and id; false then, and r must not be used;
 * - another migration may have used the pages' busy marks: they are put
 *   aside in mark[] before the lock goes and put back after (only the
 *   holder of rt->lock has marks on pages);
 * - the pages may have moved, been pinned, duplicated or mapped in place:
 *   the caller classifies its pages again (resume()).
 * With SVM__MIG_LOCKED, or without memory for mark[], the pause is taken
 * with the lock held, as before.
 */
static bool pause_round(struct svm__rt *rt, struct svm__range **rp, size_t first, size_t n,
			unsigned flags, uint64_t pause_ns, uint8_t **mark)
{
	struct svm__range *r = *rp;
	uintptr_t start = r->start;
	uint64_t id = r->id;

	if (!pause_ns)
		return true;
	if (!(flags & SVM__MIG_LOCKED) && !*mark)
		*mark = malloc(n);
	if ((flags & SVM__MIG_LOCKED) || !*mark) {
		svm__retry_pause(pause_ns);
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		(*mark)[i] = r->pages[first + i].busy;
		r->pages[first + i].busy = 0;
	}
	pthread_mutex_unlock(&rt->lock);
	svm__retry_pause(pause_ns);
	pthread_mutex_lock(&rt->lock);
	r = svm__range_again(rt, start, id);
	*rp = r;
	if (!r)
		return false;
	for (size_t i = 0; i < n; i++)
		r->pages[first + i].busy = (*mark)[i];
	return true;
}

/*
 * After a pause without the lock: the pages still to move (busy 1) are
 * classified again as at the start of the migration; a page that arrived
 * earlier (busy 2) and has left again is no longer this request's to keep.
 * Read copies or in-place copies made meanwhile end. Returns how many of
 * the pages still to move are settled now (there already, to stay in
 * place, or pinned by svm_pin).
 */
static size_t resume(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n, int dst,
		     unsigned flags, svm_migrate_report_t *rep)
{
	size_t settled = 0;

	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		if (p->busy == 2 && p->loc != dst)
			p->busy = 0;
		if (p->busy != 1)
			continue;
		if (already_there(p, dst, flags)) {
			rep->already++;
			if (dst >= 0)
				svm__lru_touch(rt, dst, p);
			p->busy = 2;
			settled++;
		} else if ((flags & SVM__MIG_FAULT) && stays_in_place(rt, p, dst)) {
			rep->already++;
			p->busy = 0;
			settled++;
		} else if (p->pins && dst >= 0) {
			give_up(p, SVM_FAILURE_PINNED, rep);
			settled++;
		} else {
			svm__make_exclusive(rt, r, i, 1);
		}
	}
	return settled;
}

/*
 * The most pages one engine.move call takes. A run goes to the backend
 * whole, not in slices: a backend may pay a cost per call that does not
 * grow with the run (the user backend's copy path forks once per call to
 * look for pinned pages, and the fork costs what the process maps, not
 * what moves), so a large request is cut only where its pages differ, or
 * at this bound on the out[] array (4 bytes a page, taken from the heap
 * above MIG_RUN_STACK).
 */
#define MIG_RUN_MAX 65536
#define MIG_RUN_STACK 256

svm_result_t svm__migrate(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			  int dst, unsigned flags, svm_migrate_report_t *rep)
{
	svm_migrate_report_t local = { 0 };
	size_t todo = 0, room = SIZE_MAX, end = first + n, pinned_before = r->pinned_seen;
	svm_failure_t out_stack[MIG_RUN_STACK], *out = out_stack;
	size_t run_max = MIG_RUN_STACK;
	struct svm__retry st;
	uint64_t t0 = svm__tracing ? svm__now_ns() : 0; /* for the trace only */
	uint8_t *mark = NULL; /* busy marks put aside while a pause lets the lock go */

	if (!rep)
		rep = &local;
	*rep = (svm_migrate_report_t){ .pages = n };
	svm__make_exclusive(rt, r, first, n);

	/* classify: busy = 1 marks the pages this call will try to move */
	for (size_t i = first; i < end; i++) {
		struct svm__page *p = &r->pages[i];
		bool there = already_there(p, dst, flags);

		p->busy = 0;
		if (there) {
			rep->already++;
			if (dst >= 0)
				svm__lru_touch(rt, dst, p);
			p->busy = 2; /* not to be evicted for this request */
		} else if ((flags & SVM__MIG_FAULT) && stays_in_place(rt, p, dst)) {
			rep->already++; /* advice or a known pin: served where it is */
		} else if (p->pins && dst >= 0) {
			give_up(p, SVM_FAILURE_PINNED, rep);
		} else {
			p->busy = 1;
			todo++;
		}
	}

	if (todo > MIG_RUN_STACK) { /* without memory: runs of MIG_RUN_STACK pages */
		size_t want = todo < MIG_RUN_MAX ? todo : MIG_RUN_MAX;
		svm_failure_t *o = malloc(want * sizeof(*o));

		if (o) {
			out = o;
			run_max = want;
		}
	}

	/* room first: evict before any page of the request is touched */
	if (dst >= 0 && todo) {
		struct svm__devstate *d = &rt->dev[dst];

		room = d->capacity > d->resident ? d->capacity - d->resident : 0;
		if (todo > room)
			room += evict(rt, dst, todo - room);
	}

	svm__retry_start(&st);
	while (todo) {
		size_t again = 0, nomem = 0;

		for (size_t i = first; i < end;) {
			struct svm__page *p = &r->pages[i];
			size_t j = i + 1;

			if (p->busy != 1) {
				i++;
				continue;
			}
			if (room == 0) { /* nothing left to evict */
				give_up(p, SVM_FAILURE_NO_MEMORY, rep);
				todo--;
				i++;
				continue;
			}
			while (j < end && j - i < run_max && j - i < room && r->pages[j].busy == 1 &&
			       r->pages[j].loc == p->loc)
				j++;
			int src = p->loc;
			uint32_t now;
			size_t moved = timed_move(rt, page_addr(r, i), j - i, src, dst, out, &now);

			SVM__STAT(rt, dst, move_attempts, j - i);
			if (dst >= 0)
				room -= moved;

			for (size_t k = i; k < j; k++) {
				struct svm__page *q = &r->pages[k];
				svm_failure_t f = out[k - i];
				size_t m = moved_run(&out[k - i], j - k);

				if (m) {
					note_moved(rt, r, k, m, src, dst, now,
						   flags & SVM__MIG_EXPLICIT);
					for (size_t e = k; e < k + m; e++) {
						clear_pinned(r, &r->pages[e]);
						/* arrived: not to be evicted by this request */
						r->pages[e].busy = 2;
					}
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
					continue;
				}
				give_up(q, f, rep);
				todo--;
			}
			i = j;
		}
		if (!again)
			break;
		uint64_t pause_ns;

		if ((flags & SVM__MIG_NOWAIT) || !svm__retry_next_round(rt, &st, &pause_ns)) {
			/* rounds or time spent: what is left failed with its last class */
			for (size_t i = first; i < end; i++)
				if (r->pages[i].busy == 1)
					give_up(&r->pages[i], (svm_failure_t)r->pages[i].last_failure,
						rep);
			break;
		}
		rep->retries++;
		SVM__STAT(rt, dst, retries, 1);
		svm__trace((struct svm__event){ .type = SVM__EV_RETRY, .ts_ns = svm__now_ns(),
						.addr = page_addr(r, first), .pages = again,
						.src = -2, .dst = (int8_t)dst,
						.retries = (uint16_t)rep->retries });
		size_t resident = dst >= 0 ? rt->dev[dst].resident : 0;

		if (!pause_round(rt, &r, first, n, flags, pause_ns, &mark)) {
			/* freed meanwhile: nothing is left to move, or to report on */
			free(mark);
			if (out != out_stack)
				free(out);
			rep->failed = 0;
			for (int f = 1; f < SVM_FAILURE_COUNT; f++)
				rep->failed += rep->failed_by[f];
			return SVM_ERROR_INVALID_ARGUMENT;
		}
		if (mark) { /* the lock was let go: look again */
			todo -= resume(rt, r, first, n, dst, flags, rep);
			if (dst >= 0 && rt->dev[dst].resident != resident) {
				struct svm__devstate *d = &rt->dev[dst];

				room = d->capacity > d->resident ? d->capacity - d->resident : 0;
				if (todo > room)
					room += evict(rt, dst, todo - room);
			}
		}
		if (nomem && dst >= 0) /* NO_MEMORY: make room, then try again */
			room += evict(rt, dst, nomem);
	}
	free(mark);
	if (out != out_stack)
		free(out);

	for (size_t i = first; i < end; i++)
		r->pages[i].busy = 0;
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
	for (size_t k = 0; k < rt->nranges; k++) {
		struct svm__range *r = rt->ranges[k];
		svm_migrate_report_t rep;

		/*
		 * A CPU fault would retry forever; here we only get one go.
		 * The pauses keep the lock: this walks rt->ranges, and the
		 * fork holds everything else stopped anyway.
		 */
		if (svm__migrate(rt, r, 0, r->npages, SVM_HOST, SVM__MIG_LOCKED, &rep) != SVM_OK)
			svm__err("fork: %zu pages of range %#lx could not come home; the child "
				 "will read zeros there", rep.failed, (unsigned long)r->start);
	}
}
