/* SPDX-License-Identifier: MIT */
/*
 * The basic life of a page on the user backend (SVM_GRANULARITY=4K so
 * counts are exact): zero fill, never-touched pages, host first touch,
 * prefetch there and back with exact reports, a CPU fault bringing one
 * page home, a device fault taking one page to the device.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define NPAGES 16

static size_t pg;

struct touch_args {
	unsigned char *base; /* host address of the allocation */
	size_t page;         /* which page the kernel touches */
	int write;
	uint64_t seen;
};

static void kernel_touch(const svm_kernel_ctx_t *ctx, size_t index, void *arg)
{
	struct touch_args *a = arg;
	volatile uint64_t *w = svm_device_ptr(ctx, a->base + a->page * pg);

	(void)index;
	a->seen = w[1];
	if (a->write)
		w[1] = a->seen + 1;
}

static void check_props(void)
{
	svm_device_props_t props;

	CHECK_OK(svm_device_props(0, &props));
	if (!strcmp(props.backend, "kshim")) {
		/* devices and their memory are the module's (devices=, vram_mb=) */
		CHECK_GE(svm_device_count(), 1);
		CHECK_GE(props.memory_bytes, 2ull << 20);
	} else {
		CHECK_EQ(svm_device_count(), 1);
		CHECK_MSG(strcmp(props.backend, "user") == 0,
			  "backend is \"%s\", expected \"user\"", props.backend);
		CHECK_EQ(props.memory_bytes, 64ull << 20); /* SVM_USER_DEVICE_MEMORY */
	}
	CHECK_EQ(props.compute_threads, 2);        /* SVM_USER_DEVICE_THREADS */
	printf("device 0: %s, %s backend, %llu MiB, %u threads\n", props.name,
	       props.backend, (unsigned long long)(props.memory_bytes >> 20),
	       props.compute_threads);
}

static void check_fresh(unsigned char *p)
{
	svm_page_info_t info[NPAGES];

	CHECK_OK(svm_query(p, NPAGES * pg, info, NPAGES));
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(info[i].location, SVM_HOST);
		CHECK_EQ(info[i].copies, 0);
		CHECK_EQ(info[i].migrations, 0);
		CHECK_EQ(info[i].last_failure, SVM_FAILURE_NONE);
	}
	for (size_t i = 0; i < NPAGES * pg; i++)
		CHECK_MSG(p[i] == 0, "fresh byte %zu is %u", i, p[i]);
	CHECK_OK(svm_query(p, NPAGES * pg, info, NPAGES));
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(info[i].location, SVM_HOST);
		CHECK_EQ(info[i].copies, 1);
	}
}

static void check_prefetch_round_trip(unsigned char *p)
{
	svm_migrate_report_t rep;
	svm_page_info_t info[NPAGES];
	svm_stats_t before = svmt_stats(), after;

	uint32_t first_touch[NPAGES];

	for (size_t i = 0; i < NPAGES * pg; i++)
		p[i] = (unsigned char)(i * 13 + 5);
	/* Whether populating a page counts as a move is the runtime's
	 * choice; count the moves from here. */
	CHECK_OK(svm_query(p, NPAGES * pg, info, NPAGES));
	for (int i = 0; i < NPAGES; i++)
		first_touch[i] = info[i].migrations;

	memset(&rep, 0xff, sizeof(rep));
	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, &rep));
	CHECK_EQ(rep.pages, NPAGES);
	CHECK_EQ(rep.moved, NPAGES);
	CHECK_EQ(rep.already, 0);
	CHECK_EQ(rep.failed, 0);
	for (int f = 0; f < SVM_FAILURE_COUNT; f++)
		CHECK_EQ(rep.failed_by[f], 0);
	CHECK_OK(svm_query(p, NPAGES * pg, info, NPAGES));
	for (int i = 0; i < NPAGES; i++) {
		CHECK_EQ(info[i].location, 0);
		CHECK_EQ(info[i].copies, 1u << 1);
		CHECK_EQ(info[i].migrations, first_touch[i] + 1);
	}

	/* Again: nothing to do; half of it from the middle. */
	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, &rep));
	CHECK_EQ(rep.pages, NPAGES);
	CHECK_EQ(rep.moved, 0);
	CHECK_EQ(rep.already, NPAGES);
	CHECK_OK(svm_prefetch(p + 4 * pg, 8 * pg, SVM_HOST, &rep));
	CHECK_EQ(rep.pages, 8);
	CHECK_EQ(rep.moved, 8);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), 8);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), 8);
	/* A byte count that is not a page multiple rounds up. */
	CHECK_OK(svm_prefetch(p, NPAGES * pg - 100, 0, &rep));
	CHECK_EQ(rep.pages, NPAGES);
	CHECK_EQ(rep.moved, 8);
	CHECK_EQ(rep.already, 8);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, SVM_HOST), NPAGES);

	after = svmt_stats();
	CHECK_EQ(after.prefetches - before.prefetches, 5);
	CHECK_EQ(after.pages_to_device - before.pages_to_device, NPAGES + 8);
	CHECK_EQ(after.pages_to_host - before.pages_to_host, 8 + NPAGES);
	CHECK_EQ(after.cpu_faults, before.cpu_faults);
	for (size_t i = 0; i < NPAGES * pg; i++)
		CHECK_MSG(p[i] == (unsigned char)(i * 13 + 5),
			  "byte %zu is %u after the round trip", i, p[i]);
}

/* A host access to a device page is a CPU fault that brings exactly that
 * page (granularity 4K) home. */
static void check_cpu_fault(unsigned char *p)
{
	svm_stats_t before, after;
	svm_page_info_t info;

	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, NULL));
	before = svmt_stats();
	CHECK_EQ(p[5 * pg + 7], (unsigned char)((5 * pg + 7) * 13 + 5));
	after = svmt_stats();
	CHECK_EQ(after.cpu_faults - before.cpu_faults, 1);
	CHECK_EQ(after.pages_to_host - before.pages_to_host, 1);
	CHECK_EQ(after.bytes_to_host - before.bytes_to_host, pg);
	info = svmt_page(p + 5 * pg);
	CHECK_EQ(info.location, SVM_HOST);
	CHECK_EQ(info.copies, 1);
	CHECK_EQ(svmt_location(p + 4 * pg), 0);
	CHECK_EQ(svmt_location(p + 6 * pg), 0);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), NPAGES - 1);
	/* The second access is free. */
	p[5 * pg + 8] = 1;
	CHECK_EQ(svmt_stats().cpu_faults, after.cpu_faults);
	p[5 * pg + 8] = (unsigned char)((5 * pg + 8) * 13 + 5);

	/* A write fault works the same way. */
	p[9 * pg] = 0xaa;
	CHECK_EQ(svmt_stats().cpu_faults - after.cpu_faults, 1);
	CHECK_EQ(svmt_location(p + 9 * pg), SVM_HOST);
	CHECK_EQ(p[9 * pg + 1], (unsigned char)((9 * pg + 1) * 13 + 5));
	p[9 * pg] = (unsigned char)((9 * pg) * 13 + 5);
	CHECK_OK(svm_prefetch(p, NPAGES * pg, SVM_HOST, NULL));
}

/* A device access to a host page is a device fault that takes the page to
 * that device; the host sees the device's write after a CPU fault. */
static void check_device_fault(unsigned char *p)
{
	struct touch_args a = { .base = p, .page = 3, .write = 1 };
	svm_stats_t before = svmt_stats(), after;
	uint64_t *w = (uint64_t *)(p + 3 * pg);
	uint64_t old = w[1];
	uint32_t migrations = svmt_page(p + 3 * pg).migrations;

	CHECK_EQ(svmt_location(p + 3 * pg), SVM_HOST);
	CHECK_OK(svm_launch(0, 1, kernel_touch, &a));
	after = svmt_stats();
	CHECK_EQ(a.seen, old);
	CHECK_EQ(after.device_faults - before.device_faults, 1);
	CHECK_EQ(after.pages_to_device - before.pages_to_device, 1);
	CHECK_EQ(after.launches - before.launches, 1);
	CHECK_EQ(svmt_location(p + 3 * pg), 0);
	CHECK_EQ(svmt_page(p + 3 * pg).migrations, migrations + 1);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 0), 1);
	CHECK_EQ(after.device_resident_bytes, pg);

	/* A second device access needs no fault. */
	a.write = 0;
	CHECK_OK(svm_launch(0, 1, kernel_touch, &a));
	CHECK_EQ(a.seen, old + 1);
	CHECK_EQ(svmt_stats().device_faults, after.device_faults);

	CHECK_EQ(w[1], old + 1); /* CPU fault */
	CHECK_EQ(svmt_location(p + 3 * pg), SVM_HOST);
	CHECK_EQ(svmt_stats().device_resident_bytes, 0);
	w[1] = old;
}

/* The device reads zeroes from a page nobody touched. */
static void check_device_first_touch(void)
{
	unsigned char *q = svmt_alloc(2 * pg);
	struct touch_args a = { .base = q, .page = 1, .write = 1 };

	CHECK_OK(svm_launch(0, 1, kernel_touch, &a));
	CHECK_EQ(a.seen, 0);
	CHECK_EQ(svmt_location(q + pg), 0);
	CHECK_EQ(((uint64_t *)(q + pg))[1], 1);
	CHECK_EQ(((uint64_t *)(q + pg))[0], 0);
	CHECK_EQ(((uint64_t *)q)[5], 0);
	CHECK_OK(svm_free(q));
}

/* Freeing a range with pages on the device gives the memory back. */
static void check_free_device_pages(void)
{
	unsigned char *q = svmt_alloc(8 * pg);
	svm_stats_t dev;

	memset(q, 3, 8 * pg);
	CHECK_OK(svm_prefetch(q, 8 * pg, 0, NULL));
	CHECK_OK(svm_device_stats(0, &dev));
	CHECK_EQ(dev.device_resident_bytes, 8 * pg);
	CHECK_OK(svm_free(q));
	CHECK_OK(svm_device_stats(0, &dev));
	CHECK_EQ(dev.device_resident_bytes, 0);
	CHECK_EQ(svmt_stats().device_resident_bytes, 0);
}

/* A range freed in any state (device pages, read duplicates, pins,
 * advice) gives everything back, and memory allocated again reads as
 * zero and untouched, wherever its previous owner's pages were. */
static void check_free_and_reuse(void)
{
	for (int round = 0; round < 8; round++) {
		unsigned char *q = svmt_alloc(8 * pg);
		svm_page_info_t info[8];
		svm_stats_t st;

		for (size_t i = 0; i < 8 * pg; i++)
			CHECK_MSG(q[i] == 0, "round %d: reused byte %zu is %u",
				  round, i, q[i]);
		memset(q, 0xee, 8 * pg);
		CHECK_OK(svm_prefetch(q, 4 * pg, 0, NULL));
		CHECK_OK(svm_advise(q + 4 * pg, 2 * pg,
				    SVM_ADVISE_SET_READ_MOSTLY, 0));
		CHECK_OK(svm_advise(q + 6 * pg, pg,
				    SVM_ADVISE_SET_ACCESSED_BY, 0));
		CHECK_OK(svm_pin(q + 7 * pg, pg));
		if (round % 2) {
			struct touch_args a = { .base = q, .page = 4 };

			CHECK_OK(svm_launch(0, 1, kernel_touch, &a)); /* dup */
			a.page = 6;
			CHECK_OK(svm_launch(0, 1, kernel_touch, &a));
		}
		CHECK_OK(svm_free(q));
		st = svmt_stats();
		CHECK_EQ(st.device_resident_bytes, 0);

		q = svmt_alloc(8 * pg);
		CHECK_OK(svm_query(q, 8 * pg, info, 8));
		for (int i = 0; i < 8; i++) {
			CHECK_EQ(info[i].location, SVM_HOST);
			CHECK_EQ(info[i].copies, 0);
		}
		/* No advice or pin survives: all of it prefetches. */
		for (size_t i = 0; i < 8 * pg; i++)
			CHECK(q[i] == 0);
		CHECK_OK(svm_prefetch(q, 8 * pg, 0, NULL));
		CHECK_EQ(svmt_count_at(q, 8 * pg, 0), 8);
		CHECK_OK(svm_free(q));
	}
}

int main(void)
{
	unsigned char *p;

	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_default_env("SVM_USER_DEVICES", "1");
	svmt_default_env("SVM_USER_DEVICE_MEMORY", "64M");
	svmt_default_env("SVM_USER_DEVICE_THREADS", "2");
	pg = svmt_page_size();
	svmt_init();
	check_props();

	p = svmt_alloc(NPAGES * pg);
	check_fresh(p);
	check_prefetch_round_trip(p);
	check_cpu_fault(p);
	check_device_fault(p);
	check_device_first_touch();
	check_free_device_pages();
	check_free_and_reuse();
	for (size_t i = 0; i < NPAGES * pg; i++)
		CHECK_MSG(p[i] == (unsigned char)(i * 13 + 5),
			  "byte %zu is %u at the end", i, p[i]);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("basic page life: ok\n");
	return 0;
}
