/* SPDX-License-Identifier: MIT */
#ifndef SVM_CORE_LAUNCH_H
#define SVM_CORE_LAUNCH_H

#include "../core/rt.h"

/* Serialises launches on a device; taken before rt->lock. */
extern pthread_mutex_t svm__launch_lock[SVM__MAX_DEVICES];

unsigned svm__pool_threads(const struct svm__rt *rt);
svm_result_t svm__pool_run(struct svm__rt *rt, int dev, size_t grid, svm_kernel_fn fn,
			   void *arg);
void svm__pool_destroy(struct svm__rt *rt, int dev);

#endif
