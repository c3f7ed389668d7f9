/* SPDX-License-Identifier: MIT */
/*
 * SVM_BACKEND=kshim where there is no kernel shim: svm_init returns
 * SVM_ERROR_NO_DEVICE and the log has exactly one line, which says what is
 * missing (the module, a render node named svmshim, or the permission to
 * open it). SVM_BACKEND=auto then passes kshim by (saying why at info
 * level) and starts the next backend that can run. Where an svmshim device
 * exists the absent case cannot be shown: SKIP.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include "svmtest.h"

/* Runs svm_init with stderr captured into buf; returns its result. */
static svm_result_t init_captured(char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	svm_result_t r;
	size_t got;

	CHECK(tmp != NULL && saved >= 0);
	fflush(stderr);
	CHECK(dup2(fileno(tmp), 2) == 2);
	r = svm_init();
	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	rewind(tmp);
	got = fread(buf, 1, len - 1, tmp);
	buf[got] = 0;
	fclose(tmp);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int main(void)
{
	static char log[16384];
	static const char *const reasons[] = {
		"the kernel module svmshim is not loaded",
		"no render node named svmshim",
		"permission denied",
	};
	const char *line;
	svm_device_props_t props;
	svm_result_t r;
	bool known = false;

	setenv("SVM_BACKEND", "kshim", 1);
	setenv("SVM_LOG", "warn", 1);
	r = init_captured(log, sizeof(log));
	if (r == SVM_OK) {
		CHECK_OK(svm_device_props(0, &props));
		CHECK_OK(svm_finalize());
		svmt_skip("this machine has an svmshim device (%s), so the absent case "
			  "cannot be shown", props.name);
	}
	fputs(log, stdout);
	CHECK_RES(r, SVM_ERROR_NO_DEVICE);
	CHECK_MSG(count_lines(log) == 1, "expected one log line, got %zu:\n%s",
		  count_lines(log), log);
	line = strstr(log, "svmrt: error: backend kshim is not available: ");
	CHECK_MSG(line == log, "the log line does not name the kshim backend: %s", log);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		known |= strstr(log, reasons[i]) != NULL;
	CHECK_MSG(known, "the log line does not say what is missing: %s", log);
	CHECK_NOINIT(svm_finalize());
	CHECK_EQ(svm_device_count(), 0);

	/* auto: kshim is passed by, with its reason at info level */
	setenv("SVM_BACKEND", "auto", 1);
	setenv("SVM_LOG", "info", 1);
	r = init_captured(log, sizeof(log));
	CHECK_MSG(strstr(log, "svmrt: info: backend kshim is not available: ") != NULL,
		  "SVM_BACKEND=auto did not say why kshim was passed by:\n%s", log);
	if (r == SVM_ERROR_NO_DEVICE)
		svmt_skip("no other backend can run here either (see the log)");
	CHECK_OK(r);
	CHECK_OK(svm_device_props(0, &props));
	CHECK_MSG(strcmp(props.backend, "kshim") != 0, "auto picked kshim without a shim");
	printf("auto picked %s\n", props.backend);
	CHECK_OK(svm_finalize());
	printf("kshim absent: ok\n");
	return 0;
}
