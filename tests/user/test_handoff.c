/* SPDX-License-Identifier: MIT */
/*
 * Hand-offs between a device kernel and a host thread during one launch,
 * through a flag in plain memory: what one side wrote before it raised the
 * flag, the other side reads after it saw the flag. The page behind each
 * hand-off moves (or is served in place) on the access that follows, and
 * the old copy of the page must be gone before the writer can go on: a
 * migration that wakes the writer first lets the reader see the old bytes
 * (found on the copy path: the pinned case failed 1 run in 50 under load).
 *
 * Each round uses a fresh page, in turn:
 *   - host-resident, written by the device (it moves to the device), then
 *     read by the host (it comes home);
 *   - device-resident, written by the host (it comes home), then read by
 *     the device;
 *   - pinned, written by the device in place, then written by the host
 *     (the device's copy ends), then read by the device.
 * Every wait is bounded; a timeout is a failure, not a hang.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "svmtest.h"

enum kind { DEV_TO_HOST, HOST_TO_DEV, HOST_TO_DEV_PINNED, NKINDS };

static const char *const kind_name[NKINDS] = {
	"host read after a device write", "device read after a host write",
	"device read after a host write to a pinned page",
};

struct round {
	enum kind kind;
	uint64_t *p, tag, seen;
	int step; /* raised by each side in turn */
	int timed_out;
};

static void kernel_side(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	struct round *r = arg;
	volatile uint64_t *d = svm_device_ptr(ctx, r->p);

	(void)i;
	if (r->kind == DEV_TO_HOST) {
		d[0] = r->tag;
		__atomic_store_n(&r->step, 1, __ATOMIC_RELEASE);
		return;
	}
	if (r->kind == HOST_TO_DEV_PINNED)
		d[0] = r->tag; /* the device now works on its copy */
	__atomic_store_n(&r->step, 1, __ATOMIC_RELEASE);
	if (svmt_wait_step(&r->step, 2)) {
		r->timed_out = 1;
		return;
	}
	r->seen = d[1];
}

static void *host_side(void *arg)
{
	struct round *r = arg;
	volatile uint64_t *h = r->p;

	if (svmt_wait_step(&r->step, 1)) {
		r->timed_out = 1;
		return NULL;
	}
	if (r->kind == DEV_TO_HOST) {
		r->seen = h[0];
		return NULL;
	}
	h[1] = r->tag;
	__atomic_store_n(&r->step, 2, __ATOMIC_RELEASE);
	return NULL;
}

int main(void)
{
	size_t pg, rounds;
	uint64_t *base;
	unsigned bad[NKINDS] = { 0 };

	svmt_default_env("SVM_GRANULARITY", "4K");
	svmt_init();
	pg = svmt_page_size();
	rounds = svmt_scaled(600);
	base = svmt_alloc(rounds * pg);
	memset(base, 0, rounds * pg);
	for (size_t k = 0; k < rounds; k++) {
		struct round r = { .kind = (enum kind)(k % NKINDS), .p = base + k * (pg / 8),
				   .tag = 1000 * (k + 1) };
		pthread_t t;

		if (r.kind == HOST_TO_DEV)
			CHECK_OK(svm_prefetch(r.p, pg, 0, NULL));
		if (r.kind == HOST_TO_DEV_PINNED)
			CHECK_OK(svm_pin(r.p, pg));
		CHECK(pthread_create(&t, NULL, host_side, &r) == 0);
		CHECK_OK(svm_launch(0, 1, kernel_side, &r));
		CHECK(pthread_join(t, NULL) == 0);
		CHECK_MSG(!r.timed_out, "round %zu (%s): a hand-off waited 10 s", k,
			  kind_name[r.kind]);
		bad[r.kind] += r.seen != r.tag;
		/* and every write survived */
		if (r.kind == HOST_TO_DEV_PINNED)
			CHECK_EQ(r.p[0], r.tag);
		CHECK_EQ(r.p[r.kind == DEV_TO_HOST ? 0 : 1], r.tag);
		if (r.kind == HOST_TO_DEV_PINNED)
			CHECK_OK(svm_unpin(r.p, pg));
	}
	for (int k = 0; k < NKINDS; k++)
		if (bad[k])
			fprintf(stderr, "%s: the reader saw old bytes in %u of %zu rounds\n",
				kind_name[k], bad[k], rounds / NKINDS);
	CHECK_MSG(!bad[0] && !bad[1] && !bad[2], "a hand-off lost its bytes (above)");
	CHECK_OK(svm_free(base));
	CHECK_OK(svm_finalize());
	printf("PASS handoff: %zu rounds, %zu of each kind\n", rounds, rounds / NKINDS);
	return 0;
}
