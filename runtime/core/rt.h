/* SPDX-License-Identifier: MIT */
/*
 * The runtime object and the page/range records it holds: the data every
 * layer shares (docs/architecture.md). Functions on them live in mem/
 * (mem/mem.h), the object itself in core/rt.c.
 *
 * One lock (rt->lock) guards the ranges, the per-page state and the
 * device LRU lists. Whoever holds it must never touch SVM memory directly:
 * on the user backend a fault on that memory is served by a thread that
 * needs the same lock. Memory is moved only through backend ops.
 *
 * A page being moved is marked in flight (svm__page.inflight) under the
 * lock; the move itself runs with the lock let go, and the mover takes it
 * again to record where the page is, clears the mark and broadcasts
 * rt->settled. Nobody else moves, maps, copies or frees an in-flight page
 * or changes its location: they wait for rt->settled (mem/mem.h:
 * svm__wait_settled) or leave the page alone. A mover never waits for
 * anything while it has pages in flight, so a waiter cannot hold it up.
 */
#ifndef SVM_CORE_RT_H
#define SVM_CORE_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "svmrt.h"
#include "config.h"
#include "inject.h"
#include "../obs/log.h"
#include "../obs/profile.h"

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
	uint8_t inflight;    /* a migration moves it, maybe with rt->lock let go */
	uint8_t pinned_seen : 1; /* a move failed as PINNED: served in place until cleared */
	uint8_t prefetched : 1;  /* brought by the density prefetcher, not moved since */
	uint8_t held : 1;        /* thrashing: held on the host until hold_until_ms */
	uint8_t thrash : 4;      /* thrash events in a row (policy/thrash.c) */
	uint8_t hold_level : 3;  /* holds in a row: each lasts twice the last */
	uint8_t rehold : 2;      /* after a hold: 2 just ended, 1 armed, 0 none */
	uint8_t held_host : 1;   /* held: the host wrote it during this hold */
	uint8_t held_dev : 1;    /* held: a device reached it during this hold */
	uint8_t held_wrote : 1;  /* held: a device wrote it (its reads work in place too) */
	uint8_t lprot : 1;       /* write-protected on the host for launch coherence */
	uint8_t taken : 1;       /* its in-place copy becomes the device's at launch end */
	uint32_t copies;     /* read-only duplicates: bit 0 host, bit 1+d device */
	uint32_t remote;     /* bit d: device d holds an in-place working copy */
	uint32_t accessed_by; /* advice: bit d */
	uint32_t migrations;
	uint32_t seq;         /* rt->seq when the page last changed */
	uint32_t last_move_us; /* when it last moved (µs since init, wraps) */
	uint32_t hold_until_ms; /* held: until then (ms since init) */
	/* device LRU (pages owned by a device), most recent at head */
	struct svm__page *lru_prev, *lru_next;
	struct svm__range *range;
};

struct svm__range {
	uintptr_t start;
	size_t bytes;  /* as asked for */
	size_t npages; /* rounded up */
	size_t pinned_seen; /* pages with pinned_seen set */
	size_t inflight;    /* pages in flight (svm__page.inflight) */
	size_t lprot_pages; /* pages with lprot set (policy/launch.c) */
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
	/*
	 * Pages per location in each 2 MiB chunk of the heap the range
	 * touches (chunk 0 holds the range's first page): at[c][0] host,
	 * at[c][1 + d] device d. Kept by svm__page_set_loc, so that counting
	 * what is where over a large region costs one step per chunk.
	 */
	uint16_t (*at)[SVM__MAX_DEVICES + 1];
	/*
	 * Per chunk, the moves of its pages between two locations (a first
	 * touch or a discard is none): where the latest went (`to`,
	 * SVM__LOC_NONE before any) and how many pages arrived there since
	 * a move last went elsewhere (`arrived`, saturating). The density
	 * prefetcher's evidence above 2 MiB (svm__range_count_arrived).
	 */
	struct svm__chunk_moves {
		uint16_t arrived;
		int8_t to;
	} *moves;
	size_t nchunks;
};

struct svm__devstate {
	struct svm__page lru; /* sentinel; lru.lru_next is the most recent */
	size_t resident;      /* pages owned by this device */
	size_t capacity;      /* pages */
	size_t incoming;      /* pages in flight to this device (room they hold) */
	size_t remote_pages;  /* pages with an in-place working copy here */
	size_t taken_pages;   /* of those, taken by launch coherence (svm__page.taken) */
	unsigned takes_inflight; /* takes with rt->lock let go (policy/fault.c: take_block) */
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
	/* broadcast when in-flight pages settle (see the top of this file) */
	pthread_cond_t settled;
	size_t inflight; /* pages in flight, all ranges */
	/*
	 * The backend's moves must run with rt->lock held (set by its init):
	 * the user backend's copy path (no UFFDIO_MOVE), where several
	 * movers at once lost pages in the soak and the cause is not yet
	 * found (docs/architecture.md). Pages are still marked in flight.
	 */
	bool move_under_lock;
	/*
	 * Set by the backend's init where a move costs by the page, not by
	 * the call: a large request is classified, moved and recorded in
	 * pieces of this many pages (policy/migrate.c: piecewise); 0: the
	 * whole request is classified first and moved in runs as long as
	 * its pages allow.
	 */
	size_t move_piece;
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
	/*
	 * Launches running under SVM_COHERENCE=launch: while any does, the
	 * host pages marked lprot stay write-protected (policy/launch.c).
	 */
	int launch_windows;
	struct svm__inject inject;
	/* bumped at every page state change; lets a fault tell it is stale */
	atomic_uint_fast32_t seq;
	uint64_t t0_ns; /* svm_init time */
};

/*
 * The one runtime object lives in core/rt.c (file-static). Code below the
 * API layer receives it as a parameter (backends through their ops,
 * service threads keep the pointer they were started with). Only the API
 * layer, whose entry points have no rt argument, and callbacks that get
 * none (atexit/atfork handlers) ask for it here; tests/unit/layering.sh
 * checks who calls it.
 */
struct svm__rt *svm__rt_get(void);

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
