/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int svm__log_level = SVM__LOG_WARN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void svm__log_emit(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* one write per line so lines from several threads do not mix */
	fprintf(stderr, "svmrt: %s: %s\n", level_names[level], buf);
}

const char *svm__result_name(svm_result_t r)
{
	switch (r) {
	case SVM_OK: return "success";
	case SVM_PARTIAL: return "partial: some pages did not move";
	case SVM_ERROR_INVALID_ARGUMENT: return "invalid argument";
	case SVM_ERROR_OUT_OF_MEMORY: return "out of memory";
	case SVM_ERROR_NO_DEVICE: return "no such backend or device";
	case SVM_ERROR_UNSUPPORTED: return "not supported by this backend";
	case SVM_ERROR_BACKEND: return "backend failure";
	case SVM_ERROR_NOT_INITIALIZED: return "svmrt is not initialized";
	}
	return "unknown result";
}

const char *svm__failure_name(svm_failure_t f)
{
	static const char *const names[SVM_FAILURE_COUNT] = {
		"none", "pinned", "busy", "no-memory", "unsupported",
	};

	return (unsigned)f < SVM_FAILURE_COUNT ? names[f] : "?";
}
