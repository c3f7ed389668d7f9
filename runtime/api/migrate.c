/* SPDX-License-Identifier: MIT */
/*
 * Where pages go and how they are treated: svm_prefetch, svm_advise,
 * svm_pin, svm_unpin. The migration engine itself is policy/migrate.c.
 */
#include <string.h>

#include "api.h"
#include "../mem/mem.h"
#include "../policy/policy.h"
#include "../backends/backend.h"

svm_result_t svm_prefetch(const void *ptr, size_t bytes, int location,
			  svm_migrate_report_t *report)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__api_span(rt, ptr, bytes, &first, &n);
	if (!r || !svm__api_valid_location(rt, location) ||
	    (report && !svm__api_out_ok(rt, report, sizeof(*report)))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	rt->stats.prefetches++;
	uint64_t t0 = svm__now_ns();
	svm_migrate_report_t rep;

	memset(&rep, 0, sizeof(rep));
	if (rt->be->replace.prefetch)
		res = rt->be->replace.prefetch(rt, r, first, n, location, report ? &rep : NULL);
	else
		res = svm__migrate(rt, r, first, n, location,
				   SVM__MIG_EXPLICIT | SVM__MIG_POPULATE * (location >= 0),
				   report ? &rep : NULL);
	svm__trace((struct svm__event){ .type = SVM__EV_PREFETCH, .ts_ns = t0,
					.dur_ns = svm__now_ns() - t0, .addr = (uintptr_t)ptr,
					.pages = n, .src = -2, .dst = (int8_t)location });
	if (!svm__api_live()) { /* a last svm_finalize ran during a retry pause */
		svm__api_leave(rt);
		return SVM_ERROR_NOT_INITIALIZED;
	}
	svm__api_leave(rt);
	if (report) /* unlocked: it may lie in the very pages just moved */
		STORE_OUT(report, rep);
	return res;
}

/*
 * No partial state: the advice is checked, then handed to the backend, and
 * recorded in the core only once the backend took it. A backend that
 * refuses (ze has no accessed-by; a driver error) leaves the pages' advice
 * as it was. (kshim's driver gets the pages' full advice with this one
 * applied, see svm__page_advise, and puts the old one back if it fails.)
 */
svm_result_t svm_advise(const void *ptr, size_t bytes, svm_advice_t advice, int location)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__api_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	switch (advice) {
	case SVM_ADVISE_SET_READ_MOSTLY:
	case SVM_ADVISE_UNSET_READ_MOSTLY:
	case SVM_ADVISE_UNSET_PREFERRED_LOCATION:
		break;
	case SVM_ADVISE_SET_PREFERRED_LOCATION:
		if (!svm__api_valid_location(rt, location))
			goto out;
		break;
	case SVM_ADVISE_SET_ACCESSED_BY:
	case SVM_ADVISE_UNSET_ACCESSED_BY:
		if (location < 0 || location >= rt->ndev)
			goto out;
		break;
	default:
		goto out;
	}
	res = rt->be->replace.advise ? rt->be->replace.advise(rt, r, first, n, advice, location) :
				   SVM_OK;
	if (res != SVM_OK)
		goto out;
	for (size_t i = first; i < first + n; i++)
		svm__page_advise(&r->pages[i], advice, location);
	if (advice == SVM_ADVISE_UNSET_READ_MOSTLY)
		svm__make_exclusive(rt, r, first, n);
out:
	svm__api_leave(rt);
	return res;
}

svm_result_t svm_pin(const void *ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__api_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	res = SVM_ERROR_UNSUPPORTED;
	if (!rt->be->engine.move && !rt->be->replace.pin)
		goto out; /* no migration engine: nothing can keep pages home */
	res = SVM_ERROR_INVALID_ARGUMENT;
	for (size_t i = first; i < first + n; i++)
		if (r->pages[i].pins == UINT16_MAX)
			goto out;
	/* a pinned page lives on the host; bring it there first */
	res = rt->be->engine.move ? svm__migrate(rt, r, first, n, SVM_HOST, SVM__MIG_EXPLICIT, NULL) :
				     SVM_OK;
	if (res != SVM_ERROR_INVALID_ARGUMENT && rt->be->engine.move) {
		/*
		 * The retry pauses let the lock go: the range may be freed, its
		 * pages sent away again or pinned to the limit meanwhile. Check
		 * again, and bring back in one pass, under the lock from here
		 * to the pin, what left.
		 */
		r = svm__api_span(rt, ptr, bytes, &first, &n);
		if (!r) {
			res = SVM_ERROR_INVALID_ARGUMENT;
			goto out;
		}
		for (size_t i = first; i < first + n; i++)
			if (r->pages[i].pins == UINT16_MAX)
				goto out_inval;
		if (res == SVM_OK)
			res = svm__migrate(rt, r, first, n, SVM_HOST, SVM__MIG_NOWAIT, NULL);
	}
	if (res == SVM_ERROR_INVALID_ARGUMENT)
		goto out;
	if (res != SVM_OK) {
		svm__err("svm_pin: some pages could not come home; nothing pinned");
		res = SVM_ERROR_BACKEND;
		goto out;
	}
	if (rt->be->replace.pin) { /* without move(), it brings the pages home itself */
		res = rt->be->replace.pin(rt, (uintptr_t)ptr, n);
		if (res != SVM_OK)
			goto out;
	}
	for (size_t i = first; i < first + n; i++)
		r->pages[i].pins++;
	svm__trace_pages(SVM__EV_PIN, (uintptr_t)ptr, n, -2, SVM_HOST, 0);
out:
	svm__api_leave(rt);
	return res;
out_inval:
	res = SVM_ERROR_INVALID_ARGUMENT;
	goto out;
}

svm_result_t svm_unpin(const void *ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	size_t first, n;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__api_span(rt, ptr, bytes, &first, &n);
	res = SVM_ERROR_INVALID_ARGUMENT;
	if (!r)
		goto out;
	res = SVM_ERROR_UNSUPPORTED;
	if (!rt->be->engine.move && !rt->be->replace.unpin)
		goto out;
	res = SVM_ERROR_INVALID_ARGUMENT;
	for (size_t i = first; i < first + n; i++)
		if (!r->pages[i].pins)
			goto out; /* not pinned: nothing changes */
	if (rt->be->replace.unpin) {
		res = rt->be->replace.unpin(rt, (uintptr_t)ptr, n);
		if (res != SVM_OK)
			goto out;
	}
	for (size_t i = first; i < first + n; i++)
		r->pages[i].pins--;
	svm__trace_pages(SVM__EV_UNPIN, (uintptr_t)ptr, n, -2, SVM_HOST, 0);
	size_t marked = r->pinned_seen;

	svm__pinned_clear(r, first, n);
	if (r->pinned_seen != marked)
		r->pinned_said = false; /* pins found there later are news again */
	res = SVM_OK;
out:
	svm__api_leave(rt);
	return res;
}
