/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: the ops table through which the API layer and
 * policy have a backend execute what they decided (the registry of the
 * backends that implement it is runtime/backends/backend.h). It lives in
 * core, beside the runtime object that holds the table, so that policy
 * reaches a backend only through it and never includes a backend's header.
 * A backend executes; it does not decide. Which page goes where,
 * when to duplicate, evict or serve in place is runtime/policy's business.
 * Every op is called with rt->lock held unless it says not. Backends
 * implement it (runtime/backends/<name>/) and report their faults to
 * policy/fault.h.
 *
 * The ops come in three groups: those every backend has; `engine`, the
 * primitives the runtime's migration engine drives; and `replace`, the ops
 * of a driver that allocates or migrates by itself, used instead of the
 * heap and the engine.
 */
#ifndef SVM_CORE_OPS_H
#define SVM_CORE_OPS_H

#include "rt.h"

struct svm__backend_ops {
	const char *name;

	/* ---- every backend ------------------------------------------------ */

	/* Can it run here? If not, `why` says what is missing. No lock. */
	bool (*probe)(const struct svm__config *cfg, char *why, size_t len);
	/*
	 * Brings up the devices (sets rt->ndev, rt->dev[].capacity and
	 * rt->dev[].view) and reserves the heap. No lock.
	 */
	svm_result_t (*init)(struct svm__rt *rt, uintptr_t *heap, size_t *heap_size);
	/* Tears everything down; every range is already gone. No lock. */
	void (*fini)(struct svm__rt *rt);
	svm_result_t (*device_props)(struct svm__rt *rt, int dev, svm_device_props_t *props);
	/* A range was carved from the heap / is about to go back to it. */
	svm_result_t (*range_map)(struct svm__rt *rt, struct svm__range *r);
	void (*range_unmap)(struct svm__rt *rt, struct svm__range *r);

	/*
	 * ---- engine: what the runtime's migration engine has executed -------
	 *
	 * A backend whose pages the runtime moves (user) sets these; policy
	 * (policy/migrate.c, policy/fault.c, policy/retry.c) decides and calls
	 * them. A backend without move() has no engine.
	 */
	struct {
		/*
		 * Moves n contiguous pages at addr, all owned by src
		 * (SVM__LOC_NONE: never touched, the destination gets zeros) to
		 * dst. Fills out[i] with SVM_FAILURE_NONE or the class of the
		 * failure; returns the number of pages moved. Called WITHOUT
		 * rt->lock (except during fork's evacuation, and always when
		 * the backend set rt->move_under_lock at init), the pages in
		 * flight (core/rt.h), possibly by several threads at once on
		 * different pages: it must not read or change page records,
		 * and it must wake the threads that wait on the destination as
		 * soon as the pages are installed there.
		 */
		size_t (*move)(struct svm__rt *rt, uintptr_t addr, size_t n, int src, int dst,
			       svm_failure_t *out);
		/* A read-only copy at dst of pages owned by owner; both read-only. */
		svm_result_t (*duplicate)(struct svm__rt *rt, uintptr_t addr, size_t n, int owner,
					  int dst);
		/* Drops the copies in drop_mask (svm__loc_bit); owner writable again. */
		svm_result_t (*collapse)(struct svm__rt *rt, uintptr_t addr, size_t n, int owner,
					 uint32_t drop_mask);
		/* Lets device dev reach host-owned pages without moving them. */
		svm_result_t (*remote_map)(struct svm__rt *rt, uintptr_t addr, size_t n, int dev);
		/*
		 * Ends that: device-side writes become visible on the host. A
		 * page whose bytes could not come home (out[i] != NONE) stays on
		 * the device, owned there. Returns the number that came home.
		 */
		size_t (*remote_unmap)(struct svm__rt *rt, uintptr_t addr, size_t n, int dev,
				       svm_failure_t *out);
		/* Optional: drain per-CPU LRU caches before a retry round. */
		void (*drain)(struct svm__rt *rt);
		/*
		 * Optional: write-protects n host-owned pages (no copies, not
		 * in place) so that the host's next write to them faults
		 * (svm__fault_cpu_wp lifts it with collapse): how policy learns
		 * that the host still writes a page held for thrashing.
		 */
		svm_result_t (*watch)(struct svm__rt *rt, uintptr_t addr, size_t n);
		/*
		 * Optional, both or neither: launch coherence (policy/launch.c):
		 * take() gives device dev working copies of n host pages that
		 * watch() protected when the launch began, as remote_map does,
		 * but without protecting them again (no TLB flush per fault);
		 * it fails, doing nothing, unless every page is present and
		 * still write-protected. commit() ends such copies when the
		 * launch is over: the device keeps its copy as the page and
		 * the host's goes; a page it must not drop (pinned) gets out[i]
		 * != NONE and stays in place, for remote_unmap to end. Returns
		 * the pages committed.
		 */
		svm_result_t (*take)(struct svm__rt *rt, uintptr_t addr, size_t n, int dev);
		size_t (*commit)(struct svm__rt *rt, uintptr_t addr, size_t n, int dev,
				 svm_failure_t *out);
		/*
		 * Optional: device dev is about to run device code (running)
		 * or has stopped. A backend that leaves a device's stale
		 * copies behind while it runs nothing (user: pages copied
		 * home, their device copies dropped later) drops them before
		 * it runs. Called with svm__launch_lock[dev] held, WITHOUT
		 * rt->lock.
		 */
		void (*device_running)(struct svm__rt *rt, int dev, bool running);
	} engine;

	/*
	 * ---- replace: a driver that does it by itself ----------------------
	 *
	 * A backend whose driver allocates (ze) or migrates (kshim, ze) sets
	 * these instead, and the API layer calls them in place of the heap and
	 * of the engine. All optional.
	 */
	struct {
		/*
		 * The driver allocates (ze): init reports a heap of size 0,
		 * alloc_range returns the driver's memory, free_range gives it
		 * back. The runtime still keeps a range and its page table for
		 * argument checks and attributes.
		 */
		svm_result_t (*alloc_range)(struct svm__rt *rt, size_t bytes, uintptr_t *addr);
		void (*free_range)(struct svm__rt *rt, struct svm__range *r);
		/*
		 * The driver migrates: prefetch replaces the engine's
		 * svm__migrate, advise adds to the runtime's record of advice,
		 * query answers svm_query.
		 */
		svm_result_t (*prefetch)(struct svm__rt *rt, struct svm__range *r, size_t first,
					 size_t n, int dst, svm_migrate_report_t *rep);
		svm_result_t (*advise)(struct svm__rt *rt, struct svm__range *r, size_t first,
				       size_t n, svm_advice_t advice, int location);
		svm_result_t (*query)(struct svm__rt *rt, struct svm__range *r, size_t first,
				      size_t n, svm_page_info_t *pages);
		/*
		 * A real pin of host pages in the driver (kshim); without it the
		 * pin is the runtime's record only. A backend with pin() but no
		 * engine.move brings the pages home itself before pinning them;
		 * with an engine, the engine does that first.
		 */
		svm_result_t (*pin)(struct svm__rt *rt, uintptr_t addr, size_t n);
		svm_result_t (*unpin)(struct svm__rt *rt, uintptr_t addr, size_t n);
		/*
		 * evacuate() brings every page home before fork() (without it
		 * the engine's svm__evacuate_all runs); sync() folds what the
		 * driver did on its own since the last call (faults, fault
		 * migrations) into the stats and page records and, when
		 * `resident` is set, recounts rt->dev[].resident. Called at
		 * svm_stats, svm_device_stats, every few ms during a launch and
		 * at its end, and before the profile is written.
		 */
		void (*evacuate)(struct svm__rt *rt);
		void (*sync)(struct svm__rt *rt, bool resident);
	} replace;
};

#endif
