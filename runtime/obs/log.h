/* SPDX-License-Identifier: MIT */
/*
 * The one logging front end: svm__log(level, fmt, ...) to stderr; and the
 * names of results and failure classes, for every layer's messages (the
 * public svm_result_string and svm_failure_string return these).
 */
#ifndef SVM_OBS_LOG_H
#define SVM_OBS_LOG_H

#include "svmrt.h"

enum svm__log_level { SVM__LOG_ERROR, SVM__LOG_WARN, SVM__LOG_INFO, SVM__LOG_DEBUG };

extern int svm__log_level;

void svm__log_emit(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define svm__log(level, ...)                                  \
	do {                                                  \
		if ((level) <= svm__log_level)                \
			svm__log_emit((level), __VA_ARGS__);  \
	} while (0)
#define svm__err(...) svm__log(SVM__LOG_ERROR, __VA_ARGS__)
#define svm__warn(...) svm__log(SVM__LOG_WARN, __VA_ARGS__)
#define svm__info(...) svm__log(SVM__LOG_INFO, __VA_ARGS__)
#define svm__dbg(...) svm__log(SVM__LOG_DEBUG, __VA_ARGS__)

const char *svm__result_name(svm_result_t r);
const char *svm__failure_name(svm_failure_t f);

#endif
