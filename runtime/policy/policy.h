/* SPDX-License-Identifier: MIT */
/*
 * Policy: every decision about where a page goes. Backends report faults
 * here and execute what comes back through their ops table; the API layer
 * calls the migration engine for prefetch, pin and fork.
 *
 * All functions are called with svm__rt.lock held; svm__migrate (and so
 * the fault entry points) may let go of it during a retry pause.
 */
#ifndef SVM_POLICY_H
#define SVM_POLICY_H

#include "../mem/mem.h"

/* svm__migrate flags */
#define SVM__MIG_POPULATE 0x1 /* never-touched pages are filled at dst too */
#define SVM__MIG_FAULT 0x2    /* skip pages whose advice keeps them in place */
#define SVM__MIG_NOWAIT 0x4   /* one pass, no retry rounds: never sleeps */
#define SVM__MIG_LOCKED 0x8   /* pauses keep rt->lock (fork's evacuation) */

/*
 * Moves pages [first, first + n) of r to dst, evicting least recently used
 * pages of dst (never pages of this request) to make room. Every page that
 * does not get there is counted in rep by class and keeps the class in
 * last_failure. BUSY pages are retried, bounded by cfg.retry_rounds.
 * Returns SVM_OK or SVM_PARTIAL.
 *
 * The pauses between retry rounds let go of rt->lock (unless
 * SVM__MIG_LOCKED): the caller must expect anything to have changed when
 * it returns. If r was freed meanwhile it returns SVM_ERROR_INVALID_ARGUMENT
 * and r (and its pages) must not be touched again; rep then holds what was
 * done before.
 */
svm_result_t svm__migrate(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			  int dst, unsigned flags, svm_migrate_report_t *rep);

/* Remembers that a move found p pinned; false if it was known already. */
bool svm__pinned_mark(struct svm__range *r, struct svm__page *p);
/* Forgets that pages were found pinned (svm_unpin, or a page moved). */
void svm__pinned_clear(struct svm__range *r, size_t first, size_t n);
/*
 * A range with no pinned page before a migration has some now: a trace
 * instant, and a log line once per range (again after svm_unpin).
 */
void svm__pinned_report(struct svm__range *r, size_t pinned_before, int dst);

/* Drops read duplicates and in-place working copies of [first, first+n). */
void svm__make_exclusive(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n);

/* Ends device dev's in-place working copies (at the end of its launches). */
void svm__remote_flush_device(struct svm__rt *rt, int dev);

/* Brings every page home (before fork()). */
void svm__evacuate_all(struct svm__rt *rt);

/*
 * Fault entry points; addr is a heap address. `seen` is svm__rt.seq from
 * before the backend read the fault: a page that changed since then was
 * already dealt with (its thread woken), so the fault is stale and left
 * alone; the backend wakes the thread anyway, and it faults again if it
 * still must. Each returns the device the fault is charged to, SVM_HOST
 * for none, or SVM__FAULT_NONE when it was stale or needed nothing.
 */
#define SVM__FAULT_NONE (-2) /* stale, or nothing to do */
/*
 * A CPU fault makes one attempt and never sleeps (the lock is held). When
 * the page is still away, *pending is set: the backend retries later,
 * outside the lock, with `again` set (not counted as a new fault), bounded
 * overall by cfg.fault_timeout_ms.
 */
int svm__fault_cpu(struct svm__rt *rt, uintptr_t addr, bool write, uint32_t seen, bool again,
		   bool *pending);
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
int svm__fault_device(struct svm__rt *rt, int dev, uintptr_t addr, bool write, uint32_t seen);
int svm__fault_device_wp(struct svm__rt *rt, int dev, uintptr_t addr, uint32_t seen);

/* Statistics, kept here so that every path counts the same way. */
#define SVM__STAT(rt, devno, field, v)                          \
	do {                                                    \
		(rt)->stats.field += (v);                       \
		if ((devno) >= 0)                               \
			(rt)->dev[(devno)].stats.field += (v);  \
	} while (0)

/*
 * n pages moved to a device (to_device) or home, charged to device dev
 * (the destination, or the device they left; -1: totals only).
 */
static inline void svm__stat_moved(struct svm__rt *rt, int dev, bool to_device, uint64_t n)
{
	if (to_device) {
		SVM__STAT(rt, dev, pages_to_device, n);
		SVM__STAT(rt, dev, bytes_to_device, n * SVM__PAGE_SIZE);
	} else {
		SVM__STAT(rt, dev, pages_to_host, n);
		SVM__STAT(rt, dev, bytes_to_host, n * SVM__PAGE_SIZE);
	}
}

/*
 * The page's own record of a move src -> dst at now_us (µs since
 * svm_init): thrash detection, migration counts, last failure cleared.
 * Where it is now is the caller's business.
 */
void svm__note_migration(struct svm__rt *rt, struct svm__page *p, int src, int dst,
			 uint32_t now_us);

#endif
