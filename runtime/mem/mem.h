/* SPDX-License-Identifier: MIT */
/*
 * Page and block state: the heap allocator, the ranges, the per-page
 * records and the device LRU lists (mem/heap.c). This layer sits below
 * policy and never calls it; policy, backends and the API layer change
 * page state only through these functions and the inline helpers here.
 * Callers hold rt->lock.
 */
#ifndef SVM_MEM_H
#define SVM_MEM_H

#include "../core/rt.h"

/* mem/heap.c: ranges and the heap allocator (callers hold rt.lock) */
/*
 * Reserves size bytes of address space (PROT_NONE, private anonymous, no
 * swap reservation, no THP), 2 MiB aligned, for a heap or a view; NULL if
 * it cannot.
 */
void *svm__heap_reserve(size_t size);
int svm__heap_init(struct svm__rt *rt, uintptr_t base, size_t size);
void svm__heap_fini(struct svm__rt *rt);
struct svm__range *svm__range_alloc(struct svm__rt *rt, size_t bytes);
/* A range at memory the backend allocated (outside the heap). */
struct svm__range *svm__range_insert(struct svm__rt *rt, uintptr_t start, size_t bytes);
void svm__range_release(struct svm__rt *rt, struct svm__range *r);
struct svm__range *svm__range_find(struct svm__rt *rt, uintptr_t addr);
/* The range found before rt->lock was let go, if it is still live; else NULL. */
struct svm__range *svm__range_again(struct svm__rt *rt, uintptr_t start, uint64_t id);
/* The page record of heap address addr, or NULL (not in a live range). */
static inline struct svm__page *svm__page_find(struct svm__rt *rt, uintptr_t addr)
{
	struct svm__range *r = svm__range_find(rt, addr);

	return r ? &r->pages[(addr - r->start) / SVM__PAGE_SIZE] : NULL;
}

static inline uintptr_t svm__page_addr(const struct svm__page *p)
{
	return p->range->start + (uintptr_t)(p - p->range->pages) * SVM__PAGE_SIZE;
}

/* mem/heap.c: device LRU lists */
void svm__lru_init(struct svm__devstate *d);
void svm__lru_add(struct svm__rt *rt, int dev, struct svm__page *p);
void svm__lru_del(struct svm__rt *rt, int dev, struct svm__page *p);
void svm__lru_touch(struct svm__rt *rt, int dev, struct svm__page *p);

/* Marks p as changed now (see rt->seq). */
static inline void svm__page_changed(struct svm__rt *rt, struct svm__page *p)
{
	p->seq = (uint32_t)atomic_fetch_add(&rt->seq, 1) + 1;
}

/*
 * The same for many pages under one hold of rt->lock: they share one
 * sequence number, taken at the first (*stamp is 0 before it).
 */
static inline void svm__page_changed_with(struct svm__rt *rt, struct svm__page *p,
					  uint32_t *stamp)
{
	if (!*stamp)
		*stamp = (uint32_t)atomic_fetch_add(&rt->seq, 1) + 1;
	p->seq = *stamp;
}

/* Did p change after the runtime was at sequence `since`? */
static inline bool svm__page_changed_since(const struct svm__page *p, uint32_t since)
{
	return (int32_t)(p->seq - since) > 0;
}

/*
 * The advice fields of one page after `advice` (location as svm_advise
 * takes it, already checked). Core and backends share it: a backend that
 * hands the driver the full advice of a page computes it with this before
 * the core records anything (svm_advise records only what the backend took).
 */
static inline void svm__page_advise(struct svm__page *p, svm_advice_t advice, int location)
{
	switch (advice) {
	case SVM_ADVISE_SET_READ_MOSTLY:
	case SVM_ADVISE_UNSET_READ_MOSTLY:
		p->read_mostly = advice == SVM_ADVISE_SET_READ_MOSTLY;
		break;
	case SVM_ADVISE_SET_PREFERRED_LOCATION:
		p->pref = (int8_t)location;
		break;
	case SVM_ADVISE_UNSET_PREFERRED_LOCATION:
		p->pref = SVM__PREF_NONE;
		break;
	case SVM_ADVISE_SET_ACCESSED_BY:
		p->accessed_by |= 1u << location;
		break;
	case SVM_ADVISE_UNSET_ACCESSED_BY:
		p->accessed_by &= ~(1u << location);
		break;
	}
}

/* Sets p->loc, keeping LRU membership, resident and chunk counts right. */
void svm__page_set_loc(struct svm__rt *rt, struct svm__page *p, int loc);
/*
 * The same for pages [first, first + n) of r, in one step: the pages end
 * as n svm__page_set_loc calls in order would leave them, except that
 * they share one sequence number (svm__page_changed, taken once).
 */
void svm__pages_set_loc(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
			int loc);

/* The range's 2 MiB heap chunk (see svm__range.at) of its page i. */
static inline size_t svm__chunk_of(uintptr_t start, size_t i)
{
	return (start / SVM__PAGE_SIZE % 512 + i) / 512;
}

/*
 * The range page index where chunk c begins; 0 for the first chunk, which
 * may begin before the range does (a range under 2 MiB need not be aligned).
 */
static inline size_t svm__chunk_first(uintptr_t start, size_t c)
{
	size_t off = start / SVM__PAGE_SIZE % 512;

	return c ? c * 512 - off : 0;
}

/*
 * Launch coherence's mark (policy/launch.c), counted per range so that a
 * launch's end passes over ranges without any. Only host pages have it:
 * svm__pages_set_loc clears it when a page leaves the host.
 */
static inline void svm__page_lprot_set(struct svm__range *r, struct svm__page *p)
{
	if (!p->lprot) {
		p->lprot = 1;
		r->lprot_pages++;
	}
}

static inline void svm__page_lprot_clear(struct svm__range *r, struct svm__page *p)
{
	if (p->lprot) {
		p->lprot = 0;
		r->lprot_pages--;
	}
}

/*
 * Pages in flight (core/rt.h): a migration marks the pages it is about to
 * move, lets go of rt->lock for the move, takes it again to record the
 * result, and releases them (then svm__settled_broadcast).
 */
static inline void svm__page_claim(struct svm__rt *rt, struct svm__page *p)
{
	p->inflight = 1;
	p->range->inflight++;
	rt->inflight++;
}

static inline void svm__page_unclaim(struct svm__rt *rt, struct svm__page *p)
{
	if (!p->inflight)
		return;
	p->inflight = 0;
	p->range->inflight--;
	rt->inflight--;
}

/*
 * svm__page_unclaim for pages [first, first + n) of r, with the counters
 * changed once for the run instead of once a page.
 */
static inline void svm__pages_unclaim(struct svm__rt *rt, struct svm__range *r, size_t first,
				      size_t n)
{
	size_t was = 0;

	for (size_t i = first; i < first + n; i++) {
		was += r->pages[i].inflight;
		r->pages[i].inflight = 0;
	}
	r->inflight -= was;
	rt->inflight -= was;
}

static inline void svm__settled_broadcast(struct svm__rt *rt)
{
	pthread_cond_broadcast(&rt->settled);
}

/*
 * Waits until no page of [first, first + n) of *rp is in flight, letting
 * go of rt->lock while it waits (only when it must). The caller must have
 * no page in flight itself. False when the range was freed meanwhile
 * (*rp is NULL then); on true, *rp is the range again.
 */
bool svm__wait_settled(struct svm__rt *rt, struct svm__range **rp, size_t first, size_t n);
/* Waits until no page at all is in flight (fork, finalize). */
void svm__wait_all_settled(struct svm__rt *rt);

/* Pages of [first, first + n) of r at loc (SVM_HOST or a device). */
size_t svm__range_count_at(const struct svm__range *r, size_t first, size_t n, int loc);
/*
 * Pages of [first, first + n) of r that arrived at loc by a move from
 * another location, in the chunks whose latest move went to loc, since a
 * move in that chunk last went elsewhere (svm__range.moves): one step
 * per whole chunk, like svm__range_count_at.
 */
size_t svm__range_count_arrived(const struct svm__range *r, size_t first, size_t n, int loc);

#endif
