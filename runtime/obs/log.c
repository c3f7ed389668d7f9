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
