/* SPDX-License-Identifier: MIT */
/* The entry point of include/svmrt_ze.h. */
#include "../core/rt.h"
#include "../backends/ze/ze.h"

svm_result_t svm_ze_handles(int device, void **context, void **device_handle)
{
	struct svm__rt *rt = svm__rt_get();
	void *ctx = NULL, *handle = NULL;
	svm_result_t res;

	pthread_mutex_lock(&rt->lock);
	res = svm__ze_handles(device, &ctx, &handle);
	pthread_mutex_unlock(&rt->lock);
	if (res == SVM_OK && !context && !device_handle)
		res = SVM_ERROR_INVALID_ARGUMENT;
	if (res == SVM_ERROR_NOT_INITIALIZED) /* another backend is live, or none */
		return svm_device_count() > 0 ? SVM_ERROR_UNSUPPORTED : SVM_ERROR_NOT_INITIALIZED;
	/* stored unlocked: the outputs may be SVM memory (see api/init.c) */
	if (res == SVM_OK && context)
		*context = ctx;
	if (res == SVM_OK && device_handle)
		*device_handle = handle;
	return res;
}
