/* SPDX-License-Identifier: MIT */
/*
 * Profiling (SVM_PROFILE: a summary at exit) and the timeline trace
 * (SVM_TRACE: Chrome Trace Event JSON). With both off, the hot paths pay
 * one predictable branch on svm__tracing; the counters and the fault-time
 * histogram are kept always, since svm_stats reports them.
 */
#ifndef SVM_CORE_PROFILE_H
#define SVM_CORE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

struct svm__rt;
struct svm__range;

enum svm__ev_type {
	SVM__EV_CPU_FAULT,
	SVM__EV_DEVICE_FAULT,
	SVM__EV_MIGRATE,  /* one migration: pages moved and failed, retries */
	SVM__EV_RETRY,    /* a retry round begins */
	SVM__EV_FAILURE,  /* pages that ended failed, by class */
	SVM__EV_EVICT,    /* pages sent home to make room; prefetched: the prefetcher's unused ones */
	SVM__EV_LAUNCH,
	SVM__EV_PREFETCH,
	SVM__EV_PINNED,   /* a range found pinned (once, with the log line) */
	/*
	 * Where pages live, for the report's residency map: instants (the
	 * migrate or evict span around a move has its time). The trace merges
	 * one of these with the event just before it when that is the same
	 * kind, same thread, same src/dst and the address run continues it,
	 * so a page-by-page caller costs one event per run of pages.
	 */
	SVM__EV_MOVE,     /* pages changed owner src -> dst (src none: first touch); failed = thrash events */
	SVM__EV_DUP,      /* read-only copies made on dst of pages owned by src */
	SVM__EV_COLLAPSE, /* read-only copies dropped; dst owns the pages */
	SVM__EV_INPLACE,  /* device dst works on host pages in place */
	SVM__EV_INPLACE_END, /* and stops */
	SVM__EV_PIN,      /* pages pinned (svm_pin, or found pinned by others) */
	SVM__EV_UNPIN,    /* and no longer */
	SVM__EV_ALLOC,    /* svm_alloc: addr, pages; failed = bytes asked; site = call site */
	SVM__EV_FREE,     /* svm_free: addr, pages */
	SVM__EV_DENSITY,  /* the fault prefetcher's region: addr, pages; failed = pages it moved */
	SVM__EV_HOLD,     /* thrashing: a page held on the host (dst: the device it fought with) */
	SVM__EV_RELEASE,  /* and let go (its hold ran out) */
	SVM__EV_COUNT,
};

struct svm__event {
	uint64_t ts_ns;   /* since svm_init */
	union {
		uint64_t dur_ns;
		uint64_t site; /* alloc (an instant): the call site, 0 if not recorded */
	};
	uint64_t addr;
	uint64_t pages;   /* pages moved / evicted / in the range */
	uint64_t failed;  /* migrate: pages failed */
	uint32_t tid;
	uint8_t type;
	int8_t src, dst;  /* locations; -2 none */
	uint8_t cls;      /* failure: class */
	uint8_t write;    /* fault: a write */
	uint16_t retries;
	/*
	 * evict: of pages, those the density prefetcher had brought and
	 * nothing had moved since (prefetched_evicted). In the struct's tail
	 * padding: the event stays 56 bytes.
	 */
	uint32_t prefetched;
};

/* log-linear histogram of durations: 8 sub-buckets per power of two */
#define SVM__HIST_BUCKETS (64 * 8)
struct svm__hist {
	uint64_t n;
	uint64_t count[SVM__HIST_BUCKETS];
};
void svm__hist_add(struct svm__hist *h, uint64_t ns);
uint64_t svm__hist_percentile(const struct svm__hist *h, double pct);

extern bool svm__tracing;
extern const char *const svm__ev_names[SVM__EV_COUNT];
void svm__trace_emit(struct svm__event *ev);
static inline void svm__trace(struct svm__event ev)
{
	if (__builtin_expect(svm__tracing, 0))
		svm__trace_emit(&ev);
}
uint32_t svm__tid(void);

/* Pages [addr, addr + pages * 4K) changed state (type SVM__EV_MOVE ...). */
static inline void svm__trace_pages(int type, uint64_t addr, uint64_t pages, int src, int dst,
				    uint64_t thrash)
{
	if (__builtin_expect(svm__tracing, 0)) {
		struct svm__event ev = { .type = (uint8_t)type, .addr = addr, .pages = pages,
					 .src = (int8_t)src, .dst = (int8_t)dst,
					 .failed = thrash };

		svm__trace_emit(&ev);
	}
}

/* A fault was served: counts its time; dev is the device charged or -1. */
void svm__fault_account(struct svm__rt *rt, int dev, bool cpu, bool write, uint64_t t0_ns,
			uint64_t dt_ns, uint32_t tid, uintptr_t addr);

/*
 * svm_init / the last svm_finalize (or exit): start, and print and flush.
 * The caller names the backend and its rt->ndev devices ("device 0 (name)")
 * at start, so that this module never calls a backend.
 */
#define SVM__PROFILE_NAME_LEN 96
void svm__profile_start(struct svm__rt *rt, const char *backend,
			const char (*devs)[SVM__PROFILE_NAME_LEN]);
void svm__profile_stop(struct svm__rt *rt);
/* The name of a call site ("function+0x12", "lib.so+0x40", "" for none). */
void svm__callsite_name(void *cs, char *buf, size_t len);
/* A range is freed: keep its numbers for the top-ten list. */
void svm__profile_range_freed(struct svm__rt *rt, const struct svm__range *r);

#endif
