#!/bin/bash
# Verdict of one VM run from its serial console log.
#   tests/vm/check-log.sh console.log <version> <qemu exit status> [runtime]
# Exit 0 when every kshim test passed, every runtime test on kshim passed
# or said SKIP with a reason (when runtime is 1: the stage was asked for),
# every svmshim unload returned all device pages, the run reached its end
# and the kernel log is clean.
set -uo pipefail
log=$1 ver=$2 qrc=${3:-0} rt=${4:-0}
fail=0
bad() { echo "vm-check: FAIL: $*"; fail=1; }

echo "=============== svmrt VM suite: kernel $ver ==============="
grep -m1 '^SVMVM: boot' "$log" || bad "the VM did not boot"
grep -E '^SVMVM: .* (begin|end) at ' "$log" | sed 's/^SVMVM: /  phase: /'

# 1. hmm-tests baseline: printed, never fatal.
tot=$(grep -m1 '^# Totals:' "$log" || true)
if [ -n "$tot" ]; then
	echo "hmm-tests baseline (upstream, not fatal): ${tot#\# }"
	grep -E '^not ok [0-9]+ ' "$log" | sed 's/^/  hmm-tests: /' || true
elif grep -q '^SVMVM: hmm-tests begin' "$log"; then
	echo "hmm-tests baseline: no summary (see log)"
fi

# 2. our tests.
grep -E '^(PASS|FAIL|SKIP): ' "$log" | sed 's/^/  /'
grep -E '^INFO: ' "$log" | sed 's/^/  /'
sum=$(grep -m1 '^kshim-tests: ' "$log" || true)
[ -n "$sum" ] && echo "$sum" || bad "kshim-tests did not finish"
grep -q '^FAIL: ' "$log" && bad "kshim test failures"
grep -q '^SVMVM: kshim-tests rc=0$' "$log" || bad "kshim-tests exit status not 0"
grep -q '^SVMVM: insmod rc=0$' "$log" || bad "insmod svmshim failed"

# 2a. the uAPI fuzzer: both runs (root, unprivileged) passed.
if grep -q '^SVMVM: fuzz begin' "$log"; then
	grep -E '^FUZZ' "$log" | sed 's/^/  /'
	grep -q '^SVMVM: fuzz rc=0$' "$log" || bad "the uAPI fuzzer failed (replay with its seed: SVMRT_VM_FUZZ_SEED)"
	[ "$(grep -c '^FUZZ PASS$' "$log")" -ge 2 ] || bad "the uAPI fuzzer did not pass twice (root, unprivileged)"
fi

# 2b. the runtime's tests on the kshim backend.
if grep -q '^SVMVM: runtime-tests begin' "$log"; then
	grep -E '^RT (PASS|FAIL|SKIP): ' "$log" | sed 's/^/  /'
	grep -E '^  \| ' "$log" | head -200
	sum=$(grep -m1 '^runtime-tests: ' "$log" || true)
	[ -n "$sum" ] && echo "$sum" || bad "the runtime tests did not finish"
	grep -q '^RT FAIL: ' "$log" && bad "runtime test failures on kshim"
	grep -q '^SVMVM: runtime-tests rc=0$' "$log" || bad "runtime tests: failures counted"
	grep -E '^RT SKIP: [^:]+: *$' "$log" && bad "a runtime test skipped without a reason"
	grep -q '^RT PASS: ' "$log" || bad "no runtime test passed"
elif [ "$rt" = 1 ]; then
	bad "the runtime tests on kshim did not run"
fi

# 2c. the user pass: the user and retry tests on the user backend.
if grep -q '^SVMVM: runtime-user-tests begin' "$log"; then
	grep -E '^RTU (PASS|FAIL|SKIP): ' "$log" | sed 's/^/  /'
	sum=$(grep -m1 '^runtime-user-tests: ' "$log" || true)
	[ -n "$sum" ] && echo "$sum" || bad "the user pass did not finish"
	grep -q '^RTU FAIL: ' "$log" && bad "runtime test failures on the user backend"
	grep -q '^SVMVM: runtime-user-tests rc=0$' "$log" || bad "user pass: failures counted"
	grep -E '^RTU SKIP: [^:]+: *$' "$log" && bad "a user-pass test skipped without a reason"
	grep -q '^RTU PASS: ' "$log" || bad "no user-pass test passed"
	# the tests that say which path they took: 6.1 has no UFFDIO_MOVE
	if [ "$ver" = 6.1 ] && ! grep -q '^RTU PASS: .*lacks UFFDIO_MOVE' "$log"; then
		bad "no user-pass test reported the copy path of a kernel without UFFDIO_MOVE"
	fi
fi

# 3. unload: every device page came back, every time.
loads=$(grep -c '^SVMVM: insmod rc=0$' "$log")
rets=$(grep -c 'svmshim: unload: all [0-9]* device pages returned' "$log")
grep 'svmshim: unload:' "$log" | sed 's/^\[[^]]*\] */  /' | sort -u
grep -q 'device pages NOT returned' "$log" && bad "device pages not returned at rmmod"
# dmesg may print each line twice (console + dump): count distinct runs.
rmok=$(grep -c '^SVMVM: rmmod rc=0$' "$log")
[ "$rmok" = "$loads" ] || bad "rmmod svmshim: $rmok of $loads succeeded"
[ "$rets" -ge "$loads" ] || bad "unload report missing ($rets reports for $loads loads)"

# 4. benchmark (informative here; its own rc must be 0 if it ran).
if grep -q '^SVMVM: bench begin' "$log"; then
	grep -E '^BENCH' "$log" | sed 's/^/  /'
	grep -q '^SVMVM: kshim-bench rc=0$' "$log" || bad "benchmark failed"
fi

# 5. kernel log: only kernel lines ("[ time ] ...").
pat='WARNING:|BUG:|Oops|Kernel panic|kernel BUG|general protection|Call Trace|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|INFO: |list_add corruption|list_del corruption|KASAN|UBSAN|blocked for more than|stall|page dumped because|bad page state'
problems=$(grep -E '^\[ *[0-9]+\.[0-9]+\]' "$log" | grep -E "$pat" | sort -u || true)
if [ -n "$problems" ]; then
	echo "$problems" | head -40 | sed 's/^/  kernel: /'
	bad "kernel log has warnings/oopses/lockdep reports"
else
	echo "kernel log: clean (no WARNING/BUG/Oops/lockdep/Call Trace)"
fi

grep -q '^SVMVM: done' "$log" || bad "the run did not reach its end (qemu status $qrc: timeout or panic?)"

if [ $fail = 0 ]; then
	echo "RESULT: PASS (kernel $ver)"
else
	echo "RESULT: FAIL (kernel $ver)"
fi
exit $fail
