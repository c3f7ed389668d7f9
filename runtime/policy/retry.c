/* SPDX-License-Identifier: MIT */
/*
 * class        retried?                  between rounds
 * BUSY         yes (SVM_RETRY_CLASSES)   pause, doubling; LRU drain
 * NO_MEMORY    yes                       the engine evicts, then retries
 * PINNED       never                     served in place
 * UNSUPPORTED  never                     served in place
 * Every loop is bounded by SVM_RETRY_ROUNDS and SVM_RETRY_BUDGET_US.
 * The pause itself is the caller's (svm__retry_pause), taken without
 * rt->lock (runtime/policy/migrate.c).
 */
#include <errno.h>
#include <time.h>

#include "fault.h"
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

bool svm__retry_next_round(struct svm__rt *rt, struct svm__retry *st, uint64_t *pause_ns)
{
	uint64_t now = svm__now_ns(), pause;
	int shift = st->round < 20 ? st->round : 20;

	*pause_ns = 0;
	if (!st->deadline_ns)
		st->deadline_ns = now + (uint64_t)rt->cfg.retry_budget_us * 1000;
	if (st->round >= rt->cfg.retry_rounds || now >= st->deadline_ns)
		return false;
	pause = ((uint64_t)rt->cfg.retry_backoff_us << shift) * 1000;
	if (pause > (uint64_t)rt->cfg.retry_backoff_max_us * 1000)
		pause = (uint64_t)rt->cfg.retry_backoff_max_us * 1000;
	if (pause > st->deadline_ns - now)
		pause = st->deadline_ns - now;
	if (rt->cfg.retry_drain && rt->be->engine.drain)
		rt->be->engine.drain(rt);
	*pause_ns = pause;
	st->round++;
	return true;
}

void svm__retry_pause(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (ns && nanosleep(&ts, &ts) && errno == EINTR)
		;
}
