/* SPDX-License-Identifier: MIT */
/*
 * The device kernel of samples/fortran: C, called through svm_launch from
 * Fortran (c_funloc). x[i] = 2 * x[i] + 1 on the device's view of x.
 */
#include <svmrt.h>

void svm_sample_scale(const svm_kernel_ctx_t *ctx, size_t i, void *arg);

void svm_sample_scale(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	double *x = svm_device_ptr(ctx, arg);

	x[i] = 2 * x[i] + 1;
}
