/* SPDX-License-Identifier: MIT */
/*
 * svmrt_ze.h - the Level Zero handles behind svmrt's ze backend.
 *
 * With SVM_BACKEND=ze (or auto on a machine with an Intel GPU), svm_alloc
 * returns Level Zero shared memory of one context, and svm_launch is not
 * available: the application builds and launches its own kernels. It does
 * so in svmrt's context and on svmrt's devices, which this function hands
 * out. They stay valid until the last svm_finalize(); do not destroy them.
 *
 * Including this header does not need Level Zero. Define SVMRT_ZE_TYPES
 * after including <level_zero/ze_api.h> to get svm_ze_handles_typed(), the
 * same call with the real handle types.
 */
#ifndef SVMRT_ZE_H
#define SVMRT_ZE_H

#include "svmrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The ze_context_handle_t of svmrt's context and the ze_device_handle_t of
 * `device` (an svmrt device index, 0 .. svm_device_count() - 1). Either
 * out pointer may be NULL, not both.
 * Returns SVM_ERROR_NOT_INITIALIZED before svm_init, SVM_ERROR_UNSUPPORTED
 * when another backend runs, SVM_ERROR_INVALID_ARGUMENT for a bad device.
 */
SVM_API svm_result_t svm_ze_handles(int device, void **context, void **device_handle);

#if defined(SVMRT_ZE_TYPES) && defined(_ZE_API_H)
static inline svm_result_t svm_ze_handles_typed(int device, ze_context_handle_t *context,
						ze_device_handle_t *device_handle)
{
	void *c = NULL, *d = NULL;
	svm_result_t r = svm_ze_handles(device, context ? &c : NULL,
					device_handle ? &d : NULL);

	if (r == SVM_OK && context)
		*context = (ze_context_handle_t)c;
	if (r == SVM_OK && device_handle)
		*device_handle = (ze_device_handle_t)d;
	return r;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* SVMRT_ZE_H */
