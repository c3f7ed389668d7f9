/* SPDX-License-Identifier: MIT */
/*
 * Runtime state shared by core, policy and backends.
 *
 * One lock (svm__rt.lock) guards the ranges, the per-page state and the
 * device LRU lists. Whoever holds it must never touch SVM memory directly:
 * on the user backend a fault on that memory is served by a thread that
 * needs the same lock. Memory is moved only through backend ops.
 */
#ifndef SVM_CORE_INTERNAL_H
#define SVM_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "svmrt.h"
#include "config.h"
#include "inject.h"
#include "log.h"
#include "profile.h"

#define SVM__PAGE_SIZE 4096UL
#define SVM__PAGE_SHIFT 12
#define SVM__MAX_DEVICES 16
#define SVM__HUGE_SIZE (2UL << 20)

/* Page location beyond SVM_HOST / device index: never touched (reads zero). */
#define SVM__LOC_NONE (-2)
/* "no preferred location" */
#define SVM__PREF_NONE (-2)

struct svm__range;

/* One entry per 4 KiB page of an allocation. */
struct svm__page {
	int8_t loc;          /* owning copy: SVM__LOC_NONE, SVM_HOST, device */
	int8_t pref;         /* preferred location or SVM__PREF_NONE */
	uint8_t read_mostly; /* advice */
	uint8_t last_failure;
	uint16_t pins;
	uint8_t busy;        /* set while a migration works on the page */
	uint8_t pinned_seen; /* a move failed as PINNED: served in place until cleared */
	uint32_t copies;     /* read-only duplicates: bit 0 host, bit 1+d device */
	uint32_t remote;     /* bit d: device d holds an in-place working copy */
	uint32_t accessed_by; /* advice: bit d */
	uint32_t migrations;
	uint32_t seq;         /* svm__rt.seq when the page last changed */
	uint32_t last_move_us; /* when it last moved (µs since init, wraps) */
	/* device LRU (pages owned by a device), most recent at head */
	struct svm__page *lru_prev, *lru_next;
	struct svm__range *range;
};

struct svm__range {
	uintptr_t start;
	size_t bytes;  /* as asked for */
	size_t npages; /* rounded up */
	size_t pinned_seen; /* pages with pinned_seen set */
	bool pinned_said;   /* the log said it has pinned pages (once per range) */
	/*
	 * Unique over the process's life (never reused, not even by a later
	 * svm_init): code that let go of rt->lock finds its range again by
	 * start and id, so a range freed meanwhile (and maybe another one
	 * allocated at the same place) is told apart.
	 */
	uint64_t id;
	uint64_t migrations; /* page moves, for the profile's top ranges */
	void *callsite;      /* svm_alloc's caller (SVM_PROFILE_CALLSITES) */
	struct svm__page *pages;
};

struct svm__devstate {
	struct svm__page lru; /* sentinel; lru.lru_next is the most recent */
	size_t resident;      /* pages owned by this device */
	size_t capacity;      /* pages */
	size_t remote_pages;  /* pages with an in-place working copy here */
	uintptr_t view;       /* the device's view of the heap (same layout) */
	int numa_node;        /* nearest host node, -1 unknown */
	bool launchable;      /* svm_launch runs device code here */
	struct svm__pool *pool; /* worker threads for svm_launch */
	svm_stats_t stats;
	struct svm__hist fault_hist;
};

struct svm__backend_ops;

struct svm__rt {
	pthread_mutex_t lock;
	int refs;
	bool forked_child; /* state is not inherited across fork() */
	struct svm__config cfg;
	const struct svm__backend_ops *be;
	void *be_priv;
	int ndev;

	uintptr_t heap;
	size_t heap_size;
	/* sorted by start */
	struct svm__range **ranges;
	size_t nranges, cap_ranges;
	/* free extents of the heap, sorted by start */
	struct svm__extent { uintptr_t start; size_t len; } *free;
	size_t nfree, cap_free;

	struct svm__devstate dev[SVM__MAX_DEVICES];
	svm_stats_t stats;
	struct svm__hist fault_hist;
	atomic_uint_fast64_t launches;
	struct svm__inject inject;
	/* bumped at every page state change; lets a fault tell it is stale */
	atomic_uint_fast32_t seq;
	uint64_t t0_ns; /* svm_init time */
};

extern struct svm__rt svm__rt;

/* core/heap.c: ranges and the heap allocator (callers hold rt.lock) */
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
static inline uintptr_t svm__page_addr(const struct svm__page *p)
{
	return p->range->start + (uintptr_t)(p - p->range->pages) * SVM__PAGE_SIZE;
}

/* core/lru.c */
void svm__lru_init(struct svm__devstate *d);
void svm__lru_add(struct svm__rt *rt, int dev, struct svm__page *p);
void svm__lru_del(struct svm__rt *rt, int dev, struct svm__page *p);
void svm__lru_touch(struct svm__rt *rt, int dev, struct svm__page *p);

/* Marks p as changed now (see svm__rt.seq). */
static inline void svm__page_changed(struct svm__rt *rt, struct svm__page *p)
{
	p->seq = (uint32_t)atomic_fetch_add(&rt->seq, 1) + 1;
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

/* Sets p->loc, keeping LRU membership and resident counts right. */
void svm__page_set_loc(struct svm__rt *rt, struct svm__page *p, int loc);

static inline uint32_t svm__loc_bit(int loc)
{
	return loc == SVM_HOST ? 1u : 1u << (loc + 1);
}

static inline uint64_t svm__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
