#!/bin/bash
# svmrt VM harness: boot a test kernel in qemu (TCG) and run the kernel shim
# tests there.
#
#   tests/vm/run.sh <6.12|6.1>
#
# Steps: build (or reuse) the kernel (tests/vm/build-kernel.sh), build
# svmshim.ko against it (W=1, warnings are errors), build the test programs
# and the kernel's hmm-tests statically, pack a busybox initramfs, boot
# qemu-system-x86_64 -accel tcg -smp 2 with 2 NUMA nodes of 1 GiB, run
#   1. hmm-tests against test_hmm.ko (baseline: printed, never fatal),
#   2. kshim-tests against svmshim.ko, then rmmod (every page must return),
#   3. the MIGRATE benchmark (tests/perf/kshim), then rmmod again,
# and bring everything back over the serial console. Fails on any kshim test
# failure, a missing unload report, and any WARNING/BUG/Oops/lockdep report
# or Call Trace in the kernel log. Exit 77 (SKIP) when tools are missing.
#
# Environment:
#   SVMRT_VM_CACHE    kernel build cache (default /var/cache/svmrt-vm, or
#                     ~/.cache/svmrt-vm when /var/cache is not writable)
#   SVMRT_VM_TIMEOUT  seconds before qemu is killed (default 1200)
#   SVMRT_VM_TESTS    kshim tests to run (default: tests/vm/kshim-tests.list)
#   SVMRT_VM_HMM      0: skip the hmm-tests baseline
#   SVMRT_VM_BENCH    0: skip the benchmark
#   SVMRT_VM_BENCH_ARGS  extra arguments for kshim-bench
#   SVMRT_VM_SHELL    1: interactive shell in the VM instead of the run
#   SVMRT_VM_QEMU     qemu binary (default qemu-system-x86_64)
set -euo pipefail

ver=${1:-}
case $ver in
6.12|6.1) ;;
*) echo "usage: $0 <6.12|6.1>" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/cache-dir.sh"
timeout_s=${SVMRT_VM_TIMEOUT:-1200}
work=$cache/run-$ver

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "vm-run: ERROR: $*" >&2; exit 1; }

# ---- tools --------------------------------------------------------------
qemu=${SVMRT_VM_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null ||
	skip "$qemu not installed (scripts/install-deps.sh)"
bb=$(command -v busybox || true)
[ -n "$bb" ] || skip "busybox-static not installed"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$bb" 2>&1 | grep -q 'not a dynamic' ||
	skip "$bb is not static (install busybox-static)"
for t in gcc make cpio timeout; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ -f /usr/lib/x86_64-linux-gnu/liburing.a ] || [ -f /usr/lib/liburing.a ] ||
	skip "liburing.a not found (liburing-dev)"

mkdir -p "$cache" 2>/dev/null || skip "cannot create $cache (set SVMRT_VM_CACHE)"

# ---- kernel -------------------------------------------------------------
t0=$(date +%s)
set +e
kdir=$("$here/build-kernel.sh" "$ver" | tail -1)
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 77 ] && skip "$kdir"
[ "$rc" = 0 ] || die "kernel build failed"
bzimage=$kdir/arch/x86/boot/bzImage
t1=$(date +%s)
echo "vm-run: kernel $ver ready in $((t1 - t0)) s: $kdir"

rm -rf "$work"
mkdir -p "$work/shim/include" "$work/root"

# ---- module -------------------------------------------------------------
cp -r "$top/kernel-shim" "$work/shim/"
cp -r "$top/include/uapi" "$work/shim/include/"
make -C "$work/shim/kernel-shim" KDIR="$kdir" W=1 >"$work/module-build.log" 2>&1 ||
	{ cat "$work/module-build.log"; die "svmshim.ko build failed"; }
if grep -E 'warning:|error:' "$work/module-build.log"; then
	die "svmshim.ko built with warnings (W=1)"
fi
echo "vm-run: svmshim.ko built (W=1, no warnings)"

# ---- user programs ------------------------------------------------------
hdrs="-I$top/include/uapi -I/usr/include/libdrm"
cflags="-static -O2 -Wall -Wextra -Werror"
gcc $cflags $hdrs "$top/tests/kshim/kshim-tests.c" -o "$work/root/kshim-tests" \
	-luring -lpthread || die "kshim-tests build failed"
if [ -f "$top/tests/perf/kshim/kshim-bench.c" ]; then
	gcc $cflags $hdrs -I"$top/tests/kshim" -I"$kdir" \
		"$top/tests/perf/kshim/kshim-bench.c" -o "$work/root/kshim-bench" \
		-lpthread || die "kshim-bench build failed"
fi
hmmsrc=$kdir/tools/testing/selftests/mm/hmm-tests.c
[ -f "$hmmsrc" ] || hmmsrc=$kdir/tools/testing/selftests/vm/hmm-tests.c
gcc -static -O2 -U_FORTIFY_SOURCE -I"$kdir" -isystem "$kdir/usr/include" \
	-isystem "$kdir/tools/include/uapi" "$hmmsrc" -o "$work/root/hmm-tests" \
	-lrt -lpthread -lm >"$work/hmm-tests-build.log" 2>&1 ||
	{ cat "$work/hmm-tests-build.log"; die "hmm-tests build failed"; }

# ---- initramfs ----------------------------------------------------------
tests=${SVMRT_VM_TESTS:-$(grep -v '^#' "$here/kshim-tests.list" | xargs)}
root=$work/root
mkdir -p "$root/bin" "$root/lib" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$bb" "$root/bin/busybox"
mv "$root/kshim-tests" "$root/hmm-tests" "$root/bin/"
[ -f "$root/kshim-bench" ] && mv "$root/kshim-bench" "$root/bin/"
cp "$work/shim/kernel-shim/svmshim.ko" "$kdir/lib/test_hmm.ko" "$root/lib/"
sed -e "s|@TESTS@|$tests|" -e "s|@HMM@|${SVMRT_VM_HMM:-1}|" \
	-e "s|@BENCH@|${SVMRT_VM_BENCH:-1}|" \
	-e "s|@BENCH_ARGS@|${SVMRT_VM_BENCH_ARGS:-}|" \
	-e "s|@SHELL@|${SVMRT_VM_SHELL:-0}|" \
	"$here/init.sh" >"$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

# ---- boot ---------------------------------------------------------------
echo "vm-run: booting $ver (TCG, 2 vCPUs (2 sockets), 2 NUMA nodes x 1 GiB, timeout ${timeout_s}s)"
qemu_args=(-accel tcg -M pc -smp 2,sockets=2,cores=1,threads=1 -m 2G
	-object memory-backend-ram,id=m0,size=1G
	-object memory-backend-ram,id=m1,size=1G
	-numa node,nodeid=0,cpus=0,memdev=m0
	-numa node,nodeid=1,cpus=1,memdev=m1
	-kernel "$bzimage" -initrd "$work/initramfs.cpio"
	-append "console=ttyS0 loglevel=4 panic=-1 log_buf_len=8M transparent_hugepage=madvise"
	-display none -monitor none -no-reboot)
if [ "${SVMRT_VM_SHELL:-0}" = 1 ]; then
	exec "$qemu" "${qemu_args[@]}" -serial mon:stdio
fi
t2=$(date +%s)
set +e
timeout --signal=KILL "$timeout_s" "$qemu" "${qemu_args[@]}" \
	-serial stdio </dev/null 2>"$work/qemu.err" | tr -d '\r' | tee "$work/console.log"
qrc=${PIPESTATUS[0]}
set -e
t3=$(date +%s)
echo "vm-run: qemu exited ($qrc) after $((t3 - t2)) s; console log: $work/console.log"

# ---- verdict ------------------------------------------------------------
"$here/check-log.sh" "$work/console.log" "$ver" "$qrc"
