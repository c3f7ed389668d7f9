/* SPDX-License-Identifier: MIT */
/*
 * The counters of svm_stats / svm_device_stats, kept through these so that
 * every path (policy, backends) counts the same way. Callers hold rt->lock.
 */
#ifndef SVM_OBS_STATS_H
#define SVM_OBS_STATS_H

#include "../core/rt.h"

#define SVM__STAT(rt, devno, field, v)                          \
	do {                                                    \
		(rt)->stats.field += (v);                       \
		if ((devno) >= 0)                               \
			(rt)->dev[(devno)].stats.field += (v);  \
	} while (0)

/*
 * n pages moved to a device (to_device) or home, charged to device dev
 * (the destination, or the device they left; -1: totals only).
 */
static inline void svm__stat_moved(struct svm__rt *rt, int dev, bool to_device, uint64_t n)
{
	if (to_device) {
		SVM__STAT(rt, dev, pages_to_device, n);
		SVM__STAT(rt, dev, bytes_to_device, n * SVM__PAGE_SIZE);
	} else {
		SVM__STAT(rt, dev, pages_to_host, n);
		SVM__STAT(rt, dev, bytes_to_host, n * SVM__PAGE_SIZE);
	}
}

#endif
