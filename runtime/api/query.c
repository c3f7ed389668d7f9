/* SPDX-License-Identifier: MIT */
/* What the runtime knows: svm_query, svm_pointer_info, svm_stats, svm_device_stats. */
#include <string.h>

#include "api.h"
#include "../mem/mem.h"
#include "../backends/backend.h"

/* Pages [first, first + n) of r into out[]; caller holds rt->lock. */
static svm_result_t query_locked(struct svm__rt *rt, struct svm__range *r, size_t first, size_t n,
				 svm_page_info_t *out)
{
	if (rt->be->replace.query)
		return rt->be->replace.query(rt, r, first, n, out);
	for (size_t i = 0; i < n; i++) {
		const struct svm__page *p = &r->pages[first + i];

		out[i].location = p->loc == SVM__LOC_NONE ? SVM_HOST : p->loc;
		out[i].copies = p->copies;
		out[i].migrations = p->migrations;
		out[i].last_failure = (svm_failure_t)p->last_failure;
	}
	return SVM_OK;
}

/*
 * The array is filled in chunks: each is read under the lock into a buffer
 * on the stack and copied to the caller's array unlocked (it may be SVM
 * memory anywhere, even inside the range queried). A large query thus
 * costs no heap memory; each chunk is a consistent snapshot, the whole
 * answer is one only when nothing moves the pages meanwhile.
 */
#define QUERY_CHUNK 256

svm_result_t svm_query(const void *ptr, size_t bytes, svm_page_info_t *pages, size_t count)
{
	struct svm__rt *rt = svm__rt_get();
	svm_page_info_t buf[QUERY_CHUNK];
	struct svm__range *r;
	size_t first, n, done = 0;
	uintptr_t start;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__api_span(rt, ptr, bytes, &first, &n);
	if (!r || count < n || !svm__api_out_ok(rt, pages, n * sizeof(*pages))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	start = r->start;
	for (;;) {
		size_t k = n - done < QUERY_CHUNK ? n - done : QUERY_CHUNK;

		/* a page in flight is answered once its mover has recorded it */
		if (!svm__wait_settled(rt, &r, first + done, k)) {
			svm__api_leave(rt);
			return SVM_ERROR_INVALID_ARGUMENT;
		}
		res = query_locked(rt, r, first + done, k, buf);
		svm__api_leave(rt);
		if (res != SVM_OK)
			return res;
		memcpy(pages + done, buf, k * sizeof(*buf));
		done += k;
		if (done == n)
			return SVM_OK;
		res = svm__api_enter(rt);
		if (res != SVM_OK)
			return res;
		/* freed meanwhile (by another thread): the rest has no answer */
		r = svm__range_find(rt, start);
		if (!r || r->start != start || r->npages < first + n) {
			svm__api_leave(rt);
			return SVM_ERROR_INVALID_ARGUMENT;
		}
	}
}

/*
 * Which allocation holds ptr, and where its page is now. The allocation is
 * [base, base + bytes) as svm_alloc was asked for: the rest of the last
 * page, past `bytes`, is not inside it. The page's location is the one
 * svm_query reports (through the backend where it answers queries, so kshim
 * asks the driver and ze says what Level Zero lets it say). Computed under
 * the lock, stored after: info may itself be SVM memory anywhere.
 */
svm_result_t svm_pointer_info(const void *ptr, svm_pointer_info_t *info)
{
	struct svm__rt *rt = svm__rt_get();
	uintptr_t a = (uintptr_t)ptr;
	svm_pointer_info_t out;
	svm_page_info_t page;
	struct svm__range *r;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = ptr ? svm__range_find(rt, a) : NULL;
	if (!r || a - r->start >= r->bytes || !svm__api_out_ok(rt, info, sizeof(*info))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	if (!svm__wait_settled(rt, &r, (a - r->start) / SVM__PAGE_SIZE, 1)) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	res = query_locked(rt, r, (a - r->start) / SVM__PAGE_SIZE, 1, &page);
	out = (svm_pointer_info_t){ .base = (void *)r->start, .bytes = r->bytes,
				    .location = page.location };
	svm__api_leave(rt);
	if (res == SVM_OK) /* unlocked: see "Outputs" above */
		STORE_OUT(info, out);
	return res;
}

/* ---- stats --------------------------------------------------------- */

static void fill_resident(svm_stats_t *s, size_t pages)
{
	s->device_resident_bytes = (uint64_t)pages * SVM__PAGE_SIZE;
}

svm_result_t svm_stats(svm_stats_t *stats)
{
	struct svm__rt *rt = svm__rt_get();
	svm_stats_t out;
	svm_result_t res = svm__api_enter(rt);
	size_t resident = 0;

	if (res != SVM_OK)
		return res;
	if (!svm__api_out_ok(rt, stats, sizeof(*stats))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	svm__wait_all_settled(rt); /* counters of moves in flight are added at their end */
	if (!svm__api_live()) { /* a last svm_finalize ran while it waited */
		svm__api_leave(rt);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	if (rt->be->replace.sync)
		rt->be->replace.sync(rt, true);
	out = rt->stats;
	out.launches = atomic_load(&rt->launches);
	for (int d = 0; d < rt->ndev; d++)
		resident += rt->dev[d].resident;
	fill_resident(&out, resident);
	svm__api_leave(rt);
	STORE_OUT(stats, out);
	return SVM_OK;
}

svm_result_t svm_device_stats(int device, svm_stats_t *stats)
{
	struct svm__rt *rt = svm__rt_get();
	svm_stats_t out;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	if (device < 0 || device >= rt->ndev || !svm__api_out_ok(rt, stats, sizeof(*stats))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	svm__wait_all_settled(rt);
	if (!svm__api_live()) {
		svm__api_leave(rt);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	if (rt->be->replace.sync)
		rt->be->replace.sync(rt, true);
	out = rt->dev[device].stats;
	fill_resident(&out, rt->dev[device].resident);
	svm__api_leave(rt);
	STORE_OUT(stats, out);
	return SVM_OK;
}
