/* SPDX-License-Identifier: MIT */
/*
 * Two devices (SVM_USER_DEVICES=2, SVM_GRANULARITY=4K): pages move device
 * to device by prefetch and by device faults, each device accounts for its
 * own resident bytes and faults, and data survives a relay of kernels
 * across host, device 0 and device 1.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define NPAGES 64

static size_t pg, words;

struct kargs {
	uint64_t *base;
	size_t words;
	uint64_t add;
	int device_seen;
	unsigned max_thread;
};

static void kernel_add(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct kargs *a = arg;
	uint64_t *d = svm_device_ptr(ctx, a->base + i * a->words);
	unsigned t = svm_kernel_thread(ctx);

	for (size_t j = 0; j < a->words; j++)
		d[j] += a->add;
	__atomic_store_n(&a->device_seen, svm_kernel_device(ctx),
			 __ATOMIC_RELAXED);
	if (t > __atomic_load_n(&a->max_thread, __ATOMIC_RELAXED))
		__atomic_store_n(&a->max_thread, t, __ATOMIC_RELAXED);
}

static void check_devices(void)
{
	svm_device_props_t p0, p1;

	CHECK_EQ(svm_device_count(), 2);
	CHECK_OK(svm_device_props(0, &p0));
	CHECK_OK(svm_device_props(1, &p1));
	/* one backend drives both: user here, or kshim in the VM */
	CHECK(strcmp(p0.backend, "user") == 0 || strcmp(p0.backend, "kshim") == 0);
	CHECK(strcmp(p1.backend, p0.backend) == 0);
	CHECK_MSG(strcmp(p0.name, p1.name) != 0,
		  "both devices are called \"%s\"", p0.name);
}

static void check_device_stats(size_t on0, size_t on1)
{
	svm_stats_t s0, s1, all = svmt_stats();

	CHECK_OK(svm_device_stats(0, &s0));
	CHECK_OK(svm_device_stats(1, &s1));
	CHECK_EQ(s0.device_resident_bytes, on0 * pg);
	CHECK_EQ(s1.device_resident_bytes, on1 * pg);
	CHECK_EQ(all.device_resident_bytes, (on0 + on1) * pg);
}

static void check_prefetch_between(uint64_t *p)
{
	svm_migrate_report_t rep;
	svm_stats_t before, after;
	svm_page_info_t info;

	uint32_t on_host = svmt_page(p).migrations;

	CHECK_OK(svm_prefetch(p, NPAGES * pg, 0, &rep));
	CHECK_EQ(rep.moved, NPAGES);
	check_device_stats(NPAGES, 0);

	before = svmt_stats();
	CHECK_OK(svm_prefetch(p, NPAGES / 2 * pg, 1, &rep));
	after = svmt_stats();
	CHECK_EQ(rep.moved, NPAGES / 2);
	CHECK_EQ(after.pages_to_device - before.pages_to_device, NPAGES / 2);
	CHECK_EQ(after.pages_to_host, before.pages_to_host);
	info = svmt_page(p);
	CHECK_EQ(info.location, 1);
	CHECK_EQ(info.copies, 1u << 2);
	CHECK_EQ(info.migrations, on_host + 2);
	CHECK_EQ(svmt_location(p + (NPAGES - 1) * words), 0);
	check_device_stats(NPAGES / 2, NPAGES / 2);
}

/* A kernel on device 1 touching pages that live on device 0 takes them. */
static void check_fault_between(uint64_t *p)
{
	struct kargs a = { p + NPAGES / 2 * words, words, 1, -1, 0 };
	svm_stats_t d1before, d1after;

	CHECK_OK(svm_device_stats(1, &d1before));
	CHECK_OK(svm_launch(1, NPAGES / 2, kernel_add, &a));
	CHECK_OK(svm_device_stats(1, &d1after));
	CHECK_EQ(a.device_seen, 1);
	CHECK_GE(d1after.device_faults - d1before.device_faults, 1);
	CHECK_EQ(svmt_count_at(p, NPAGES * pg, 1), NPAGES);
	check_device_stats(0, NPAGES);
}

int main(void)
{
	uint64_t *p;
	struct kargs a;
	svm_device_props_t props;
	uint64_t added = 0;

	svmt_default_env("SVM_USER_DEVICES", "2");
	svmt_default_env("SVM_GRANULARITY", "4K");
	pg = svmt_page_size();
	words = pg / sizeof(uint64_t);
	svmt_init();
	check_devices();
	p = svmt_alloc(NPAGES * pg);
	for (size_t i = 0; i < NPAGES * words; i++)
		p[i] = svmt_pattern(7, i);

	check_prefetch_between(p);
	check_fault_between(p);
	added = 1; /* the second half got +1 on device 1 */

	/* Relay: device 0, device 1, host, many times. */
	CHECK_OK(svm_device_props(0, &props));
	for (int r = 0; r < 20; r++) {
		a = (struct kargs){ p, words, 3, -1, 0 };
		CHECK_OK(svm_launch(r % 2, NPAGES, kernel_add, &a));
		CHECK_EQ(a.device_seen, r % 2);
		CHECK(a.max_thread < props.compute_threads);
		CHECK_EQ(svmt_count_at(p, NPAGES * pg, r % 2), NPAGES);
		if (r % 5 == 4)
			for (size_t i = 0; i < NPAGES * words; i += words / 2)
				p[i] += 1; /* host writes through CPU faults */
	}
	for (size_t i = 0; i < NPAGES * words; i++) {
		uint64_t want = svmt_pattern(7, i) + 60 +
				(i >= NPAGES / 2 * words ? added : 0) +
				(i % (words / 2) == 0 ? 4 : 0);

		CHECK_MSG(p[i] == want, "word %zu is %llu, expected %llu", i,
			  (unsigned long long)p[i], (unsigned long long)want);
	}
	check_device_stats(0, 0);
	CHECK_OK(svm_free(p));
	CHECK_OK(svm_finalize());
	printf("two devices: ok\n");
	return 0;
}
