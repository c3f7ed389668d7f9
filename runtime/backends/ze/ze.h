/* SPDX-License-Identifier: MIT */
/*
 * What the ze backend offers the API layer besides its ops: the Level Zero
 * handles behind svm_ze_handles (include/svmrt_ze.h, api/ze.c).
 */
#ifndef SVM_BACKENDS_ZE_H
#define SVM_BACKENDS_ZE_H

#include "svmrt_ze.h"
#include "../backend.h"

/*
 * The driver context and device handle of device; caller holds rt->lock.
 * SVM_ERROR_NOT_INITIALIZED when the ze backend is not the live one,
 * SVM_ERROR_INVALID_ARGUMENT for a device it does not have.
 */
svm_result_t svm__ze_handles(int device, void **context, void **device_handle);

#endif
