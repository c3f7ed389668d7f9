/* SPDX-License-Identifier: MIT */
/*
 * svm_init / svm_finalize: every entry point says NOT_INITIALIZED before
 * svm_init and after the last svm_finalize; init is reference counted;
 * the string functions never return NULL and work at any time.
 */
#define _GNU_SOURCE
#include "svmtest.h"

static void kernel_nop(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	(void)ctx;
	(void)index;
	(void)arg;
}

/* Every entry point, with arguments that would be valid once initialized
 * (as far as that is possible without an allocation). */
static void check_all_not_initialized(void *stale)
{
	static char foreign[8192] __attribute__((aligned(4096)));
	void *p = NULL;
	svm_device_props_t props;
	svm_migrate_report_t report;
	svm_page_info_t info;
	svm_stats_t stats;
	void *target = stale ? stale : foreign;

	CHECK_NOINIT(svm_finalize());
	CHECK_EQ(svm_device_count(), 0);
	CHECK_NOINIT(svm_device_props(0, &props));
	CHECK_NOINIT(svm_alloc(&p, 4096));
	CHECK(p == NULL);
	CHECK_NOINIT(svm_free(target));
	CHECK_NOINIT(svm_prefetch(target, 4096, 0, &report));
	CHECK_NOINIT(svm_prefetch(target, 4096, SVM_HOST, NULL));
	CHECK_NOINIT(svm_advise(target, 4096, SVM_ADVISE_SET_READ_MOSTLY, 0));
	CHECK_NOINIT(svm_query(target, 4096, &info, 1));
	CHECK_NOINIT(svm_pin(target, 4096));
	CHECK_NOINIT(svm_unpin(target, 4096));
	CHECK_NOINIT(svm_launch(0, 1, kernel_nop, NULL));
	CHECK_NOINIT(svm_stats(&stats));
	CHECK_NOINIT(svm_device_stats(0, &stats));
}

static void check_strings(void)
{
	static const svm_result_t results[] = {
		SVM_OK, SVM_PARTIAL, SVM_ERROR_INVALID_ARGUMENT,
		SVM_ERROR_OUT_OF_MEMORY, SVM_ERROR_NO_DEVICE,
		SVM_ERROR_UNSUPPORTED, SVM_ERROR_BACKEND,
		SVM_ERROR_NOT_INITIALIZED, (svm_result_t)42,
		(svm_result_t)-42,
	};
	static const char *const failures[] = {
		"none", "pinned", "busy", "no-memory", "unsupported",
	};

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		const char *s = svm_result_string(results[i]);

		CHECK_MSG(s != NULL, "svm_result_string(%d) is NULL",
			  (int)results[i]);
		CHECK_MSG(s[0] != '\0', "svm_result_string(%d) is empty",
			  (int)results[i]);
	}
	/* Distinct texts for the known codes. */
	for (size_t i = 0; i < 8; i++)
		for (size_t j = i + 1; j < 8; j++)
			CHECK_MSG(strcmp(svm_result_string(results[i]),
					 svm_result_string(results[j])) != 0,
				  "results %d and %d share a description",
				  (int)results[i], (int)results[j]);

	for (int f = 0; f < SVM_FAILURE_COUNT; f++)
		CHECK_MSG(strcmp(svm_failure_string((svm_failure_t)f),
				 failures[f]) == 0,
			  "svm_failure_string(%d) is \"%s\", expected \"%s\"",
			  f, svm_failure_string((svm_failure_t)f), failures[f]);
	CHECK(strcmp(svm_failure_string((svm_failure_t)SVM_FAILURE_COUNT),
		     "?") == 0);
	CHECK(strcmp(svm_failure_string((svm_failure_t)-1), "?") == 0);
	CHECK(strcmp(svm_failure_string((svm_failure_t)1000), "?") == 0);
}

/* Two nested inits need two finalizes; memory stays usable in between. */
static void check_refcount(void)
{
	void *p;

	svmt_init();
	CHECK_OK(svm_init());
	CHECK_GE(svm_device_count(), 1);
	p = svmt_alloc(4096);
	((volatile char *)p)[0] = 7;

	CHECK_OK(svm_finalize());
	/* Still initialized: one reference left. */
	CHECK_GE(svm_device_count(), 1);
	CHECK_EQ(((volatile char *)p)[0], 7);
	CHECK_EQ(svmt_location(p), SVM_HOST);
	CHECK_OK(svm_free(p));

	CHECK_OK(svm_finalize());
	check_all_not_initialized(NULL);
}

/* A pointer from a previous init cycle is not SVM memory any more. */
static void check_reinit(void)
{
	void *p;
	svm_page_info_t info;

	svmt_init();
	p = svmt_alloc(4096);
	CHECK_OK(svm_finalize());
	check_all_not_initialized(p);

	svmt_init();
	CHECK_GE(svm_device_count(), 1);
	p = svmt_alloc(8192);
	CHECK_EQ(((volatile char *)p)[4096], 0);
	CHECK_INVAL(svm_query(p, 8192, &info, 1)); /* count too small */
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
}

int main(void)
{
	check_strings();
	check_all_not_initialized(NULL);
	check_refcount();
	check_reinit();
	for (int i = 0; i < 5; i++) {
		svmt_init();
		CHECK_OK(svm_finalize());
	}
	check_all_not_initialized(NULL);
	check_strings();
	printf("init/finalize: ok\n");
	return 0;
}
