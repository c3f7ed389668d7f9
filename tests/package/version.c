/* SPDX-License-Identifier: MIT */
/*
 * Prints svm_version() after checking it against the header's macros
 * (SVM_VERSION_MAJOR/MINOR/PATCH, SVM_VERSION_STRING, the old
 * SVMRT_VERSION_*) and, when given, argv[1]. check-version.sh compares
 * the output with svmrt.pc, the CMake package and svm-info.
 */
#include <stdio.h>
#include <string.h>

#include <svmrt.h>

int main(int argc, char **argv)
{
	char macros[64];
	const char *v = svm_version();

	snprintf(macros, sizeof(macros), "%d.%d.%d", SVM_VERSION_MAJOR, SVM_VERSION_MINOR,
		 SVM_VERSION_PATCH);
	if (!v || strcmp(v, macros) || strcmp(v, SVM_VERSION_STRING)) {
		fprintf(stderr, "FAIL: svm_version() \"%s\", macros %s, SVM_VERSION_STRING %s\n",
			v ? v : "(null)", macros, SVM_VERSION_STRING);
		return 1;
	}
	if (SVMRT_VERSION_MAJOR != SVM_VERSION_MAJOR || SVMRT_VERSION_MINOR != SVM_VERSION_MINOR) {
		fprintf(stderr, "FAIL: SVMRT_VERSION_* differ from SVM_VERSION_*\n");
		return 1;
	}
	if (argc > 1 && strcmp(v, argv[1])) {
		fprintf(stderr, "FAIL: svm_version() \"%s\", expected \"%s\"\n", v, argv[1]);
		return 1;
	}
	printf("%s\n", v);
	return 0;
}
