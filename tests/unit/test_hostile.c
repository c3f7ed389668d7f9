/* SPDX-License-Identifier: MIT */
/*
 * Hostile input to every entry point of include/svmrt.h, beyond
 * unit.args: device ids at the ends of int (INT_MIN, INT_MAX), advice
 * values at the ends of the enum's range, sizes at the ends of size_t
 * (that wrap when rounded up to pages or added to the pointer), pointers
 * at the top of the address space, svm_query with a count far larger than
 * the range (only the range's entries are written), and OUTPUT pointers
 * that are not memory a call may write: inside freed SVM memory, running
 * past the end of a live allocation, inside a device's view of the heap.
 * Those get SVM_ERROR_INVALID_ARGUMENT (the contract: a freed or
 * out-of-range pointer never crashes); a misaligned output in good memory
 * is written (as memcpy would). Runs on any backend with svm_launch.
 */
#define _GNU_SOURCE
#include <limits.h>

#include "svmtest.h"

#define NPAGES 4

static size_t pg;

static void kernel_nop(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	(void)ctx;
	(void)index;
	(void)arg;
}

static void check_devices(void *p)
{
	const int bad[] = { INT_MIN, INT_MIN + 1, -3, INT_MAX, INT_MAX - 1, 16, 17, 31, 32, 64 };
	svm_device_props_t props;
	svm_stats_t stats;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int d = bad[i];

		if (d >= 0 && d < svm_device_count())
			continue;
		CHECK_INVAL(svm_prefetch(p, pg, d, NULL));
		CHECK_INVAL(svm_advise(p, pg, SVM_ADVISE_SET_PREFERRED_LOCATION, d));
		CHECK_INVAL(svm_advise(p, pg, SVM_ADVISE_SET_ACCESSED_BY, d));
		CHECK_INVAL(svm_advise(p, pg, SVM_ADVISE_UNSET_ACCESSED_BY, d));
		CHECK_INVAL(svm_launch(d, 1, kernel_nop, NULL));
		CHECK_INVAL(svm_device_props(d, &props));
		CHECK_INVAL(svm_device_stats(d, &stats));
	}
}

static void check_advice(void *p)
{
	const int bad[] = { INT_MIN, -1, 0, SVM_ADVISE_UNSET_ACCESSED_BY + 1, 255, 256, INT_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INVAL(svm_advise(p, pg, (svm_advice_t)bad[i], 0));
}

static void check_sizes(char *p)
{
	const size_t bad[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - pg + 1, SIZE_MAX - pg + 2,
			       (size_t)1 << 63, ((size_t)1 << 63) + pg, NPAGES * pg + 1,
			       (size_t)0 - (uintptr_t)p, (size_t)0 - (uintptr_t)p + pg };
	char *top = (char *)(UINTPTR_MAX & ~(uintptr_t)(pg - 1));
	svm_page_info_t info[NPAGES];
	svm_migrate_report_t rep;
	void *q = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t b = bad[i];

		CHECK_INVAL(svm_prefetch(p, b, 0, &rep));
		CHECK_INVAL(svm_prefetch(p + pg, b, SVM_HOST, NULL));
		CHECK_INVAL(svm_advise(p, b, SVM_ADVISE_SET_READ_MOSTLY, 0));
		CHECK_INVAL(svm_query(p, b, info, NPAGES));
		CHECK_INVAL(svm_query(p, b, info, SIZE_MAX));
		CHECK_INVAL(svm_pin(p, b));
		CHECK_INVAL(svm_unpin(p, b));
		if (b > (size_t)1 << 62) { /* no heap has that much room */
			svm_result_t r = svm_alloc(&q, b);

			CHECK_MSG(r == SVM_ERROR_OUT_OF_MEMORY || r == SVM_ERROR_INVALID_ARGUMENT,
				  "svm_alloc(%zu) returned %s", b, svm_result_string(r));
			CHECK(q == NULL);
		}
	}
	/* the last page of the address space, and a span that wraps past it */
	CHECK_INVAL(svm_prefetch(top, pg, 0, NULL));
	CHECK_INVAL(svm_prefetch(top, 2 * pg, 0, NULL));
	CHECK_INVAL(svm_query(top, pg, info, 1));
	CHECK_INVAL(svm_pin(top, pg));
	CHECK_INVAL(svm_free(top));
	CHECK_INVAL(svm_pointer_info(top, &(svm_pointer_info_t){ 0 }));
	CHECK_INVAL(svm_pointer_info(top + pg - 1, &(svm_pointer_info_t){ 0 }));
}

static void check_query_count(char *p)
{
	svm_page_info_t info[NPAGES + 2];

	memset(info, 0x5a, sizeof(info));
	/* a count far beyond the range: exactly the range's entries are written */
	CHECK_OK(svm_query(p, 2 * pg, info, SIZE_MAX));
	CHECK_EQ(info[0].location, SVM_HOST);
	CHECK_EQ(info[1].location, SVM_HOST);
	for (size_t i = 2; i < NPAGES + 2; i++)
		for (size_t b = 0; b < sizeof(info[i]); b++)
			CHECK_EQ(((unsigned char *)&info[i])[b], 0x5a);
	CHECK_OK(svm_query(p, NPAGES * pg, info, (size_t)1 << 63));
}

struct view_probe {
	void *svm;
	void *view;
};

static void kernel_view(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	struct view_probe *v = arg;

	(void)index;
	v->view = svm_device_ptr(ctx, v->svm);
}

/* Outputs that point where a call must not write. */
static void check_outputs(char *p, char *box, char *freed)
{
	char *end = box + NPAGES * pg; /* one past the allocation's last page */
	struct view_probe v = { .svm = p };
	svm_device_props_t props;
	svm_page_info_t info[2];
	svm_stats_t s;
	struct {
		const char *what;
		char *at;
	} bad[] = {
		{ "freed SVM memory", freed },
		{ "freed SVM memory, inside", freed + 64 },
		{ "running past the end of an allocation", end - 4 },
		{ NULL, NULL },
	};
	size_t nbad = 3;

	if (svm_device_count() > 0 && svm_launch(0, 1, kernel_view, &v) == SVM_OK && v.view) {
		bad[nbad].what = "a device's view of the heap";
		bad[nbad++].at = v.view;
		/* nor is a view address an SVM pointer */
		CHECK_INVAL(svm_free(v.view));
		CHECK_INVAL(svm_prefetch(v.view, pg, 0, NULL));
		CHECK_INVAL(svm_pin(v.view, pg));
		CHECK_INVAL(svm_pointer_info(v.view, &(svm_pointer_info_t){ 0 }));
	}
	for (size_t i = 0; i < nbad; i++) {
		char *o = bad[i].at;

		printf("  output in %s\n", bad[i].what);
		CHECK_INVAL(svm_stats((svm_stats_t *)o));
		CHECK_INVAL(svm_device_stats(0, (svm_stats_t *)o));
		CHECK_INVAL(svm_device_props(0, (svm_device_props_t *)o));
		CHECK_INVAL(svm_prefetch(p, pg, SVM_HOST, (svm_migrate_report_t *)o));
		CHECK_INVAL(svm_query(p, pg, (svm_page_info_t *)o, 1));
		CHECK_INVAL(svm_alloc((void **)o, pg));
		CHECK_INVAL(svm_pointer_info(p, (svm_pointer_info_t *)o));
	}
	/* misaligned, in good memory (SVM or not): written, like memcpy would */
	static unsigned char buf[2 * sizeof(svm_stats_t) + 16];
	unsigned char *outs[] = { buf + 1, (unsigned char *)box + 3 };

	for (size_t i = 0; i < 2; i++) {
		unsigned char *o = outs[i];
		void *q = NULL;

		CHECK_OK(svm_stats((svm_stats_t *)o));
		memcpy(&s, o, sizeof(s));
		CHECK(s.prefetches > 0);
		CHECK_OK(svm_device_props(0, (svm_device_props_t *)o));
		memcpy(&props, o, sizeof(props));
		CHECK(props.memory_bytes > 0);
		CHECK_OK(svm_query(p, 2 * pg, (svm_page_info_t *)o, 2));
		memcpy(info, o, sizeof(info));
		CHECK_EQ(info[1].location, SVM_HOST);
		CHECK_OK(svm_alloc((void **)o, pg));
		memcpy(&q, o, sizeof(q));
		CHECK(q != NULL);
		CHECK_OK(svm_free(q));
		CHECK_OK(svm_pointer_info(p + pg + 1, (svm_pointer_info_t *)o));
		svm_pointer_info_t pi;

		memcpy(&pi, o, sizeof(pi));
		CHECK(pi.base == p);
	}
	/* an output exactly filling the end of the allocation is fine */
	CHECK_OK(svm_query(p, pg, (svm_page_info_t *)(end - sizeof(info[0])), 1));
}

int main(void)
{
	char *p, *freed, *box;
	uint64_t sum;

	pg = svmt_page_size();
	/* before svm_init, and between two runtimes: nothing, and no crash */
	CHECK_EQ(svm_device_count(), 0);
	CHECK(svm_device_ptr(NULL, &pg) == NULL);
	CHECK_EQ(svm_kernel_device(NULL), -1);
	CHECK_EQ(svm_kernel_thread(NULL), 0);
	CHECK_NOINIT(svm_stats((svm_stats_t *)(uintptr_t)8));
	CHECK_NOINIT(svm_advise((void *)(uintptr_t)-4096, SIZE_MAX, (svm_advice_t)INT_MIN, INT_MIN));
	CHECK_NOINIT(svm_launch(INT_MIN, SIZE_MAX, kernel_nop, NULL));

	svmt_init();
	if (svm_device_count() < 1)
		svmt_skip("no device");
	p = svmt_alloc(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * pg; i++)
		p[i] = (char)(i * 13 + 5);
	sum = svmt_checksum(p, NPAGES * pg);
	box = svmt_alloc(NPAGES * pg); /* before `freed` goes: not at its place */
	freed = svmt_alloc(2 * pg);
	CHECK_OK(svm_free(freed));
	CHECK_OK(svm_prefetch(p, pg, SVM_HOST, NULL)); /* a prefetch to count */

	puts("device ids");
	check_devices(p);
	puts("advice values");
	check_advice(p);
	puts("sizes");
	check_sizes(p);
	puts("svm_query counts");
	check_query_count(p);
	puts("outputs");
	check_outputs(p, box, freed);
	CHECK_OK(svm_free(box));

	CHECK_EQ(svmt_checksum(p, NPAGES * pg), sum); /* nothing disturbed it */
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	/* after the last finalize */
	CHECK_NOINIT(svm_query(p, pg, (svm_page_info_t *)freed, SIZE_MAX));
	CHECK_NOINIT(svm_pointer_info(p, (svm_pointer_info_t *)freed));
	CHECK_NOINIT(svm_device_props(INT_MIN, NULL));
	CHECK_EQ(svm_device_count(), 0);
	CHECK_NOINIT(svm_finalize());
	printf("PASS unit hostile\n");
	return 0;
}
