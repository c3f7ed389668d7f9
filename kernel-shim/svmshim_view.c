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
 * Lock order: mmap_lock -> (page locks, rmap locks of the invalidator) ->
 * view->lock -> view PTE lock. Nothing under view->lock allocates: the
 * view's page tables are populated before it is taken.
 */
#include <linux/hmm.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <drm/drm_file.h>

#include "svmshim_priv.h"

#define SVM_VIEW_DEV_SHIFT	56
#define SVM_VIEW_MAP_TRIES	8

static const struct vm_operations_struct svm_view_vm_ops;

/* ---- view page tables ----------------------------------------------------- */

struct svm_zap {
	struct mm_struct *mm;
	bool cleared;
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
	pte_t old = ptep_get_and_clear(z->mm, addr, pte);

	if (pte_none(old))
		return 0;
	svm_zap_dirty(old);
	z->cleared = true;
	return 0;
}

/*
 * Clear the view PTEs of heap range [start, end); v->lock held, the view
 * not dead. Safe inside an invalidation: walks only existing page tables,
 * starts no invalidation, allocates nothing.
 */
static void svm_view_zap(struct svm_view *v, unsigned long start,
			 unsigned long end)
{
	struct svm_zap z = { .mm = v->mm };

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

	if (!svm_view_lock(v, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!v->dead)
		svm_view_zap(v, range->start, range->end);
	mutex_unlock(&v->lock);
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

	if (!svm_view_lock(v, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!v->dead && start < end)
		svm_view_zap(v, v->heap_start + (start - v->vstart),
			     v->heap_start + (end - v->vstart));
	if (range->event == MMU_NOTIFY_UNMAP ||
	    range->event == MMU_NOTIFY_RELEASE)
		v->dead = true;
	mutex_unlock(&v->lock);
	return true;
}

static const struct mmu_interval_notifier_ops svm_vrange_ops = {
	.invalidate = svm_vrange_invalidate,
};

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

		if (!v)
			continue;
		mutex_lock(&v->lock);
		if (!v->dead)
			svm_view_zap(v, start, end);
		mutex_unlock(&v->lock);
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

/* Insert one view PTE; v->lock held, page tables present. */
static bool svm_view_insert(struct svm_view *v, struct vm_area_struct *vma,
			    unsigned long haddr, struct page *page, bool ro)
{
	pgprot_t prot = vm_get_page_prot(ro ? vma->vm_flags & ~VM_WRITE :
					 vma->vm_flags);
	unsigned long vaddr = v->vstart + (haddr - v->heap_start);

	if (vmf_insert_pfn_prot(vma, vaddr, page_to_pfn(page), prot) !=
	    VM_FAULT_NOPAGE)
		return false;
	v->lo = min(v->lo, haddr);
	v->hi = max(v->hi, haddr + PAGE_SIZE);
	return true;
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
 */
static int svm_view_map(struct svm_view *v, struct vm_area_struct *vma,
			unsigned long haddr, unsigned long gs, unsigned long ge,
			bool write, bool ro, bool host_around, int *where)
{
	unsigned long i, n = (ge - gs) >> PAGE_SHIFT;
	unsigned long me = (haddr - gs) >> PAGE_SHIFT;
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	struct hmm_range range = {
		.notifier = &v->heap_mni,
		.start = gs,
		.end = ge,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
		.dev_private_owner = v->sf->shim,
	};
	unsigned long *pfns;
	int tries, ret, at;
	struct page *page;

	pfns = kvcalloc(n, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	range.hmm_pfns = pfns;
	/* Page tables of the view now: nothing may allocate under v->lock. */
	ret = apply_to_page_range(vma->vm_mm, v->vstart + (gs - v->heap_start),
				  ge - gs, svm_prealloc_pte, NULL);
	if (ret)
		goto out;

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
		if (write && range.dev_private_owner && !(pfns[me] & HMM_PFN_WRITE) &&
		    is_device_private_page(hmm_pfn_to_page(pfns[me]))) {
			range.dev_private_owner = NULL;
			ret = -EAGAIN;
			continue;
		}

		page = svm_view_target(v->sf->shim, pfns[me], where);
		mutex_lock(&v->lock);
		if (mmu_interval_read_retry(&v->heap_mni, range.notifier_seq)) {
			mutex_unlock(&v->lock);
			ret = -EAGAIN;
			continue;
		}
		ret = svm_view_insert(v, vma, haddr, page,
				      ro || !(pfns[me] & HMM_PFN_WRITE)) ?
		      0 : -EFAULT;
		for (i = 0; !ret && i < n; i++) {
			if (i == me || !(pfns[i] & HMM_PFN_VALID))
				continue;
			page = svm_view_target(v->sf->shim, pfns[i], &at);
			if (at == (int)v->sdev->index ||
			    (host_around && at == SVMSHIM_LOC_HOST))
				svm_view_insert(v, vma, gs + (i << PAGE_SHIFT),
						page, ro ||
						!(pfns[i] & HMM_PFN_WRITE));
		}
		mutex_unlock(&v->lock);
		break;
	}
out:
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

/* Resolve a device access to an unmapped view page; see the uAPI header. */
static vm_fault_t svm_view_resolve(struct vm_fault *vmf, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct svm_view *v = vma->vm_private_data;
	unsigned long haddr = v->heap_start +
			      ((vmf->address & PAGE_MASK) - vma->vm_start);
	int dev = v->sdev->index, where = SVMSHIM_LOC_NONE, loc;
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
		} else if (svm_fault_migrate(v, hvma, gs, ge, haddr, &a) ==
			   SVMSHIM_FAIL_NONE) {
			how = SVMSHIM_FAULT_MIGRATED;
		} else {
			how = SVMSHIM_FAULT_IN_PLACE;	/* could not move */
		}
	}

	ret = svm_view_map(v, vma, haddr, gs, ge, write, ro,
			   how == SVMSHIM_FAULT_READ_ONLY ||
			   (how == SVMSHIM_FAULT_IN_PLACE &&
			    (a.preferred == SVMSHIM_LOC_HOST ||
			     (a.accessed_by & BIT(dev)))), &where);
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
	mutex_lock(&v->lock);
	if (!v->dead)
		svm_view_zap(v, haddr, haddr + PAGE_SIZE);
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

	mmu_interval_notifier_remove(&v->heap_mni);
	mmu_interval_notifier_remove(&v->view_mni);
	mutex_lock(&sf->lock);
	if (sf->views[v->sdev->index] == v)
		sf->views[v->sdev->index] = NULL;
	mutex_unlock(&sf->lock);
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
		mutex_lock(&v->lock);
		v->dead = false;
		mutex_unlock(&v->lock);
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

out_heap:
	mmu_interval_notifier_remove(&v->heap_mni);
out_slot:
	mutex_lock(&sf->lock);
	sf->views[dev] = NULL;
	mutex_unlock(&sf->lock);
out_free:
	mutex_destroy(&v->lock);
	kfree(v);
	return ret;
}
