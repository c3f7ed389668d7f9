/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmshim_priv.h - internal definitions of the svmrt kernel shim.
 */
#ifndef _SVMSHIM_PRIV_H_
#define _SVMSHIM_PRIV_H_

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
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

struct svm_dpage {
	struct list_head link;		/* free list or LRU */
	struct page *page;		/* the device page */
	struct svm_file *owner;		/* file that moved it here, or NULL */
	u64 gen;			/* MIGRATE call that moved it here */
	u8 state;			/* enum svm_dpage_state */
};

struct svm_chunk {
	struct dev_pagemap pgmap;
	struct svm_device *sdev;
	struct list_head node;		/* svm_device.chunks */
	unsigned long pfn_first;
	unsigned long npages;
	struct page **backing;		/* system page behind each device page */
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

struct svmshim {
	struct drm_device drm;
	unsigned int ndevices;
	struct svm_device devs[SVMSHIM_MAX_DEVICES];
};

struct svm_pin {
	struct list_head node;
	unsigned long start;
	unsigned long npages;
	struct page **pages;
};

struct svm_file {
	struct svmshim *shim;
	struct mutex lock;		/* pins */
	struct list_head pins;
};

/* MIGRATE fault injection, set through the inject_* module parameters. */
struct svm_inject {
	unsigned int class;		/* SVMSHIM_FAIL_*, 0: off */
	unsigned int percent;		/* 0..100 */
	unsigned int count;		/* stop after this many, 0: no limit */
	u64 seed;
	atomic_t hits;			/* failures injected since last write */
	/* draws of BUSY/NO_MEMORY per destination (last: host) */
	atomic64_t draws[SVMSHIM_MAX_DEVICES + 1];
};

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

#endif /* _SVMSHIM_PRIV_H_ */
