/* SPDX-License-Identifier: MIT */
/*
 * The backends svmrt has and the registry that lists them, for the API
 * layer (which picks one at svm_init) and svm-info. The interface they
 * implement is runtime/core/ops.h.
 */
#ifndef SVM_BACKENDS_BACKEND_H
#define SVM_BACKENDS_BACKEND_H

#include "../core/ops.h"

extern const struct svm__backend_ops svm__kshim_ops;
extern const struct svm__backend_ops svm__user_ops;
extern const struct svm__backend_ops svm__ze_ops;

/* Every backend svmrt knows, in the order SVM_BACKEND=auto tries them. */
struct svm__backend_entry {
	const char *name;
	int choice;                         /* enum svm__backend_choice */
	const struct svm__backend_ops *ops; /* NULL: not in this build */
	const char *absent;                 /* why not, when ops is NULL */
};
extern const struct svm__backend_entry svm__backends[];
extern const size_t svm__nbackends;

#endif
