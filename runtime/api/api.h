/* SPDX-License-Identifier: MIT */
/*
 * What the entry points of the API layer share (api/init.c). Nothing
 * below the API layer includes this.
 */
#ifndef SVM_API_H
#define SVM_API_H

#include <string.h>

#include "../core/rt.h"

/* Is the runtime up (between svm_init and the last svm_finalize)? */
bool svm__api_live(void);
/*
 * Takes rt->lock if the runtime is up (else SVM_ERROR_NOT_INITIALIZED);
 * svm__api_leave lets go of it.
 */
svm_result_t svm__api_enter(struct svm__rt *rt);
void svm__api_leave(struct svm__rt *rt);

/*
 * May a call write len bytes at out (see api/init.c)? Caller holds
 * rt->lock. Results are computed into locals under the lock and stored
 * with STORE_OUT after svm__api_leave.
 */
bool svm__api_out_ok(struct svm__rt *rt, const void *out, size_t len);
/* Stores a result computed under the lock, unlocked; any alignment. */
#define STORE_OUT(dst, src) memcpy((dst), &(src), sizeof(src))

/*
 * The live range that holds all of [ptr, ptr + bytes), page-aligned at
 * the start, and the pages it covers; NULL if none. Caller holds rt->lock.
 */
struct svm__range *svm__api_span(struct svm__rt *rt, const void *ptr, size_t bytes, size_t *first,
				 size_t *n);
/* SVM_HOST or one of rt's devices? */
bool svm__api_valid_location(struct svm__rt *rt, int loc);

#endif
