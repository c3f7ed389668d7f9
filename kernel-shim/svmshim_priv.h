/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmshim_priv.h - internal definitions of the svmrt kernel shim.
 */
#ifndef _SVMSHIM_PRIV_H_
#define _SVMSHIM_PRIV_H_

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/mmu_notifier.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>

#include "svmshim_compat.h"
#include "svmshim.h"	/* include/uapi/svmshim.h */

#define SVMSHIM_MAX_DEVICES	8
#define SVMSHIM_CHUNK_PAGES	(SZ_32M >> PAGE_SHIFT)
#define SVMSHIM_MAX_BATCH	4096

/* Life cycle of one device page; protected by svm_device.lock. */
enum svm_dpage_state {
	SVM_DPAGE_FREE,		/* on svm_device.free */
	SVM_DPAGE_RESERVED,	/* taken by a migration, not yet in use */
	SVM_DPAGE_USED,		/* holds data, on svm_device.lru */
	SVM_DPAGE_EVICTING,	/* off every list, being migrated out */
	/*
	 * Freed while EVICTING: the evictor puts it on the free list when it
	 * is done with its pfns, so it is not reused under its feet.
	 */
	SVM_DPAGE_EVICTED,
};

struct svm_file;
struct svm_dens_walk;

/*
 * Thrashing history of one page (SET_ATTR THRASH): when a fault last moved
 * it, thrash events in a row, and its hold. Kept in the device page while
 * the page is on a device, in the file's table while it is on the host.
 */
struct svm_thrash {
	u64 last_ns;			/* last move by a fault, 0: none */
	u64 until_ns;			/* end of the hold */
	u8 run;				/* thrash events in a row */
	u8 level;			/* hold doubled this many times */
	u8 held;
	u8 rehold;			/* 2: hold just ended, 1: next move tells */
};

struct svm_dpage {
	struct list_head link;		/* free list or LRU */
	struct page *page;		/* the device page */
	struct svm_file *owner;		/* file that moved it here, or NULL */
	/*
	 * The process it was moved for (mmgrab()ed while the page is in
	 * use) and its address there: eviction migrates it from there,
	 * under that mm's mmap_lock, which keeps the VMA mapping it (and so
	 * the page's anon_vma) alive while the page is being moved.
	 */
	struct mm_struct *mm;
	unsigned long addr;
	u64 gen;			/* MIGRATE call that moved it here */
	struct svm_thrash thrash;	/* moved here by a fault; device lock */
	u8 state;			/* enum svm_dpage_state */
	/*
	 * Placed by the density prefetcher of @owner and not moved since
	 * (set when the prefetch places it, 0 for every other placement;
	 * the page's next move frees it). Device lock. An eviction that
	 * takes it counts it in its EVICT event's @prefetched: the evicting
	 * call's own, or @owner's EVENT_OTHER_FILE one when another file's
	 * call evicted it.
	 */
	u8 prefetched;
};

struct svm_chunk {
	struct dev_pagemap pgmap;
	struct svm_device *sdev;
	struct list_head node;		/* svm_device.chunks */
	unsigned long pfn_first;
	unsigned long npages;
	/*
	 * The system page behind each device page; NULL for a free page
	 * whose backing a view still holds (given a new one when taken).
	 */
	struct page **backing;
	struct svm_dpage *meta;
};

struct svm_device {
	struct svmshim *shim;
	unsigned int index;
	int nid;
	unsigned long max_pages;

	spinlock_t lock;		/* free, lru, counters, dpage state */
	struct list_head free;
	struct list_head lru;		/* head: least recently migrated */
	unsigned long nr_pages;		/* pages in chunks */
	unsigned long nr_free;
	unsigned long nr_used;
	u64 gen;

	struct mutex chunk_lock;	/* chunk creation and removal */
	struct list_head chunks;
};

/*
 * A device fault migrating granule [start, end) of @mm: a second fault
 * on an overlapping granule waits for @seq to move on instead of colliding
 * with it in migrate_vma_setup() (svmshim_view.c).
 */
#define SVMSHIM_INFLIGHT	64
struct svm_inflight {
	struct mm_struct *mm;		/* NULL: slot free */
	unsigned long start, end;
	u64 seq;			/* bumped when the migration ends */
	wait_queue_head_t wq;
};

struct svmshim {
	struct drm_device drm;
	unsigned int ndevices;
	struct svm_device devs[SVMSHIM_MAX_DEVICES];
	spinlock_t inflight_lock;
	struct svm_inflight inflight[SVMSHIM_INFLIGHT];
};

struct svm_pin {
	struct list_head node;
	unsigned long start;
	unsigned long npages;		/* pinned */
	struct page **pages;
	unsigned long charged;		/* pages charged to @mm and @user */
	struct mm_struct *mm;		/* pinner's (mmgrab), pinned_vm */
	struct user_struct *user;	/* locked_vm; NULL: CAP_IPC_LOCK */
};

/* Device fault attributes of a range (SET_ATTR); one per svm_file.attrs. */
struct svm_attr {
	unsigned long start, end;
	u32 flags;			/* SVMSHIM_ATTR_* */
	s32 preferred;			/* device, LOC_HOST or LOC_NONE */
	u32 accessed_by;		/* device mask */
	u32 granularity;		/* bytes, >= PAGE_SIZE */
	u32 rounds;			/* fault retry rounds */
	u32 budget_us;			/* fault retry budget */
	u32 backoff_us;			/* first pause between rounds */
	u32 backoff_max_us;		/* cap of the doubling pause */
	u32 prefetch_pct;		/* density threshold, 0: no prefetch */
	u32 prefetch_max;		/* bytes, a power of two */
	u32 thrash_window_us;
	u32 thrash_threshold;		/* 0: no holds */
	u32 thrash_hold_ms;
};

/* The shim's retry pauses where the caller gives none (uAPI BACKOFF). */
#define SVM_RETRY_PAUSE_US	100	/* first pause between retry rounds */
#define SVM_RETRY_PAUSE_MAX_US	10000	/* cap of the doubling pause */

struct svm_attr_node {
	struct rb_node rb;		/* svm_file.attrs, by start; disjoint */
	struct svm_attr a;
};

/* Per-file event ring (EVENTS). */
struct svm_events {
	spinlock_t lock;
	unsigned int head, count;	/* oldest event, events held */
	u64 dropped;
	struct drm_svmshim_event *ev;	/* SVMSHIM_EVENT_RING entries */
};

/*
 * A device view: a MAP_SHARED VM_PFNMAP mapping of the render node that
 * mirrors [heap_start, heap_end) of the same process for device @sdev.
 * Its PTEs point at the pages behind the heap (device memory of @sdev or
 * host pages served in place); heap_mni zaps them whenever the process's
 * page tables change there, view_mni tells when the view's own page
 * tables go away. Created by mmap, freed by the VMA's close.
 */
struct svm_view {
	struct kref ref;		/* one per VMA (a failed mremap copies) */
	struct svm_file *sf;
	struct svm_device *sdev;
	struct mm_struct *mm;
	unsigned long heap_start, heap_end;
	unsigned long vstart;		/* view VMA start */
	struct mmu_interval_notifier heap_mni;
	struct mmu_interval_notifier view_mni;
	/*
	 * Orders view PTE installs against invalidations (the sequence of
	 * heap_mni is checked under it); nothing that can allocate or
	 * reclaim runs under it.
	 */
	struct mutex lock;
	bool dead;			/* page tables going: never walk them */
	unsigned long lo, hi;		/* heap range that may have view PTEs */
	/*
	 * What each view PTE holds, by heap page index: a reference on the
	 * page it maps (the host page, or, tagged 1, the backing page of our
	 * device page, which the device page gives up if it is freed
	 * meanwhile), so that nothing a secondary MMU of the view may still
	 * translate is freed or reused. Marks: SVM_VMAP_PENDING (PTE cleared, secondary MMUs not
	 * told yet), SVM_VMAP_BATCH (in the drain under way), SVM_VMAP_DBG
	 * (the debug mirror holds it). Entries change under @lock; a slot is
	 * reserved before @lock is taken, so nothing allocates under it.
	 */
	struct xarray maps;
	unsigned long nr_pending;	/* entries marked PENDING; @lock */
	unsigned long nr_host;		/* entries on host pages; @lock */
	unsigned int draining;		/* a drain's zap runs: no installs */
	struct task_struct *drainer;	/* who runs it (the zap's callback) */
	struct mutex drain_lock;	/* one drain at a time */
	struct delayed_work drain_work;
	struct mmu_interval_notifier dbg_mni;	/* debug_view_mmu only */
	bool dbg;
	/*
	 * The density prefetcher's working memory (its walk, pfns and move
	 * context, ~30 KiB, accounted), kept between faults so that a
	 * stream's faults do not allocate it each time; taken with xchg()
	 * by one fault at a time (a concurrent one makes its own).
	 */
	struct svm_dens_walk *pf_spare;
};

struct svm_file {
	struct svmshim *shim;
	struct mutex lock;		/* pins, nr_pins, pinned_pages, views[] */
	struct list_head pins;
	unsigned long nr_pins;		/* pins held or being made */
	unsigned long pinned_pages;	/* their pages */
	struct svm_view *views[SVMSHIM_MAX_DEVICES];
	spinlock_t attr_lock;		/* attrs, nr_attrs (eviction reads them) */
	struct rb_root attrs;		/* a lookup is O(log nr_attrs) */
	unsigned long nr_attrs;
	struct svm_events events;
	/*
	 * Density counts: per 2 MiB of the address space (index addr >>
	 * SVM_DENS_SHIFT), a struct svm_dens of how many pages this file moved
	 * to each device are there now, and where the piece's latest move
	 * went. Entries are made before a move to a device
	 * (svm_dens_prepare(), accounted, at most SVM_MAX_DENS), kept until
	 * the file is closed; counts change under the device's lock, the
	 * move record under dens_lock.
	 */
	struct xarray dens;
	atomic_t nr_dens;
	spinlock_t dens_lock;		/* svm_dens.moves; inside svm_device.lock */
	/*
	 * Thrashing history of pages on the host (SVMSHIM_THRASH_SLOTS
	 * entries by page index modulo the size; made by the first SET_ATTR
	 * with THRASH, accounted). Written by CPU faults, under a page lock:
	 * a fixed table, so nothing is allocated there.
	 */
	spinlock_t thrash_lock;		/* inside svm_device.lock */
	struct svm_thrash_slot *thrash;
};

struct svm_thrash_slot {
	unsigned long idx;		/* page index + 1; 0: free */
	struct svm_thrash t;
};

#define SVM_DENS_SHIFT		21
#define SVM_DENS_PAGES		(1UL << (SVM_DENS_SHIFT - PAGE_SHIFT))
#define SVM_MAX_DENS		65536	/* 128 GiB of counted address space */

struct svm_dens {
	u32 n[SVMSHIM_MAX_DEVICES];	/* pages on device d; its lock */
	/*
	 * The piece's moves between two locations (a first touch or a
	 * discard is none): where the latest went (SVM_DENS_TO(), a device
	 * index or SVMSHIM_LOC_HOST; SVMSHIM_LOC_NONE before any) and how
	 * many pages arrived there since a move last went elsewhere
	 * (SVM_DENS_ARRIVED(), saturating). One word, so that a racy read
	 * sees a pair that was true once. svm_file.dens_lock.
	 */
	u32 moves;
};

#define SVM_DENS_ARRIVED_MAX	0xffffU
#define SVM_DENS_MOVES(to, arrived)	(((u32)(u16)(s16)(to) << 16) | (arrived))
#define SVM_DENS_TO(moves)	((int)(s16)((moves) >> 16))
#define SVM_DENS_ARRIVED(moves)	((moves) & SVM_DENS_ARRIVED_MAX)

/* Fault injection, set through the inject_* module parameters. */
#define SVM_INJECT_ANY		0
#define SVM_INJECT_TO_HOST	1
#define SVM_INJECT_TO_DEVICE	2

struct svm_inject {
	unsigned int class;		/* SVMSHIM_FAIL_*, 0: off */
	unsigned int percent;		/* 0..100 */
	unsigned int direction;		/* SVM_INJECT_* */
	unsigned int count;		/* stop after this many, 0: no limit */
	u64 seed;
	atomic_t hits;			/* failures injected since last write */
	/* draws of BUSY/NO_MEMORY per destination (last: host) */
	atomic64_t draws[SVMSHIM_MAX_DEVICES + 1];
};

/* Our device page's chunk, and the system page that holds its data. */
static inline struct svm_chunk *svm_page_chunk(struct page *page)
{
	return container_of(page->pgmap, struct svm_chunk, pgmap);
}

static inline struct page *svm_page_backing(struct page *page)
{
	struct svm_chunk *c = svm_page_chunk(page);

	return c->backing[page_to_pfn(page) - c->pfn_first];
}

/*
 * Where a page reported by hmm_range_fault() is: one of our devices,
 * SVMSHIM_LOC_HOST, _NONE (nothing there) or _OTHER (another driver's);
 * *pagep is the page itself (NULL for none).
 */
static inline int svm_page_location(struct svmshim *shim, unsigned long hpfn,
			     struct page **pagep)
{
	struct page *page;

	*pagep = NULL;
	if (!(hpfn & HMM_PFN_VALID))
		return SVMSHIM_LOC_NONE;
	page = hmm_pfn_to_page(hpfn);
	*pagep = page;
	if (is_device_private_page(page))
		return page->pgmap->owner == shim ?
		       (int)svm_page_chunk(page)->sdev->index : SVMSHIM_LOC_OTHER;
	if (is_zone_device_page(page))
		return SVMSHIM_LOC_OTHER;
	return SVMSHIM_LOC_HOST;
}

extern unsigned int svmshim_batch_pages;
extern struct svm_inject svmshim_inject;

/* svmshim_dmem.c */
int svm_device_init(struct svmshim *shim, unsigned int index, int nid,
		    unsigned long bytes);
void svm_device_fini(struct svm_device *sdev);
void svm_device_usage(struct svm_device *sdev, unsigned long *total,
		      unsigned long *free);
int svm_migrate(struct svm_file *sf, struct drm_svmshim_migrate *args);
int svm_snapshot(struct svm_file *sf, struct drm_svmshim_snapshot *args);
void svm_file_evict(struct svm_file *sf);
u8 svm_fault_migrate(struct svm_view *v, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end, unsigned long addr,
		     const struct svm_attr *a);
struct svm_prefetch;
struct svm_prefetch *svm_prefetch_alloc(struct svm_view *v);
void svm_prefetch_free(struct svm_prefetch *pf);
void svm_prefetch_start(struct svm_prefetch *pf, const struct svm_attr *a);
unsigned long svm_prefetch_move(struct svm_prefetch *pf,
				struct vm_area_struct *vma,
				unsigned long start, unsigned long end,
				bool *full);

/*
 * svmshim_file.c: attributes and events. Called by the two files below,
 * calls neither (no include or call circle: drv -> view -> dmem -> file).
 */
int svm_file_view_init(struct svm_file *sf);
void svm_file_view_fini(struct svm_file *sf);
int svm_set_attr(struct svm_file *sf, const struct drm_svmshim_attr *args);
void svm_attr_get(struct svm_file *sf, unsigned long addr, struct svm_attr *out);
bool svm_attr_prefers(struct svm_file *sf, unsigned long addr, unsigned int dev);
int svm_events_read(struct svm_file *sf, struct drm_svmshim_events *args);
void svm_dens_prepare(struct svm_file *sf, unsigned long start,
		      unsigned long end);
void svm_dens_add(struct svm_file *sf, unsigned long addr, unsigned int dev,
		  int delta);
unsigned long svm_dens_get(struct svm_file *sf, unsigned long addr,
			   unsigned int dev);
void svm_dens_moved(struct svm_file *sf, unsigned long addr, int loc,
		    unsigned long pages);
unsigned long svm_dens_arrived(struct svm_file *sf, unsigned long addr,
			       unsigned int dev);
bool svm_thrash_note(struct svm_thrash *t, const struct svm_attr *a, u64 now);
bool svm_thrash_held(struct svm_file *sf, unsigned long addr, s32 dev, u64 now);
void svm_thrash_take(struct svm_file *sf, unsigned long addr,
		     struct svm_thrash *out);
void svm_thrash_put(struct svm_file *sf, unsigned long addr,
		    const struct svm_thrash *t);
void svm_event(struct svm_file *sf, u16 type, u16 class, s32 device,
	       unsigned long addr, u64 pages, u32 flags, u64 duration_ns);
void svm_event_evict(struct svm_file *sf, s32 device, unsigned long addr,
		     u64 pages, u32 prefetched, u32 flags);

/* svmshim_view.c */
void svm_shim_view_init(struct svmshim *shim);
int svmshim_mmap(struct file *filp, struct vm_area_struct *vma);
void svm_views_zap(struct svm_file *sf, unsigned long start, unsigned long end);
void svm_views_drain(struct svm_file *sf, unsigned long start,
		     unsigned long end, bool to_device);

#endif /* _SVMSHIM_PRIV_H_ */
