/* SPDX-License-Identifier: MIT */
/*
 * Argument checking of every entry point: NULL, zero size, foreign
 * (malloc'd, stack, static) pointers, freed pointers, misaligned pointers,
 * ranges running past the allocation, unknown devices and locations, bad
 * advice, svm_query count too small. Each gets SVM_ERROR_INVALID_ARGUMENT,
 * and none of them disturbs a live allocation.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define NPAGES 8

static size_t pg;

static void kernel_nop(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	(void)ctx;
	(void)index;
	(void)arg;
}

/* Ranges that are not (inside) one live allocation. */
struct bad_range {
	const char *what;
	const void *ptr;
	size_t bytes;
};

static size_t bad_ranges(void *p, void *freed, void *foreign_heap,
			 void *foreign_stack, struct bad_range *out)
{
	static char foreign_static[3 * 4096] __attribute__((aligned(4096)));
	size_t n = 0;
	char *c = p;

	out[n++] = (struct bad_range){ "NULL", NULL, pg };
	out[n++] = (struct bad_range){ "zero size", p, 0 };
	out[n++] = (struct bad_range){ "malloc'd", foreign_heap, pg };
	out[n++] = (struct bad_range){ "stack", foreign_stack, pg };
	out[n++] = (struct bad_range){ "static", foreign_static, pg };
	out[n++] = (struct bad_range){ "freed", freed, pg };
	out[n++] = (struct bad_range){ "misaligned +1", c + 1, pg };
	out[n++] = (struct bad_range){ "misaligned +8", c + 8, pg };
	out[n++] = (struct bad_range){ "past the end", c, NPAGES * pg + 1 };
	out[n++] = (struct bad_range){ "past the end, last page",
				       c + (NPAGES - 1) * pg, 2 * pg };
	out[n++] = (struct bad_range){ "huge size", c, SIZE_MAX };
	out[n++] = (struct bad_range){ "huge size, wraps", c,
				       SIZE_MAX - 2 * pg };
	out[n++] = (struct bad_range){ "one page past the end",
				       c + NPAGES * pg, pg };
	return n;
}

static void check_alloc_free(void *p, void *freed, void *heap, void *stack)
{
	void *q = NULL;

	CHECK_INVAL(svm_alloc(NULL, pg));
	CHECK_INVAL(svm_alloc(&q, 0));
	CHECK(q == NULL);
	/* Too big for any heap: out of memory (or invalid), never a crash. */
	{
		svm_result_t r = svm_alloc(&q, SIZE_MAX);

		CHECK_MSG(r == SVM_ERROR_OUT_OF_MEMORY ||
				  r == SVM_ERROR_INVALID_ARGUMENT,
			  "svm_alloc(SIZE_MAX) returned %d (%s)", (int)r,
			  svm_result_string(r));
		CHECK(q == NULL);
	}

	CHECK_INVAL(svm_free(NULL));
	CHECK_INVAL(svm_free(heap));
	CHECK_INVAL(svm_free(stack));
	CHECK_INVAL(svm_free(freed));
	CHECK_INVAL(svm_free((char *)p + 1));
	CHECK_INVAL(svm_free((char *)p + pg)); /* inside, not the start */

	/* Small sizes round up to pages; every allocation is page aligned;
	 * 2 MiB and more are 2 MiB aligned. */
	CHECK_OK(svm_alloc(&q, 1));
	CHECK(((uintptr_t)q % pg) == 0);
	CHECK_EQ(((volatile char *)q)[pg - 1], 0);
	CHECK_OK(svm_free(q));
	CHECK_INVAL(svm_free(q)); /* double free */
	CHECK_OK(svm_alloc(&q, 2u << 20));
	CHECK(((uintptr_t)q % (2u << 20)) == 0);
	CHECK_OK(svm_free(q));
}

static void check_ranges(const struct bad_range *bad, size_t n)
{
	svm_page_info_t info[NPAGES + 4];
	svm_migrate_report_t rep;

	for (size_t i = 0; i < n; i++) {
		const void *ptr = bad[i].ptr;
		size_t bytes = bad[i].bytes;

		printf("  range: %s\n", bad[i].what);
		CHECK_INVAL(svm_prefetch(ptr, bytes, 0, &rep));
		CHECK_INVAL(svm_prefetch(ptr, bytes, SVM_HOST, NULL));
		CHECK_INVAL(svm_advise(ptr, bytes, SVM_ADVISE_SET_READ_MOSTLY,
				       0));
		CHECK_INVAL(svm_advise(ptr, bytes,
				       SVM_ADVISE_SET_PREFERRED_LOCATION, 0));
		CHECK_INVAL(svm_advise(ptr, bytes, SVM_ADVISE_SET_ACCESSED_BY,
				       0));
		CHECK_INVAL(svm_query(ptr, bytes, info, NPAGES + 4));
		CHECK_INVAL(svm_pin(ptr, bytes));
		CHECK_INVAL(svm_unpin(ptr, bytes));
	}
}

static void check_locations(void *p)
{
	const int bad[] = { 7, -2, 1000, -1000, svm_device_count() };
	svm_device_props_t props;
	svm_stats_t stats;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int d = bad[i];

		CHECK_INVAL(svm_prefetch(p, pg, d, NULL));
		CHECK_INVAL(svm_advise(p, pg, SVM_ADVISE_SET_PREFERRED_LOCATION,
				       d));
		CHECK_INVAL(svm_advise(p, pg, SVM_ADVISE_SET_ACCESSED_BY, d));
		CHECK_INVAL(svm_launch(d, 1, kernel_nop, NULL));
		CHECK_INVAL(svm_device_props(d, &props));
		CHECK_INVAL(svm_device_stats(d, &stats));
	}
	/* The host is a location, never a device. */
	CHECK_INVAL(svm_launch(SVM_HOST, 1, kernel_nop, NULL));
	CHECK_INVAL(svm_device_props(SVM_HOST, &props));
	CHECK_INVAL(svm_device_stats(SVM_HOST, &stats));
}

static void check_advice_values(void *p)
{
	CHECK_INVAL(svm_advise(p, pg, (svm_advice_t)0, 0));
	CHECK_INVAL(svm_advise(p, pg, (svm_advice_t)7, 0));
	CHECK_INVAL(svm_advise(p, pg, (svm_advice_t)-1, 0));
	CHECK_INVAL(svm_advise(p, pg, (svm_advice_t)1000, 0));
	/* Every valid advice works on a valid range and can be undone. */
	for (int a = SVM_ADVISE_SET_READ_MOSTLY; a <= SVM_ADVISE_UNSET_ACCESSED_BY;
	     a++)
		CHECK_OK(svm_advise(p, pg, (svm_advice_t)a, 0));
	/* READ_MOSTLY ignores the location. */
	CHECK_OK(svm_advise(p, pg, SVM_ADVISE_SET_READ_MOSTLY, 7));
	CHECK_OK(svm_advise(p, pg, SVM_ADVISE_UNSET_READ_MOSTLY, -2));
}

static void check_query(void *p)
{
	svm_page_info_t info[NPAGES];

	CHECK_INVAL(svm_query(p, pg, NULL, 1));
	CHECK_INVAL(svm_query(p, pg, info, 0));
	CHECK_INVAL(svm_query(p, 2 * pg, info, 1));
	CHECK_INVAL(svm_query(p, NPAGES * pg, info, NPAGES - 1));
	CHECK_INVAL(svm_query(p, pg + 1, info, 1)); /* rounds up to 2 */
	CHECK_OK(svm_query(p, pg + 1, info, 2));
	CHECK_OK(svm_query(p, NPAGES * pg, info, NPAGES));
	CHECK_OK(svm_query((char *)p + pg, pg - 1, info, 1));
}

static void check_props_stats(void)
{
	svm_device_props_t props;

	CHECK_INVAL(svm_device_props(0, NULL));
	CHECK_INVAL(svm_stats(NULL));
	CHECK_INVAL(svm_device_stats(0, NULL));
	CHECK_OK(svm_device_props(0, &props));
	CHECK(memchr(props.name, '\0', sizeof(props.name)) != NULL);
	CHECK(memchr(props.backend, '\0', sizeof(props.backend)) != NULL);
	CHECK(memchr(props.pci_bus_id, '\0', sizeof(props.pci_bus_id)) != NULL);
	CHECK(props.memory_bytes > 0);
}

struct ptr_probe {
	void *svm;
	void *foreign;
	void *dev_svm, *dev_inner, *dev_foreign, *dev_null;
};

static void kernel_probe(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	struct ptr_probe *pr = arg;

	(void)index;
	pr->dev_svm = svm_device_ptr(ctx, pr->svm);
	pr->dev_inner = svm_device_ptr(ctx, (char *)pr->svm + 13);
	pr->dev_foreign = svm_device_ptr(ctx, pr->foreign);
	pr->dev_null = svm_device_ptr(ctx, NULL);
}

static void check_launch(void *p, void *heap)
{
	struct ptr_probe pr = { .svm = p, .foreign = heap };

	CHECK_INVAL(svm_launch(0, 0, kernel_nop, NULL));
	CHECK_INVAL(svm_launch(0, 1, NULL, NULL));
	CHECK_INVAL(svm_launch(0, 0, NULL, NULL));

	CHECK_OK(svm_launch(0, 1, kernel_probe, &pr));
	CHECK(pr.dev_svm != NULL);
	CHECK(pr.dev_inner == (char *)pr.dev_svm + 13);
	CHECK(pr.dev_foreign == NULL);
	CHECK(pr.dev_null == NULL);
}

int main(void)
{
	char stack_buf[2 * 4096] __attribute__((aligned(4096)));
	struct bad_range bad[16];
	void *p, *freed, *heap;
	size_t n;
	uint64_t sum;

	pg = svmt_page_size();
	svmt_init();
	p = svmt_alloc(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * pg; i++)
		((unsigned char *)p)[i] = (unsigned char)(i * 7 + 1);
	sum = svmt_checksum(p, NPAGES * pg);
	freed = svmt_alloc(pg);
	CHECK_OK(svm_free(freed));
	heap = aligned_alloc(pg, 2 * pg);
	CHECK(heap != NULL);
	memset(stack_buf, 1, sizeof(stack_buf));

	check_alloc_free(p, freed, heap, stack_buf);
	n = bad_ranges(p, freed, heap, stack_buf, bad);
	check_ranges(bad, n);
	check_locations(p);
	check_advice_values(p);
	check_query(p);
	check_props_stats();
	check_launch(p, heap);

	/* Nothing above touched the live allocation. */
	CHECK_EQ(svmt_checksum(p, NPAGES * pg), sum);
	CHECK_OK(svm_free(p));
	CHECK_INVAL(svm_free(p));
	free(heap);
	CHECK_OK(svm_finalize());
	CHECK_NOINIT(svm_finalize());
	printf("argument checks: ok\n");
	return 0;
}
