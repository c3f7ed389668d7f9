/* SPDX-License-Identifier: MIT */
#include "backend.h"

const struct svm__backend_entry svm__backends[] = {
	{ "kshim", SVM__BACKEND_KSHIM, &svm__kshim_ops, NULL },
	{ "ze", SVM__BACKEND_ZE, &svm__ze_ops, NULL },
	{ "user", SVM__BACKEND_USER, &svm__user_ops, NULL },
};
const size_t svm__nbackends = sizeof(svm__backends) / sizeof(svm__backends[0]);
