/* SPDX-License-Identifier: MIT */
/*
 * A small run with everything the report draws: ping-pong between the host
 * and two devices, read duplicates, work served in place, a pinned range,
 * evictions (run it with a small SVM_USER_DEVICE_MEMORY) and retried BUSY
 * failures (SVM_INJECT). It writes its final svm_stats, all devices and
 * each device, as JSON to argv[1] just before svm_finalize writes the
 * trace and the report; check_report.py compares them with the page.
 */
#define _GNU_SOURCE
#include "svmtest.h"

#define PAGES 384
#define ROUNDS 4

struct args {
	uint64_t *p;
};

static void touch(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	uint64_t *a = svm_device_ptr(ctx, ((struct args *)arg)->p);

	a[i * 512] += 1;
}

static void read_only(const svm_kernel_ctx_t *ctx, size_t i, void *arg)
{
	volatile uint64_t *a = svm_device_ptr(ctx, ((struct args *)arg)->p);

	(void)a[i * 512];
}

static void json_stats(FILE *f, const svm_stats_t *s)
{
	fprintf(f, "{\"cpu_faults\":%llu,\"device_faults\":%llu,\"pages_to_device\":%llu,"
		"\"pages_to_host\":%llu,\"bytes_to_device\":%llu,\"bytes_to_host\":%llu,"
		"\"move_attempts\":%llu,\"retries\":%llu,\"evictions\":%llu,"
		"\"thrash_events\":%llu,\"read_duplicates\":%llu,\"collapses\":%llu,"
		"\"remote_accesses\":%llu,\"prefetches\":%llu,\"launches\":%llu,"
		"\"fault_service_ns\":%llu,\"fault_service_max_ns\":%llu,"
		"\"move_ns_to_device\":%llu,\"move_ns_to_host\":%llu,"
		"\"device_resident_bytes\":%llu,\"prefetched_pages\":%llu,"
		"\"prefetched_evicted\":%llu,\"thrash_holds\":%llu,\"thrash_held_faults\":%llu,"
		"\"failures_by\":[",
		(unsigned long long)s->cpu_faults, (unsigned long long)s->device_faults,
		(unsigned long long)s->pages_to_device, (unsigned long long)s->pages_to_host,
		(unsigned long long)s->bytes_to_device, (unsigned long long)s->bytes_to_host,
		(unsigned long long)s->move_attempts, (unsigned long long)s->retries,
		(unsigned long long)s->evictions, (unsigned long long)s->thrash_events,
		(unsigned long long)s->read_duplicates, (unsigned long long)s->collapses,
		(unsigned long long)s->remote_accesses, (unsigned long long)s->prefetches,
		(unsigned long long)s->launches, (unsigned long long)s->fault_service_ns,
		(unsigned long long)s->fault_service_max_ns,
		(unsigned long long)s->move_ns_to_device, (unsigned long long)s->move_ns_to_host,
		(unsigned long long)s->device_resident_bytes,
		(unsigned long long)s->prefetched_pages, (unsigned long long)s->prefetched_evicted,
		(unsigned long long)s->thrash_holds, (unsigned long long)s->thrash_held_faults);
	for (int c = 0; c < SVM_FAILURE_COUNT; c++)
		fprintf(f, "%s%llu", c ? "," : "", (unsigned long long)s->failures_by[c]);
	fprintf(f, "]}");
}

int main(int argc, char **argv)
{
	size_t bytes = PAGES * svmt_page_size();
	struct args pp, dup, net, res;
	svm_migrate_report_t r;
	svm_stats_t s;
	uint64_t sum = 0;
	FILE *f;

	if (argc != 2)
		FAIL("usage: %s stats.json", argv[0]);
	svmt_init();
	if (svm_device_count() < 2)
		svmt_skip("needs two devices (SVM_USER_DEVICES=2)");
	pp.p = svmt_alloc(bytes);
	dup.p = svmt_alloc(bytes);
	net.p = svmt_alloc(bytes / 4);
	res.p = svmt_alloc(bytes / 2);
	for (size_t i = 0; i < PAGES; i++)
		pp.p[i * 512] = dup.p[i * 512] = i;
	for (size_t i = 0; i < PAGES / 4; i++)
		net.p[i * 512] = i;
	for (size_t i = 0; i < PAGES / 2; i++)
		res.p[i * 512] = 0;
	CHECK_OK(svm_pin(net.p, bytes / 4));
	CHECK_OK(svm_advise(dup.p, bytes, SVM_ADVISE_SET_READ_MOSTLY, 0));
	CHECK_OK(svm_advise(res.p, bytes / 2, SVM_ADVISE_SET_ACCESSED_BY, 1));
	for (int round = 0; round < ROUNDS; round++) {
		/* ping-pong: each device in turn, then the host (evictions: small devices) */
		CHECK_OK(svm_launch(round % 2, PAGES, touch, &pp));
		for (size_t i = 0; i < PAGES; i++)
			sum += pp.p[i * 512];
		CHECK_OK(svm_launch(0, PAGES, read_only, &dup));
		for (size_t i = 0; i < PAGES; i++)
			sum += dup.p[i * 512];
		CHECK_OK(svm_launch(1, PAGES / 4, touch, &net));
		CHECK_OK(svm_launch(1, PAGES / 2, touch, &res));
		for (size_t i = 0; i < PAGES / 2; i++)
			sum += res.p[i * 512];
	}
	/* a prefetch that meets injected BUSY failures and pinned pages */
	CHECK(svm_prefetch(pp.p, bytes, 1, &r) == SVM_OK || r.failed > 0);
	CHECK(svm_prefetch(net.p, bytes / 4, 0, &r) == SVM_PARTIAL);
	CHECK_EQ(r.failed_by[SVM_FAILURE_PINNED], PAGES / 4);
	CHECK_OK(svm_prefetch(pp.p, bytes, SVM_HOST, NULL));
	CHECK_EQ(net.p[512], 1 + ROUNDS);
	CHECK_OK(svm_unpin(net.p, bytes / 4));
	CHECK_OK(svm_free(dup.p));
	CHECK_OK(svm_free(net.p));
	/* pp and res stay live: the report must know them without a free */
	s = svmt_stats();
	f = fopen(argv[1], "w");
	CHECK(f != NULL);
	fprintf(f, "{\"sum\":%llu,\"total\":", (unsigned long long)sum);
	json_stats(f, &s);
	fprintf(f, ",\"devices\":[");
	for (int d = 0; d < svm_device_count(); d++) {
		CHECK_OK(svm_device_stats(d, &s));
		fprintf(f, "%s", d ? "," : "");
		json_stats(f, &s);
	}
	fprintf(f, "]}\n");
	CHECK(fclose(f) == 0);
	CHECK_OK(svm_finalize());
	return 0;
}
