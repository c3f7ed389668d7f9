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
 * A hold that runs out while the fight is still on is renewed instead of
 * ended, for as long again: the host wrote the page during the hold and
 * a device reached it within SVM_THRASH_WINDOW_US of the end. Letting
 * it go would only cost one round trip of every such page before the
 * next hold (issue 18: a ping-pong whose rounds outlast a hold moved the
 * whole buffer again at each end). When either side stops, the hold ends
 * at the next expiry, or the one after.
 *
 * A device's use shows as its faults on the page (an in-place copy ends
 * with each launch). The host's writes to a page it owns fault on
 * nothing, so a renewed hold has the backend write-protect the page
 * (engine.watch) whenever it is plainly the host's again, until the host
 * has written it once: one fault per page and hold, not per round. The
 * hold that a fight starts counts the host as writing (the fight itself
 * was the host taking the page back).
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

/*
 * Both sides still use a held page whose hold ran out: the host wrote it
 * during the hold, and a device reached it within the window before the
 * hold's end (or since). Called when something looks at the page after
 * the end, typically a device's next fault, which does not count itself:
 * a device that comes back after a pause longer than the window is not
 * fighting over it any more.
 */
static bool fight_goes_on(const struct svm__rt *rt, const struct svm__page *p)
{
	/* µs since init, wrapping as last_move_us does */
	uint32_t end_us = (uint32_t)((uint64_t)p->hold_until_ms * 1000);

	return p->held_host &&
	       (int32_t)(end_us - p->last_move_us) <= (int32_t)rt->cfg.thrash_window_us;
}

/* Longest hold: SVM_THRASH_HOLD_MS doubled this many times in a row. */
#define HOLD_LEVEL_MAX 5

void svm__thrash_note(struct svm__rt *rt, struct svm__page *p, bool thrash, int src, int dst)
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
	p->held_host = 1; /* see the top of this file */
	p->thrash = 0;
	p->rehold = 0;
	p->hold_until_ms = now_ms(rt) + ((uint32_t)rt->cfg.thrash_hold_ms << p->hold_level);
	SVM__STAT(rt, dst >= 0 ? dst : src, thrash_holds, 1);
	svm__trace_pages(SVM__EV_HOLD, svm__page_addr(p), 1, SVM_HOST, dst >= 0 ? dst : src, 0);
}

bool svm__thrash_held(struct svm__rt *rt, struct svm__page *p)
{
	uint64_t now_ns;
	uint32_t ms;

	if (!p->held)
		return false;
	now_ns = svm__now_ns();
	ms = (uint32_t)((now_ns - rt->t0_ns) / 1000000);
	if ((int32_t)(p->hold_until_ms - ms) > 0)
		return true;
	if (fight_goes_on(rt, p)) {
		/* renewed, as long as the hold that ran out; counted and traced as a hold */
		p->held_host = 0;
		p->hold_until_ms = ms + ((uint32_t)rt->cfg.thrash_hold_ms << p->hold_level);
		SVM__STAT(rt, -1, thrash_holds, 1);
		svm__trace_pages(SVM__EV_HOLD, svm__page_addr(p), 1, SVM_HOST, -2, 0);
		svm__thrash_watch(rt, p->range, (size_t)(p - p->range->pages), 1);
		return true;
	}
	p->held = 0; /* ran out: the page may move again */
	p->rehold = 2;
	/* its next move is the first after the hold, whatever touched it meanwhile */
	p->last_move_us = (uint32_t)((now_ns - rt->t0_ns) / 1000) -
			  (uint32_t)rt->cfg.thrash_window_us - 1;
	svm__trace_pages(SVM__EV_RELEASE, svm__page_addr(p), 1, SVM_HOST, -2, 0);
	return false;
}

void svm__thrash_touched(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			 int who)
{
	uint32_t now_us = 0;
	bool timed = false;

	for (size_t i = first; i < first + n; i++) {
		struct svm__page *p = &r->pages[i];

		if (!p->held)
			continue;
		if (who == SVM_HOST) {
			p->held_host = 1;
			continue;
		}
		if (!timed) { /* one clock read for the run */
			now_us = (uint32_t)((svm__now_ns() - rt->t0_ns) / 1000);
			timed = true;
		}
		p->last_move_us = now_us; /* it does not move while held: the field is free */
	}
}

/* Held, the host not seen writing since the hold began, and nothing else makes its writes fault. */
static bool to_watch(const struct svm__page *p)
{
	return p->held && !p->held_host && !p->inflight && p->loc == SVM_HOST && !p->remote &&
	       p->copies == svm__loc_bit(SVM_HOST);
}

void svm__thrash_watch(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n)
{
	if (!rt->be->engine.watch)
		return;
	for (size_t i = first, j; i < first + n; i = j) {
		if (!to_watch(&r->pages[i])) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < first + n && to_watch(&r->pages[j]); j++)
			;
		/* if it fails, the host's writes go unseen and the hold ends at its time */
		if (rt->be->engine.watch(rt, r->start + i * SVM__PAGE_SIZE, j - i) != SVM_OK)
			svm__dbg("thrash: cannot watch %zu held pages at %#lx", j - i,
				 (unsigned long)(r->start + i * SVM__PAGE_SIZE));
	}
}
