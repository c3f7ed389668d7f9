/* SPDX-License-Identifier: MIT */
/*
 * svmrt.h - the public interface of svmrt, a shared-virtual-memory runtime.
 *
 * One pointer, used on the host and on a device. Pages move between host
 * memory and device memory when they are touched, when the application asks
 * (svm_prefetch) and as advice steers (svm_advise). Moving a page is best
 * effort: every page that could not move is reported with the reason.
 *
 * Every entry point is thread-safe. A pointer that is not inside a live
 * svm_alloc() range, or that is misaligned where a page boundary is
 * required, gets SVM_ERROR_INVALID_ARGUMENT, never a crash.
 *
 * Configuration comes from SVM_* environment variables read by svm_init();
 * `svm-info -e` lists them, docs/configuration.md describes them.
 */
#ifndef SVMRT_H
#define SVMRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SVM_API __attribute__((visibility("default")))
#else
#define SVM_API
#endif

/*
 * SVM_VERSION_MAJOR, _MINOR, _PATCH and SVM_VERSION_STRING: the version of
 * this header, from svmrt_version.h, which the build generates from the
 * project's one version number and installs beside this file. svm_version()
 * is the version of the library actually loaded.
 */
#include "svmrt_version.h"
/* the names of svmrt 0.1, kept for applications that used them */
#define SVMRT_VERSION_MAJOR SVM_VERSION_MAJOR
#define SVMRT_VERSION_MINOR SVM_VERSION_MINOR

/* "MAJOR.MINOR.PATCH" of the library, as svmrt.pc and the CMake package say. */
SVM_API const char *svm_version(void);

typedef enum svm_result {
	SVM_OK = 0,
	SVM_PARTIAL = 1,                 /* a migration left pages behind (see report) */
	SVM_ERROR_INVALID_ARGUMENT = -1, /* NULL, zero size, not an SVM range, bad device */
	SVM_ERROR_OUT_OF_MEMORY = -2,
	SVM_ERROR_NO_DEVICE = -3,        /* requested backend/device not available */
	SVM_ERROR_UNSUPPORTED = -4,      /* the backend cannot do this */
	SVM_ERROR_BACKEND = -5,          /* driver failure; details in the log */
	SVM_ERROR_NOT_INITIALIZED = -6,
} svm_result_t;

/* A short English description; never NULL. */
SVM_API const char *svm_result_string(svm_result_t r);

/* Reference counted: every successful svm_init() needs one svm_finalize(). */
SVM_API svm_result_t svm_init(void);
SVM_API svm_result_t svm_finalize(void);

#define SVM_HOST (-1) /* the location id of host memory */

/* Number of devices of the active backend; 0 when not initialized. */
SVM_API int svm_device_count(void);

typedef struct svm_device_props {
	char name[64];
	char backend[16];          /* "kshim", "user", "ze" */
	uint64_t memory_bytes;
	int numa_node;             /* nearest host NUMA node, -1 if unknown */
	char pci_bus_id[16];       /* "" if not a PCI device */
	unsigned compute_threads;  /* 0: svm_launch unsupported */
} svm_device_props_t;
SVM_API svm_result_t svm_device_props(int device, svm_device_props_t *props);

/*
 * Page-aligned memory from the SVM heap, usable on the host and (through
 * svm_device_ptr) on every device. Contents start as zero. Allocations of
 * 2 MiB or more are 2 MiB aligned.
 */
SVM_API svm_result_t svm_alloc(void **ptr, size_t bytes);
/* ptr must be a value returned by svm_alloc(); svm_free(NULL) is an error. */
SVM_API svm_result_t svm_free(void *ptr);

typedef enum svm_failure { /* why a page did not move */
	SVM_FAILURE_NONE = 0,
	SVM_FAILURE_PINNED,      /* long-term pinned (DMA, RDMA, io_uring, svm_pin) */
	SVM_FAILURE_BUSY,        /* transient: page locked, isolation failed, raced */
	SVM_FAILURE_NO_MEMORY,   /* destination full even after eviction */
	SVM_FAILURE_UNSUPPORTED, /* page kind cannot migrate (shared, file, zero...) */
} svm_failure_t;
#define SVM_FAILURE_COUNT 5
/* "none", "pinned", "busy", "no-memory", "unsupported"; "?" otherwise. */
SVM_API const char *svm_failure_string(svm_failure_t f);

typedef struct svm_migrate_report {
	size_t pages;     /* pages in the range */
	size_t moved;     /* pages that moved to the location */
	size_t already;   /* pages that were already there */
	size_t failed;    /* pages left behind; sum of failed_by[] */
	size_t failed_by[SVM_FAILURE_COUNT]; /* indexed by svm_failure_t */
	unsigned retries; /* retry rounds used */
} svm_migrate_report_t;

/*
 * Moves the pages of [ptr, ptr + bytes) to `location` (SVM_HOST or a device
 * index). ptr must be page aligned and the range inside one allocation;
 * bytes is rounded up to whole pages. Returns SVM_OK when every page is
 * there, SVM_PARTIAL when some could not move (the report says which
 * classes), an error otherwise.
 */
SVM_API svm_result_t svm_prefetch(const void *ptr, size_t bytes, int location,
				  svm_migrate_report_t *report /* may be NULL */);

typedef enum svm_advice {
	SVM_ADVISE_SET_READ_MOSTLY = 1,
	SVM_ADVISE_UNSET_READ_MOSTLY,
	SVM_ADVISE_SET_PREFERRED_LOCATION,
	SVM_ADVISE_UNSET_PREFERRED_LOCATION,
	SVM_ADVISE_SET_ACCESSED_BY,
	SVM_ADVISE_UNSET_ACCESSED_BY,
} svm_advice_t;
/*
 * READ_MOSTLY: reads make read-only copies where they happen; a write
 *   collapses them to the writer. `location` is ignored.
 * PREFERRED_LOCATION: faults move pages toward `location` and they stay
 *   there (evicted last).
 * ACCESSED_BY: device `location` reaches the pages where they are, without
 *   moving them.
 * Same range rules as svm_prefetch.
 */
SVM_API svm_result_t svm_advise(const void *ptr, size_t bytes,
				svm_advice_t advice, int location);

typedef struct svm_page_info {
	int location;              /* SVM_HOST or device index of the owning copy */
	uint32_t copies;           /* bit 0 host, bit 1+d device d (read duplicates) */
	uint32_t migrations;       /* times this page moved */
	svm_failure_t last_failure; /* why its last attempted move failed */
} svm_page_info_t;
/*
 * One entry per page of [ptr, ptr + bytes) into pages[0..count); count must
 * be at least the number of pages. A page never touched reports SVM_HOST
 * with copies == 0.
 */
SVM_API svm_result_t svm_query(const void *ptr, size_t bytes,
			       svm_page_info_t *pages, size_t count);

/*
 * What svmrt knows of a pointer: the allocation that holds it and where the
 * page holding it lives now. ptr may point anywhere inside an allocation
 * (its first to its last byte as allocated, any alignment).
 * SVM_ERROR_INVALID_ARGUMENT when ptr is not inside a live allocation
 * (NULL, freed, not SVM memory, past the end, a device's view) or when
 * info is NULL. info may itself point into SVM memory.
 */
typedef struct svm_pointer_info {
	void *base;    /* start of the svm_alloc allocation holding ptr */
	size_t bytes;  /* its size as allocated */
	int location;  /* SVM_HOST or the device index of the page holding ptr now */
} svm_pointer_info_t;
SVM_API svm_result_t svm_pointer_info(const void *ptr, svm_pointer_info_t *info);

/*
 * Keeps the pages on the host (a real long-term pin on kshim). Devices keep
 * reaching them in place. Pins nest per page; svm_unpin releases one level.
 */
SVM_API svm_result_t svm_pin(const void *ptr, size_t bytes);
SVM_API svm_result_t svm_unpin(const void *ptr, size_t bytes);

/*
 * Device code. svm_launch() runs fn(ctx, i, arg) for every i in [0, grid)
 * on the device's worker threads and returns when all have finished. Device
 * code reaches SVM memory only through svm_device_ptr(ctx, p), which returns
 * the device's address for host address p (NULL when p is not SVM memory).
 * That address is for the kernel that asked: it is valid while the launch
 * runs, not after it (on the user backend the device's copies may be
 * stale between launches).
 */
typedef struct svm_kernel_ctx svm_kernel_ctx_t;
typedef void (*svm_kernel_fn)(const svm_kernel_ctx_t *ctx, size_t index, void *arg);
SVM_API svm_result_t svm_launch(int device, size_t grid, svm_kernel_fn fn, void *arg);
SVM_API void *svm_device_ptr(const svm_kernel_ctx_t *ctx, const void *ptr);
/* The device a kernel runs on, and the worker thread's index on it. */
SVM_API int svm_kernel_device(const svm_kernel_ctx_t *ctx);
SVM_API unsigned svm_kernel_thread(const svm_kernel_ctx_t *ctx);

typedef struct svm_stats {
	uint64_t cpu_faults;        /* host accesses the runtime served: pages not on the host, or protected (copies, holds) */
	uint64_t device_faults;     /* device accesses to pages not on that device */
	uint64_t pages_to_device;   /* pages moved host -> device (or device -> device) */
	uint64_t pages_to_host;     /* pages moved device -> host */
	uint64_t bytes_to_device;
	uint64_t bytes_to_host;
	uint64_t move_attempts;     /* pages offered to the backend to move, retries included */
	uint64_t retries;           /* retry rounds */
	uint64_t failures_by[SVM_FAILURE_COUNT]; /* pages that failed to move, by class */
	uint64_t evictions;         /* pages evicted from a device to make room */
	uint64_t thrash_events;     /* a page moved back within a short window */
	uint64_t read_duplicates;   /* read-only copies made */
	uint64_t collapses;         /* read-only copy sets collapsed by a write */
	uint64_t remote_accesses;   /* device faults served without moving the page */
	uint64_t prefetches;        /* svm_prefetch calls */
	uint64_t launches;          /* svm_launch calls */
	uint64_t fault_service_ns;  /* total time spent serving faults */
	uint64_t fault_service_max_ns;
	uint64_t move_ns_to_device; /* time spent moving pages to devices */
	uint64_t move_ns_to_host;   /* and home; bytes / time = bandwidth while moving */
	uint64_t device_resident_bytes; /* bytes on devices now */
	/* since 0.2 */
	uint64_t prefetched_pages;  /* pages the fault prefetcher brought along (SVM_PREFETCH) */
	uint64_t prefetched_evicted; /* of those, evicted before they moved for any other reason */
	uint64_t thrash_holds;      /* pages put on hold on the host for thrashing (SVM_THRASH),
				       holds renewed included */
	uint64_t thrash_held_faults; /* device faults served in place or by a copy: page on hold */
} svm_stats_t;
/* Totals since svm_init over all devices. */
SVM_API svm_result_t svm_stats(svm_stats_t *stats);
/* The same counters for one device (resident bytes and faults it took). */
SVM_API svm_result_t svm_device_stats(int device, svm_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* SVMRT_H */
