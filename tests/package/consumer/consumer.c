/* SPDX-License-Identifier: MIT */
/*
 * A tiny application of the installed svmrt, built by consumers.sh once
 * through find_package(svmrt) and once through pkg-config. EXPECT_VERSION
 * is the version the package said it was (svmrt_VERSION or pkg-config
 * --modversion); the library loaded must be that one.
 */
#include <stdio.h>
#include <string.h>

#include <svmrt.h>

#ifndef EXPECT_VERSION
#error "build with -DEXPECT_VERSION=\"the package's version\""
#endif

static void scale(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	int *x = svm_device_ptr(ctx, arg);

	x[i] *= 3;
}

int main(void)
{
	svm_pointer_info_t info;
	const size_t n = 10000;
	int *x = NULL;

	if (strcmp(svm_version(), EXPECT_VERSION) || strcmp(SVM_VERSION_STRING, EXPECT_VERSION)) {
		fprintf(stderr, "FAIL: library %s, header %s, package %s\n", svm_version(),
			SVM_VERSION_STRING, EXPECT_VERSION);
		return 1;
	}
	if (svm_init() != SVM_OK || svm_alloc((void **)&x, n * sizeof(*x)) != SVM_OK) {
		fprintf(stderr, "FAIL: svm_init/svm_alloc\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		x[i] = (int)i;
	if (svm_launch(0, n, scale, x) != SVM_OK ||
	    svm_pointer_info(x + n - 1, &info) != SVM_OK || info.base != x) {
		fprintf(stderr, "FAIL: svm_launch/svm_pointer_info\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (x[i] != 3 * (int)i) {
			fprintf(stderr, "FAIL: x[%zu] = %d\n", i, x[i]);
			return 1;
		}
	svm_free(x);
	svm_finalize();
	printf("consumer of svmrt %s: ok\n", svm_version());
	return 0;
}
