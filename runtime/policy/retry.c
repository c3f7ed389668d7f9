/* SPDX-License-Identifier: MIT */
/*
 * class        retried?                  between rounds
 * BUSY         yes (SVM_RETRY_CLASSES)   pause, doubling; LRU drain
 * NO_MEMORY    yes                       the engine evicts, then retries
 * PINNED       never                     served in place
 * UNSUPPORTED  never                     served in place
 * Every loop is bounded by SVM_RETRY_ROUNDS and SVM_RETRY_BUDGET_US.
 */
#include <time.h>

#include "retry.h"
#include "../core/ops.h"

void svm__retry_start(struct svm__retry *st)
{
	st->deadline_ns = 0; /* set by the first retry round */
	st->round = 0;
}

bool svm__retry_class(const struct svm__rt *rt, svm_failure_t f)
{
	return f != SVM_FAILURE_NONE && (rt->cfg.retry_classes & (1u << f));
}

bool svm__retry_next_round(struct svm__rt *rt, struct svm__retry *st)
{
	uint64_t now = svm__now_ns(), pause_ns;
	int shift = st->round < 20 ? st->round : 20;

	if (!st->deadline_ns)
		st->deadline_ns = now + (uint64_t)rt->cfg.retry_budget_us * 1000;
	if (st->round >= rt->cfg.retry_rounds || now >= st->deadline_ns)
		return false;
	pause_ns = ((uint64_t)rt->cfg.retry_backoff_us << shift) * 1000;
	if (pause_ns > (uint64_t)rt->cfg.retry_backoff_max_us * 1000)
		pause_ns = (uint64_t)rt->cfg.retry_backoff_max_us * 1000;
	if (pause_ns > st->deadline_ns - now)
		pause_ns = st->deadline_ns - now;
	if (rt->cfg.retry_drain && rt->be->drain)
		rt->be->drain(rt);
	if (pause_ns) {
		struct timespec ts = { (time_t)(pause_ns / 1000000000ull),
				       (long)(pause_ns % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
	st->round++;
	return true;
}
