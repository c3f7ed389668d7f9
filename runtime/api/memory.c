/* SPDX-License-Identifier: MIT */
/* svm_alloc and svm_free. */
#include <string.h>

#include "api.h"
#include "../mem/mem.h"
#include "../policy/policy.h"
#include "../backends/backend.h"

/* ---- memory -------------------------------------------------------- */

/* From the heap, or from the backend's driver when it allocates itself. */
static struct svm__range *alloc_range(struct svm__rt *rt, size_t bytes, svm_result_t *res)
{
	const struct svm__backend_ops *be = rt->be;
	struct svm__range *r;
	uintptr_t addr;

	if (be->replace.alloc_range) {
		*res = be->replace.alloc_range(rt, bytes, &addr);
		if (*res != SVM_OK)
			return NULL;
		r = svm__range_insert(rt, addr, bytes);
		if (!r) {
			*res = SVM_ERROR_OUT_OF_MEMORY;
			struct svm__range tmp = { .start = addr, .bytes = bytes };

			be->replace.free_range(rt, &tmp);
		}
		return r;
	}
	r = svm__range_alloc(rt, bytes);
	if (!r) {
		*res = SVM_ERROR_OUT_OF_MEMORY;
		return NULL;
	}
	*res = be->range_map(rt, r);
	if (*res != SVM_OK) {
		svm__range_release(rt, r);
		return NULL;
	}
	return r;
}

svm_result_t svm_alloc(void **ptr, size_t bytes)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	void *addr = NULL;
	svm_result_t res;

	if (!ptr || !bytes)
		return svm__api_live() ? SVM_ERROR_INVALID_ARGUMENT : SVM_ERROR_NOT_INITIALIZED;
	res = svm__api_enter(rt);
	if (res != SVM_OK)
		return res;
	if (!svm__api_out_ok(rt, ptr, sizeof(*ptr))) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	r = alloc_range(rt, bytes, &res);
	if (r) {
		addr = (void *)r->start;
		if (rt->cfg.profile_callsites)
			r->callsite = __builtin_extract_return_addr(__builtin_return_address(0));
		svm__trace((struct svm__event){ .type = SVM__EV_ALLOC, .ts_ns = svm__now_ns(),
						.addr = r->start, .pages = r->npages,
						.failed = r->bytes, .site = (uintptr_t)r->callsite,
						.src = -2, .dst = -2 });
	}
	svm__api_leave(rt);
	if (res == SVM_ERROR_OUT_OF_MEMORY)
		svm__info("svm_alloc(%zu): the SVM heap has no room (SVM_HEAP_SIZE)", bytes);
	if (r) /* unlocked: *ptr may be SVM memory on a device (a list's node->next) */
		STORE_OUT(ptr, addr);
	return res;
}

svm_result_t svm_free(void *ptr)
{
	struct svm__rt *rt = svm__rt_get();
	struct svm__range *r;
	svm_result_t res = svm__api_enter(rt);

	if (res != SVM_OK)
		return res;
	r = svm__range_find(rt, (uintptr_t)ptr);
	if (!ptr || !r || r->start != (uintptr_t)ptr) {
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	/* pages in flight are their mover's until it has recorded them */
	if (!svm__wait_settled(rt, &r, 0, r->npages)) { /* freed by another thread meanwhile */
		svm__api_leave(rt);
		return SVM_ERROR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < r->npages; i++) {
		struct svm__page *p = &r->pages[i];

		for (uint32_t m = p->remote; m; m &= m - 1) {
			rt->dev[__builtin_ctz(m)].remote_pages--;
			if (p->taken)
				rt->dev[__builtin_ctz(m)].taken_pages--;
		}
		p->remote = 0;
		p->taken = 0;
		svm__page_set_loc(rt, p, SVM__LOC_NONE); /* clears lprot with the host page */
	}
	if (rt->be->replace.free_range)
		rt->be->replace.free_range(rt, r);
	else
		rt->be->range_unmap(rt, r);
	svm__profile_range_freed(rt, r);
	svm__trace((struct svm__event){ .type = SVM__EV_FREE, .ts_ns = svm__now_ns(),
					.addr = r->start, .pages = r->npages, .src = -2, .dst = -2 });
	svm__range_release(rt, r);
	svm__api_leave(rt);
	return SVM_OK;
}
