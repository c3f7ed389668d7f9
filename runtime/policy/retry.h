/* SPDX-License-Identifier: MIT */
/*
 * The retry policy. For each failure class, whether a page is offered
 * again; between rounds, an exponential pause and an LRU drain; over all,
 * a bound in rounds and in time. docs/retry-policy.md has the table.
 */
#ifndef SVM_POLICY_RETRY_H
#define SVM_POLICY_RETRY_H

#include "../core/rt.h"

/*
 * The time budget covers the retries, not the first attempt: its clock
 * starts when the first retry round is asked for (deadline_ns, 0 before).
 */
struct svm__retry {
	uint64_t deadline_ns;
	int round; /* rounds done so far */
};

void svm__retry_start(struct svm__retry *st);
/* May a page that failed with class f be tried in another round? */
bool svm__retry_class(const struct svm__rt *rt, svm_failure_t f);
/*
 * Before another round: false when the rounds or the time budget are
 * spent. Otherwise, if configured, asks the backend to drain LRU caches,
 * and sets *pause_ns to the pause to take before the round (it never runs
 * past the deadline; it may be 0). The caller pauses with
 * svm__retry_pause, without svm__rt.lock where it can let go of it.
 */
bool svm__retry_next_round(struct svm__rt *rt, struct svm__retry *st, uint64_t *pause_ns);
/* Sleeps ns nanoseconds (a signal does not cut it short). */
void svm__retry_pause(uint64_t ns);

#endif
