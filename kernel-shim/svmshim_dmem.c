// SPDX-License-Identifier: GPL-2.0
/*
 * svmshim_dmem.c - emulated device memory and page migration.
 *
 * Each emulated device owns chunks of MEMORY_DEVICE_PRIVATE pages; every
 * device page is backed by one system page allocated on the device's NUMA
 * node, which holds its data. Pages move with migrate_vma_setup(),
 * migrate_vma_pages() and migrate_vma_finalize(), in batches, and come back
 * on CPU faults through dev_pagemap_ops.migrate_to_ram().
 *
 * Rules kept everywhere in this file:
 *  - destination pages (device or host) are reserved or allocated before
 *    the source pages are collected and locked by migrate_vma_setup() or
 *    migrate_device_range(); nothing sleeps to allocate or evicts while
 *    source pages are locked;
 *  - the core only trylocks source pages; our own fresh destination pages
 *    are locked with trylock too and a failure is a BUSY page, not a wait;
 *  - every loop is bounded (batches over a finite range, a fixed number of
 *    passes and eviction rounds).
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/hmm.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "svmshim_priv.h"

/* Internal per-page results while a batch is processed. */
enum {
	R_MOVED = 0x10,		/* moved by this call */
	R_ALREADY,		/* already at the destination */
	R_OTHERDEV,		/* on another of our devices: go via host */
	R_UNKNOWN,		/* dropped by migrate_vma_setup(): classify */
	R_SKIP,			/* not tried in this pass (final already) */
	R_ABSENT,		/* dropped, and not mapped: fault it in */
	R_HELD,			/* on hold for thrashing: a fault leaves it */
};

#define SVM_EVICT_ROUNDS	3
#define SVM_SNAP_TRIES		4

static const struct dev_pagemap_ops svm_pagemap_ops;

static inline struct svm_dpage *svm_page_meta(struct page *page)
{
	struct svm_chunk *c = svm_page_chunk(page);

	return &c->meta[page_to_pfn(page) - c->pfn_first];
}

/*
 * Does @vma allocate with the default (local node) NUMA policy? Then pages
 * coming home from a device go to that device's node instead (they belong
 * near it); an application's mbind()/set_mempolicy() is followed as is.
 */
static bool svm_local_policy(struct vm_area_struct *vma)
{
#ifdef CONFIG_NUMA
	return !vma->vm_policy && !current->mempolicy;
#else
	return true;
#endif
}

/* ---- device memory ------------------------------------------------------ */

static void svm_chunk_free(struct svm_chunk *c, bool mapped)
{
	unsigned long i;

	if (mapped)
		memunmap_pages(&c->pgmap);
	if (c->pgmap.range.end)
		release_mem_region(c->pgmap.range.start,
				   range_len(&c->pgmap.range));
	if (c->backing) {
		for (i = 0; i < c->npages; i++)
			if (c->backing[i])
				__free_page(c->backing[i]);
		kvfree(c->backing);
	}
	kvfree(c->meta);
	kfree(c);
}

/* Add one chunk to @sdev. Called with sdev->chunk_lock held, may sleep. */
static int svm_chunk_add(struct svm_device *sdev)
{
	unsigned long i, npages;
	struct resource *res;
	struct svm_chunk *c;
	void *addr;

	npages = min_t(unsigned long, SVMSHIM_CHUNK_PAGES,
		       sdev->max_pages - sdev->nr_pages);
	if (!npages)
		return -ENOSPC;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	c->sdev = sdev;
	c->npages = npages;
	c->backing = kvcalloc(npages, sizeof(*c->backing), GFP_KERNEL);
	c->meta = kvcalloc(npages, sizeof(*c->meta), GFP_KERNEL);
	if (!c->backing || !c->meta)
		goto fail;
	for (i = 0; i < npages; i++) {
		/* Never the OOM killer for emulated VRAM: fail the chunk. */
		c->backing[i] = alloc_pages_node(sdev->nid, GFP_HIGHUSER |
						 __GFP_NORETRY | __GFP_NOWARN,
						 0);
		if (!c->backing[i])
			goto fail;
	}

	res = request_free_mem_region(&iomem_resource, npages << PAGE_SHIFT,
				      "svmshim");
	if (IS_ERR(res))
		goto fail;
	c->pgmap.type = MEMORY_DEVICE_PRIVATE;
	c->pgmap.range.start = res->start;
	c->pgmap.range.end = res->end;
	c->pgmap.nr_range = 1;
	c->pgmap.ops = &svm_pagemap_ops;
	c->pgmap.owner = sdev->shim;

	addr = memremap_pages(&c->pgmap, sdev->nid);
	if (IS_ERR(addr))
		goto fail;
	c->pfn_first = PHYS_PFN(res->start);

	for (i = 0; i < npages; i++) {
		c->meta[i].page = pfn_to_page(c->pfn_first + i);
		c->meta[i].state = SVM_DPAGE_FREE;
	}

	spin_lock(&sdev->lock);
	for (i = 0; i < npages; i++)
		list_add_tail(&c->meta[i].link, &sdev->free);
	sdev->nr_pages += npages;
	sdev->nr_free += npages;
	list_add_tail(&c->node, &sdev->chunks);
	spin_unlock(&sdev->lock);
	return 0;

fail:
	svm_chunk_free(c, false);
	return -ENOMEM;
}

static struct page **svm_backing_slot(struct page *page)
{
	struct svm_chunk *c = svm_page_chunk(page);

	return &c->backing[page_to_pfn(page) - c->pfn_first];
}

/*
 * Device page @m goes back to the free list (sdev->lock held). A view PTE
 * may have mapped its backing page, and hold a reference on it until the
 * view's secondary MMUs were told of the clear (svmshim_view.c): then the
 * backing stays theirs, and goes back to the page allocator when they let
 * go; the device page gets a new backing before its next use
 * (svm_take_backed()). Pages without a backing wait at the tail of the
 * list. The put is never the page's last while a view holds it, and a
 * last put frees in any context.
 */
static void svm_dpage_free_locked(struct svm_device *sdev,
				  struct svm_dpage *m)
{
	struct page **slot = svm_backing_slot(m->page);

	if (*slot && page_ref_count(*slot) > 1) {
		put_page(*slot);
		*slot = NULL;
	}
	m->state = SVM_DPAGE_FREE;
	m->prefetched = 0;
	if (*slot)
		list_add(&m->link, &sdev->free);
	else
		list_add_tail(&m->link, &sdev->free);
	sdev->nr_free++;
}

/*
 * Take up to @want free pages. @any: also those without a backing page
 * (the caller gives them one, svm_take_backed()); else stop at the first
 * of those (a caller that cannot allocate).
 */
static unsigned long svm_take_pages(struct svm_device *sdev,
				    struct page **pages, unsigned long want,
				    bool any)
{
	struct svm_dpage *m;
	unsigned long n = 0;

	spin_lock(&sdev->lock);
	while (n < want && !list_empty(&sdev->free)) {
		m = list_first_entry(&sdev->free, struct svm_dpage, link);
		if (!any && !*svm_backing_slot(m->page))
			break;
		list_del_init(&m->link);
		m->state = SVM_DPAGE_RESERVED;
		sdev->nr_free--;
		pages[n++] = m->page;
	}
	spin_unlock(&sdev->lock);
	return n;
}

static unsigned long svm_take_free(struct svm_device *sdev,
				   struct page **pages, unsigned long want)
{
	return svm_take_pages(sdev, pages, want, false);
}

static void svm_unreserve(struct svm_device *sdev, struct page **pages,
			  unsigned long n);

/*
 * Free pages for a reservation, which may sleep: those whose backing went
 * to a view get a new one. One that cannot be had ends the take.
 */
static unsigned long svm_take_backed(struct svm_device *sdev,
				     struct page **pages, unsigned long want)
{
	unsigned long i, n = svm_take_pages(sdev, pages, want, true);
	struct page **slot;

	for (i = 0; i < n; i++) {
		slot = svm_backing_slot(pages[i]);
		if (*slot)
			continue;
		*slot = alloc_pages_node(sdev->nid, GFP_HIGHUSER |
					 __GFP_NORETRY | __GFP_NOWARN, 0);
		if (!*slot) {
			svm_unreserve(sdev, pages + i, n - i);
			return i;
		}
	}
	return n;
}

/* Can @sdev hand out @n pages without growing or evicting? */
static bool svm_has_free(struct svm_device *sdev, unsigned long n)
{
	bool ret;

	spin_lock(&sdev->lock);
	ret = sdev->nr_free >= n;
	spin_unlock(&sdev->lock);
	return ret;
}

/* Give back reserved pages that were not used (refcount still 0). */
static void svm_unreserve(struct svm_device *sdev, struct page **pages,
			  unsigned long n)
{
	unsigned long i;

	spin_lock(&sdev->lock);
	for (i = 0; i < n; i++)
		svm_dpage_free_locked(sdev, svm_page_meta(pages[i]));
	spin_unlock(&sdev->lock);
}

/* A device page chosen for eviction, and where it should be found. */
struct svm_victim {
	struct mm_struct *mm;		/* mmgrab()ed for the eviction */
	unsigned long addr;
	unsigned long pfn;
	bool prefetched;		/* the tally's file's prefetch, unmoved */
};

/*
 * What an eviction tells the call that made it: of the pages it moved,
 * how many @sf's density prefetcher had placed and nothing had moved
 * since (svm_dpage.prefetched): the prefetcher's bets that cost room.
 */
struct svm_evict_tally {
	struct svm_file *sf;
	u64 prefetched;
};

static int svm_cmp_victim(const void *a, const void *b)
{
	const struct svm_victim *x = a, *y = b;

	if (x->mm != y->mm)
		return (unsigned long)x->mm < (unsigned long)y->mm ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * An eviction's pages of one other file, told to that file (an EVICT
 * event with EVENT_OTHER_FILE) before its device's lock is let go: the
 * lock is what keeps the file (svm_file_evict() clears every page's owner
 * under it before the file and its event ring are freed).
 */
struct svm_other_run {
	struct svm_file *sf;
	unsigned long addr;
	u64 pages;
	u32 prefetched;
};

static void svm_other_flush(struct svm_device *sdev, struct svm_other_run *o)
{
	lockdep_assert_held(&sdev->lock);
	if (o->pages)
		svm_event_evict(o->sf, sdev->index, o->addr, o->pages,
				o->prefetched, SVMSHIM_EVENT_OTHER_FILE);
	memset(o, 0, sizeof(*o));
}

/*
 * The device pages of @src[0, n) (at @start on) that moved home (a
 * destination, still MIGRATE after migrate_vma_pages()): their file's
 * density record of the piece turns to the host (svm_dens_moved()).
 * With @evictor (an eviction made room for that file's call), pages of
 * other files are told to their files, one event per run of one file's
 * pages. Called before migrate_vma_finalize(): the pages are still ours
 * (their prefetched mark too), and their owner is valid under their
 * device's lock. One lock round per device and one record update per run
 * of one file's piece.
 */
static void svm_dens_home(const unsigned long *src, const unsigned long *dst,
			  unsigned long n, unsigned long start,
			  const struct svm_file *evictor)
{
	struct svm_device *locked = NULL;
	struct svm_file *sf = NULL, *owner;
	struct svm_other_run other = { 0 };
	unsigned long i, addr, run = 0, run_addr = 0;

	for (i = 0; i < n; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct svm_device *sdev;
		struct svm_dpage *m;

		if (!dst[i] || !(src[i] & MIGRATE_PFN_MIGRATE) || !spage)
			continue;
		sdev = svm_page_chunk(spage)->sdev;
		addr = start + (i << PAGE_SHIFT);
		if (sdev != locked) {
			if (run)
				svm_dens_moved(sf, run_addr, SVMSHIM_LOC_HOST, run);
			run = 0;
			if (locked) {
				svm_other_flush(locked, &other);
				spin_unlock(&locked->lock);
			}
			spin_lock(&sdev->lock);
			locked = sdev;
		}
		m = svm_page_meta(spage);
		owner = m->owner;
		if (evictor && owner && owner != evictor) {
			if (other.sf != owner)
				svm_other_flush(sdev, &other);
			if (!other.pages) {
				other.sf = owner;
				other.addr = addr;
			}
			other.pages++;
			other.prefetched += m->prefetched;
		}
		if (run && (owner != sf ||
			    (addr >> SVM_DENS_SHIFT) != (run_addr >> SVM_DENS_SHIFT))) {
			svm_dens_moved(sf, run_addr, SVMSHIM_LOC_HOST, run);
			run = 0;
		}
		if (!owner)
			continue;
		if (!run) {
			sf = owner;
			run_addr = addr;
		}
		run++;
	}
	if (run)
		svm_dens_moved(sf, run_addr, SVMSHIM_LOC_HOST, run);
	if (locked) {
		svm_other_flush(locked, &other);
		spin_unlock(&locked->lock);
	}
}

/*
 * Move the victims @v[0, n) (consecutive addresses inside @vma, its
 * mmap_lock held) back to host pages, with migrate_vma like any other
 * move: the held mmap_lock keeps @vma, and with it the anon_vma of every
 * page it maps, alive until the migration entries are gone again.
 * (migrate_device_range() would take the pages by pfn with no such
 * guarantee: when the owner unmaps or exits meanwhile, the anon_vma is
 * freed under remove_migration_ptes().) A page is moved only if it is
 * still the victim's: whatever else the range holds now stays. Host
 * pages are allocated before anything is locked. Returns the pages moved;
 * @tally (if set) counts those of them marked prefetched, and the other
 * files whose pages moved are told (svm_dens_home()).
 */
static unsigned long svm_evict_range(struct svm_device *sdev,
				     struct vm_area_struct *vma,
				     const struct svm_victim *v,
				     unsigned long n,
				     struct svm_evict_tally *tally)
{
	unsigned long *src, *dst, i, k = 0, npool, done = 0;
	struct page **pool;
	struct migrate_vma args = {
		.vma = vma,
		.start = v[0].addr,
		.end = v[0].addr + (n << PAGE_SHIFT),
		.pgmap_owner = sdev->shim,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};

	src = kvcalloc(n, sizeof(*src), GFP_KERNEL);
	dst = kvcalloc(n, sizeof(*dst), GFP_KERNEL);
	pool = kvcalloc(n, sizeof(*pool), GFP_KERNEL);
	if (!src || !dst || !pool)
		goto out;
	/* Evict only what we have room for, on the device's node. */
	npool = alloc_pages_bulk_array_node(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN,
					    sdev->nid, n, pool);
	if (!npool)
		goto out;

	args.src = src;
	args.dst = dst;
	if (migrate_vma_setup(&args))
		goto out;
	for (i = 0; i < n && k < npool; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *hpage = pool[k];

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE) ||
		    page_to_pfn(spage) != v[i].pfn)
			continue;
		if (!trylock_page(hpage))
			continue;	/* cannot happen: a fresh page */
		pool[k++] = NULL;
		copy_highpage(hpage, svm_page_backing(spage));
		dst[i] = migrate_pfn(page_to_pfn(hpage));
	}
	migrate_vma_pages(&args);
	for (i = 0; i < n; i++) {
		if (dst[i] && (src[i] & MIGRATE_PFN_MIGRATE)) {
			done++;
			if (tally)
				tally->prefetched += v[i].prefetched;
		}
	}
	svm_dens_home(src, dst, n, args.start, tally ? tally->sf : NULL);
	migrate_vma_finalize(&args);

out:
	if (pool) {
		for (i = 0; i < n; i++)
			if (pool[i])
				__free_page(pool[i]);
	}
	kvfree(pool);
	kvfree(dst);
	kvfree(src);
	return done;
}

/*
 * The victims @v[0, n) of one mm: take it (if it still has users; an
 * exiting process frees its pages itself) and its mmap_lock for read
 * (only a trylock unless @may_block: a caller may hold another mmap_lock,
 * even this one), then evict runs of consecutive addresses inside one
 * VMA each. Returns the pages moved; @tally as svm_evict_range().
 */
static unsigned long svm_evict_mm(struct svm_device *sdev,
				  const struct svm_victim *v, unsigned long n,
				  bool may_block, struct svm_evict_tally *tally)
{
	struct mm_struct *mm = v[0].mm;
	unsigned long i, run, done = 0;

	if (!mmget_not_zero(mm))
		return 0;
	if (may_block ? mmap_read_lock_killable(mm) : !mmap_read_trylock(mm)) {
		mmput_async(mm);
		return 0;
	}
	for (i = 0; i < n; i += run) {
		struct vm_area_struct *vma = vma_lookup(mm, v[i].addr);

		for (run = 1; i + run < n && run < SVMSHIM_MAX_BATCH &&
		     v[i + run].addr == v[i].addr + (run << PAGE_SHIFT) &&
		     (!vma || v[i + run].addr < vma->vm_end); run++)
			;
		/* Gone, or not where it was (the heap moved): it stays. */
		if (!vma || !vma_is_anonymous(vma))
			continue;
		done += svm_evict_range(sdev, vma, v + i, run, tally);
	}
	mmap_read_unlock(mm);
	mmput_async(mm);
	return done;
}

/*
 * Evict up to @want pages from the head (least recently migrated) of the
 * LRU of @sdev, skipping pages placed by MIGRATE call @protect_gen, if
 * @owner is set pages of other files, and if @spare_pref pages whose file
 * names @sdev as their preferred location (evicted last: by a call
 * without it); *@found (if set) says how many it tried, @tally (if set)
 * how many of those it moved were its file's unmoved prefetched pages
 * (and then the files of other pages it moved get EVICT events of them).
 * Never called with page locks held; @may_block when no mmap_lock is
 * held either.
 * Pages that did not move go back to the LRU tail; pages freed meanwhile
 * (EVICTED) only become free again here, so a concurrent reservation
 * never hands out a page being evicted.
 */
static unsigned long svm_evict(struct svm_device *sdev, unsigned long want,
			       u64 protect_gen, struct svm_file *owner,
			       bool spare_pref, bool may_block, unsigned long *found,
			       struct svm_evict_tally *tally)
{
	struct svm_dpage *m, *tmp;
	struct svm_victim *v;
	unsigned long i, g, n = 0, done = 0;

	if (!want)
		return 0;
	want = min_t(unsigned long, want, SVMSHIM_MAX_BATCH);
	v = kvmalloc_array(want, sizeof(*v), GFP_KERNEL);
	if (!v)
		return 0;
	spin_lock(&sdev->lock);
	list_for_each_entry_safe(m, tmp, &sdev->lru, link) {
		if (n == want)
			break;
		if (protect_gen && m->gen == protect_gen)
			continue;
		if (owner && m->owner != owner)
			continue;
		if (spare_pref && m->owner &&
		    svm_attr_prefers(m->owner, m->addr, sdev->index))
			continue;
		list_del_init(&m->link);
		m->state = SVM_DPAGE_EVICTING;
		mmgrab(m->mm);
		v[n].mm = m->mm;
		v[n].addr = m->addr;
		v[n].pfn = page_to_pfn(m->page);
		/* Read with the state it goes with: nothing moves it now. */
		v[n].prefetched = tally && m->prefetched &&
				  m->owner == tally->sf;
		n++;
	}
	spin_unlock(&sdev->lock);
	if (found)
		*found = n;

	sort(v, n, sizeof(*v), svm_cmp_victim, NULL);
	for (i = 0; i < n; i = g) {
		for (g = i + 1; g < n && v[g].mm == v[i].mm; g++)
			;
		done += svm_evict_mm(sdev, v + i, g - i, may_block, tally);
	}

	spin_lock(&sdev->lock);
	for (i = 0; i < n; i++) {
		m = svm_page_meta(pfn_to_page(v[i].pfn));
		if (m->state == SVM_DPAGE_EVICTING) {
			m->state = SVM_DPAGE_USED;
			list_add_tail(&m->link, &sdev->lru);
		} else if (m->state == SVM_DPAGE_EVICTED) {
			svm_dpage_free_locked(sdev, m);
		}
	}
	spin_unlock(&sdev->lock);
	for (i = 0; i < n; i++)
		mmdrop(v[i].mm);
	kvfree(v);
	return done;
}

/*
 * Reserve up to @want free device pages: free list, then a new chunk, then
 * eviction of the LRU. Runs before any source page is locked.
 */
static unsigned long svm_reserve(struct svm_device *sdev, struct page **pages,
				 unsigned long want, u64 gen, bool may_evict,
				 u64 *evicted, struct svm_evict_tally *tally)
{
	unsigned long got = svm_take_backed(sdev, pages, want);
	bool spare = true;
	int round;

	while (got < want) {
		int ret;

		mutex_lock(&sdev->chunk_lock);
		ret = svm_chunk_add(sdev);
		mutex_unlock(&sdev->chunk_lock);
		if (ret)
			break;
		got += svm_take_backed(sdev, pages + got, want - got);
	}
	/*
	 * Pages that prefer this device go only when no other page is left
	 * to evict: not when others are there but could not move right now
	 * (a concurrent fault holds them, their mm's lock is contended).
	 */
	for (round = 0; may_evict && got < want && round < SVM_EVICT_ROUNDS;
	     round++) {
		unsigned long found = 0;
		unsigned long done = svm_evict(sdev, want - got, gen, NULL,
					       spare, false, &found, tally);

		*evicted += done;
		got += svm_take_backed(sdev, pages + got, want - got);
		if (spare && !found)
			spare = false;	/* only preferred pages are left */
		else if (!done)
			break;
	}
	return got;
}

/*
 * A page in use holds the module (and its mm): rmmod cannot get stuck in
 * memunmap_pages() waiting for pages that processes still map; it is
 * refused while any page is in use, and every page is free when the
 * module's exit runs. (The reference is dropped after the page's last
 * use here; the core drops its pgmap reference, which memunmap_pages()
 * waits for, only after this returns.)
 */
static void svm_page_used(struct svm_device *sdev, struct svm_dpage *m,
			  struct mm_struct *mm)
{
	lockdep_assert_held(&sdev->lock);
	if (!sdev->nr_used++)
		__module_get(THIS_MODULE);
	m->state = SVM_DPAGE_USED;
	m->mm = mm;
	mmgrab(mm);
}

static void svm_page_free(struct page *page)
{
	struct svm_device *sdev = svm_page_chunk(page)->sdev;
	struct svm_dpage *m = svm_page_meta(page);
	struct mm_struct *mm = NULL;
	bool last = false;

	ClearPageDirty(page);	/* set when filled for a writer */
	spin_lock(&sdev->lock);
	if (m->owner && (m->state == SVM_DPAGE_USED ||
			 m->state == SVM_DPAGE_EVICTING))
		svm_dens_add(m->owner, m->addr, sdev->index, -1);
	m->owner = NULL;
	if (m->state == SVM_DPAGE_USED || m->state == SVM_DPAGE_EVICTING) {
		mm = m->mm;
		m->mm = NULL;
		last = !--sdev->nr_used;
	}
	if (m->state == SVM_DPAGE_EVICTING) {
		/* svm_evict() frees it once it is done with its pfn. */
		m->state = SVM_DPAGE_EVICTED;
	} else {
		if (m->state == SVM_DPAGE_USED)
			list_del(&m->link);
		svm_dpage_free_locked(sdev, m);
	}
	spin_unlock(&sdev->lock);
	/* Not the last reference while the mm maps the page; safe here. */
	if (mm)
		mmdrop(mm);
	if (last)
		module_put(THIS_MODULE);
}

/* splitmix64: a cheap, well mixed hash for the injection draws. */
static inline u64 svm_mix(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * One injection draw for a move of the page at user address @addr towards
 * @slot (a device index, or SVMSHIM_MAX_DEVICES for the host), from the
 * inject_* module parameters. PINNED and UNSUPPORTED stick to a page (a
 * hash of the seed and the address), BUSY and NO_MEMORY are drawn per
 * attempt from the seed and a counter of the destination. Returns the
 * class to report, or 0. No sleeping, only atomics: callers may hold
 * source page locks.
 */
static u8 svm_inject_draw(unsigned int slot, unsigned long addr)
{
	struct svm_inject *in = &svmshim_inject;
	unsigned int cls = READ_ONCE(in->class);
	unsigned int pct = READ_ONCE(in->percent);
	unsigned int cnt = READ_ONCE(in->count);
	u64 seed = READ_ONCE(in->seed), h;

	if (!cls || cls >= SVMSHIM_FAIL_COUNT || !pct)
		return 0;
	if (cls == SVMSHIM_FAIL_PINNED || cls == SVMSHIM_FAIL_UNSUPPORTED)
		h = svm_mix(seed ^ svm_mix(addr >> PAGE_SHIFT));
	else
		h = svm_mix(seed ^ svm_mix(atomic64_inc_return(&in->draws[slot]) ^
					   ((u64)slot << 56)));
	if (h % 100 >= pct)
		return 0;
	if (cnt) {
		if (!atomic_add_unless(&in->hits, 1, cnt))
			return 0;
	} else {
		atomic_inc(&in->hits);
	}
	return cls;
}

/*
 * Fault injection for a CPU fault: only BUSY, the one class a CPU fault
 * can meet and get past by faulting again, and only with inject_count
 * set: the access faults until the failures stop, so they must stop.
 */
static bool svm_inject_cpu_fault(unsigned long addr)
{
	if (READ_ONCE(svmshim_inject.class) != SVMSHIM_FAIL_BUSY ||
	    !READ_ONCE(svmshim_inject.count) ||
	    READ_ONCE(svmshim_inject.direction) == SVM_INJECT_TO_DEVICE)
		return false;
	return svm_inject_draw(SVMSHIM_MAX_DEVICES, addr) != 0;
}

/*
 * A CPU fault on device page @spage: tell the file that moved it there.
 * CPU_FAULT: it came home from its device; FAILURE (BUSY): it could not
 * yet. Called while the fault holds the page (before finalize), so it is
 * not freed and its owner (cleared under sdev->lock when the file goes)
 * is still valid under that lock.
 */
static void svm_cpu_fault_event(struct page *spage, unsigned long addr,
				u16 type, u64 ns)
{
	struct svm_device *sdev = svm_page_chunk(spage)->sdev;
	struct svm_dpage *m = svm_page_meta(spage);

	struct svm_attr a;
	bool held = false;

	spin_lock(&sdev->lock);
	if (m->owner && type == SVMSHIM_EVENT_CPU_FAULT)
		svm_dens_moved(m->owner, addr, SVMSHIM_LOC_HOST, 1);
	/* A move home by a fault: the page's history goes to the table. */
	if (m->owner && type == SVMSHIM_EVENT_CPU_FAULT &&
	    READ_ONCE(m->owner->thrash)) {
		svm_attr_get(m->owner, addr, &a);
		if (a.thrash_threshold) {
			held = svm_thrash_note(&m->thrash, &a, ktime_get_ns());
			svm_thrash_put(m->owner, addr, &m->thrash);
		}
	}
	if (held)
		svm_event(m->owner, SVMSHIM_EVENT_HOLD, 0, SVMSHIM_LOC_HOST,
			  addr, 1, SVMSHIM_EVENT_BY_FAULT, 0);
	if (m->owner && type == SVMSHIM_EVENT_CPU_FAULT)
		svm_event(m->owner, type, 0, sdev->index, addr, 1, 0, ns);
	else if (m->owner)
		svm_event(m->owner, type, SVMSHIM_FAIL_BUSY, SVMSHIM_LOC_HOST,
			  addr, 1, SVMSHIM_EVENT_BY_FAULT, ns);
	spin_unlock(&sdev->lock);
}

/* CPU fault on one of our device pages: copy it back to a host page. */
static vm_fault_t svm_migrate_to_ram(struct vm_fault *vmf)
{
	unsigned long start = vmf->address & PAGE_MASK;
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = start,
		.end = start + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = vmf->page->pgmap->owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct page *spage, *hpage;
	u64 t0 = ktime_get_ns();

	/* Injected: the page stays on the device and the access faults again. */
	if (svm_inject_cpu_fault(start)) {
		svm_cpu_fault_event(vmf->page, start, SVMSHIM_EVENT_FAILURE, 0);
		return SVMSHIM_FAULT_RETRY;
	}

	/* The destination is allocated before the source is locked. */
	if (svm_local_policy(vmf->vma))
		hpage = alloc_pages_node(svm_page_chunk(vmf->page)->sdev->nid,
					 GFP_HIGHUSER_MOVABLE, 0);
	else
		hpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vmf->vma,
				       vmf->address);
	if (!hpage)
		return VM_FAULT_OOM;

	if (migrate_vma_setup(&args)) {
		put_page(hpage);
		return VM_FAULT_SIGBUS;	/* bad arguments: a driver bug */
	}
	spage = migrate_pfn_to_page(src);
	if (!spage || !(src & MIGRATE_PFN_MIGRATE) || !trylock_page(hpage)) {
		/* Busy (locked, raced): let the access fault again. */
		put_page(hpage);
		migrate_vma_finalize(&args);
		return SVMSHIM_FAULT_RETRY;
	}
	copy_highpage(hpage, svm_page_backing(spage));
	dst = migrate_pfn(page_to_pfn(hpage));
	migrate_vma_pages(&args);
	if (src & MIGRATE_PFN_MIGRATE)
		svm_cpu_fault_event(spage, start, SVMSHIM_EVENT_CPU_FAULT,
				    ktime_get_ns() - t0);
	/* If it did not move, finalize frees hpage and the access retries. */
	migrate_vma_finalize(&args);
	return 0;
}

static const struct dev_pagemap_ops svm_pagemap_ops = {
	.page_free = svm_page_free,
	.migrate_to_ram = svm_migrate_to_ram,
};

int svm_device_init(struct svmshim *shim, unsigned int index, int nid,
		    unsigned long bytes)
{
	struct svm_device *sdev = &shim->devs[index];

	sdev->shim = shim;
	sdev->index = index;
	sdev->nid = nid;
	/* memremap_pages() works in 2 MiB subsections. */
	sdev->max_pages = ALIGN(bytes, SZ_2M) >> PAGE_SHIFT;
	spin_lock_init(&sdev->lock);
	INIT_LIST_HEAD(&sdev->free);
	INIT_LIST_HEAD(&sdev->lru);
	INIT_LIST_HEAD(&sdev->chunks);
	mutex_init(&sdev->chunk_lock);
	return 0;
}

void svm_device_usage(struct svm_device *sdev, unsigned long *total,
		      unsigned long *free)
{
	spin_lock(&sdev->lock);
	*total = sdev->max_pages;
	*free = sdev->nr_free + (sdev->max_pages - sdev->nr_pages);
	spin_unlock(&sdev->lock);
}

/*
 * Module unload: every device page is free by now (a page in use holds the
 * module, see svm_page_used()); check that, then unmap the chunks.
 */
void svm_device_fini(struct svm_device *sdev)
{
	unsigned long evicted = 0, used, free, total;
	struct svm_chunk *c, *tmp;
	int round;

	/* Nothing to do unless the rule above broke: then try, bounded. */
	for (round = 0; round < SVM_EVICT_ROUNDS; round++) {
		spin_lock(&sdev->lock);
		used = sdev->nr_used;
		spin_unlock(&sdev->lock);
		if (!used)
			break;
		evicted += svm_evict(sdev, used, 0, NULL, false, true, NULL,
				     NULL);
	}

	spin_lock(&sdev->lock);
	total = sdev->nr_pages;
	free = sdev->nr_free;
	used = sdev->nr_used;
	spin_unlock(&sdev->lock);
	pr_info("svmshim: unload: device %u: %lu/%lu device pages free, %lu in use, %lu evicted at unload\n",
		sdev->index, free, total, used, evicted);
	if (free != total)
		pr_err("svmshim: unload: device %u: %lu device pages NOT returned\n",
		       sdev->index, total - free);

	mutex_lock(&sdev->chunk_lock);
	list_for_each_entry_safe(c, tmp, &sdev->chunks, node) {
		list_del(&c->node);
		svm_chunk_free(c, true);
	}
	mutex_unlock(&sdev->chunk_lock);
}

/* Device pages looked at per hold of svm_device.lock by a whole-device walk. */
#define SVM_WALK_STEP	1024

/*
 * Close: every page this file moved to a device goes back to the host, in
 * batches (each svm_evict() takes at most SVMSHIM_MAX_BATCH pages), bounded
 * by the device's size plus a few rounds for pages that did not move.
 */
void svm_file_evict(struct svm_file *sf)
{
	struct svmshim *shim = sf->shim;
	unsigned int d;

	for (d = 0; d < shim->ndevices; d++) {
		struct svm_device *sdev = &shim->devs[d];
		unsigned long i, end, round, rounds;
		struct svm_chunk *c;

		rounds = sdev->max_pages / SVMSHIM_MAX_BATCH + SVM_EVICT_ROUNDS;
		for (round = 0; round < rounds; round++) {
			unsigned long used;

			spin_lock(&sdev->lock);
			used = sdev->nr_used;
			spin_unlock(&sdev->lock);
			if (!used || !svm_evict(sdev, used, 0, sf, false, true,
						NULL, NULL))
				break;
			cond_resched();
		}
		/*
		 * What could not move stays mapped (its process frees it);
		 * forget its owner. A bounded step per hold of the lock.
		 */
		mutex_lock(&sdev->chunk_lock);
		list_for_each_entry(c, &sdev->chunks, node) {
			for (i = 0; i < c->npages; i = end) {
				end = min(i + SVM_WALK_STEP, c->npages);
				spin_lock(&sdev->lock);
				for (; i < end; i++)
					if (c->meta[i].owner == sf)
						c->meta[i].owner = NULL;
				spin_unlock(&sdev->lock);
				cond_resched();
			}
		}
		mutex_unlock(&sdev->chunk_lock);
	}
}

/* ---- migration ---------------------------------------------------------- */

struct svm_mig {
	struct svmshim *shim;
	struct svm_file *sf;
	struct mmu_interval_notifier own_mni;	/* MIGRATE's own */
	struct mmu_interval_notifier *mni;	/* for snapshots */
	struct svm_device *sdev;	/* destination device or NULL (host) */
	u64 gen;
	u32 flags;
	unsigned long batch;
	unsigned long *src, *dst, *snap;
	struct page **pages;		/* reserved device pages */
	struct page **pool;		/* preallocated host pages */
	unsigned long npool;
	int pool_nid;			/* node of the pool's pages */
	u8 *res, *res2;
	struct drm_svmshim_migrate *args;
	/* end of the retry budget (RETRY), from the call's first retry */
	ktime_t deadline;
	u32 pause_first_us;		/* first pause between retry rounds */
	u32 pause_max_us;		/* cap of the doubling pause */
	/* a fault's move: its attributes (thrashing holds); NULL: MIGRATE */
	const struct svm_attr *attr;
	bool prefetch;			/* the density prefetcher's move */
	/* what its evictions took of @sf's unmoved prefetched pages */
	struct svm_evict_tally evict;
};

/* May a page with this (internal) result be tried again? */
static inline bool svm_retryable(u8 r)
{
	return r == SVMSHIM_FAIL_BUSY || r == SVMSHIM_FAIL_NO_MEMORY ||
	       r == R_UNKNOWN || r == R_OTHERDEV;
}

/*
 * What every page of a pass is checked for first: @prev (a later pass)
 * says its result is final (R_SKIP: no destination, it stays put), or
 * migrate_vma_setup() dropped it (R_UNKNOWN: classified afterwards).
 * Returns the result to record, or 0 to go on with the page.
 */
static inline u8 svm_pass_skip(const struct svm_mig *m, unsigned long i,
			       const u8 *prev)
{
	if (prev && !svm_retryable(prev[i]))
		return R_SKIP;
	if (!(m->src[i] & MIGRATE_PFN_MIGRATE))
		return R_UNKNOWN;
	return 0;
}

/* Fault injection for a page of a MIGRATE pass (or a device fault's). */
static u8 svm_inject(struct svm_mig *m, unsigned long addr)
{
	unsigned int dir = READ_ONCE(svmshim_inject.direction);

	if ((dir == SVM_INJECT_TO_HOST && m->sdev) ||
	    (dir == SVM_INJECT_TO_DEVICE && !m->sdev))
		return 0;
	return svm_inject_draw(m->sdev ? m->sdev->index : SVMSHIM_MAX_DEVICES,
			       addr);
}

static bool svm_snap_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	/* Snapshots are advisory: just move the sequence on. */
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops svm_snap_ops = {
	.invalidate = svm_snap_invalidate,
};

/* Page table snapshot of [start, end) without faulting; mmap_lock held. */
static int svm_snap(struct svmshim *shim, struct mmu_interval_notifier *mni,
		    unsigned long start, unsigned long end, unsigned long *pfns)
{
	struct hmm_range range = {
		.notifier = mni,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.dev_private_owner = shim,
	};
	int tries, ret = -EBUSY;

	for (tries = 0; tries < SVM_SNAP_TRIES && ret == -EBUSY; tries++) {
		range.notifier_seq = mmu_interval_read_begin(mni);
		ret = hmm_range_fault(&range);
	}
	return ret;
}

/*
 * Snapshot of [start, end) that faults in the pages marked R_ABSENT in
 * @res: what hmm_range_fault() reports as nothing although
 * migrate_vma_setup() found something there (a page swapped out, another
 * driver's device page, a migration entry, a device-exclusive entry).
 * Our own device pages are reported as they are. mmap_lock held.
 */
static int svm_snap_fault(struct svm_mig *m, unsigned long start,
			  unsigned long end, const u8 *res)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	struct hmm_range range = {
		.notifier = m->mni,
		.start = start,
		.end = end,
		.hmm_pfns = m->snap,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT,
		.dev_private_owner = m->shim,
	};
	int tries, ret = -EBUSY;

	for (tries = 0; tries < SVM_SNAP_TRIES && ret == -EBUSY; tries++) {
		for (i = 0; i < n; i++)
			m->snap[i] = res[i] == R_ABSENT ? HMM_PFN_REQ_FAULT : 0;
		range.notifier_seq = mmu_interval_read_begin(m->mni);
		ret = hmm_range_fault(&range);
	}
	return ret;
}

/*
 * Give a class to the pages migrate_vma_setup() dropped (R_UNKNOWN), from
 * what is there now: a pinned page is PINNED, a page the core cannot move
 * as it is (a large folio mapped by PTEs: the core splits only PMD
 * mappings) UNSUPPORTED, a page found nowhere on the way to a device is
 * faulted in first and then BUSY (the next attempt moves it) or
 * UNSUPPORTED if that failed.
 */
static void svm_classify(struct svm_mig *m, unsigned long start,
			 unsigned long end, u8 *res)
{
	unsigned long i, absent = 0, n = (end - start) >> PAGE_SHIFT;
	struct page *page;
	int ret, loc;
	u8 absent_res = 0;

	for (i = 0; i < n; i++)
		if (res[i] == R_UNKNOWN)
			break;
	if (i == n)
		return;

	ret = svm_snap(m->shim, m->mni, start, end, m->snap);
	/*
	 * Only a move to a device faults pages in; home, a page found
	 * nowhere is not on a device of ours (a swapped-out page stays in
	 * swap).
	 */
	for (i = 0; !ret && m->sdev && i < n; i++) {
		if (res[i] == R_UNKNOWN &&
		    svm_page_location(m->shim, m->snap[i], &page) ==
		    SVMSHIM_LOC_NONE) {
			res[i] = R_ABSENT;
			absent++;
		}
	}
	if (absent) {
		ret = svm_snap_fault(m, start, end, res);
		if (ret) {
			absent_res = ret == -EBUSY ? SVMSHIM_FAIL_BUSY :
				     SVMSHIM_FAIL_UNSUPPORTED;
			ret = svm_snap(m->shim, m->mni, start, end, m->snap);
		}
		for (i = 0; i < n; i++)
			if (res[i] == R_ABSENT)
				res[i] = absent_res ? absent_res : R_UNKNOWN;
	}

	for (i = 0; i < n; i++) {
		if (res[i] != R_UNKNOWN)
			continue;
		if (ret) {
			res[i] = SVMSHIM_FAIL_BUSY;
			continue;
		}
		loc = svm_page_location(m->shim, m->snap[i], &page);
		if (loc == SVMSHIM_LOC_OTHER) {
			res[i] = SVMSHIM_FAIL_UNSUPPORTED;
		} else if (m->sdev) {
			if (loc == (int)m->sdev->index)
				res[i] = R_ALREADY;
			else if (loc >= 0)
				res[i] = R_OTHERDEV;
			else if (loc == SVMSHIM_LOC_HOST &&
				 svmshim_page_pinned(page))
				res[i] = SVMSHIM_FAIL_PINNED;
			else if (loc == SVMSHIM_LOC_HOST &&
				 folio_test_large(page_folio(page)) &&
				 !hmm_pfn_to_map_order(m->snap[i]))
				res[i] = SVMSHIM_FAIL_UNSUPPORTED;
			else	/* raced: changed again since */
				res[i] = SVMSHIM_FAIL_BUSY;
		} else {
			if (loc == SVMSHIM_LOC_HOST || loc == SVMSHIM_LOC_NONE)
				res[i] = R_ALREADY;
			else
				res[i] = SVMSHIM_FAIL_BUSY;
		}
	}
}

/*
 * One batch host -> device m->sdev; mmap_lock held for read. If @prev is
 * set (a later pass), only the pages it marks retryable are tried; the
 * others get R_SKIP.
 */
static void svm_batch_to_dev(struct svm_mig *m, struct vm_area_struct *vma,
			     unsigned long start, unsigned long end, u8 *res,
			     const u8 *prev)
{
	unsigned long i, k = 0, nres, n = (end - start) >> PAGE_SHIFT;
	unsigned long n_want = n, nheld = 0, run = 0, run_addr = 0;
	struct svm_device *sdev = m->sdev;
	bool thrash = m->attr && m->attr->thrash_threshold;
	u64 now = ktime_get_ns();
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = m->src,
		.dst = m->dst,
		.pgmap_owner = m->shim,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};

	/*
	 * Reserve destination pages while nothing is locked. If the device
	 * cannot simply give a whole batch, count what really has to move
	 * (pages already on @sdev do not) so that we never evict for them.
	 */
	if (prev) {
		for (i = 0, n_want = 0; i < n; i++)
			n_want += svm_retryable(prev[i]);
	} else if (!svm_has_free(sdev, n) &&
		   !svm_snap(m->shim, m->mni, start, end, m->snap)) {
		unsigned long need = 0;
		struct page *page;

		for (i = 0; i < n; i++)
			need += svm_page_location(m->shim, m->snap[i], &page) !=
				(int)sdev->index;
		if (!need) {
			memset(res, R_ALREADY, n);
			return;
		}
		n_want = need;
	}
	svm_dens_prepare(m->sf, start, end);
	nres = svm_reserve(sdev, m->pages, n_want, m->gen,
			   !(m->flags & SVMSHIM_MIGRATE_NO_EVICT),
			   &m->args->evicted, &m->evict);

	if (migrate_vma_setup(&args)) {
		svm_unreserve(sdev, m->pages, nres);
		memset(res, SVMSHIM_FAIL_UNSUPPORTED, n);
		return;
	}

	for (i = 0; i < n; i++) {
		struct page *spage, *dpage;
		u8 inj;

		res[i] = svm_pass_skip(m, i, prev);
		if (res[i])
			continue;
		/* Injected: no destination, so the page stays where it is. */
		inj = svm_inject(m, start + (i << PAGE_SHIFT));
		if (inj) {
			res[i] = inj;
			continue;
		}
		/* A fault never takes a page that is on hold. */
		if (thrash && svm_thrash_held(m->sf, start + (i << PAGE_SHIFT),
					      sdev->index, now)) {
			res[i] = R_HELD;
			continue;
		}
		/* Raced with the count above: only a free page, no sleeping. */
		if (k == nres && svm_take_free(sdev, m->pages + nres, 1))
			nres++;
		if (k == nres) {
			res[i] = SVMSHIM_FAIL_NO_MEMORY;
			continue;
		}
		dpage = m->pages[k++];
		/* Takes the pgmap reference; locks our reserved page. */
		zone_device_page_init(dpage);
		spage = migrate_pfn_to_page(m->src[i]);
		if (spage)
			copy_highpage(svm_page_backing(dpage), spage);
		else
			clear_highpage(svm_page_backing(dpage));
		m->dst[i] = migrate_pfn(page_to_pfn(dpage));
		if ((m->src[i] & MIGRATE_PFN_WRITE) ||
		    (!spage && (vma->vm_flags & VM_WRITE))) {
			m->dst[i] |= MIGRATE_PFN_WRITE;
			/*
			 * The device may write it through the view, which
			 * nothing tracks: dirty from the start, so the page
			 * that brings the data home is dirty too (a clean
			 * one, say after MADV_FREE, could be dropped).
			 */
			SetPageDirty(dpage);
		}
		res[i] = R_MOVED;
	}

	migrate_vma_pages(&args);

	spin_lock(&sdev->lock);
	for (i = 0; i < n; i++) {
		struct svm_dpage *dm;

		if (!m->dst[i])
			continue;
		if (!(m->src[i] & MIGRATE_PFN_MIGRATE)) {
			res[i] = SVMSHIM_FAIL_BUSY;	/* raced */
			continue;
		}
		dm = svm_page_meta(migrate_pfn_to_page(m->dst[i]));
		svm_page_used(sdev, dm, vma->vm_mm);
		dm->owner = m->sf;
		dm->addr = start + (i << PAGE_SHIFT);
		svm_dens_add(m->sf, dm->addr, sdev->index, 1);
		/* Arrived with data from the host: a move (else a first touch). */
		if (migrate_pfn_to_page(m->src[i])) {
			if (run && (dm->addr >> SVM_DENS_SHIFT) !=
				   (run_addr >> SVM_DENS_SHIFT)) {
				svm_dens_moved(m->sf, run_addr, sdev->index, run);
				run = 0;
			}
			if (!run)
				run_addr = dm->addr;
			run++;
		}
		dm->gen = m->gen;
		dm->prefetched = m->prefetch;
		/* A fault's move carries the page's history along. */
		memset(&dm->thrash, 0, sizeof(dm->thrash));
		if (thrash) {
			svm_thrash_take(m->sf, dm->addr, &dm->thrash);
			nheld += svm_thrash_note(&dm->thrash, m->attr, now);
		}
		list_add_tail(&dm->link, &sdev->lru);
	}
	if (run)
		svm_dens_moved(m->sf, run_addr, sdev->index, run);
	spin_unlock(&sdev->lock);
	if (nheld)
		svm_event(m->sf, SVMSHIM_EVENT_HOLD, 0, sdev->index, start,
			  nheld, SVMSHIM_EVENT_BY_FAULT, 0);

	/* Frees the destination pages that did not get used. */
	migrate_vma_finalize(&args);
	svm_unreserve(sdev, m->pages + k, nres - k);
	svm_classify(m, start, end, res);
}

/*
 * Refill the host page pool to @n pages; nothing is locked. With the
 * default policy one bulk allocation on node @nid (the source device's;
 * NUMA_NO_NODE: local) does what n calls of alloc_page_vma() would;
 * otherwise each page follows the VMA's policy. pool[0, npool) holds
 * pages, the rest is NULL.
 */
static void svm_pool_fill(struct svm_mig *m, struct vm_area_struct *vma,
			  unsigned long start, unsigned long n, int nid)
{
	bool local = svm_local_policy(vma);

	/* Left over from a batch that came from another node: give back. */
	if (local && m->npool && m->pool_nid != nid) {
		while (m->npool) {
			put_page(m->pool[--m->npool]);
			m->pool[m->npool] = NULL;
		}
	}
	m->pool_nid = nid;
	if (m->npool < n && local)
		m->npool = nid == NUMA_NO_NODE ?
			alloc_pages_bulk_array(GFP_HIGHUSER_MOVABLE |
					       __GFP_NOWARN, n, m->pool) :
			alloc_pages_bulk_array_node(GFP_HIGHUSER_MOVABLE |
						    __GFP_NOWARN, nid, n,
						    m->pool);
	while (m->npool < n) {
		struct page *page;

		page = alloc_page_vma(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, vma,
				      start + (m->npool << PAGE_SHIFT));
		if (!page)
			break;
		m->pool[m->npool++] = page;
	}
}

/*
 * The node pages of [start, end) should come home to: the node of the
 * device holding the first device page there (a batch rarely mixes
 * devices), or NUMA_NO_NODE. One page table walk, nothing locked.
 */
static int svm_home_nid(struct svm_mig *m, struct vm_area_struct *vma,
			unsigned long start, unsigned long end)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	struct page *page;
	int loc;

	if (num_online_nodes() < 2 || !svm_local_policy(vma) ||
	    svm_snap(m->shim, m->mni, start, end, m->snap))
		return NUMA_NO_NODE;
	for (i = 0; i < n; i++) {
		loc = svm_page_location(m->shim, m->snap[i], &page);
		if (loc >= 0)
			return m->shim->devs[loc].nid;
	}
	return NUMA_NO_NODE;
}

/*
 * One batch device -> host; mmap_lock held for read. Pages on @keep stay
 * where they are (used to clear the way for a device-to-device move).
 */
static void svm_batch_to_host(struct svm_mig *m, struct vm_area_struct *vma,
			      unsigned long start, unsigned long end, u8 *res,
			      struct svm_device *keep, const u8 *prev)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = m->src,
		.dst = m->dst,
		.pgmap_owner = m->shim,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};

	/* Destination first: nothing is locked yet. */
	svm_pool_fill(m, vma, start, n, svm_home_nid(m, vma, start, end));

	if (migrate_vma_setup(&args)) {
		memset(res, SVMSHIM_FAIL_UNSUPPORTED, n);
		return;
	}

	for (i = 0; i < n; i++) {
		struct page *spage, *hpage;
		u8 inj;

		res[i] = svm_pass_skip(m, i, prev);
		if (res[i])
			continue;
		spage = migrate_pfn_to_page(m->src[i]);
		if (!spage || (keep && svm_page_chunk(spage)->sdev == keep)) {
			res[i] = R_ALREADY;	/* hole, or stays put */
			continue;
		}
		inj = svm_inject(m, start + (i << PAGE_SHIFT));
		if (inj) {
			res[i] = inj;
			continue;
		}
		if (!m->npool) {
			res[i] = SVMSHIM_FAIL_NO_MEMORY;
			continue;
		}
		hpage = m->pool[m->npool - 1];
		if (!trylock_page(hpage)) {
			res[i] = SVMSHIM_FAIL_BUSY;
			continue;
		}
		m->pool[--m->npool] = NULL;
		copy_highpage(hpage, svm_page_backing(spage));
		m->dst[i] = migrate_pfn(page_to_pfn(hpage));
		res[i] = R_MOVED;
	}

	migrate_vma_pages(&args);
	for (i = 0; i < n; i++)
		if (m->dst[i] && !(m->src[i] & MIGRATE_PFN_MIGRATE))
			res[i] = SVMSHIM_FAIL_BUSY;
	svm_dens_home(m->src, m->dst, n, start, NULL);
	migrate_vma_finalize(&args);
	svm_classify(m, start, end, res);
}

static bool svm_res_has(const u8 *res, unsigned long n, u8 a, u8 b)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (res[i] == a || res[i] == b)
			return true;
	return false;
}

/* A whole batch to a device, with the bounded extra passes. */
static void svm_batch_dev(struct svm_mig *m, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	bool drained = !(m->flags & SVMSHIM_MIGRATE_DRAIN_LRU);
	int pass;

	svm_batch_to_dev(m, vma, start, end, m->res, NULL);
	for (pass = 0; pass < 2; pass++) {
		bool other = svm_res_has(m->res, n, R_OTHERDEV, R_OTHERDEV);
		bool busy = svm_res_has(m->res, n, SVMSHIM_FAIL_BUSY, R_UNKNOWN);

		if (!other && (drained || !busy))
			break;
		if (other)
			svm_batch_to_host(m, vma, start, end, m->res2, m->sdev,
					  m->res);
		else
			drained = true;
		svm_batch_to_dev(m, vma, start, end, m->res2, m->res);
		/*
		 * What this pass found is what is true now (a page BUSY
		 * before may be PINNED, NO_MEMORY or there already now).
		 */
		for (i = 0; i < n; i++) {
			if (m->res2[i] == R_SKIP)
				continue;
			if (m->res[i] == R_OTHERDEV && m->res2[i] == R_OTHERDEV)
				m->res[i] = SVMSHIM_FAIL_BUSY;
			else
				m->res[i] = m->res2[i];
		}
	}
}

static void svm_batch_host(struct svm_mig *m, struct vm_area_struct *vma,
			   unsigned long start, unsigned long end)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT;

	svm_batch_to_host(m, vma, start, end, m->res, NULL, NULL);
	if (!(m->flags & SVMSHIM_MIGRATE_DRAIN_LRU) ||
	    !svm_res_has(m->res, n, SVMSHIM_FAIL_BUSY, R_UNKNOWN))
		return;
	svm_batch_to_host(m, vma, start, end, m->res2, NULL, m->res);
	for (i = 0; i < n; i++)
		if (m->res2[i] != R_SKIP)
			m->res[i] = m->res2[i];
}

/*
 * Can pages of @vma move (to a device: @to_dev)? Private anonymous memory
 * only; and nothing goes to a device that the process cannot read itself
 * (PROT_NONE, or write-only): the device would reach what the CPU may not.
 * Pages on a device still come home from such a VMA.
 */
static bool svm_vma_supported(struct vm_area_struct *vma, bool to_dev)
{
	if (to_dev && !(vma->vm_flags & VM_READ))
		return false;
	return vma_is_anonymous(vma) && !is_vm_hugetlb_page(vma) &&
	       !(vma->vm_flags & VM_SPECIAL) && !vma_is_dax(vma);
}

/*
 * SVMSHIM_MIGRATE_RETRY: further rounds for the BUSY and NO_MEMORY pages of
 * the batch [start, end) after its first attempt. Called with no lock held:
 * the pause (exponential, capped, cut to the rest of the budget) and the
 * eviction pass run before mmap_lock is taken again, so no page lock and no
 * mmap_lock is ever held while waiting. (The LRU drain the core can do for
 * a module is the local one migrate_vma_setup() does at every attempt;
 * lru_add_drain_all() is not exported: the pause lets the other CPUs'
 * caches go.) Bounded by
 * retry_rounds and by the call's deadline; PINNED and UNSUPPORTED pages are
 * never tried again (R_SKIP in svm_batch_to_dev()/svm_batch_to_host()).
 * A device fault passes @locked_vma: it holds mmap_lock for read through
 * the whole fault, so here the pauses (bounded by the range's fault
 * budget) are taken with it held; still no page lock.
 */
static int svm_retry_batch(struct svm_mig *m, struct mm_struct *mm,
			   unsigned long start, unsigned long end,
			   struct vm_area_struct *locked_vma)
{
	unsigned long i, busy, nomem, n = (end - start) >> PAGE_SHIFT;
	u32 round, rounds = m->args->retry_rounds;
	u32 pause_us = m->pause_first_us;	/* each batch starts small */
	struct vm_area_struct *vma;
	s64 left_us;

	for (round = 0; round < rounds; round++) {
		for (i = 0, busy = 0, nomem = 0; i < n; i++) {
			nomem += m->res[i] == SVMSHIM_FAIL_NO_MEMORY;
			busy += svm_retryable(m->res[i]) &&
				m->res[i] != SVMSHIM_FAIL_NO_MEMORY;
		}
		if (!busy && !nomem)
			break;
		if (!m->deadline)	/* the budget starts with the retries */
			m->deadline = ktime_add_us(ktime_get(),
						   m->args->retry_budget_us);
		left_us = ktime_us_delta(m->deadline, ktime_get());
		if (left_us <= 0)
			break;

		left_us = min_t(s64, left_us, min(pause_us, m->pause_max_us));
		if (left_us > 0) {
			/* Killable: a fatal signal ends the pause at once. */
			ktime_t pause = ns_to_ktime(left_us * NSEC_PER_USEC);

			set_current_state(TASK_KILLABLE);
			schedule_hrtimeout_range(&pause,
						 (left_us / 8 + 1) * NSEC_PER_USEC,
						 HRTIMER_MODE_REL);
		} else {
			cond_resched();
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		pause_us = min_t(u64, (u64)pause_us * 2, m->pause_max_us);
		if (ktime_after(ktime_get(), m->deadline))
			break;
		if (nomem && m->sdev && !(m->flags & SVMSHIM_MIGRATE_NO_EVICT))
			m->args->evicted += svm_evict(m->sdev, nomem, m->gen,
						      NULL, true, !locked_vma,
						      NULL, &m->evict);

		if (locked_vma) {
			vma = locked_vma;	/* a device fault: lock held */
		} else {
			if (mmap_read_lock_killable(mm))
				return -EINTR;
			vma = vma_lookup(mm, start);
			if (!vma || vma->vm_end < end ||
			    !svm_vma_supported(vma, m->sdev)) {
				/* The mapping changed: report what we have. */
				mmap_read_unlock(mm);
				break;
			}
		}
		/* Saturates rather than wraps (u32 in the uAPI). */
		m->args->retries = min_t(u64, (u64)m->args->retries + busy +
					 nomem, U32_MAX);
		m->args->rounds = max(m->args->rounds, round + 1);
		if (m->sdev) {
			/* Pages on another device go via the host first. */
			if (svm_res_has(m->res, n, R_OTHERDEV, R_OTHERDEV))
				svm_batch_to_host(m, vma, start, end, m->res2,
						  m->sdev, m->res);
			svm_batch_to_dev(m, vma, start, end, m->res2, m->res);
		} else {
			svm_batch_to_host(m, vma, start, end, m->res2, NULL,
					  m->res);
		}
		if (!locked_vma)
			mmap_read_unlock(mm);
		for (i = 0; i < n; i++)
			if (svm_retryable(m->res[i]))
				m->res[i] = m->res2[i];
	}
	return 0;
}

/* Convert internal results to uAPI classes and count them. */
static void svm_account(struct svm_mig *m, unsigned long n)
{
	struct drm_svmshim_migrate *a = m->args;
	unsigned long i;

	for (i = 0; i < n; i++) {
		switch (m->res[i]) {
		case R_MOVED:
			a->moved++;
			m->res[i] = SVMSHIM_FAIL_NONE;
			break;
		case R_ALREADY:
			a->already++;
			m->res[i] = SVMSHIM_FAIL_NONE;
			break;
		case R_HELD:	/* left where it is on purpose: no failure */
			m->res[i] = SVMSHIM_FAIL_BUSY;
			break;
		case SVMSHIM_FAIL_PINNED:
		case SVMSHIM_FAIL_BUSY:
		case SVMSHIM_FAIL_NO_MEMORY:
		case SVMSHIM_FAIL_UNSUPPORTED:
			a->failed[m->res[i]]++;
			break;
		default:	/* R_UNKNOWN, R_OTHERDEV left over */
			m->res[i] = SVMSHIM_FAIL_BUSY;
			a->failed[SVMSHIM_FAIL_BUSY]++;
			break;
		}
	}
}

static void svm_mig_free(struct svm_mig *m)
{
	while (m->npool) {
		put_page(m->pool[--m->npool]);
		m->pool[m->npool] = NULL;
	}
	kvfree(m->src);		/* every array of the batch */
	m->src = NULL;
}

/*
 * The per-batch arrays of @m, m->batch entries each, in one allocation
 * (a device fault used to make seven); svm_mig_free() frees.
 */
static int svm_mig_alloc(struct svm_mig *m, gfp_t gfp)
{
	unsigned long n = m->batch;
	void *p;

	if (n > SVMSHIM_MAX_BATCH)
		return -EINVAL;
	p = kvzalloc(n * (3 * sizeof(unsigned long) +
			  2 * sizeof(struct page *) + 2), gfp);
	if (!p)
		return -ENOMEM;
	m->src = p;
	m->dst = m->src + n;
	m->snap = m->dst + n;
	m->pages = (struct page **)(m->snap + n);
	m->pool = m->pages + n;
	m->res = (u8 *)(m->pool + n);
	m->res2 = m->res + n;
	return 0;
}

/* MIGRATE, FAILURE and EVICT events for what the call did. */
static void svm_mig_events(struct svm_mig *m, unsigned long start, u32 flags,
			   u64 ns)
{
	struct drm_svmshim_migrate *a = m->args;
	s32 dest = m->sdev ? (s32)m->sdev->index : SVMSHIM_LOC_HOST;
	unsigned int c;

	if (a->moved)
		svm_event(m->sf, SVMSHIM_EVENT_MIGRATE, 0, dest, start,
			  a->moved, flags, ns);
	for (c = 1; c < SVMSHIM_FAIL_COUNT; c++)
		if (a->failed[c])
			svm_event(m->sf, SVMSHIM_EVENT_FAILURE, c, dest, start,
				  a->failed[c], flags, 0);
	if (a->evicted)
		svm_event_evict(m->sf, dest, start, a->evicted,
				min_t(u64, m->evict.prefetched, U32_MAX), flags);
}

/*
 * Device fault of view @v at heap page @addr: move the granule
 * [start, end) (inside one VMA, @vma, mmap_lock held for read) to the
 * view's device, with the range's fault retry rounds and budget. Returns
 * the class of the page at @addr: SVMSHIM_FAIL_NONE when it is on the
 * device now.
 */
u8 svm_fault_migrate(struct svm_view *v, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end, unsigned long addr,
		     const struct svm_attr *attr)
{
	unsigned long n = (end - start) >> PAGE_SHIFT;
	struct drm_svmshim_migrate a = {
		.start = start,
		.length = end - start,
		.dest = v->sdev->index,
		.flags = SVMSHIM_MIGRATE_DRAIN_LRU,
		.retry_rounds = attr->rounds,
		.retry_budget_us = attr->budget_us,
	};
	struct svm_mig m = {
		.shim = v->sf->shim,
		.sf = v->sf,
		.mni = &v->heap_mni,
		.sdev = v->sdev,
		.args = &a,
		.batch = n,
		.pause_first_us = attr->backoff_us,
		.pause_max_us = attr->backoff_max_us,
		.attr = attr,
		.evict.sf = v->sf,
	};
	u64 t0 = ktime_get_ns();
	u8 cls = SVMSHIM_FAIL_BUSY;

	if (!svm_vma_supported(vma, true)) {
		svm_event(v->sf, SVMSHIM_EVENT_FAILURE, SVMSHIM_FAIL_UNSUPPORTED,
			  v->sdev->index, start, n, SVMSHIM_EVENT_BY_FAULT, 0);
		return SVMSHIM_FAIL_UNSUPPORTED;
	}
	spin_lock(&v->sdev->lock);
	m.gen = ++v->sdev->gen;
	spin_unlock(&v->sdev->lock);
	m.flags = a.flags;
	if (svm_mig_alloc(&m, GFP_KERNEL)) {
		svm_mig_free(&m);
		return SVMSHIM_FAIL_NO_MEMORY;
	}

	svm_batch_dev(&m, vma, start, end);
	if (a.retry_rounds && a.retry_budget_us)
		svm_retry_batch(&m, vma->vm_mm, start, end, vma);
	svm_account(&m, n);
	cls = m.res[(addr - start) >> PAGE_SHIFT];
	svm_mig_events(&m, start, SVMSHIM_EVENT_BY_FAULT, ktime_get_ns() - t0);
	svm_mig_free(&m);
	return cls;
}

/*
 * The density prefetcher's move context: the arrays for a 2 MiB piece.
 * A stream's prefetch moves a region piece by piece, and making the
 * context for each piece (seven allocations) cost about a tenth of the
 * stream on a debug kernel: a view keeps one (svmshim_view.c) and every
 * prefetch of it reuses it (svm_prefetch_start()).
 */
struct svm_prefetch {
	struct svm_mig m;
	struct drm_svmshim_migrate a;
};

struct svm_prefetch *svm_prefetch_alloc(struct svm_view *v)
{
	struct svm_prefetch *pf = kzalloc(sizeof(*pf), GFP_KERNEL_ACCOUNT);

	if (!pf)
		return NULL;
	pf->a.dest = v->sdev->index;
	pf->a.flags = SVMSHIM_MIGRATE_NO_EVICT;
	pf->m.shim = v->sf->shim;
	pf->m.sf = v->sf;
	pf->m.mni = &v->heap_mni;
	pf->m.sdev = v->sdev;
	pf->m.args = &pf->a;
	pf->m.batch = SVM_DENS_PAGES;
	pf->m.flags = SVMSHIM_MIGRATE_NO_EVICT;
	pf->m.prefetch = true;
	if (svm_mig_alloc(&pf->m, GFP_KERNEL_ACCOUNT)) {
		svm_mig_free(&pf->m);
		kfree(pf);
		return NULL;
	}
	return pf;
}

void svm_prefetch_free(struct svm_prefetch *pf)
{
	if (!pf)
		return;
	svm_mig_free(&pf->m);
	kfree(pf);
}

/*
 * One fault's prefetch starts: its attributes (@attr must live until its
 * last svm_prefetch_move()) and a generation of its own for the pages it
 * places, as a MIGRATE call has.
 */
void svm_prefetch_start(struct svm_prefetch *pf, const struct svm_attr *attr)
{
	struct svm_device *sdev = pf->m.sdev;

	pf->m.attr = attr;
	spin_lock(&sdev->lock);
	pf->m.gen = ++sdev->gen;
	spin_unlock(&sdev->lock);
}

/*
 * Move [start, end) (inside one VMA and one 2 MiB piece; mmap_lock held
 * for read) to the view's device as a prefetch: one pass, no drain, no
 * retry, never evicting; pages on another device stay. A bet, so what
 * fails makes no FAILURE event. Returns the pages moved; *full is set
 * when the device had no room for some.
 */
unsigned long svm_prefetch_move(struct svm_prefetch *pf,
				struct vm_area_struct *vma,
				unsigned long start, unsigned long end,
				bool *full)
{
	struct svm_mig *m = &pf->m;
	unsigned long i, n = (end - start) >> PAGE_SHIFT, moved = 0;

	*full = false;
	if (!n || n > m->batch || !svm_vma_supported(vma, true))
		return 0;
	svm_batch_to_dev(m, vma, start, end, m->res, NULL);
	for (i = 0; i < n; i++) {
		moved += m->res[i] == R_MOVED;
		*full |= m->res[i] == SVMSHIM_FAIL_NO_MEMORY;
	}
	return moved;
}

int svm_migrate(struct svm_file *sf, struct drm_svmshim_migrate *a)
{
	struct svmshim *shim = sf->shim;
	struct mm_struct *mm = current->mm;
	unsigned long start = a->start, end, addr;
	u8 __user *ures = u64_to_user_ptr(a->results);
	struct svm_mig m = { .shim = shim, .sf = sf, .args = a,
			     .evict.sf = sf };
	u64 t0 = ktime_get_ns();
	int ret = 0;

	if (!mm)
		return -EINVAL;
	end = start + a->length;
	m.batch = clamp_t(unsigned long, READ_ONCE(svmshim_batch_pages), 1,
			  SVMSHIM_MAX_BATCH);
	m.flags = a->flags;
	if (a->flags & SVMSHIM_MIGRATE_BACKOFF) {
		m.pause_first_us = a->backoff_us;
		m.pause_max_us = a->backoff_max_us;
	} else {
		m.pause_first_us = SVM_RETRY_PAUSE_US;
		m.pause_max_us = SVM_RETRY_PAUSE_MAX_US;
	}
	if (a->dest >= 0) {
		m.sdev = &shim->devs[a->dest];
		spin_lock(&m.sdev->lock);
		m.gen = ++m.sdev->gen;
		spin_unlock(&m.sdev->lock);
	}

	ret = svm_mig_alloc(&m, GFP_KERNEL);
	if (ret)
		goto out_free;

	m.mni = &m.own_mni;
	ret = mmu_interval_notifier_insert(m.mni, mm, start, a->length,
					   &svm_snap_ops);
	if (ret)
		goto out_free;

	for (addr = start; addr < end; ) {
		struct vm_area_struct *vma;
		unsigned long bend, n;
		bool supported;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		vma = vma_lookup(mm, addr);
		if (!vma) {
			mmap_read_unlock(mm);
			ret = -EFAULT;
			break;
		}
		bend = min3(end, vma->vm_end, addr + (m.batch << PAGE_SHIFT));
		n = (bend - addr) >> PAGE_SHIFT;
		supported = svm_vma_supported(vma, m.sdev);
		if (!supported)
			memset(m.res, m.sdev ? SVMSHIM_FAIL_UNSUPPORTED : R_ALREADY,
			       n);
		else if (m.sdev)
			svm_batch_dev(&m, vma, addr, bend);
		else
			svm_batch_host(&m, vma, addr, bend);
		mmap_read_unlock(mm);

		if (supported && (m.flags & SVMSHIM_MIGRATE_RETRY)) {
			ret = svm_retry_batch(&m, mm, addr, bend, NULL);
			if (ret)
				break;
		}

		svm_account(&m, n);
		if (ures && copy_to_user(ures + ((addr - start) >> PAGE_SHIFT),
					 m.res, n)) {
			ret = -EFAULT;
			break;
		}
		addr = bend;
		cond_resched();
	}

	mmu_interval_notifier_remove(m.mni);
	a->evicted_prefetched = min_t(u64, m.evict.prefetched, U32_MAX);
	svm_mig_events(&m, start, 0, ktime_get_ns() - t0);
out_free:
	svm_mig_free(&m);
	return ret;
}

int svm_snapshot(struct svm_file *sf, struct drm_svmshim_snapshot *a)
{
	struct svmshim *shim = sf->shim;
	struct mm_struct *mm = current->mm;
	unsigned long start = a->start, end = a->start + a->length, addr;
	s32 __user *uloc = u64_to_user_ptr(a->locations);
	struct mmu_interval_notifier mni;
	const unsigned long step = 512;
	unsigned long *pfns;
	s32 *locs;
	int ret;

	if (!mm)
		return -EINVAL;
	pfns = kvcalloc(step, sizeof(*pfns), GFP_KERNEL);
	locs = kvcalloc(step, sizeof(*locs), GFP_KERNEL);
	if (!pfns || !locs) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = mmu_interval_notifier_insert(&mni, mm, start, a->length,
					   &svm_snap_ops);
	if (ret)
		goto out_free;

	for (addr = start; addr < end; ) {
		unsigned long i, n, bend = min(end, addr + (step << PAGE_SHIFT));
		struct page *page;

		n = (bend - addr) >> PAGE_SHIFT;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		ret = svm_snap(shim, &mni, addr, bend, pfns);
		if (!ret) {
			for (i = 0; i < n; i++) {
				locs[i] = svm_page_location(shim, pfns[i], &page);
				if (locs[i] == SVMSHIM_LOC_HOST)
					a->host++;
				else if (locs[i] >= 0)
					a->device++;
				else if (locs[i] == SVMSHIM_LOC_NONE)
					a->none++;
			}
		}
		mmap_read_unlock(mm);
		if (ret)
			break;
		if (uloc && copy_to_user(uloc + ((addr - start) >> PAGE_SHIFT),
					 locs, n * sizeof(*locs))) {
			ret = -EFAULT;
			break;
		}
		addr = bend;
		cond_resched();
	}
	mmu_interval_notifier_remove(&mni);
out_free:
	kvfree(locs);
	kvfree(pfns);
	return ret;
}
