#!/bin/sh
# One version everywhere (issue 17): svm_version() and the header's macros
# (checked by the version program), svmrt.pc, the CMake package
# (svmrtConfigVersion.cmake) and svm-info's first line, all from project()
# VERSION. Usage: check-version.sh VERSION_PROGRAM SVM_INFO BUILD_DIR
set -eu
prog=$1 info=$2 build=$3

command -v pkg-config >/dev/null || { echo "SKIP: pkg-config is not installed"; exit 77; }
lib=$("$prog")
pc=$(PKG_CONFIG_PATH="$build" pkg-config --modversion svmrt)
pkg=$(cmake -DF="$build/svmrtConfigVersion.cmake" -P "$(dirname "$0")/print-version.cmake" 2>&1)
tool=$(SVM_LOG=error "$info" 2>/dev/null | sed -n '1s/^svmrt //p')
echo "svm_version() $lib, svmrt.pc $pc, CMake package $pkg, svm-info $tool"
for v in "$pc" "$pkg" "$tool"; do
	if [ "$v" != "$lib" ]; then
		echo "FAIL: the versions differ"
		exit 1
	fi
done
echo "PASS: one version, $lib"
