/* SPDX-License-Identifier: MIT */
/*
 * Policy as a backend sees it: the one header of runtime/policy/ that a
 * backend includes. It holds the fault entry (a backend reports each fault
 * here and executes what policy decides through its ops), the records a
 * backend that migrates by itself keeps in policy's terms (moves, pinned
 * pages), and the retry rules a backend applies to its own driver calls
 * and hands to its driver (kshim). Everything else of policy
 * (policy/policy.h: the migration engine) is for the API layer.
 *
 * Called with rt->lock held.
 */
#ifndef SVM_POLICY_FAULT_H
#define SVM_POLICY_FAULT_H

#include "../mem/mem.h"
#include "../obs/stats.h"

/*
 * Fault entry points; addr is a heap address. `seen` is rt->seq from
 * before the backend read the fault: a page that changed since then was
 * already dealt with (its thread woken), so the fault is stale and left
 * alone; the backend wakes the thread anyway, and it faults again if it
 * still must. Each returns the device the fault is charged to, SVM_HOST
 * for none, or SVM__FAULT_NONE when it was stale or needed nothing.
 */
#define SVM__FAULT_NONE (-2) /* stale, or nothing to do */
/*
 * *moved_here (may be NULL) is set when the faulting page was not at the
 * faulting location when the fault was looked up (not in flight then)
 * and is owned there now: a move to there ran after the thread faulted,
 * and every engine move wakes the threads waiting at its destination
 * (core/ops.h), so the backend need not wake this thread again.
 */
/*
 * A CPU fault makes one attempt and never sleeps (the lock is held). When
 * the page is still away, *pending is set: the backend retries later,
 * outside the lock, with `again` set (not counted as a new fault), bounded
 * overall by cfg.fault_timeout_ms.
 */
int svm__fault_cpu(struct svm__rt *rt, uintptr_t addr, bool write, uint32_t seen, bool again,
		   bool *pending, bool *moved_here);
int svm__fault_cpu_wp(struct svm__rt *rt, uintptr_t addr, uint32_t seen);
/*
 * A fault at location loc that needed nothing (the page is there) while
 * the backend finds nothing mapped at loc's address for it: the program
 * dropped the page (MADV_DONTNEED; MADV_FREE and reclaim). Other copies of
 * it end (bytes a device changed in place come home). Returns true when
 * the backend must give the page zeros at loc, as the kernel gives a
 * dropped anonymous page, and false when the page is not loc's after all.
 */
bool svm__fault_dropped(struct svm__rt *rt, int loc, uintptr_t addr);
int svm__fault_device(struct svm__rt *rt, int dev, uintptr_t addr, bool write, uint32_t seen,
		      bool *moved_here);
int svm__fault_device_wp(struct svm__rt *rt, int dev, uintptr_t addr, uint32_t seen);

/*
 * The page's own record of a move src -> dst at now_us (µs since
 * svm_init): thrash detection, migration counts, last failure cleared.
 * `asked`: the program asked for this move (prefetch, pin), which counts
 * as a thrash event but never towards a thrashing hold. Where the page is
 * now is the caller's business.
 */
void svm__note_migration(struct svm__rt *rt, struct svm__page *p, int src, int dst,
			 uint32_t now_us, bool asked);

/* Remembers that a move found p pinned; false if it was known already. */
bool svm__pinned_mark(struct svm__range *r, struct svm__page *p);
/* Forgets that pages were found pinned (svm_unpin, or a page moved). */
void svm__pinned_clear(struct svm__range *r, size_t first, size_t n);
/*
 * A range with no pinned page before a migration has some now: a trace
 * instant, and a log line once per range (again after svm_unpin).
 */
void svm__pinned_report(struct svm__range *r, size_t pinned_before, int dst);

/*
 * The retry policy. For each failure class, whether a page is offered
 * again; between rounds, an exponential pause and an LRU drain; over all,
 * a bound in rounds and in time. docs/retry-policy.md has the table.
 */
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
 * svm__retry_pause, without rt->lock where it can let go of it.
 */
bool svm__retry_next_round(struct svm__rt *rt, struct svm__retry *st, uint64_t *pause_ns);
/* Sleeps ns nanoseconds (a signal does not cut it short). */
void svm__retry_pause(uint64_t ns);

#endif
