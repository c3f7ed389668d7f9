/* SPDX-License-Identifier: MIT */
/*
 * Thrashing mitigation (SVM_THRASH). A page that moves again within
 * SVM_THRASH_WINDOW_US of its last move is being fought over (a thrash
 * event). After SVM_THRASH_THRESHOLD such events in a row the page is put
 * on hold for SVM_THRASH_HOLD_MS: it stays on the host (a CPU fault may
 * still bring it home, nothing takes it away), and a device that faults
 * on it works on it in place, or reads a copy when its access is a read.
 * That is what the advice "preferred location host + accessed by" does,
 * chosen per page and for a while. A move that comes after the window
 * ends the run of events. When the hold runs out the page may move again;
 * if the fight goes on (its second move after the hold is a thrash event:
 * one round trip), it is held again at once, for twice as long as the last
 * hold (up to 32 times SVM_THRASH_HOLD_MS); a move outside the window
 * ends that, and the next hold needs as many events in a row again.
 *
 * With SVM_THRASH_RENEW (on by default: see docs/architecture.md), a
 * hold that runs out while the fight is still on is renewed instead of
 * ended, for as long again: both sides used the page during the hold
 * (the host wrote it, a device reached it), and the end is noticed within
 * a hold's length of it (a page nobody looked at for that long is not
 * fought over). Letting it go would only cost one round trip of every
 * such page before the next hold (issue 18: a ping-pong whose rounds
 * outlast a hold moved the whole buffer again at each end). When either
 * side stops, the hold ends at the next expiry. The evidence is use
 * during the hold, not within SVM_THRASH_WINDOW_US of its end: one round
 * slowed past the window on a loaded machine must not end a fight that
 * the other rounds of the hold show going on.
 *
 * A device's use shows as its faults on the page and its block (an
 * in-place copy ends with each launch). The host's writes to a page it
 * owns fault on nothing, so while the host has not been seen writing a
 * held page, the backend write-protects it (engine.watch) whenever it is
 * plainly the host's again. The first write in a 64 KiB span lifts the
 * watch of the whole span (WATCH_SPAN): one host fault per span and hold,
 * not per page, nor per round.
 *
 * Throttling (delaying the service of a thrashing page's faults, as
 * NVIDIA's UVM does before it pins) is not done: the host and the
 * emulated devices here share the CPUs, so a delay only idles them.
 */
#include "policy.h"
#include "../core/ops.h"

static uint32_t now_ms(const struct svm__rt *rt)
{
	return (uint32_t)((svm__now_ns() - rt->t0_ns) / 1000000);
}

/* How long p's hold lasts at its level: SVM_THRASH_HOLD_MS, doubled per level. */
static uint32_t hold_len(const struct svm__rt *rt, const struct svm__page *p)
{
	return (uint32_t)rt->cfg.thrash_hold_ms << p->hold_level;
}

/*
 * Both sides used a held page during its hold, which ran out less than a
 * hold's length ago (now_ms). Called when something looks at the page
 * after the end, typically a device's next fault, which does not count
 * itself: a device that comes back long after is not fighting any more.
 */
static bool fight_goes_on(const struct svm__rt *rt, const struct svm__page *p, uint32_t ms)
{
	return p->held_host && p->held_dev && ms - p->hold_until_ms < hold_len(rt, p);
}

/* A hold (or its renewal) begins: the evidence of use starts again. */
static void hold_from(const struct svm__rt *rt, struct svm__page *p, uint32_t ms)
{
	p->held_host = 0;
	p->held_dev = 0;
	p->hold_until_ms = ms + hold_len(rt, p);
}

/* Longest hold: SVM_THRASH_HOLD_MS doubled this many times in a row. */
#define HOLD_LEVEL_MAX 5

/* svm__thrash_note (policy.h) where something may change */
void svm__thrash_record(struct svm__rt *rt, struct svm__page *p, bool thrash, int src, int dst)
{
	if (!thrash) {
		/*
		 * A hold that just ended: the page did not move while held, so
		 * its first move after is never within the window. That move
		 * says nothing; the next one tells whether the fight goes on.
		 */
		if (p->rehold == 2) {
			p->rehold = 1;
			return;
		}
		p->thrash = 0;
		p->rehold = 0;
		p->hold_level = 0; /* the fight is over */
		p->held_wrote = 0;
		return;
	}
	if (p->thrash < 15)
		p->thrash++;
	/*
	 * Only where the runtime serves the faults (a backend with the
	 * migration engine): a driver that serves them itself (kshim) would
	 * not honour the hold, and the counters would claim one.
	 */
	if (!rt->cfg.thrash || !rt->be->engine.move || p->held ||
	    (p->thrash < rt->cfg.thrash_threshold && !p->rehold))
		return;
	/* held again right after a hold: twice as long as the last one */
	if (p->rehold && p->hold_level < HOLD_LEVEL_MAX)
		p->hold_level++;
	else if (!p->rehold)
		p->hold_level = 0;
	p->held = 1;
	p->thrash = 0;
	p->rehold = 0;
	hold_from(rt, p, now_ms(rt));
	SVM__STAT(rt, dst >= 0 ? dst : src, thrash_holds, 1);
	svm__trace_pages(SVM__EV_HOLD, svm__page_addr(p), 1, SVM_HOST, dst >= 0 ? dst : src, 0);
}

bool svm__thrash_held(struct svm__rt *rt, struct svm__page *p)
{
	uint32_t ms;

	if (!p->held)
		return false;
	ms = now_ms(rt);
	if ((int32_t)(p->hold_until_ms - ms) > 0)
		return true;
	if (rt->cfg.thrash_renew && fight_goes_on(rt, p, ms)) {
		/* renewed, as long as the hold that ran out; counted and traced as a hold */
		hold_from(rt, p, ms);
		SVM__STAT(rt, -1, thrash_holds, 1);
		svm__trace_pages(SVM__EV_HOLD, svm__page_addr(p), 1, SVM_HOST, -2, 0);
		svm__thrash_watch(rt, p->range, (size_t)(p - p->range->pages), 1);
		return true;
	}
	p->held = 0; /* ran out: the page may move again */
	p->rehold = 2;
	/*
	 * Its next move is the first after the hold, never a thrash event,
	 * even with a window longer than the hold (see svm__thrash_note).
	 */
	p->last_move_us = (uint32_t)((uint64_t)ms * 1000) - (uint32_t)rt->cfg.thrash_window_us - 1;
	svm__trace_pages(SVM__EV_RELEASE, svm__page_addr(p), 1, SVM_HOST, -2, 0);
	return false;
}

void svm__thrash_touched(struct svm__range *r, size_t first, size_t n, int who)
{
	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		if (!p->held)
			continue;
		if (who == SVM_HOST)
			p->held_host = 1;
		else
			p->held_dev = 1;
	}
}

/* Held, the host not seen writing since the hold began, and nothing else makes its writes fault. */
static bool to_watch(const struct svm__page *p)
{
	return p->held && !p->held_host && !p->inflight && p->loc == SVM_HOST && !p->remote &&
	       p->copies == svm__loc_bit(SVM_HOST);
}

/*
 * How much one host write tells: the watch of a held page is lifted for
 * every page watched in the same heap-aligned span of this many pages, and
 * they all count as written. A page's own watch would cost one host fault
 * per page and hold; on an idle machine a host fault that wakes the
 * serving CPU costs ~50 us, and a 16 MiB ping-pong's watch took as long as
 * the hold itself (docs/performance.md). 64 KiB: the fault granule of a
 * fixed granularity, 256 faults per 16 MiB and hold.
 */
#define WATCH_SPAN 16

/*
 * The runs of watched pages among [first, end) of r, idx left out: with
 * `lift`, the host was seen writing next to them, so they count as written
 * and their protection is lifted; else they are write-protected (watched).
 */
static void watch_runs(struct svm__rt *rt, struct svm__range *r, size_t first, size_t end,
		       size_t idx, bool lift)
{
	for (size_t i = first, j; i < end; i = j) {
		if (i == idx || !to_watch(&r->pages[i])) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < end && j != idx && to_watch(&r->pages[j]); j++)
			;
		if (lift) {
			svm__thrash_touched(r, i, j - i, SVM_HOST);
			/* lifts the protection the watch left (drops nothing) */
			rt->be->engine.collapse(rt, r->start + i * SVM__PAGE_SIZE, j - i, SVM_HOST,
						0);
		} else if (rt->be->engine.watch(rt, r->start + i * SVM__PAGE_SIZE, j - i) !=
			   SVM_OK) {
			/* the host's writes go unseen and the hold ends at its time */
			svm__dbg("thrash: cannot watch %zu held pages at %#lx", j - i,
				 (unsigned long)(r->start + i * SVM__PAGE_SIZE));
		}
	}
}

void svm__thrash_host_wrote(struct svm__rt *rt, struct svm__range *r, size_t idx)
{
	size_t r0 = (r->start - rt->heap) / SVM__PAGE_SIZE; /* heap page of r's first page */
	size_t a = (r0 + idx) / WATCH_SPAN * WATCH_SPAN, b = a + WATCH_SPAN;

	if (!rt->cfg.thrash_renew || !rt->be->engine.watch || !r->pages[idx].held)
		return;
	a = a > r0 ? a - r0 : 0;
	b = b - r0 < r->npages ? b - r0 : r->npages;
	/* idx itself: its fault lifts it (svm__fault_cpu_wp) */
	watch_runs(rt, r, a, b, idx, true);
}

void svm__thrash_watch(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n)
{
	if (!rt->cfg.thrash_renew || !rt->be->engine.watch)
		return;
	watch_runs(rt, r, first, first + n, SIZE_MAX, false);
}
