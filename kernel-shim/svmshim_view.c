// SPDX-License-Identifier: GPL-2.0
/*
 * svmshim_view.c - device views and device faults.
 *
 * A view is the device's page table made visible to the worker threads
 * that play the device: an mmap of the render node that mirrors a range of
 * the same process (the runtime's heap). Its PTEs are PFN mappings of the
 * memory behind each heap page: the backing page of a device page, or the
 * host page itself when the page is served in place. A touch of a view
 * page with no PTE is a device fault; svm_view_fault() resolves it.
 *
 * Coherence: heap_mni (an mmu_interval_notifier on the mirrored range)
 * clears the view's PTEs for every change of the process's page tables
 * there, before that change happens, and flushes the TLBs of the CPUs
 * that may cache the process's translations. PTEs are only
 * installed under view->lock after checking heap_mni's sequence, the
 * usual mirror pattern, so a PTE can never point at a page the process no
 * longer has at that address. The invalidation callback cannot use the
 * core's zap helpers (they would start a nested invalidation); it clears
 * PTEs with apply_to_existing_page_range(), which only walks page tables
 * that exist. view_mni watches the view's own range: it clears the PTEs
 * itself before any change there (keeping their dirty bits), and marks
 * the view dead before its page tables may be freed or moved (munmap,
 * exit, mremap), after which no callback walks them.
 *
 * Secondary MMUs of the view (KVM, SVA, other notifiers on the view range)
 * are told of every clear by a drain outside any invalidation: each view
 * PTE holds a reference on the page it maps (svm_view.maps), a clear
 * leaves it pending, and svm_view_drain() runs zap_vma_ptes() over the
 * view range before it lets the references go.
 *
 * Lock order: mmap_lock -> view->drain_lock -> (page locks, rmap locks of
 * the invalidator) -> view->lock -> view PTE lock -> the xarray's lock;
 * shim->inflight_lock alone. Nothing under view->lock allocates: the
 * view's page tables and its entries' slots are made before it is taken.
 */
#include <linux/hmm.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_file.h>

#include "svmshim_priv.h"

#define SVM_VIEW_DEV_SHIFT	56
#define SVM_VIEW_MAP_TRIES	8

/* Marks of svm_view.maps (see svmshim_priv.h). */
#define SVM_VMAP_PENDING	XA_MARK_0
#define SVM_VMAP_BATCH		XA_MARK_1
#define SVM_VMAP_DBG		XA_MARK_2
#define SVM_VMAP_DEV		1UL	/* pointer tag: our device page */

#define SVM_DRAIN_BATCH		512	/* entries told per zap of a drain */
#define SVM_DRAIN_ROUNDS	64	/* zaps per drain; the worker does the rest */
#define SVM_DRAIN_NOW		256	/* pending entries that a fault drains */
#define SVM_DRAIN_DELAY		(HZ / 100)	/* the worker, below that */
#define SVM_INFLIGHT_WAIT_MS	200	/* > a fault's whole budget */

static const struct vm_operations_struct svm_view_vm_ops;
static void svm_view_release(struct kref *ref);

/*
 * Test only (kshim test view_secondary_mmu): with debug_view_mmu set, each
 * new view gets a third interval notifier on its own range that plays a
 * secondary MMU: it "translates" every view PTE installed (SVM_VMAP_DBG)
 * and forgets what an invalidation of the view range covers. A reference
 * let go while the mirror still holds it, or a page found freed by the
 * mirror, is counted as stale. 2: drains also skip telling anyone (a
 * broken drain, to prove the check sees it).
 */
static unsigned int svm_debug_view_mmu;
module_param_named(debug_view_mmu, svm_debug_view_mmu, uint, 0644);
MODULE_PARM_DESC(debug_view_mmu, "test only: 1 = new views get a checking secondary-MMU mirror (debug_view_stats); 2 = and drains skip the notification (a deliberately broken drain)");

static atomic_long_t svm_dbg_tracked, svm_dbg_notified, svm_dbg_stale;
static atomic_long_t svm_stat_released, svm_stat_fault_waits;

static int svm_view_stats_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "tracked %ld notified %ld stale %ld released %ld fault_waits %ld\n",
		       atomic_long_read(&svm_dbg_tracked),
		       atomic_long_read(&svm_dbg_notified),
		       atomic_long_read(&svm_dbg_stale),
		       atomic_long_read(&svm_stat_released),
		       atomic_long_read(&svm_stat_fault_waits));
}

static const struct kernel_param_ops svm_view_stats_ops = {
	.get = svm_view_stats_get,
};
module_param_cb(debug_view_stats, &svm_view_stats_ops, NULL, 0444);
MODULE_PARM_DESC(debug_view_stats, "view references: mirror entries held, notified, stale (must stay 0); references released; device faults that waited for a granule in flight");

/* ---- what the view PTEs hold ---------------------------------------------- */

static inline unsigned long svm_vidx(struct svm_view *v, unsigned long haddr)
{
	return (haddr - v->heap_start) >> PAGE_SHIFT;
}

/* The PTE of entry @idx was cleared: its secondary MMUs are to be told. */
static void svm_vmap_pend(struct svm_view *v, unsigned long idx, bool batch)
{
	if (!xa_load(&v->maps, idx))
		return;
	if (!xa_get_mark(&v->maps, idx, SVM_VMAP_PENDING)) {
		xa_set_mark(&v->maps, idx, SVM_VMAP_PENDING);
		v->nr_pending++;
	}
	if (batch)
		xa_set_mark(&v->maps, idx, SVM_VMAP_BATCH);
}

/*
 * Let entry @idx go: its PTE is clear and every secondary MMU of the view
 * was told (or the PTE never existed). v->lock held; the page is put here
 * (nothing can reach our notifiers from there).
 */
static void svm_vmap_drop(struct svm_view *v, unsigned long idx)
{
	void *e = xa_load(&v->maps, idx);
	struct page *page;

	if (!e)
		return;
	xa_lock(&v->maps);
	if (xa_get_mark(&v->maps, idx, SVM_VMAP_DBG)) {
		__xa_clear_mark(&v->maps, idx, SVM_VMAP_DBG);
		atomic_long_dec(&svm_dbg_tracked);
		atomic_long_inc(&svm_dbg_stale);
	}
	if (xa_get_mark(&v->maps, idx, SVM_VMAP_PENDING))
		v->nr_pending--;
	__xa_erase(&v->maps, idx);
	xa_unlock(&v->maps);
	page = xa_untag_pointer(e);
	if (xa_pointer_tag(e) != SVM_VMAP_DEV)
		v->nr_host--;
	put_page(page);
	atomic_long_inc(&svm_stat_released);
}

static void svm_view_kick(struct svm_view *v, unsigned long pending)
{
	if (pending)
		queue_delayed_work(system_wq, &v->drain_work,
				   pending >= SVM_DRAIN_NOW ? 0 : SVM_DRAIN_DELAY);
}

/* ---- view page tables ----------------------------------------------------- */

struct svm_zap {
	struct svm_view *v;
	bool cleared;
	bool batch;		/* the invalidation is our own drain's */
	bool host_only;		/* leave PTEs on our device pages alone */
};

/*
 * A view PTE that the device wrote through was dirty: the page it maps is
 * dirty. Host pages served in place (anonymous or file pages) get the
 * mark the core's unmap would give them (a clean swap-cache or MADV_FREE
 * page is otherwise dropped with the device's writes). The page is still
 * mapped in the heap here (a view PTE never outlives the heap's), so it
 * and its mapping are alive. Our own backing pages need nothing: a device
 * page that may be written is marked dirty when it is filled.
 */
static void svm_zap_dirty(pte_t old)
{
	struct folio *folio;

	if (!pte_dirty(old) || !pfn_valid(pte_pfn(old)))
		return;
	folio = page_folio(pfn_to_page(pte_pfn(old)));
	if (folio_test_anon(folio) || folio->mapping)
		folio_mark_dirty(folio);
}

static int svm_zap_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct svm_zap *z = data;
	struct svm_view *v = z->v;
	pte_t old;

	if (z->host_only &&
	    (pte_none(ptep_get(pte)) ||
	     xa_pointer_tag(xa_load(&v->maps, (addr - v->vstart) >>
				    PAGE_SHIFT)) == SVM_VMAP_DEV))
		return 0;
	old = ptep_get_and_clear(v->mm, addr, pte);
	if (pte_none(old))
		return 0;
	svm_zap_dirty(old);
	z->cleared = true;
	/* The page stays referenced until the view's secondary MMUs know. */
	svm_vmap_pend(v, (addr - v->vstart) >> PAGE_SHIFT, z->batch);
	return 0;
}

/*
 * Clear the view PTEs of heap range [start, end); v->lock held, the view
 * not dead. Safe inside an invalidation: walks only existing page tables,
 * starts no invalidation, allocates nothing. The entries cleared become
 * PENDING: a drain tells the view's secondary MMUs and lets them go.
 */
static void svm_view_zap(struct svm_view *v, unsigned long start,
			 unsigned long end, bool batch)
{
	struct svm_zap z = { .v = v, .batch = batch };

	start = max(start, v->lo);
	end = min(end, v->hi);
	if (start >= end)
		return;
	apply_to_existing_page_range(v->mm, v->vstart + (start - v->heap_start),
				     end - start, svm_zap_pte, &z);
	if (z.cleared)
		svmshim_flush_mm_tlb(v->mm);
	if (start <= v->lo && end >= v->hi) {
		v->lo = ULONG_MAX;
		v->hi = 0;
	}
}

static bool svm_view_lock(struct svm_view *v,
			  const struct mmu_notifier_range *range)
{
	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&v->lock);
		return true;
	}
	return mutex_trylock(&v->lock);
}

static bool svm_heap_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct svm_view *v = container_of(mni, struct svm_view, heap_mni);
	unsigned long pending = 0;

	if (!svm_view_lock(v, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!v->dead) {
		svm_view_zap(v, range->start, range->end, false);
		pending = v->nr_pending;
	}
	mutex_unlock(&v->lock);
	svm_view_kick(v, pending);
	return true;
}

static const struct mmu_interval_notifier_ops svm_heap_ops = {
	.invalidate = svm_heap_invalidate,
};

/*
 * The view's own range changes (munmap, exit, mremap, mprotect,
 * MADV_DONTNEED of the view...). Its PTEs are cleared here, by us, before
 * the core touches them: the core would drop their dirty bits (they are
 * special PTEs), and a move would carry them to where no invalidation
 * looks. When the page tables themselves may go (UNMAP: munmap, or the
 * page table move of mremap; RELEASE: exit) the view is dead from now on:
 * nothing walks its page tables any more. A refused mremap brings the
 * page tables back, empty; svm_view_close() of the copy revives the view.
 */
static bool svm_vrange_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct svm_view *v = container_of(mni, struct svm_view, view_mni);
	unsigned long start = max(range->start, v->vstart);
	unsigned long end = min(range->end,
				v->vstart + (v->heap_end - v->heap_start));
	/*
	 * Our own drain's zap (same task): what it clears here is told by
	 * that very invalidation, so it joins the drain's batch.
	 */
	bool ours = READ_ONCE(v->drainer) == current;
	unsigned long pending = 0;

	if (!svm_view_lock(v, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!v->dead && start < end)
		svm_view_zap(v, v->heap_start + (start - v->vstart),
			     v->heap_start + (end - v->vstart), ours);
	/*
	 * Dead: the page tables go (munmap, exit) or move (mremap) with this
	 * invalidation of the whole view, which tells every secondary MMU;
	 * what is pending is let go when the view is released, after it.
	 */
	if (range->event == MMU_NOTIFY_UNMAP ||
	    range->event == MMU_NOTIFY_RELEASE)
		v->dead = true;
	else if (!ours)
		pending = v->nr_pending;
	mutex_unlock(&v->lock);
	svm_view_kick(v, pending);
	return true;
}

static const struct mmu_interval_notifier_ops svm_vrange_ops = {
	.invalidate = svm_vrange_invalidate,
};

/*
 * The test-only mirror (debug_view_mmu): an invalidation of the view range
 * makes it forget what it translated there; it checks that what it held
 * is still allocated (the view's reference kept it so).
 */
static bool svm_dbg_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct svm_view *v = container_of(mni, struct svm_view, dbg_mni);
	unsigned long vend = v->vstart + (v->heap_end - v->heap_start);
	unsigned long start = max(range->start, v->vstart);
	unsigned long end = min(range->end, vend);
	unsigned long idx, last;
	void *e;

	mmu_interval_set_seq(mni, cur_seq);
	if (start >= end)
		return true;
	idx = (start - v->vstart) >> PAGE_SHIFT;
	last = (end - 1 - v->vstart) >> PAGE_SHIFT;
	for (e = xa_find(&v->maps, &idx, last, SVM_VMAP_DBG); e;
	     e = xa_find_after(&v->maps, &idx, last, SVM_VMAP_DBG)) {
		xa_lock(&v->maps);
		if (xa_get_mark(&v->maps, idx, SVM_VMAP_DBG)) {
			__xa_clear_mark(&v->maps, idx, SVM_VMAP_DBG);
			atomic_long_dec(&svm_dbg_tracked);
			atomic_long_inc(&svm_dbg_notified);
			if (!page_ref_count((struct page *)xa_untag_pointer(e)))
				atomic_long_inc(&svm_dbg_stale);
		}
		xa_unlock(&v->maps);
	}
	return true;
}

static const struct mmu_interval_notifier_ops svm_dbg_ops = {
	.invalidate = svm_dbg_invalidate,
};

/* The view's VMA in its mm (mmap_lock held), or NULL when it is gone. */
static struct vm_area_struct *svm_view_vma(struct svm_view *v)
{
	struct vm_area_struct *vma = vma_lookup(v->mm, v->vstart);

	return vma && vma->vm_ops == &svm_view_vm_ops &&
	       vma->vm_private_data == v ? vma : NULL;
}

/*
 * Tell the view's secondary MMUs about the PTEs cleared so far, then let
 * their pages go. Runs in no invalidation, with v->mm's mmap_lock held
 * (read) and v->lock not held; @vma is the view's VMA (NULL: gone). The
 * telling is zap_vma_ptes() on the span of a batch: the core's own
 * MMU_NOTIFY_CLEAR invalidation of the view range (every secondary MMU
 * drops its translations there; its TLB flush reaches only the mm's CPUs)
 * over PTEs that are clear already (svm_vrange_invalidate() clears any
 * left in the span first and adds them to the batch). No PTE is
 * installed while the zap runs (draining), so none escapes it.
 */
static void svm_view_drain(struct svm_view *v, struct vm_area_struct *vma)
{
	unsigned long idx, first, last, k, round;
	void *e;

	mutex_lock(&v->drain_lock);
	for (round = 0; round < SVM_DRAIN_ROUNDS; round++) {
		mutex_lock(&v->lock);
		if (!v->nr_pending) {
			mutex_unlock(&v->lock);
			break;
		}
		if (v->dead) {
			/*
			 * With mmap_lock held, the UNMAP invalidation that
			 * killed the view (the whole view range) is complete:
			 * everyone was told.
			 */
			xa_for_each_marked(&v->maps, idx, e, SVM_VMAP_PENDING)
				svm_vmap_drop(v, idx);
			mutex_unlock(&v->lock);
			break;
		}
		if (!vma) {
			mutex_unlock(&v->lock);
			break;
		}
		first = ULONG_MAX;
		last = 0;
		k = 0;
		xa_for_each_marked(&v->maps, idx, e, SVM_VMAP_PENDING) {
			xa_set_mark(&v->maps, idx, SVM_VMAP_BATCH);
			first = min(first, idx);
			last = idx;
			if (++k == SVM_DRAIN_BATCH)
				break;
		}
		v->draining++;
		WRITE_ONCE(v->drainer, current);
		mutex_unlock(&v->lock);

		if (READ_ONCE(svm_debug_view_mmu) != 2)
			zap_vma_ptes(vma, v->vstart + (first << PAGE_SHIFT),
				     (last - first + 1) << PAGE_SHIFT);

		mutex_lock(&v->lock);
		WRITE_ONCE(v->drainer, NULL);
		v->draining--;
		xa_for_each_marked(&v->maps, idx, e, SVM_VMAP_BATCH)
			svm_vmap_drop(v, idx);
		mutex_unlock(&v->lock);
		cond_resched();
	}
	mutex_unlock(&v->drain_lock);
}

/*
 * The per-view drain worker (kicked by the invalidation callbacks, which
 * cannot drain: that would nest an invalidation in theirs). It only
 * trylocks mmap_lock: the view's release waits for it with the lock held
 * for write (munmap); an exiting mm is left to the release.
 */
static void svm_view_drain_work(struct work_struct *work)
{
	struct svm_view *v = container_of(to_delayed_work(work),
					  struct svm_view, drain_work);

	if (!mmget_not_zero(v->mm))
		return;
	if (mmap_read_trylock(v->mm)) {
		svm_view_drain(v, svm_view_vma(v));
		mmap_read_unlock(v->mm);
	} else {
		queue_delayed_work(system_wq, &v->drain_work, SVM_DRAIN_DELAY);
	}
	mmput_async(v->mm);
}

/*
 * Host pages the view maps in [start, end) of the heap: clear their PTEs
 * and drain, so that a migration of them (our MIGRATE, a device fault)
 * does not find them held by the view's reference. v->mm's mmap_lock
 * held, v->lock not.
 */
static void svm_view_release_host(struct svm_view *v,
				  struct vm_area_struct *vma,
				  unsigned long start, unsigned long end)
{
	struct svm_zap z = { .v = v, .host_only = true };

	mutex_lock(&v->lock);
	start = max3(start, v->heap_start, v->lo);
	end = min3(end, v->heap_end, v->hi);
	if (!v->dead && start < end && v->nr_host) {
		/* One walk of the view's page tables over the range. */
		apply_to_existing_page_range(v->mm,
				v->vstart + (start - v->heap_start),
				end - start, svm_zap_pte, &z);
		if (z.cleared)
			svmshim_flush_mm_tlb(v->mm);
	}
	mutex_unlock(&v->lock);
	if (z.cleared)
		svm_view_drain(v, vma);
}

/*
 * The views of @sf in @mm (the caller's): drain what they hold pending,
 * and with @to_device first let go of the host pages they map in heap
 * [start, end). @locked: the caller holds mmap_lock (a device fault).
 */
static void svm_views_prepare(struct svm_file *sf, struct mm_struct *mm,
			      unsigned long start, unsigned long end,
			      bool to_device, bool locked)
{
	struct vm_area_struct *vma;
	struct svm_view *v;
	unsigned int d;

	for (d = 0; d < SVMSHIM_MAX_DEVICES && mm; d++) {
		mutex_lock(&sf->lock);
		v = sf->views[d];
		if (v && (v->mm != mm || !kref_get_unless_zero(&v->ref)))
			v = NULL;
		mutex_unlock(&sf->lock);
		if (!v)
			continue;
		if ((READ_ONCE(v->nr_pending) ||
		     (to_device && READ_ONCE(v->nr_host))) &&
		    (locked || !mmap_read_lock_killable(mm))) {
			vma = svm_view_vma(v);
			if (to_device)
				svm_view_release_host(v, vma, start, end);
			if (READ_ONCE(v->nr_pending))
				svm_view_drain(v, vma);
			if (!locked)
				mmap_read_unlock(mm);
		}
		/* Never the last one when @locked: no VMA closes meanwhile. */
		kref_put(&v->ref, svm_view_release);
	}
}

/*
 * MIGRATE, SNAPSHOT, INFO of [start, end) by the process of this file's
 * views: drain what they hold pending (so that their references never
 * make a MIGRATE report pages BUSY for long), and before a move to a
 * device let go of the host pages they map in the range.
 */
void svm_views_drain(struct svm_file *sf, unsigned long start,
		     unsigned long end, bool to_device)
{
	svm_views_prepare(sf, current->mm, start, end, to_device, false);
}

/*
 * New attributes for [start, end): drop what this file's views map there,
 * so the next access is decided under them. (SET_ATTR may come from
 * another process sharing the file: the walk needs no mmap_lock, as in the
 * invalidation callback.)
 */
void svm_views_zap(struct svm_file *sf, unsigned long start,
		   unsigned long end)
{
	unsigned int d;

	mutex_lock(&sf->lock);
	for (d = 0; d < SVMSHIM_MAX_DEVICES; d++) {
		struct svm_view *v = sf->views[d];
		unsigned long pending = 0;

		if (!v)
			continue;
		mutex_lock(&v->lock);
		if (!v->dead) {
			svm_view_zap(v, start, end, false);
			pending = v->nr_pending;
		}
		mutex_unlock(&v->lock);
		svm_view_kick(v, pending);	/* the worker tells */
	}
	mutex_unlock(&sf->lock);
}

/* ---- device faults ------------------------------------------------------ */

static int svm_prealloc_pte(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/* The memory behind a heap pfn from hmm_range_fault(), and where it is. */
static struct page *svm_view_target(struct svmshim *shim, unsigned long hpfn,
				    int *where)
{
	struct page *page;

	*where = svm_page_location(shim, hpfn, &page);
	return *where >= 0 ? svm_page_backing(page) : page;
}

/*
 * A batch of view PTEs (svm_view_insert_batch()): per page of [gs, ge),
 * written over its hmm pfn, the pfn of the page to map and how, or 0.
 */
#define SVM_ENT_RO	1UL	/* map it read-only */
#define SVM_ENT_DEV	2UL	/* our device page's backing (entry tag) */
#define SVM_ENT_PLAIN	4UL	/* write-back RAM: the batch walk may set it */
#define SVM_ENT_SET	8UL	/* its PTE is set */
#define SVM_ENT_SHIFT	4

struct svm_fill {
	unsigned long *ents;
	unsigned long vbase;	/* view address of ents[0] */
	struct mm_struct *mm;
	pgprot_t prot, prot_ro;
};

/*
 * Plain RAM whose cache mode is write-back by construction: our backing
 * pages and the host's anonymous and page-cache pages. Only those are set
 * by the batch walk, which skips the PAT lookup of vmf_insert_pfn_prot();
 * anything else (another driver's page) goes that way, one by one.
 */
static bool svm_ent_plain(struct page *page, int where)
{
	struct folio *folio;

	if (where >= 0)
		return true;
	folio = page_folio(page);
	return folio_test_anon(folio) || folio_mapping(folio);
}

/*
 * apply_to_page_range() callback, under the PTE lock of the table: set the
 * PTE of each plain entry of the batch, as vmf_insert_pfn_prot() would (a
 * special PFN PTE). A PTE already there cannot be (its entry would be
 * there too); it is left alone, and its new entry dropped by the caller.
 */
static int svm_fill_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct svm_fill *f = data;
	unsigned long *e = &f->ents[(addr - f->vbase) >> PAGE_SHIFT];

	if (!(*e & SVM_ENT_PLAIN) || (*e & SVM_ENT_SET) ||
	    !pte_none(ptep_get(pte)))
		return 0;
	set_pte_at(f->mm, addr, pte,
		   pte_mkspecial(pfn_pte(*e >> SVM_ENT_SHIFT,
					 *e & SVM_ENT_RO ? f->prot_ro :
					 f->prot)));
	*e |= SVM_ENT_SET;
	return 0;
}

/*
 * Map pages of heap [gs, gs + @n pages) into the view, from their hmm
 * pfns @pfns (overwritten): page @me (if < @n), and of the others those on
 * this device, and host pages too if @host_around. Each PTE holds a
 * reference recorded in v->maps. The entries are stored and referenced in
 * one hold of the xarray's lock, then the PTEs set in one walk of the
 * view's page tables (one PTE lock per table, no PAT lookup: plain RAM).
 * v->lock held, page tables present, slots reserved: nothing allocates.
 * Returns for page @me: 0 (mapped, or @me == @n), -EEXIST (mapped
 * already), -EAGAIN (its slot waits for a drain, or a drain runs: the
 * access faults again), -EFAULT (cannot be mapped).
 */
static int svm_view_insert_batch(struct svm_view *v,
				 struct vm_area_struct *vma, unsigned long gs,
				 unsigned long *pfns, unsigned long n,
				 unsigned long me, bool ro, bool host_around)
{
	unsigned long idx0 = svm_vidx(v, gs);
	struct svm_fill f = {
		.ents = pfns,
		.vbase = v->vstart + (gs - v->heap_start),
		.mm = vma->vm_mm,
		.prot = vm_get_page_prot(vma->vm_flags),
		.prot_ro = vm_get_page_prot(vma->vm_flags & ~VM_WRITE),
	};
	unsigned long i, first = n, last = 0, e;
	XA_STATE(xas, &v->maps, idx0);
	struct page *page;
	int ret = 0, at;

	if (v->draining)
		return me < n ? -EAGAIN : 0;

	/* What to map: the pfn of the memory behind each page, and how. */
	for (i = 0; i < n; i++) {
		e = 0;
		if (pfns[i] & HMM_PFN_VALID) {
			page = svm_view_target(v->sf->shim, pfns[i], &at);
			if (i == me || at == (int)v->sdev->index ||
			    (host_around && at == SVMSHIM_LOC_HOST)) {
				e = page_to_pfn(page) << SVM_ENT_SHIFT;
				if (ro || !(pfns[i] & HMM_PFN_WRITE))
					e |= SVM_ENT_RO;
				if (at >= 0)
					e |= SVM_ENT_DEV;
				if (svm_ent_plain(page, at))
					e |= SVM_ENT_PLAIN;
			}
		}
		pfns[i] = e;
	}

	/* Their entries and references, in one hold of the xarray's lock. */
	xas_lock(&xas);
	for (i = 0; i < n; i++) {
		void *old;

		/* One step of the walk per index; a new walk after an error. */
		if (i && !xas_error(&xas)) {
			old = xas_next(&xas);
		} else {
			xas_set(&xas, idx0 + i);
			old = xas_load(&xas);
		}
		if (!pfns[i])
			continue;
		if (old && old != XA_ZERO_ENTRY) {	/* mapped, or pending */
			if (i == me)
				ret = xas_get_mark(&xas, SVM_VMAP_PENDING) ?
				      -EAGAIN : -EEXIST;
			pfns[i] = 0;
			continue;
		}
		page = pfn_to_page(pfns[i] >> SVM_ENT_SHIFT);
		xas_store(&xas, pfns[i] & SVM_ENT_DEV ?
			  xa_tag_pointer(page, SVM_VMAP_DEV) : page);
		if (xas_error(&xas)) {	/* cannot happen: the slot is reserved */
			if (i == me)
				ret = -EFAULT;
			pfns[i] = 0;
			continue;
		}
		get_page(page);
		if (!(pfns[i] & SVM_ENT_DEV))
			v->nr_host++;
		first = min(first, i);
		last = i;
	}
	xas_unlock(&xas);
	if (first > last)
		return ret;

	/* The PTEs: one walk (one PTE lock per table) for the plain pages. */
	if (f.vbase + (first << PAGE_SHIFT) >= vma->vm_start &&
	    f.vbase + ((last + 1) << PAGE_SHIFT) <= vma->vm_end)
		apply_to_page_range(vma->vm_mm,
				    f.vbase + (first << PAGE_SHIFT),
				    (last + 1 - first) << PAGE_SHIFT,
				    svm_fill_pte, &f);
	for (i = first; i <= last; i++) {
		unsigned long vaddr = f.vbase + (i << PAGE_SHIFT);

		e = pfns[i];
		if (!e)
			continue;
		if (!(e & SVM_ENT_SET) && !(e & SVM_ENT_PLAIN) &&
		    vmf_insert_pfn_prot(vma, vaddr, e >> SVM_ENT_SHIFT,
					e & SVM_ENT_RO ? f.prot_ro : f.prot) ==
		    VM_FAULT_NOPAGE)
			e |= SVM_ENT_SET;
		if (!(e & SVM_ENT_SET)) {
			svm_vmap_drop(v, idx0 + i);	/* never mapped */
			if (i == me)
				ret = -EFAULT;
			continue;
		}
		if (v->dbg) {
			xa_set_mark(&v->maps, idx0 + i, SVM_VMAP_DBG);
			atomic_long_inc(&svm_dbg_tracked);
		}
	}
	v->lo = min(v->lo, gs + (first << PAGE_SHIFT));
	v->hi = max(v->hi, gs + ((last + 1) << PAGE_SHIFT));
	return ret;
}

/*
 * Slots for the entries of heap [gs, ge), taken before v->lock: what
 * xa_reserve() does per index, in one hold of the xarray's lock per
 * allocation and one step of the walk per index (a 2 MiB prefetch maps
 * 512 pages at once).
 */
static int svm_vmap_reserve(struct svm_view *v, unsigned long gs,
			    unsigned long ge)
{
	unsigned long i = svm_vidx(v, gs), last = svm_vidx(v, ge - 1);
	XA_STATE(xas, &v->maps, i);
	void *e;

	do {
		xas_lock(&xas);
		xas_set(&xas, i);
		for (e = xas_load(&xas); ; e = xas_next(&xas)) {
			if (!e) {	/* an entry, or reserved: nothing */
				xas_store(&xas, XA_ZERO_ENTRY);
				if (xas_error(&xas))
					break;
			}
			if (++i > last)
				break;
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	return xas_error(&xas);
}

/* Let go of the slots of [gs, ge) still unused (xa_release() each). */
static void svm_vmap_unreserve(struct svm_view *v, unsigned long gs,
			       unsigned long ge)
{
	unsigned long i = svm_vidx(v, gs), last = svm_vidx(v, ge - 1);
	XA_STATE(xas, &v->maps, i);
	void *e;

	xas_lock(&xas);
	for (e = xas_load(&xas); ; e = xas_next(&xas)) {
		if (e == XA_ZERO_ENTRY)
			xas_store(&xas, NULL);
		if (++i > last)
			break;
	}
	xas_unlock(&xas);
}

/*
 * The view's page tables for [start, end): one PTE of each table asked
 * for, which makes the table (the batch walk under v->lock must not).
 */
static int svm_view_prealloc(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	unsigned long a;
	int ret;

	for (a = start; a < end; a = (a | ~PMD_MASK) + 1) {
		ret = apply_to_page_range(mm, a, PAGE_SIZE, svm_prealloc_pte,
					  NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Map heap page @haddr in the view to whatever is behind it now: our
 * device memory (the backing page; a peer device's too), or the host page,
 * faulted in (and made writable for @write) if needed. @ro asks for a
 * read-only mapping even if the page is writable. The other pages of
 * [gs, ge) are mapped too when that costs no fault: those already on this
 * device, and host pages if @host_around (a range served in place). Returns
 * 0 (mapped), -EAGAIN (raced with invalidations: let the access fault
 * again), or an error (nothing can be mapped). mmap_lock held for read.
 * @haddr 0: no faulting page, only the pages already on this device (what
 * a prefetch brought). @buf: room for the pfns of [gs, ge), or NULL.
 */
static int svm_view_map(struct svm_view *v, struct vm_area_struct *vma,
			unsigned long haddr, unsigned long gs, unsigned long ge,
			bool write, bool ro, bool host_around, int *where,
			unsigned long *buf)
{
	unsigned long i, n = (ge - gs) >> PAGE_SHIFT;
	unsigned long me = haddr ? (haddr - gs) >> PAGE_SHIFT : n;
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	struct hmm_range range = {
		.notifier = &v->heap_mni,
		.start = gs,
		.end = ge,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
		.dev_private_owner = v->sf->shim,
	};
	unsigned long *pfns = buf;
	int tries, ret;

	if (!pfns)
		pfns = kvcalloc(n, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	range.hmm_pfns = pfns;
	/*
	 * Page tables of the view and the slots of their entries now:
	 * nothing may allocate under v->lock.
	 */
	ret = svm_view_prealloc(vma->vm_mm, v->vstart + (gs - v->heap_start),
				v->vstart + (ge - v->heap_start));
	if (ret)
		goto out;
	ret = svm_vmap_reserve(v, gs, ge);
	if (ret) {
		svm_vmap_unreserve(v, gs, ge);
		goto out;
	}

	ret = -EAGAIN;
	for (tries = 0; tries < SVM_VIEW_MAP_TRIES; tries++) {
		for (i = 0; i < n; i++)
			pfns[i] = i == me ? req : 0;
		range.notifier_seq = mmu_interval_read_begin(&v->heap_mni);
		ret = hmm_range_fault(&range);
		if (ret == -EBUSY) {
			ret = -EAGAIN;
			continue;
		}
		if (ret)
			break;
		/*
		 * A write to one of our device pages that is read-only (it
		 * left a copy-on-write host page): hmm_range_fault() reports
		 * our pages as they are, so ask again as a stranger, which
		 * faults the page home and breaks COW; it is then mapped in
		 * place, writable.
		 */
		if (me < n && write && range.dev_private_owner &&
		    !(pfns[me] & HMM_PFN_WRITE) &&
		    is_device_private_page(hmm_pfn_to_page(pfns[me]))) {
			range.dev_private_owner = NULL;
			ret = -EAGAIN;
			continue;
		}

		if (me < n)
			svm_view_target(v->sf->shim, pfns[me], where);
		mutex_lock(&v->lock);
		if (mmu_interval_read_retry(&v->heap_mni, range.notifier_seq)) {
			mutex_unlock(&v->lock);
			ret = -EAGAIN;
			continue;
		}
		ret = svm_view_insert_batch(v, vma, gs, pfns, n, me, ro,
					    host_around);
		if (ret == -EEXIST)
			ret = 0;	/* another thread mapped it */
		mutex_unlock(&v->lock);
		break;
	}
	svm_vmap_unreserve(v, gs, ge);
out:
	if (pfns != buf)
		kvfree(pfns);
	return ret;
}

/*
 * Where heap page @haddr is now, without faulting, and whether it is
 * writable there; with @make_writable, first fault it in writable wherever
 * the CPU can have it (our device pages come home). mmap_lock held.
 */
static int svm_view_where(struct svm_view *v, unsigned long haddr,
			  bool make_writable, bool *writable)
{
	unsigned long hpfn;
	struct hmm_range range = {
		.notifier = &v->heap_mni,
		.start = haddr,
		.end = haddr + PAGE_SIZE,
		.hmm_pfns = &hpfn,
		.default_flags = make_writable ?
			HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE : 0,
		.dev_private_owner = make_writable ? NULL : v->sf->shim,
	};
	struct page *page;
	int tries, ret = -EBUSY;

	*writable = false;
	for (tries = 0; tries < SVM_VIEW_MAP_TRIES && ret == -EBUSY; tries++) {
		range.notifier_seq = mmu_interval_read_begin(&v->heap_mni);
		ret = hmm_range_fault(&range);
	}
	if (ret)
		return SVMSHIM_LOC_NONE;
	*writable = hpfn & HMM_PFN_WRITE;
	return svm_page_location(v->sf->shim, hpfn, &page);
}

/* ---- granules in flight ------------------------------------------------- */

void svm_shim_view_init(struct svmshim *shim)
{
	unsigned int i;

	spin_lock_init(&shim->inflight_lock);
	for (i = 0; i < SVMSHIM_INFLIGHT; i++)
		init_waitqueue_head(&shim->inflight[i].wq);
}

/*
 * A device fault is about to migrate granule [gs, ge) of @mm. If another
 * fault migrates an overlapping one, wait until it is done (bounded,
 * killable; no page lock, no spinlock held, mmap_lock for read as that
 * fault holds it too) and return true: the caller looks again. Else take
 * a slot (*slot; NULL when all are busy: no record, as before) and
 * return false.
 */
static bool svm_inflight_enter(struct svmshim *shim, struct mm_struct *mm,
			       unsigned long gs, unsigned long ge,
			       struct svm_inflight **slot, bool wait)
{
	struct svm_inflight *f, *busy = NULL, *free = NULL;
	unsigned int i;
	u64 seq = 0;

	*slot = NULL;
	spin_lock(&shim->inflight_lock);
	for (i = 0; i < SVMSHIM_INFLIGHT; i++) {
		f = &shim->inflight[i];
		if (!f->mm) {
			free = free ? free : f;
		} else if (f->mm == mm && f->start < ge && gs < f->end) {
			busy = f;
			seq = f->seq;
			break;
		}
	}
	if (!busy && free) {
		free->mm = mm;
		free->start = gs;
		free->end = ge;
		*slot = free;
	}
	spin_unlock(&shim->inflight_lock);
	if (!busy)
		return false;
	if (!wait)
		return true;	/* a prefetch leaves it to that fault */
	atomic_long_inc(&svm_stat_fault_waits);
	wait_event_killable_timeout(busy->wq, READ_ONCE(busy->seq) != seq,
				    msecs_to_jiffies(SVM_INFLIGHT_WAIT_MS));
	return true;
}

static void svm_inflight_exit(struct svmshim *shim, struct svm_inflight *f)
{
	spin_lock(&shim->inflight_lock);
	f->mm = NULL;
	WRITE_ONCE(f->seq, f->seq + 1);
	spin_unlock(&shim->inflight_lock);
	wake_up_all(&f->wq);
}

/*
 * The migrating branch of a device fault: granule [gs, ge) to the view's
 * device, unless another fault is moving it already: then wait for that
 * one and take what it left (*loc is looked up again). Host pages the
 * view maps in the granule are let go first (their references would make
 * them BUSY). Returns how the fault is served.
 */
static u16 svm_view_fault_migrate(struct svm_view *v,
				  struct vm_area_struct *vma,
				  struct vm_area_struct *hvma,
				  unsigned long gs, unsigned long ge,
				  unsigned long haddr, const struct svm_attr *a,
				  int *loc)
{
	struct svmshim *shim = v->sf->shim;
	int dev = v->sdev->index;
	struct svm_inflight *slot;
	bool writable;
	u16 how;

	if (svm_inflight_enter(shim, v->mm, gs, ge, &slot, true)) {
		*loc = svm_view_where(v, haddr, false, &writable);
		if (*loc == dev)
			return SVMSHIM_FAULT_RESIDENT;
		/* It moved elsewhere or failed: try ourselves, unrecorded. */
	} else if (slot) {
		/*
		 * A fault on this granule may have ended between our first
		 * look and the record: look again, now that no other fault
		 * can start moving it.
		 */
		*loc = svm_view_where(v, haddr, false, &writable);
		if (*loc == dev) {
			svm_inflight_exit(shim, slot);
			return SVMSHIM_FAULT_RESIDENT;
		}
	}
	/* Every view of the file may map the granule's host pages in place. */
	svm_views_prepare(v->sf, v->mm, gs, ge, true, true);
	how = svm_fault_migrate(v, hvma, gs, ge, haddr, a) == SVMSHIM_FAIL_NONE ?
	      SVMSHIM_FAULT_MIGRATED : SVMSHIM_FAULT_IN_PLACE;
	if (slot)
		svm_inflight_exit(shim, slot);
	return how;
}

/* ---- the density prefetcher ----------------------------------------------- */

/*
 * What a fault knows about its own 2 MiB piece [bs, bs + 2 MiB): which
 * pages are on the device (a walk after its granule moved, the granule
 * counted as there); the other pieces are known by the file's counters.
 */
struct svm_dens_walk {
	struct svm_file *sf;
	unsigned int dev;
	unsigned long base;		/* regions are aligned from here */
	unsigned long bs;
	DECLARE_BITMAP(on, SVM_DENS_PAGES);
	/*
	 * The move context (made the first time a region is moved) and
	 * room for the pfns of one piece, for the walk and each piece's
	 * mapping: nothing is allocated per piece, and nothing per fault
	 * while the view keeps this (svm_view.pf_spare).
	 */
	struct svm_prefetch *pf;
	unsigned long pfns[SVM_DENS_PAGES];
};

static void svm_dens_walk_free(struct svm_dens_walk *w)
{
	if (!w)
		return;
	svm_prefetch_free(w->pf);
	kfree(w);
}

/*
 * Pages in [s, e) that count as on the device: every one there, or
 * (@arrived) per piece only as many as arrived there by a move since a
 * move in the piece last went elsewhere (svm_dens_arrived()), at most
 * those there.
 */
static unsigned long svm_dens_count(const struct svm_dens_walk *w,
				    unsigned long s, unsigned long e,
				    bool arrived)
{
	unsigned long b, bend, i, k, n = 0;

	for (b = s & ~((1UL << SVM_DENS_SHIFT) - 1); b < e; b = bend) {
		unsigned long ps = max(b, s), pe;

		bend = b + (1UL << SVM_DENS_SHIFT);
		pe = min(bend, e);
		if (b == w->bs) {
			k = 0;
			for (i = (ps - b) >> PAGE_SHIFT;
			     i < (pe - b) >> PAGE_SHIFT; i++)
				k += test_bit(i, w->on);
		} else {
			k = min(svm_dens_get(w->sf, b, w->dev),
				(pe - ps) >> PAGE_SHIFT);
		}
		if (arrived)
			k = min(k, svm_dens_arrived(w->sf, b, w->dev));
		n += k;
	}
	return n;
}

/*
 * The region of @size bytes around @addr, aligned from @base (the view's
 * start: the runtime aligns its regions to its heap, which is 2 MiB
 * aligned, so they fall on the counters' pieces), cut to [lo, hi).
 */
static void svm_dens_region(unsigned long base, unsigned long addr,
			    unsigned long size, unsigned long lo,
			    unsigned long hi, unsigned long *s,
			    unsigned long *e)
{
	unsigned long a = base + ((addr - base) & ~(size - 1));

	*s = max(a, lo);
	*e = min(a + size, hi);
}

/*
 * The largest aligned power-of-two region of [smin, smax] pages around
 * granule [gs, ge) inside [lo, hi) in which more than the threshold of the
 * pages count as on the device (svm_dens_count(), @arrived); true if one
 * passes (*rs, *re). Parts outside [lo, hi) count as absent. One count of
 * the largest size bounds the others: none holds more.
 */
static bool svm_dens_pick_sizes(const struct svm_dens_walk *w,
				const struct svm_attr *a, unsigned long gs,
				unsigned long lo, unsigned long hi,
				unsigned long smin, unsigned long smax,
				bool arrived, unsigned long *rs,
				unsigned long *re)
{
	unsigned long thr = a->prefetch_pct, size, s, e, top;
	bool found = false;

	if (smin > smax)
		return false;
	for (size = smin; size * 2 <= smax; size *= 2)
		;
	svm_dens_region(w->base, gs, size << PAGE_SHIFT, lo, hi, &s, &e);
	top = svm_dens_count(w, s, e, arrived);
	for (size = smin; size <= smax; size *= 2) {
		if (top * 100 <= thr * size)
			break;	/* nor would any larger one */
		svm_dens_region(w->base, gs, size << PAGE_SHIFT, lo, hi, &s, &e);
		if (svm_dens_count(w, s, e, arrived) * 100 > thr * size) {
			*rs = s;
			*re = e;
			found = true;
		}
		if (s == lo && e == hi)
			break;	/* all there is */
	}
	return found;
}

/*
 * The region the density rule picks around granule [gs, ge) inside
 * [lo, hi), whose faulting page was at @from before it moved, as the
 * runtime's policy/fault.c does: the largest aligned power-of-two region,
 * from twice the granule to the attribute's maximum, in which more than
 * the threshold of the pages count as on the device. Regions above 2 MiB
 * are tried first; when the fault's page came from another location
 * there only pages that arrived by a move count (see
 * docs/kernel-shim.md, "What the density prefetcher counts"). Then those
 * up to 2 MiB, where every page on the device counts, as on a first
 * touch at every size. *rs == *re: the granule alone.
 */
static void svm_dens_pick(const struct svm_dens_walk *w, const struct svm_attr *a,
			  unsigned long gs, unsigned long ge, unsigned long lo,
			  unsigned long hi, int from, unsigned long *rs,
			  unsigned long *re)
{
	unsigned long n = (ge - gs) >> PAGE_SHIFT;
	unsigned long most = a->prefetch_max >> PAGE_SHIFT;

	*rs = *re = gs;
	if (svm_dens_pick_sizes(w, a, gs, lo, hi,
				max(2 * n, 2 * SVM_DENS_PAGES), most,
				from != SVMSHIM_LOC_NONE, rs, re))
		return;
	svm_dens_pick_sizes(w, a, gs, lo, hi, 2 * n,
			    min(most, SVM_DENS_PAGES), false, rs, re);
}

/*
 * The walk of the fault's own piece, cut to [lo, hi): which pages are on
 * the device now. False if it could not be had (no prefetch then).
 */
static bool svm_dens_walk(struct svm_view *v, struct svm_dens_walk *w,
			  unsigned long lo, unsigned long hi,
			  unsigned long gs, unsigned long ge)
{
	unsigned long s = max(w->bs, lo);
	unsigned long e = min(w->bs + (1UL << SVM_DENS_SHIFT), hi);
	unsigned long i, n = (e - s) >> PAGE_SHIFT, *pfns = w->pfns;
	struct hmm_range range = {
		.notifier = &v->heap_mni,
		.start = s,
		.end = e,
		.hmm_pfns = pfns,
		.dev_private_owner = v->sf->shim,
	};
	struct page *page;
	int tries, ret = -EBUSY;

	memset(pfns, 0, n * sizeof(*pfns));
	for (tries = 0; tries < SVM_VIEW_MAP_TRIES && ret == -EBUSY; tries++) {
		range.notifier_seq = mmu_interval_read_begin(&v->heap_mni);
		ret = hmm_range_fault(&range);
	}
	bitmap_zero(w->on, SVM_DENS_PAGES);
	for (i = 0; !ret && i < n; i++)
		if (svm_page_location(v->sf->shim, pfns[i], &page) == (int)w->dev)
			__set_bit(((s - w->bs) >> PAGE_SHIFT) + i, w->on);
	if (ret)
		return false;
	bitmap_set(w->on, (gs - w->bs) >> PAGE_SHIFT, (ge - gs) >> PAGE_SHIFT);
	return true;
}

/*
 * Move [s, e) (inside one 2 MiB piece) as a prefetch and map what came
 * into the view. A piece that another fault is moving is left to it (a
 * prefetch never waits). Returns the pages moved.
 */
static unsigned long svm_prefetch_piece(struct svm_view *v,
					struct vm_area_struct *vma,
					struct vm_area_struct *hvma,
					struct svm_dens_walk *w,
					unsigned long s, unsigned long e,
					bool *full)
{
	struct svmshim *shim = v->sf->shim;
	struct svm_inflight *slot;
	unsigned long moved;
	int where;

	*full = false;
	if (svm_inflight_enter(shim, v->mm, s, e, &slot, false))
		return 0;
	svm_views_prepare(v->sf, v->mm, s, e, true, true);
	moved = svm_prefetch_move(w->pf, hvma, s, e, full);
	if (slot)
		svm_inflight_exit(shim, slot);
	if (moved)
		svm_view_map(v, vma, 0, s, e, false, false, false, &where,
			     w->pfns);
	return moved;
}

/*
 * Prefetch [p, q) (inside one 2 MiB piece and [lo, hi)), skipping what is
 * known to be on the device: in the fault's own piece the runs of pages
 * the walk did not see there; elsewhere all of it, unless the counters
 * say the piece is all there already.
 */
static unsigned long svm_prefetch_runs(struct svm_view *v,
				       struct vm_area_struct *vma,
				       struct vm_area_struct *hvma,
				       struct svm_dens_walk *w,
				       unsigned long lo, unsigned long hi,
				       unsigned long p, unsigned long q,
				       bool *full)
{
	unsigned long b = p & ~((1UL << SVM_DENS_SHIFT) - 1), i, j, end;
	unsigned long moved = 0;

	if (b != w->bs) {
		unsigned long bl = max(b, lo);
		unsigned long bh = min(b + (1UL << SVM_DENS_SHIFT), hi);

		if (svm_dens_get(w->sf, b, w->dev) >= (bh - bl) >> PAGE_SHIFT)
			return 0;
		return svm_prefetch_piece(v, vma, hvma, w, p, q, full);
	}
	end = (q - b) >> PAGE_SHIFT;
	for (i = (p - b) >> PAGE_SHIFT; i < end && !*full; i = j) {
		i = find_next_zero_bit(w->on, end, i);
		if (i >= end)
			break;
		j = find_next_bit(w->on, end, i);
		moved += svm_prefetch_piece(v, vma, hvma, w,
					    b + (i << PAGE_SHIFT),
					    b + (j << PAGE_SHIFT), full);
	}
	return moved;
}

/*
 * After a device fault moved granule [gs, ge) (attributes @a with the
 * density prefetcher on; its faulting page was at @from): pick the
 * region (svm_dens_pick()) and move the rest of it in pieces of at most
 * 2 MiB, never across a piece boundary, first upwards from the granule,
 * then downwards from it; stop when the device is full (a prefetch never
 * evicts) or on a fatal signal. One MIGRATE event (BY_FAULT | PREFETCH)
 * says what came.
 */
static void svm_view_prefetch(struct svm_view *v, struct vm_area_struct *vma,
			      struct vm_area_struct *hvma,
			      const struct svm_attr *a,
			      unsigned long gs, unsigned long ge, int from)
{
	const unsigned long piece = 1UL << SVM_DENS_SHIFT;
	unsigned long lo, hi, rs = 0, re, p, q, moved = 0;
	struct svm_dens_walk *w;
	bool full = false, go;
	u64 t0 = ktime_get_ns();

	lo = max3(hvma->vm_start, v->heap_start, a->start);
	hi = min3(hvma->vm_end, v->heap_end, a->end);
	w = xchg(&v->pf_spare, NULL);
	if (!w)
		w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return;
	w->sf = v->sf;
	w->dev = v->sdev->index;
	w->base = v->heap_start;
	w->bs = gs & ~(piece - 1);
	if (!svm_dens_walk(v, w, lo, hi, gs, ge))
		goto out;
	svm_dens_pick(w, a, gs, ge, lo, hi, from, &rs, &re);
	go = rs < gs || re > ge;
	if (go && !w->pf)
		w->pf = svm_prefetch_alloc(v);
	go = go && w->pf;
	if (go)
		svm_prefetch_start(w->pf, a);
	for (p = ge; go && p < re && !full &&
	     !fatal_signal_pending(current); p = q) {
		q = min((p & ~(piece - 1)) + piece, re);
		moved += svm_prefetch_runs(v, vma, hvma, w, lo, hi, p, q,
					   &full);
	}
	for (q = gs; go && q > rs && !full &&
	     !fatal_signal_pending(current); q = p) {
		p = max((q - 1) & ~(piece - 1), rs);
		moved += svm_prefetch_runs(v, vma, hvma, w, lo, hi, p, q,
					   &full);
	}
out:
	/* Kept for the view's next prefetch, unless another fault's is. */
	if (cmpxchg(&v->pf_spare, NULL, w))
		svm_dens_walk_free(w);
	if (moved)
		svm_event(v->sf, SVMSHIM_EVENT_MIGRATE, 0, v->sdev->index, rs,
			  moved, SVMSHIM_EVENT_BY_FAULT | SVMSHIM_EVENT_PREFETCH,
			  ktime_get_ns() - t0);
}

/* Resolve a device access to an unmapped view page; see the uAPI header. */
static vm_fault_t svm_view_resolve(struct vm_fault *vmf, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct svm_view *v = vma->vm_private_data;
	unsigned long haddr = v->heap_start +
			      ((vmf->address & PAGE_MASK) - vma->vm_start);
	int dev = v->sdev->index, where = SVMSHIM_LOC_NONE, loc;
	int from = SVMSHIM_LOC_NONE;	/* the page's place before it moved */
	u16 how = SVMSHIM_FAULT_RESIDENT;
	bool writable;
	unsigned long g, gs, ge;
	struct vm_area_struct *hvma;
	u64 t0 = ktime_get_ns();
	bool ro = false;
	struct svm_attr a;
	int ret;

	/* Only the view's own VMA in its own process reaches the heap. */
	if (READ_ONCE(v->dead) || vma->vm_mm != v->mm ||
	    vma->vm_start != v->vstart)
		return VM_FAULT_SIGBUS;
	/* mprotect()ed to write-only: no PTE could serve it, end it. */
	if (!(vma->vm_flags & VM_READ))
		return VM_FAULT_SIGBUS;
	hvma = vma_lookup(vma->vm_mm, haddr);
	if (!hvma || hvma->vm_ops == &svm_view_vm_ops)
		return VM_FAULT_SIGBUS;	/* nothing there, or a view of a view */
	/*
	 * An access the CPU could not make there either (PROT_NONE, a write
	 * to a read-only mapping) ends here, before anything moves for it.
	 */
	if (!(hvma->vm_flags & VM_READ) || (write && !(hvma->vm_flags & VM_WRITE)))
		return VM_FAULT_SIGBUS;

	/* The granule: aligned, inside the VMA, the view and the attributes. */
	svm_attr_get(v->sf, haddr, &a);
	g = a.granularity;
	gs = max3(haddr & ~(g - 1), hvma->vm_start, v->heap_start);
	gs = max(gs, a.start);
	ge = min3((haddr & ~(g - 1)) + g, hvma->vm_end, v->heap_end);
	ge = min(ge, a.end);

	/*
	 * Pending entries: drained here past a bound (the worker does it
	 * otherwise), and always when this page's own slot waits for it.
	 */
	if (READ_ONCE(v->nr_pending) >= SVM_DRAIN_NOW ||
	    xa_get_mark(&v->maps, svm_vidx(v, haddr), SVM_VMAP_PENDING))
		svm_view_drain(v, vma);

	loc = svm_view_where(v, haddr, false, &writable);
	/*
	 * A write meets a read-only page (copy-on-write shared since a fork,
	 * or a read-only device page made from one): make it writable where
	 * the CPU has it first, or every move would carry the read-only
	 * state along and the write would fault forever.
	 */
	if (write && !writable && loc != SVMSHIM_LOC_NONE)
		loc = svm_view_where(v, haddr, true, &writable);
	if (loc != dev) {
		if ((a.flags & SVMSHIM_ATTR_READ_MOSTLY) && !write) {
			how = SVMSHIM_FAULT_READ_ONLY;
			ro = true;
		} else if (a.preferred == SVMSHIM_LOC_HOST ||
			   (a.accessed_by & BIT(dev))) {
			how = SVMSHIM_FAULT_IN_PLACE;
		} else if (a.thrash_threshold &&
			   svm_thrash_held(v->sf, haddr, dev, t0)) {
			how = SVMSHIM_FAULT_HELD;	/* served in place */
		} else {
			from = loc;
			how = svm_view_fault_migrate(v, vma, hvma, gs, ge, haddr,
						     &a, &loc);
		}
	}

	ret = svm_view_map(v, vma, haddr, gs, ge, write, ro,
			   how == SVMSHIM_FAULT_READ_ONLY ||
			   (how == SVMSHIM_FAULT_IN_PLACE &&
			    (a.preferred == SVMSHIM_LOC_HOST ||
			     (a.accessed_by & BIT(dev)))), &where, NULL);
	if (ret == -EAGAIN)
		return VM_FAULT_NOPAGE;	/* the access faults again */
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	if (ret)
		return VM_FAULT_SIGBUS;
	/* Mapped something else than planned (raced, or peer memory). */
	if ((how == SVMSHIM_FAULT_MIGRATED || how == SVMSHIM_FAULT_RESIDENT) &&
	    where != dev)
		how = SVMSHIM_FAULT_IN_PLACE;
	svm_event(v->sf, SVMSHIM_EVENT_DEVICE_FAULT, how, dev, haddr, 1,
		  write ? SVMSHIM_EVENT_WRITE : 0, ktime_get_ns() - t0);
	if (how == SVMSHIM_FAULT_MIGRATED && a.prefetch_pct)
		svm_view_prefetch(v, vma, hvma, &a, gs, ge, from);
	return VM_FAULT_NOPAGE;
}

static vm_fault_t svm_view_fault(struct vm_fault *vmf)
{
	return svm_view_resolve(vmf, vmf->flags & FAULT_FLAG_WRITE);
}

/*
 * A write to a read-only view PTE (a read-mostly page, a page that was
 * read-only where it was): drop the PTE and resolve the access as a write
 * right here, through the whole policy (a write collapses a read-only
 * mapping toward the writer). Resolving it here rather than letting the
 * access fault again matters: a CPU (or an emulator) that restarts a
 * read-modify-write instruction with its read would otherwise map the page
 * read-only again, and loop.
 */
static vm_fault_t svm_view_mkwrite(struct vm_fault *vmf)
{
	struct svm_view *v = vmf->vma->vm_private_data;
	unsigned long vaddr = vmf->address & PAGE_MASK;
	unsigned long haddr = v->heap_start + (vaddr - vmf->vma->vm_start);

	if (vmf->vma->vm_mm != v->mm || vmf->vma->vm_start != v->vstart)
		return VM_FAULT_SIGBUS;
	/* Pending now: svm_view_resolve() drains it (tells) before mapping. */
	mutex_lock(&v->lock);
	if (!v->dead)
		svm_view_zap(v, haddr, haddr + PAGE_SIZE, false);
	mutex_unlock(&v->lock);
	return svm_view_resolve(vmf, true);
}

static int svm_view_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;		/* a view is mapped and unmapped whole */
}

/*
 * A view does not move: its notifiers watch fixed ranges. By the time this
 * is asked the page tables have moved already; the refusal moves them back
 * and unmaps the copy (see svm_view_close()).
 */
static int svm_view_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static void svm_view_release(struct kref *ref)
{
	struct svm_view *v = container_of(ref, struct svm_view, ref);
	struct svm_file *sf = v->sf;
	unsigned long idx;
	void *e;

	/* First out of sight of SET_ATTR and MIGRATE (which kick the work). */
	mutex_lock(&sf->lock);
	if (sf->views[v->sdev->index] == v)
		sf->views[v->sdev->index] = NULL;
	mutex_unlock(&sf->lock);
	mmu_interval_notifier_remove(&v->heap_mni);
	mmu_interval_notifier_remove(&v->view_mni);
	if (v->dbg)
		mmu_interval_notifier_remove(&v->dbg_mni);
	cancel_delayed_work_sync(&v->drain_work);
	/*
	 * Every VMA of the view is gone, each with an invalidation of its
	 * whole range (munmap, exit): all secondary MMUs were told.
	 */
	mutex_lock(&v->lock);
	xa_for_each(&v->maps, idx, e)
		svm_vmap_drop(v, idx);
	mutex_unlock(&v->lock);
	xa_destroy(&v->maps);
	svm_dens_walk_free(v->pf_spare);
	mutex_destroy(&v->drain_lock);
	mutex_destroy(&v->lock);
	kfree(v);
}

/*
 * mremap copies the VMA before it asks svm_view_mremap(), and unmaps the
 * copy when that refuses: each VMA holds a reference. (fork() never
 * copies a view: VM_DONTCOPY, which VM_IO keeps MADV_DOFORK from
 * clearing.)
 */
static void svm_view_open(struct vm_area_struct *vma)
{
	struct svm_view *v = vma->vm_private_data;

	kref_get(&v->ref);
}

static void svm_view_close(struct vm_area_struct *vma)
{
	struct svm_view *v = vma->vm_private_data;

	/*
	 * The copy of a refused mremap goes (mmap_lock held for write, the
	 * page tables moved back to the view's VMA, empty since the move
	 * began): the view lives on where it was.
	 */
	if (vma->vm_start != v->vstart && vma->vm_mm == v->mm) {
		unsigned long pending;

		mutex_lock(&v->lock);
		v->dead = false;
		pending = v->nr_pending;
		mutex_unlock(&v->lock);
		svm_view_kick(v, pending);
	}
	kref_put(&v->ref, svm_view_release);
}

static const struct vm_operations_struct svm_view_vm_ops = {
	.open = svm_view_open,
	.fault = svm_view_fault,
	.pfn_mkwrite = svm_view_mkwrite,
	.may_split = svm_view_may_split,
	.mremap = svm_view_mremap,
	.close = svm_view_close,
};

int svmshim_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct drm_file *file = filp->private_data;
	struct svm_file *sf = file->driver_priv;
	struct svmshim *shim = sf->shim;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 dev = off >> SVM_VIEW_DEV_SHIFT;
	unsigned long start = off & (BIT_ULL(SVM_VIEW_DEV_SHIFT) - 1);
	unsigned long len = vma->vm_end - vma->vm_start;
	struct svm_view *v;
	int ret;

	if (!dev || dev > shim->ndevices)
		return -EINVAL;
	dev--;
	/*
	 * A view is the device's read/write window on the heap: one that
	 * cannot read (x86 has no write-only PTE) could never be served.
	 */
	if (!(vma->vm_flags & VM_SHARED) || !(vma->vm_flags & VM_READ))
		return -EINVAL;
	if (start + len < start || start + len > TASK_SIZE)
		return -EINVAL;
	/* The mirrored range and the view must not overlap. */
	if (start < vma->vm_end && vma->vm_start < start + len)
		return -EINVAL;

	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	v->sf = sf;
	v->sdev = &shim->devs[dev];
	v->mm = vma->vm_mm;
	v->heap_start = start;
	v->heap_end = start + len;
	v->vstart = vma->vm_start;
	v->lo = ULONG_MAX;
	kref_init(&v->ref);
	mutex_init(&v->lock);
	mutex_init(&v->drain_lock);
	xa_init_flags(&v->maps, XA_FLAGS_ACCOUNT);
	INIT_DELAYED_WORK(&v->drain_work, svm_view_drain_work);
	v->dbg = READ_ONCE(svm_debug_view_mmu) != 0;

	mutex_lock(&sf->lock);
	if (sf->views[dev]) {
		mutex_unlock(&sf->lock);
		ret = -EBUSY;
		goto out_free;
	}
	sf->views[dev] = v;
	mutex_unlock(&sf->lock);

	/* mmap_lock is held for write here. */
	ret = mmu_interval_notifier_insert_locked(&v->heap_mni, vma->vm_mm,
						  start, len, &svm_heap_ops);
	if (ret)
		goto out_slot;
	ret = mmu_interval_notifier_insert_locked(&v->view_mni, vma->vm_mm,
						  vma->vm_start, len,
						  &svm_vrange_ops);
	if (ret)
		goto out_heap;
	if (v->dbg) {
		ret = mmu_interval_notifier_insert_locked(&v->dbg_mni,
							  vma->vm_mm,
							  vma->vm_start, len,
							  &svm_dbg_ops);
		if (ret)
			goto out_view;
	}

	/*
	 * VM_IO: madvise(MADV_DOFORK) cannot take VM_DONTCOPY away, so no
	 * child ever gets a copy of the view's PTEs (which no invalidation
	 * of the child's would clear).
	 */
	svmshim_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTCOPY |
			     VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &svm_view_vm_ops;
	vma->vm_private_data = v;
	return 0;

out_view:
	mmu_interval_notifier_remove(&v->view_mni);
out_heap:
	mmu_interval_notifier_remove(&v->heap_mni);
out_slot:
	mutex_lock(&sf->lock);
	sf->views[dev] = NULL;
	mutex_unlock(&sf->lock);
out_free:
	mutex_destroy(&v->drain_lock);
	mutex_destroy(&v->lock);
	kfree(v);
	return ret;
}
