#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The benchmark runs that docs/performance.md records for one machine, in
# one go, each into its own log under OUTDIR (made if missing):
#
#   info.txt     kernel, CPUs, NUMA nodes, memlock limit, userfaultfd
#   scaling.log  svm-bench --scaling, three times (defaults: one fault
#                service thread, UFFDIO_MOVE where the kernel has it)
#   servers.log  svm-bench --scaling with SVM_USER_FAULT_SERVERS=4 and 16
#   launch.log   svm-bench --only dg (scaling, streams) with SVM_COHERENCE=launch,
#                twice, alternated with the default (docs/architecture.md,
#                "Launch coherence")
#   copy.log     svm-bench --copy-path --scaling (pin probe long-term)
#   full.log     svm-bench, every section and every target, once
#
#   scripts/bench-machine.sh OUTDIR [BUILD]    BUILD defaults to build
#
# Each run has its own time limit (SVMRT_BENCH_LIMIT seconds, default
# 120), so one that hangs costs that run, not the rest. Meant for a
# machine with more cores than CI's (issue 18's 16-core figures); it runs
# on any, in a few minutes.
set -u

out=${1:?usage: $0 OUTDIR [BUILD]}
build=${2:-build}
bench=$build/tests/perf/svm-bench
limit=${SVMRT_BENCH_LIMIT:-120}

[ -x "$bench" ] || { echo "no $bench: build first" >&2; exit 2; }
mkdir -p "$out" || exit 2

run() { # LOG LABEL ENV...; svm-bench's arguments in $args
	log=$1 label=$2
	shift 2
	echo "== $label ($(date -u +%H:%M:%S))" >>"$log"
	env "$@" SVM_BACKEND=user timeout -k 5 "$limit" "$bench" $args >>"$log" 2>&1
	rc=$?
	echo "== $label: rc $rc" >>"$log"
	echo "$label: rc $rc"
}

{
	date -u
	uname -a
	echo "cpus: $(nproc) online to this process, $(getconf _NPROCESSORS_ONLN) online"
	lscpu 2>/dev/null | grep -E 'Model name|Thread|Core|Socket|NUMA|MHz' || true
	ls -d /sys/devices/system/node/node* 2>/dev/null | sed 's/.*node/NUMA node /'
	echo "memlock limit: $(ulimit -l)"
	echo "unprivileged_userfaultfd: $(cat /proc/sys/vm/unprivileged_userfaultfd 2>&1)"
	grep -E 'MemTotal|MemAvailable' /proc/meminfo
	grep -E '^ *TLB' /proc/interrupts | cut -c1-60 || echo "no TLB line in /proc/interrupts"
	cat /proc/loadavg
} >"$out/info.txt" 2>&1

args=--scaling
for i in 1 2 3; do
	run "$out/scaling.log" "scaling, run $i" SVM_LOG=warn
done
for n in 4 16; do
	run "$out/servers.log" "scaling, $n fault service threads" SVM_USER_FAULT_SERVERS=$n
done
args="--only dg"
for i in 1 2; do
	run "$out/launch.log" "launch coherence, run $i" SVM_COHERENCE=launch
	run "$out/launch.log" "access (default), run $i" SVM_COHERENCE=access
done
args="--copy-path --scaling"
run "$out/copy.log" "copy path scaling" SVM_USER_PIN_PROBE=long-term
args=
run "$out/full.log" "every section" SVM_LOG=warn
