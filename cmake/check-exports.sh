#!/bin/sh
# Compares the dynamic symbols a library defines with the list kept in the
# repository, so that nothing internal leaks into the ABI and nothing public
# disappears. Usage: check-exports.sh libsvmrt.so exports.txt
set -eu
lib=$1 list=$2
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
expected=$(grep -v '^#' "$list" | sed '/^$/d' | sort -u)
if [ "$actual" = "$expected" ]; then
	echo "exported symbols match $list ($(echo "$expected" | wc -l) symbols)"
	exit 0
fi
echo "exported symbols differ from $list:"
printf '%s\n' "$expected" > "${TMPDIR:-/tmp}/svmrt-exports-expected.$$"
printf '%s\n' "$actual" | diff -u "${TMPDIR:-/tmp}/svmrt-exports-expected.$$" - || true
rm -f "${TMPDIR:-/tmp}/svmrt-exports-expected.$$"
exit 1
