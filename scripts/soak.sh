#!/bin/sh
# The data-integrity soak (tests/soak/test_soak.c), long: by default 10
# minutes on each user-backend path on the host (UFFDIO_MOVE where the
# kernel has it, then SVM_USER_UFFD_MOVE=0), then 10 minutes on the kshim
# backend in the 6.12 VM. CI runs the same test for 60 s (label soak).
#
#   scripts/soak.sh            or   make soak
#
# Environment: SOAK_SECONDS (600), SVMT_SOAK_SEED (a seed to repeat; each
# run prints its own), SOAK_VM (6.12; 6.1 or "" for no VM run), BUILD
# (build; the soak is built in $BUILD-soak so the CI build keeps its 60 s),
# JOBS (2), SVMRT_VM_WORK (the VM run's work directory).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
secs=${SOAK_SECONDS:-600}
vm=${SOAK_VM-6.12}
dir=$BUILD-soak

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVMRT_VM_TESTS=OFF \
	-DSVMRT_SOAK_SECONDS="$secs" >/dev/null
cmake --build "$dir" -j"$JOBS" --target soak_soak
rc=0
echo "==== soak: user backend, default path ($secs s)"
ctest --test-dir "$dir" -R '^soak\.user$' -V || rc=1
echo "==== soak: user backend, SVM_USER_UFFD_MOVE=0 ($secs s)"
SVM_USER_UFFD_MOVE=0 ctest --test-dir "$dir" -R '^soak\.user$' -V || rc=1
if [ -n "$vm" ]; then
	echo "==== soak: kshim backend in the $vm VM ($secs s)"
	SVMRT_VM_SOAK_SECONDS=$secs SVMRT_VM_RUNTIME_TESTS='^soak\.' SVMRT_VM_TESTS=info \
	SVMRT_VM_HMM=0 SVMRT_VM_BENCH=0 SVMRT_VM_TIMEOUT=$((secs + 1200)) \
		tests/vm/run.sh "$vm" || rc=1
fi
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
