/* SPDX-License-Identifier: MIT */
/*
 * Policy: every decision about where a page goes. Backends report faults
 * here (policy/fault.h, the part of policy they see) and execute what
 * comes back through their ops table; the API layer calls the migration
 * engine below for prefetch, pin and fork.
 *
 * All functions are called with rt->lock held; svm__migrate (and so
 * the fault entry points) lets go of it for every move (the pages marked
 * in flight), while it waits for pages another migration has in flight,
 * and during a retry pause.
 */
#ifndef SVM_POLICY_H
#define SVM_POLICY_H

#include "fault.h"

/* svm__migrate flags */
#define SVM__MIG_POPULATE 0x1 /* never-touched pages are filled at dst too */
#define SVM__MIG_FAULT 0x2    /* skip pages whose advice keeps them in place */
#define SVM__MIG_NOWAIT 0x4   /* one pass, no retry rounds: never sleeps */
#define SVM__MIG_LOCKED 0x8   /* pauses keep rt->lock (fork's evacuation) */
#define SVM__MIG_EXPLICIT 0x10 /* the program asked (prefetch, pin): not thrashing */

/*
 * Moves pages [first, first + n) of r to dst, evicting least recently used
 * pages of dst (never pages of this request) to make room. Every page that
 * does not get there is counted in rep by class and keeps the class in
 * last_failure. BUSY pages are retried, bounded by cfg.retry_rounds.
 * Returns SVM_OK or SVM_PARTIAL.
 *
 * The moves, the waits for pages in flight elsewhere and the pauses
 * between retry rounds let go of rt->lock (the moves and pauses not with
 * SVM__MIG_LOCKED, whose caller has made sure nothing is in flight): the
 * caller must expect anything to have changed when it returns, except
 * that no page of [first, first + n) is in flight then. If r was freed
 * meanwhile it returns SVM_ERROR_INVALID_ARGUMENT and r (and its pages)
 * must not be touched again; rep then holds what was done before. With
 * SVM__MIG_NOWAIT there are no retry rounds, but the moves and waits
 * still let the lock go.
 */
svm_result_t svm__migrate(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			  int dst, unsigned flags, svm_migrate_report_t *rep);

/* Drops read duplicates and in-place working copies of [first, first+n). */
void svm__make_exclusive(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n);

/* Ends device dev's in-place working copies (at the end of its launches). */
void svm__remote_flush_device(struct svm__rt *rt, int dev);

/*
 * Launch coherence (policy/launch.c, SVM_COHERENCE=launch). Whether it
 * is on (and the backend has what it needs); svm__launch_begin before a
 * launch runs device code, svm__launch_end on its device after, before
 * svm__remote_flush_device.
 */
bool svm__launch_coherent(const struct svm__rt *rt);
void svm__launch_begin(struct svm__rt *rt);
void svm__launch_end(struct svm__rt *rt, int dev);
/*
 * While a window is open: write-protects the plain host pages of page
 * idx's 2 MiB chunk of r that are not yet (one call per run) and marks
 * them lprot, so that device faults may take them.
 */
void svm__launch_protect(struct svm__rt *rt, struct svm__range *r, size_t idx);
/*
 * The host wrote page idx of r, which a launch protected (lprot): lifts
 * the protection of the lprot plain host pages around it in its 2 MiB
 * chunk, in one call (a host thread filling other memory during a launch
 * faults once per chunk, not per page), and forgets their marks, so no
 * device takes them. False if idx was not lprot.
 */
bool svm__launch_host_wrote(struct svm__rt *rt, struct svm__range *r, size_t idx);

/* Room on device dev for pages nobody has yet: free, not held by moves in flight. */
size_t svm__dev_room(const struct svm__rt *rt, int dev);

/* Brings every page home (before fork()). */
void svm__evacuate_all(struct svm__rt *rt);

/*
 * Thrashing (policy/thrash.c). svm__thrash_note records a move of p
 * (thrash: it came within the window) and may put p on hold;
 * svm__thrash_held says whether p is on hold now (and ends a hold that ran
 * out, or renews it while the fight goes on); svm__thrash_touched records
 * that a side used the held pages among [first, first + n) of r (a device:
 * it reaches them on hold after a fault; SVM_HOST: a host fault on them);
 * svm__thrash_watch has the backend make
 * the host's next write to the held pages of [first, first + n) of r
 * fault, where nothing else would tell; svm__thrash_host_wrote, on such
 * a fault at page idx of r, lifts the watch of the pages around it too.
 */
void svm__thrash_record(struct svm__rt *rt, struct svm__page *p, bool thrash, int src, int dst);
static inline void svm__thrash_note(struct svm__rt *rt, struct svm__page *p, bool thrash, int src,
				    int dst)
{
	/* most moves: no fight going on, and nothing of an earlier one to forget */
	if (!thrash && !p->thrash && !p->rehold && !p->hold_level && !p->held_wrote)
		return;
	svm__thrash_record(rt, p, thrash, src, dst);
}
bool svm__thrash_held(struct svm__rt *rt, struct svm__page *p);
void svm__thrash_touched(struct svm__range *r, size_t first, size_t n, int who);
void svm__thrash_watch(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n);
void svm__thrash_host_wrote(struct svm__rt *rt, struct svm__range *r, size_t idx);

#endif
