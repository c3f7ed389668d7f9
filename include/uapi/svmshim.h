/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * svmshim.h - uAPI of the svmrt kernel shim (svmshim.ko).
 *
 * Shared by the kernel module and by user space (the runtime's kshim
 * backend and the VM tests). The driver is a DRM render-node driver: find
 * it by drmGetVersion()->name == "svmshim" (or DRM_IOCTL_VERSION), then
 * issue the ioctls below on the render node.
 *
 * Rules for every struct:
 *  - fixed-size fields only, 64-bit aligned, explicit padding;
 *  - unknown flag bits, non-zero padding and non-zero reserved fields are
 *    rejected with -EINVAL (so they can be given a meaning later);
 *  - reserved output fields are written as zero.
 *
 * Version 1: GET_INFO, MIGRATE, PIN, UNPIN, SNAPSHOT.
 * Version 2: the device view (mmap), device faults, SET_ATTR, EVENTS.
 * Version 3: the caller's retry pauses (MIGRATE_BACKOFF, ATTR_FAULT_BACKOFF)
 *            and the retry rounds run (MIGRATE @rounds), in fields that were
 *            reserved; CPU faults report injected failures (EVENT_FAILURE).
 * Version 4: the density prefetcher of device faults (ATTR_PREFETCH_DENSITY,
 *            SET_ATTR @prefetch_threshold and @prefetch_max in the word that
 *            was reserved: a caller passing 0 there keeps the granule-only
 *            behaviour), and MIGRATE events of what it brought
 *            (EVENT_PREFETCH); thrashing holds (ATTR_THRASH, in words
 *            added at the end of struct drm_svmshim_attr: the ioctl number
 *            carries its size, and DRM gives a caller with the version 3
 *            size zeros there), EVENT_HOLD and FAULT_HELD.
 * Version 5: EVICT events say how many of their pages the file's density
 *            prefetcher had brought and nothing had moved since
 *            (@prefetched, in the event's word that was padding: a
 *            version 4 shim writes 0 there, a version 4 reader ignores it).
 * Version 6: MIGRATE @evicted_prefetched (the word that was @pad: in 0 as
 *            before, a version 5 shim leaves it 0); EVICT events with
 *            EVENT_OTHER_FILE tell a file that another file's MIGRATE or
 *            device fault evicted its pages (a version 5 reader counts
 *            their @prefetched like any EVICT's and skips the rest).
 * Ioctl numbers 0x07..0x1f are reserved.
 */
#ifndef _UAPI_SVMSHIM_H_
#define _UAPI_SVMSHIM_H_

#if defined(__KERNEL__)
#include <linux/types.h>
#include <drm/drm.h>
#elif defined(__has_include)
#if __has_include("drm.h")
#include <drm.h>		/* libdrm, -I from pkg-config libdrm */
#elif __has_include("drm/drm.h")
#include <drm/drm.h>		/* kernel uapi headers */
#else
#include <libdrm/drm.h>		/* libdrm without its -I */
#endif
#else
#include <drm/drm.h>
#endif

#if defined(__cplusplus)
extern "C" {
#endif

#define SVMSHIM_DRIVER_NAME	"svmshim"
#define SVMSHIM_UAPI_VERSION	6

/* Locations (SNAPSHOT, MIGRATE destination). Device d is d >= 0. */
#define SVMSHIM_LOC_HOST	(-1)	/* host (system) memory */
#define SVMSHIM_LOC_NONE	(-2)	/* not populated (no page yet) */
#define SVMSHIM_LOC_OTHER	(-3)	/* another driver's device page */

/* Per-page failure classes; equal to the runtime's svm_failure_t. */
#define SVMSHIM_FAIL_NONE	 0	/* moved, or already there */
#define SVMSHIM_FAIL_PINNED	 1	/* long-term pinned / extra references */
#define SVMSHIM_FAIL_BUSY	 2	/* lock, isolation or race: transient */
#define SVMSHIM_FAIL_NO_MEMORY	 3	/* destination full even after eviction */
#define SVMSHIM_FAIL_UNSUPPORTED 4	/* shared, file, hugetlb, VM_SPECIAL... */
#define SVMSHIM_FAIL_COUNT	 5

/* GET_INFO: global and per-device information. */
struct drm_svmshim_get_info {
	__u32 device;		/* in: device index (< device_count) */
	__u32 flags;		/* in: must be 0 */
	__u32 version;		/* out: SVMSHIM_UAPI_VERSION */
	__u32 device_count;	/* out */
	__u64 memory_bytes;	/* out: emulated VRAM size of @device */
	__u64 free_bytes;	/* out: free VRAM of @device */
	__s32 numa_node;	/* out: NUMA node backing @device */
	__u32 page_size;	/* out: migration granule (PAGE_SIZE) */
	__u32 batch_pages;	/* out: pages per migrate_vma batch */
	__u32 pad;		/* in/out: 0 */
	__u64 reserved[4];	/* in: 0; out: 0 */
};

/*
 * MIGRATE flags. DRAIN_LRU: one more attempt at the BUSY pages of each
 * batch, after the core's LRU drain. NO_EVICT: never evict, report
 * NO_MEMORY instead. RETRY: the caller's retry budget in @retry_rounds and
 * @retry_budget_us applies (see below); without it those fields must be 0.
 * BACKOFF (version 3, with RETRY): the pauses between rounds are the
 * caller's, @backoff_us then doubling up to @backoff_max_us; without it
 * those fields must be 0 and the shim's own pauses apply.
 */
#define SVMSHIM_MIGRATE_DRAIN_LRU	(1u << 0)
#define SVMSHIM_MIGRATE_NO_EVICT	(1u << 1)
#define SVMSHIM_MIGRATE_RETRY		(1u << 2)
#define SVMSHIM_MIGRATE_BACKOFF		(1u << 3)
#define SVMSHIM_MIGRATE_FLAGS		(SVMSHIM_MIGRATE_DRAIN_LRU | \
					 SVMSHIM_MIGRATE_NO_EVICT | \
					 SVMSHIM_MIGRATE_RETRY | \
					 SVMSHIM_MIGRATE_BACKOFF)

/*
 * Bounds of every time and count a caller chooses (values above them are
 * rejected with -EINVAL; version 3 shims before these bounds accepted more,
 * with the same meaning, so the version did not change):
 *  - longest pause a caller may ask for (BACKOFF, ATTR_FAULT_BACKOFF);
 *  - retry rounds per batch (MIGRATE @retry_rounds, SET_ATTR
 *    @fault_retry_rounds);
 *  - MIGRATE's retry budget (its pauses hold no lock; a fatal signal ends
 *    the call);
 *  - a device fault's retry budget (SET_ATTR @fault_budget_us): the fault
 *    holds the process's mmap_lock for read while it retries, so this is
 *    kept short; a fatal signal ends its pauses;
 *  - bytes one PIN may pin (the file's total is bounded too, and every pin
 *    is charged to RLIMIT_MEMLOCK: see PIN).
 */
#define SVMSHIM_MAX_BACKOFF_US		1000000
#define SVMSHIM_MAX_RETRY_ROUNDS	100
#define SVMSHIM_MAX_RETRY_BUDGET_US	10000000
#define SVMSHIM_MAX_FAULT_BUDGET_US	100000
#define SVMSHIM_MAX_PIN_BYTES		(1ull << 30)

/*
 * MIGRATE: move [start, start + length) to @dest (device index or
 * SVMSHIM_LOC_HOST). Best effort, page by page. If @results is not 0 it
 * points to length / page_size bytes that receive each page's class
 * (SVMSHIM_FAIL_*). Returns 0 when the call itself worked (even if pages
 * failed); -EINVAL for bad arguments, -EFAULT when part of the range is not
 * mapped or @results is not writable, -EINTR on a fatal signal.
 *
 * Retry budget (SVMSHIM_MIGRATE_RETRY): after the first attempt at a batch,
 * its BUSY pages are tried again in up to @retry_rounds further rounds, with
 * a pause before each round (exponential from 100 us, capped at 10 ms, or
 * the caller's with BACKOFF; taken with no page lock and no mmap_lock
 * held). NO_MEMORY pages get an
 * eviction pass (unless NO_EVICT) and are tried again in the same rounds
 * (device destinations; to the host, just tried again). PINNED and
 * UNSUPPORTED pages are never tried again. All rounds of the call share
 * @retry_budget_us (0: no retry), counted from its first retry round (the
 * first attempt is not part of it): no round starts after it is spent, so
 * the call spends at most the budget plus one round on retries. @retries counts
 * the page attempts made by retry rounds (0 if nothing was retried);
 * @rounds the most retry rounds one batch ran (at most @retry_rounds).
 * @results, @moved and @failed give the final state of each page.
 * Without the flag, @retry_rounds, @retry_budget_us, @retries and @rounds
 * must be 0.
 */
struct drm_svmshim_migrate {
	__u64 start;		/* in: page aligned user address */
	__u64 length;		/* in: multiple of the page size, > 0 */
	__u64 results;		/* in: user pointer to __u8[npages] or 0 */
	__s32 dest;		/* in: device index or SVMSHIM_LOC_HOST */
	__u32 flags;		/* in: SVMSHIM_MIGRATE_* */
	__u64 moved;		/* out: pages that moved */
	/* out: pages already at @dest (or not populated, @dest host) */
	__u64 already;
	__u64 failed[SVMSHIM_FAIL_COUNT]; /* out: per class; [0] always 0 */
	__u64 evicted;		/* out: pages evicted from @dest to make room */
	/* in: RETRY: max retry rounds per batch, <= SVMSHIM_MAX_RETRY_ROUNDS */
	__u32 retry_rounds;
	/* in: RETRY: time budget of all retries, <= SVMSHIM_MAX_RETRY_BUDGET_US */
	__u32 retry_budget_us;
	__u32 retries;		/* out: RETRY: page attempts in retry rounds */
	/*
	 * out (version 6): of @evicted, the pages this file's density
	 * prefetcher had placed and nothing had moved since (as EVICT's
	 * @prefetched); in: 0 (it was padding)
	 */
	__u32 evicted_prefetched;
	__u32 backoff_us;	/* in: BACKOFF: pause before the first round */
	__u32 backoff_max_us;	/* in: BACKOFF: longest pause (cap) */
	__u32 rounds;		/* out: RETRY: most retry rounds of one batch */
	__u32 pad2;		/* in: 0; out: 0 */
};

/*
 * PIN / UNPIN: a real long-term pin (FOLL_LONGTERM) of a user range.
 * PIN pins at most SVMSHIM_MAX_PIN_BYTES per call (-EINVAL above). The
 * pages are charged like io_uring's and RDMA's pins: to the caller's
 * user against RLIMIT_MEMLOCK (-ENOMEM when it would go over; callers
 * with CAP_IPC_LOCK are exempt) and to the process's pinned memory
 * (VmPin in /proc/PID/status). One open file holds at most the pin_max_mb
 * module parameter's MiB and SVMSHIM_MAX_PINS pins (-ENOSPC). A pin
 * belongs to the process that made it: UNPIN releases the calling
 * process's pins that lie wholly inside the range (-ENOENT: none); the
 * rest, and pins of a process that has exited, are released (and
 * uncharged) when the file is closed for the last time, wherever its
 * descriptors went (fork, SCM_RIGHTS).
 */
#define SVMSHIM_MAX_PINS		65536

struct drm_svmshim_pin {
	__u64 start;		/* in: page aligned */
	__u64 length;		/* in: multiple of the page size, > 0 */
	__u32 flags;		/* in: must be 0 */
	__u32 pad;		/* in: 0 */
	__u64 pages;		/* out: pages pinned (PIN) / released (UNPIN) */
	__u64 reserved[2];	/* in: 0; out: 0 */
};

/* SNAPSHOT: where each page of the range is now. */
struct drm_svmshim_snapshot {
	__u64 start;		/* in: page aligned */
	__u64 length;		/* in: multiple of the page size, > 0 */
	/* in: user pointer to __s32[npages] (LOC_* or device) or 0 */
	__u64 locations;
	__u32 flags;		/* in: must be 0 */
	__u32 pad;		/* in: 0 */
	__u64 host;		/* out: pages in host memory */
	__u64 device;		/* out: pages on one of our devices */
	__u64 none;		/* out: pages not populated */
	__u64 reserved[3];	/* in: 0; out: 0 */
};

/*
 * The device view. mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED,
 * fd, SVMSHIM_VIEW_OFFSET(device, start)) maps device @device's view of
 * the process's memory [start, start + length): view address
 * view + (p - start) is what the device sees at p. start and length are
 * page aligned; the range is usually the runtime's heap. Device code (the
 * runtime's worker threads) touches memory only through the view. A view
 * page that is not mapped is a device fault, resolved in the kernel:
 *  - the page is on @device: its device memory is mapped;
 *  - else, unless the range's attributes say otherwise (SET_ATTR:
 *    preferred location host, accessed-by @device, read-mostly and a read),
 *    the page and the rest of its granule move to @device (with the range's
 *    fault retry budget), and its device memory is mapped;
 *  - a page that could not move (pinned, unsupported, busy after the
 *    budget, no device memory after eviction), or whose attributes say so,
 *    is served in place: the host page itself is mapped (read-only for a
 *    read of a read-mostly range; a later write upgrades it);
 *  - an address with no memory behind it (not mapped in the process) is
 *    SIGBUS.
 * The view follows the CPU page tables: whenever the process's mapping of a
 * page changes (migration, munmap, fork's copy-on-write, reclaim...) the
 * view's mapping of that page is removed first, so a stale page is never
 * reached through it. Rules: MAP_SHARED only; one view per device per file
 * at a time (-EBUSY); the view cannot be split, grown or moved (partial
 * munmap fails; mremap fails and leaves the view dead: every later touch
 * is SIGBUS until it is unmapped); it is not inherited by fork() (VM_DONTCOPY);
 * get_user_pages() on it fails (no pinning through a view). start must be
 * below 2^56.
 */
#define SVMSHIM_VIEW_OFFSET(device, start) \
	((((__u64)(device) + 1) << 56) | (__u64)(start))

/*
 * SET_ATTR: the attributes of [start, start + length) for device faults in
 * this file's views. Replaces whatever was set before on that range (the
 * rest of an older range keeps its attributes). Defaults, where nothing
 * was set: no preferred location, accessed-by none, not read-mostly,
 * granularity one page, no fault retry.
 * FAULT_BACKOFF (version 3): a device fault's retry pauses are
 * @fault_backoff_us doubling up to @fault_backoff_max_us (like MIGRATE's
 * BACKOFF); without it those fields must be 0 and the shim's apply.
 * PREFETCH_DENSITY (version 4): a device fault that moved its granule
 * looks at the aligned power-of-two regions around it, from twice the
 * granule up to @prefetch_max bytes (a power of two from twice the page
 * size to SVMSHIM_MAX_PREFETCH), cut to the attribute range, the heap
 * VMA and the view, and picks the largest in which more than
 * @prefetch_threshold percent (1..100) of the pages are on the faulting
 * device (the granule counted as there). The rest of that region moves
 * too, after the granule, never evicting and without retries, and is
 * mapped into the view; a MIGRATE event with SVMSHIM_EVENT_PREFETCH says
 * what came. Without the flag both fields must be 0.
 * THRASH (version 4): a page that a fault moves (a device fault or its
 * prefetch to the device, a CPU fault home) within @thrash_window_us of
 * its last such move is fought over (a thrash event); after
 * @thrash_threshold (1..15) events in a row it is put on hold for
 * @thrash_hold_ms (1..SVMSHIM_MAX_THRASH_HOLD_MS): device faults map its
 * host page in place (DEVICE_FAULT class FAULT_HELD) instead of moving
 * it; a CPU fault still takes it home. When the hold has run out the next
 * device fault may move it again; if that page is fought over again at
 * once (its second move after the hold is a thrash event) it is held
 * again, for twice as long as the last time (at most 32 times). EVENT_HOLD
 * says when pages are held (class 0) and when a hold ran out (class 1).
 * The shim remembers pages on the host in a table of SVMSHIM_THRASH_SLOTS
 * entries per file, by page index modulo its size (contiguous memory up to
 * that many pages never shares an entry; other pages may forget their
 * history). Without the flag the three fields must be 0.
 */
#define SVMSHIM_ATTR_READ_MOSTLY	(1u << 0)
#define SVMSHIM_ATTR_FAULT_BACKOFF	(1u << 1)
#define SVMSHIM_ATTR_PREFETCH_DENSITY	(1u << 2)
#define SVMSHIM_ATTR_THRASH		(1u << 3)
#define SVMSHIM_ATTR_FLAGS		(SVMSHIM_ATTR_READ_MOSTLY | \
					 SVMSHIM_ATTR_FAULT_BACKOFF | \
					 SVMSHIM_ATTR_PREFETCH_DENSITY | \
					 SVMSHIM_ATTR_THRASH)
#define SVMSHIM_MAX_GRANULARITY		(2u << 20)
#define SVMSHIM_MAX_PREFETCH		(1u << 30)
#define SVMSHIM_MAX_THRASH_WINDOW_US	10000000
#define SVMSHIM_MAX_THRASH_THRESHOLD	15
#define SVMSHIM_MAX_THRASH_HOLD_MS	3600000
#define SVMSHIM_THRASH_SLOTS		8192

struct drm_svmshim_attr {
	__u64 start;		/* in: page aligned */
	__u64 length;		/* in: multiple of the page size, > 0 */
	__u32 flags;		/* in: SVMSHIM_ATTR_* */
	/* in: device index, SVMSHIM_LOC_HOST, or SVMSHIM_LOC_NONE (none) */
	__s32 preferred;
	__u32 accessed_by;	/* in: bit d: device d maps pages in place */
	/* in: bytes moved per device fault: 0 (one page) or a power of two
	 * from the page size to SVMSHIM_MAX_GRANULARITY */
	__u32 granularity;
	/* in: like MIGRATE's retry_rounds (<= SVMSHIM_MAX_RETRY_ROUNDS) */
	__u32 fault_retry_rounds;
	/* in: like MIGRATE's retry_budget_us, <= SVMSHIM_MAX_FAULT_BUDGET_US */
	__u32 fault_budget_us;
	__u32 fault_backoff_us;	/* in: FAULT_BACKOFF: first pause */
	__u32 fault_backoff_max_us; /* in: FAULT_BACKOFF: longest pause */
	__u32 prefetch_threshold; /* in: PREFETCH_DENSITY: percent, 1..100 */
	__u32 prefetch_max;	/* in: PREFETCH_DENSITY: largest region, bytes */
	/* version 4, larger struct: */
	__u32 thrash_window_us;	/* in: THRASH: <= SVMSHIM_MAX_THRASH_WINDOW_US */
	__u32 thrash_threshold;	/* in: THRASH: events in a row that hold */
	__u32 thrash_hold_ms;	/* in: THRASH: first hold */
	__u32 pad;		/* in: 0 */
};

/*
 * EVENTS: what the shim did for this file. Each open file has a ring of
 * SVMSHIM_EVENT_RING events; when it is full, new events are counted in
 * @dropped and lost. EVENTS copies out (and removes) the oldest events, at
 * most @capacity (1..SVMSHIM_EVENT_RING, else -EINVAL).
 */
#define SVMSHIM_EVENT_RING		4096

#define SVMSHIM_EVENT_CPU_FAULT		1 /* a CPU access brought a page home */
#define SVMSHIM_EVENT_DEVICE_FAULT	2 /* a view access to an unmapped page */
#define SVMSHIM_EVENT_MIGRATE		3 /* pages moved (MIGRATE or fault) */
#define SVMSHIM_EVENT_FAILURE		4 /* pages that did not move, one class */
#define SVMSHIM_EVENT_EVICT		5 /* pages evicted from @device */
/* version 4: thrashing holds; class 0: pages put on hold, 1: a hold ran out */
#define SVMSHIM_EVENT_HOLD		6

/* DEVICE_FAULT: how it was resolved (in @class). */
#define SVMSHIM_FAULT_RESIDENT	0 /* already on the device: mapped */
#define SVMSHIM_FAULT_MIGRATED	1 /* moved to the device, then mapped */
#define SVMSHIM_FAULT_IN_PLACE	2 /* host page mapped (attributes or failure) */
#define SVMSHIM_FAULT_READ_ONLY	3 /* read-mostly: host page mapped read-only */
#define SVMSHIM_FAULT_HELD	4 /* on hold for thrashing: host page mapped */

#define SVMSHIM_EVENT_WRITE	(1u << 0) /* DEVICE_FAULT: a write access */
/*
 * MIGRATE/FAILURE/EVICT: done by a fault, not by MIGRATE. A FAILURE to
 * SVMSHIM_LOC_HOST with it is a CPU fault that could not bring its page
 * home yet (version 3: injected; the access faults again).
 */
#define SVMSHIM_EVENT_BY_FAULT	(1u << 1)
/*
 * MIGRATE (version 4, with BY_FAULT): pages the density prefetcher brought
 * along with a device fault's granule (PREFETCH_DENSITY).
 */
#define SVMSHIM_EVENT_PREFETCH	(1u << 2)
/*
 * EVICT (version 6): pages of this file (@pages of them, from @addr on, not
 * necessarily contiguous; @prefetched as for any EVICT) that another open
 * file's MIGRATE or device fault evicted from @device to make room. The
 * file whose call evicted counts them in its own EVICT event's @pages.
 */
#define SVMSHIM_EVENT_OTHER_FILE	(1u << 3)

struct drm_svmshim_event {
	__u64 time_ns;		/* CLOCK_MONOTONIC when it ended */
	__u64 duration_ns;	/* faults and migrations: time taken */
	__u64 addr;		/* first page concerned */
	__u64 pages;		/* pages concerned */
	__u16 type;		/* SVMSHIM_EVENT_* */
	/* FAILURE: SVMSHIM_FAIL_*; DEVICE_FAULT: SVMSHIM_FAULT_*; else 0 */
	__u16 class;
	/*
	 * CPU_FAULT: device the page came from; DEVICE_FAULT: faulting device;
	 * MIGRATE, FAILURE: source is not known, the destination (device or
	 * SVMSHIM_LOC_HOST); EVICT: the device evicted from.
	 */
	__s32 device;
	__u32 flags;		/* SVMSHIM_EVENT_WRITE, _BY_FAULT, ... */
	/*
	 * EVICT (version 5): of @pages, those that this file's density
	 * prefetcher (ATTR_PREFETCH_DENSITY) had placed on @device and that
	 * had not moved since: its bets that cost room before anything else
	 * moved them. (Pages the device only read or wrote through the view
	 * count: the shim cannot see such use.) Pages of other files that
	 * the eviction took are in @pages only; from version 6 on their
	 * files get an EVICT with SVMSHIM_EVENT_OTHER_FILE of their own.
	 * Every other event: 0, as the padding this word was before
	 * version 5.
	 */
	__u32 prefetched;
};

struct drm_svmshim_events {
	__u64 events;		/* in: user pointer to event[capacity] */
	__u32 capacity;		/* in: 1..SVMSHIM_EVENT_RING */
	__u32 count;		/* out: events copied */
	__u64 dropped;		/* out: events lost since the last call */
	__u64 reserved[2];	/* in: 0; out: 0 */
};

#define DRM_SVMSHIM_GET_INFO	0x00
#define DRM_SVMSHIM_MIGRATE	0x01
#define DRM_SVMSHIM_PIN		0x02
#define DRM_SVMSHIM_UNPIN	0x03
#define DRM_SVMSHIM_SNAPSHOT	0x04
#define DRM_SVMSHIM_SET_ATTR	0x05
#define DRM_SVMSHIM_EVENTS	0x06
/* 0x07..0x1f: reserved */

#define DRM_IOCTL_SVMSHIM_GET_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_GET_INFO, struct drm_svmshim_get_info)
#define DRM_IOCTL_SVMSHIM_MIGRATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_MIGRATE, struct drm_svmshim_migrate)
#define DRM_IOCTL_SVMSHIM_PIN \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_PIN, struct drm_svmshim_pin)
#define DRM_IOCTL_SVMSHIM_UNPIN \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_UNPIN, struct drm_svmshim_pin)
#define DRM_IOCTL_SVMSHIM_SNAPSHOT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_SNAPSHOT, struct drm_svmshim_snapshot)
#define DRM_IOCTL_SVMSHIM_SET_ATTR \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SVMSHIM_SET_ATTR, struct drm_svmshim_attr)
#define DRM_IOCTL_SVMSHIM_EVENTS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SVMSHIM_EVENTS, struct drm_svmshim_events)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_SVMSHIM_H_ */
