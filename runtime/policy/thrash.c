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
	p->thrash = 0;
	p->rehold = 0;
	p->hold_until_ms = now_ms(rt) + ((uint32_t)rt->cfg.thrash_hold_ms << p->hold_level);
	SVM__STAT(rt, dst >= 0 ? dst : src, thrash_holds, 1);
	svm__trace_pages(SVM__EV_HOLD, svm__page_addr(p), 1, SVM_HOST, dst >= 0 ? dst : src, 0);
}

bool svm__thrash_held(struct svm__rt *rt, struct svm__page *p)
{
	if (!p->held)
		return false;
	if ((int32_t)(p->hold_until_ms - now_ms(rt)) > 0)
		return true;
	p->held = 0; /* ran out: the page may move again */
	p->rehold = 2;
	svm__trace_pages(SVM__EV_RELEASE, svm__page_addr(p), 1, SVM_HOST, -2, 0);
	return false;
}
