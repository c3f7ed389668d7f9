#!/bin/sh
# Every variable of the config table must be documented in
# docs/configuration.md, and the document must name no variable the table
# lacks. Usage: check-config-doc.sh config.c configuration.md
set -eu
table=$(grep -o '{ "SVM_[A-Z0-9_]*"' "$1" | grep -o 'SVM_[A-Z0-9_]*' | sort -u)
doc=$(grep -o '^| `SVM_[A-Z0-9_]*`' "$2" | grep -o 'SVM_[A-Z0-9_]*' | sort -u)
if [ "$table" = "$doc" ]; then
	echo "all $(echo "$table" | wc -l) variables of the table are documented"
	exit 0
fi
echo "config table and $2 differ (< table, > doc):"
printf '%s\n' "$table" > "${TMPDIR:-/tmp}/svm-cfg.$$"
printf '%s\n' "$doc" | diff "${TMPDIR:-/tmp}/svm-cfg.$$" - || true
rm -f "${TMPDIR:-/tmp}/svm-cfg.$$"
exit 1
