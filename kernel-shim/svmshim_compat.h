/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmshim_compat.h - the only place where kernel versions differ.
 *
 * Supported: 6.1 LTS and 6.12 LTS (Debian's linux-source-6.1 / -6.12).
 * Everything version dependent in the driver goes through this header, so
 * svmshim_drv.c and svmshim_dmem.c are the same source on every kernel.
 */
#ifndef _SVMSHIM_COMPAT_H_
#define _SVMSHIM_COMPAT_H_

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/migrate.h>

#ifndef CONFIG_DEVICE_PRIVATE
#error "svmshim needs a kernel built with CONFIG_DEVICE_PRIVATE=y (and ZONE_DEVICE, MIGRATION); Debian's stock kernel does not enable it"
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "svmshim supports Linux 6.1 and later"
#endif

/*
 * struct drm_driver.date was removed in 6.14; it is still there (unused)
 * on 6.1 and 6.12.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
#define SVMSHIM_DRM_DATE(d)	.date = (d),
#else
#define SVMSHIM_DRM_DATE(d)
#endif

/*
 * 6.12's drm_open_helper() insists on FOP_UNSIGNED_OFFSET in the fops of a
 * DRM driver (WARN otherwise); 6.1 has no fop_flags at all. DRM drivers
 * with GEM get it from DEFINE_DRM_GEM_FOPS(); svmshim has no GEM.
 */
#include <linux/fs.h>
#ifdef FOP_UNSIGNED_OFFSET
#define SVMSHIM_FOP_FLAGS	.fop_flags = FOP_UNSIGNED_OFFSET,
#else
#define SVMSHIM_FOP_FLAGS
#endif

/*
 * migrate_to_ram() of a page that cannot be locked or isolated right now:
 * returning 0 makes the CPU (or copy_{to,from}_user) retry the access, which
 * faults again. That is what we want on both kernels; VM_FAULT_RETRY would
 * require dropping mmap_lock, which migrate_to_ram() does not own.
 */
#define SVMSHIM_FAULT_RETRY	0

/*
 * "Is this page long-term pinned?": page_maybe_dma_pinned() exists on 6.1
 * but is gone by 6.12; folio_maybe_dma_pinned() exists on both.
 */
static inline bool svmshim_page_pinned(struct page *page)
{
	return folio_maybe_dma_pinned(page_folio(page));
}

/* vm_flags became read-only behind vm_flags_set() in 6.3. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void svmshim_vm_flags_set(struct vm_area_struct *vma,
					unsigned long flags)
{
	vma->vm_flags |= flags;
}
#else
#define svmshim_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#endif

/*
 * TLB shootdown after the view's PTEs were cleared from an invalidation
 * callback. The core's zap helpers cannot be used there: they start an
 * mmu_notifier invalidation of their own, nested in the one being served
 * (lockdep reports that), and flush_tlb_mm_range() is not exported. What
 * the core's batched unmap does (arch_tlbbatch_add_pending()) is done here
 * by hand, for the one mm: its TLB generation moves on, so a CPU that
 * switches back to it later flushes the stale ASID (x86 keeps per-ASID
 * generations and drops a CPU from mm_cpumask() when it switches away),
 * and the CPUs that have it loaded now, lazily or not, flush at once. No
 * other CPU is disturbed (nohz_full ones included). Its callers are the
 * hand clears of svmshim_view.c (svm_view_zap() from the notifier
 * callbacks, SET_ATTR and pfn_mkwrite; svm_view_release_host()); outside
 * callbacks the shim tells secondary MMUs through zap_vma_ptes(), whose
 * flush is the core's ranged one.
 */
#ifdef CONFIG_X86
#include <asm/tlbflush.h>
#include <linux/smp.h>

static inline void svmshim_flush_cpu(void *unused)
{
	__flush_tlb_all();
}

static inline void svmshim_flush_mm_tlb(struct mm_struct *mm)
{
	/*
	 * inc_mm_tlb_gen(), which modules do not see: the generation moves
	 * on, a full barrier that orders our PTE writes before the read of
	 * mm_cpumask (switch_mm() sets the bit, then reads the generation).
	 */
	atomic64_inc_return(&mm->context.tlb_gen);
	on_each_cpu_mask(mm_cpumask(mm), svmshim_flush_cpu, NULL, true);
}
#else
#error "svmshim: the device view's TLB shootdown is written for x86 only"
#endif

#endif /* _SVMSHIM_COMPAT_H_ */
