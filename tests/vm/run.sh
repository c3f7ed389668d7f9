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
#   2b. the uAPI fuzzer (svmshim-fuzz) as root, then unprivileged, then rmmod,
#   3. the runtime's own tests (CTest labels unit, user, retry, topo, soak, the
#      samples) on the kshim backend against svmshim.ko, then rmmod,
#   4. the MIGRATE benchmark (tests/perf/kshim), then rmmod again,
# and bring everything back over the serial console. Fails on any kshim test
# failure, any runtime test failure, a missing unload report, and any
# WARNING/BUG/Oops/lockdep report
# or Call Trace in the kernel log. Exit 77 (SKIP) when tools are missing.
#
# Environment:
#   SVMRT_VM_CACHE    kernel build cache (default /var/cache/svmrt-vm, or
#                     ~/.cache/svmrt-vm when /var/cache is not writable)
#   SVMRT_VM_TIMEOUT  seconds before qemu is killed (default 1200)
#   SVMRT_VM_WORK     work directory of this run (default <cache>/run-<ver>);
#                     give concurrent runs of one kernel different ones
#   SVMRT_VM_TESTS    kshim tests to run (default: tests/vm/kshim-tests.list)
#   SVMRT_VM_HMM      0: skip the hmm-tests baseline
#   SVMRT_VM_BENCH    0: skip the benchmark
#   SVMRT_VM_RUNTIME  0: skip the runtime tests on kshim (stage 3); they are
#                     built with cmake in <work>-rtbuild (kept between runs)
#   SVMRT_VM_RUNTIME_TESTS  regex of CTest names for stage 3 (default: all
#                     of the labels above)
#   SVMRT_VM_SOAK_SECONDS  length of the soak (label soak) in the runtime
#                     stage (default 60; scripts/soak.sh sets 600)
#   SVMRT_VM_RUNTIME_SCALE  percentage of their usual work that the long
#                     runtime tests do in the VM (SVMT_SCALE_PERCENT, default 10)
#   SVMRT_VM_USER     1: after stage 3, the user and retry tests once more on
#                     the user backend (SVM_BACKEND=user), for the kernel's own
#                     userfaultfd (6.1 has no UFFDIO_MOVE: the copy path).
#                     Default 1 on 6.1, 0 on 6.12 (the host runs that path)
#   SVMRT_VM_BENCH_ARGS  extra arguments for kshim-bench
#   SVMRT_VM_FUZZ     seconds of the uAPI fuzzer (tests/kshim/svmshim-fuzz.c,
#                     half as root, half unprivileged; default 50, 0: skip)
#   SVMRT_VM_FUZZ_SEED  its seed (default: new each run; printed to replay)
#   SVMRT_VM_FUZZ_ARGS  extra arguments (e.g. "-x dofork,viewmremap -j 4")
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
work=${SVMRT_VM_WORK:-$cache/run-$ver}

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
gcc $cflags $hdrs "$top/tests/kshim/svmshim-fuzz.c" -o "$work/root/svmshim-fuzz" \
	-lpthread || die "svmshim-fuzz build failed"
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

# ---- the runtime's tests, for the kshim backend -----------------------------
# Built with the project's own CMake (the runtime is dynamically linked),
# then CTest's list of the unit/user/retry/topo tests and the samples is
# turned into /rt/tests.sh: each binary with its CTest environment and
# SVM_BACKEND=kshim. The binaries, their shared libraries (ldd) and the
# dynamic loader go into the initramfs under /rt and /lib64.
rt_stage=${SVMRT_VM_RUNTIME:-1}
root=$work/root
if [ "$rt_stage" = 1 ]; then
	for t in cmake python3 ldd readelf; do
		command -v $t >/dev/null || skip "$t not installed (needed for the runtime stage; SVMRT_VM_RUNTIME=0 leaves it out)"
	done
	rtb=$work-rtbuild
	if [ -f "$rtb/CMakeCache.txt" ] &&
	   ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$top" "$rtb/CMakeCache.txt"; then
		rm -rf "$rtb" # built from another tree
	fi
	t4=$(date +%s)
	{ cmake -S "$top" -B "$rtb" -DSVMRT_VM_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSVMRT_SOAK_SECONDS="${SVMRT_VM_SOAK_SECONDS:-60}" &&
	  cmake --build "$rtb" -j"$(nproc)"; } >"$work/rt-build.log" 2>&1 ||
		{ tail -40 "$work/rt-build.log"; die "runtime build failed (log: $work/rt-build.log)"; }
	mkdir -p "$root/rt/bin" "$root/rt/lib" "$root/lib64"
	(cd "$rtb" && ctest --show-only=json-v1 -L '^(unit|user|retry|topo|soak)$') >"$work/rt-tests.json" ||
		die "ctest --show-only failed"
	user_pass=${SVMRT_VM_USER:-$([ "$ver" = 6.1 ] && echo 1 || echo 0)}
	python3 - "$rtb" "$root" "$work/rt-tests.json" "${SVMRT_VM_RUNTIME_TESTS:-}" \
		"${SVMRT_VM_RUNTIME_SCALE:-10}" "$user_pass" "$ver" <<'EOF' ||
import json, os, re, shlex, shutil, sys

build, root, listing, only, scale, user_pass, ver = sys.argv[1:8]
tests = json.load(open(listing))["tests"]
# settings that only the user backend reads: runs differing in them alone
# are the same run on kshim
user_only = re.compile(r"^(SVM_USER_(DEVICES|DEVICE_MEMORY|DEVICE_NUMA|FAULT_CPU|UFFD_MOVE|"
                       r"PIN_PROBE|FAULT_TIMEOUT_MS|SERVICE_FAIL)|SVM_COHERENCE)=")
# CTest entries that are not a runtime test binary, and why
not_here = {
    "exported-symbols": "a check of the build tree's library, not a runtime test",
    "config-documented": "a check of the sources, not a runtime test",
    "svm-info": "its pass pattern describes the user backend; vm.svm-info checks kshim",
    "profile.trace": "check_profile.py needs python3, which the VM does not have",
}
# the shim's memory per device for a run: SVM_USER_DEVICE_MEMORY (a test of
# a full device) becomes the module's vram_mb, in whole 2 MiB; default 64
def vram_mb(env):
    for e in env:
        m = re.match(r"^SVM_USER_DEVICE_MEMORY=(\d+)([KMG]?)$", e)
        if m:
            b = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]
            mb = max(2, -(-b // (2 << 20)) * 2)
            return mb if mb < 64 else 64
    return 64
lines, runs, seen, bins = [], [], {}, set()
for t in tests:
    name, cmd = t["name"], t.get("command") or []
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if only and not re.search(only, name):
        continue
    if name in not_here or not cmd or not cmd[0].startswith(build + "/"):
        why = not_here.get(name, "not a binary of the build tree")
        lines.append("rt_skip %s %s" % (shlex.quote(name), shlex.quote(why)))
        continue
    env = [e for e in props.get("ENVIRONMENT", []) if not e.startswith("SVM_BACKEND=")]
    if "SVM_COHERENCE=launch" in env: # kshim ignores it: the run without it covers this
        lines.append("rt_skip %s %s" % (shlex.quote(name), shlex.quote(
            "SVM_COHERENCE=launch is the user backend's; kshim runs it as access")))
        continue
    # files the environment names (HWLOC_XMLFILE=...) go along, under /rt/data
    for i, e in enumerate(env):
        k, _, v = e.partition("=")
        if v.startswith("/") and os.path.isfile(v):
            os.makedirs(os.path.join(root, "rt/data"), exist_ok=True)
            shutil.copy(v, os.path.join(root, "rt/data", os.path.basename(v)))
            env[i] = k + "=/rt/data/" + os.path.basename(v)
    key = (os.path.basename(cmd[0]), tuple(cmd[1:]),
           tuple(sorted(e for e in env if not user_only.match(e))))
    if key in seen:
        lines.append("rt_skip %s %s" % (shlex.quote(name), shlex.quote(
            "the same run as %s on kshim (they differ only in user-backend settings)" % seen[key])))
        continue
    seen[key] = name
    bins.add(cmd[0])
    tmo = int(float(props.get("TIMEOUT", 60)))
    skiprc = int(props.get("SKIP_RETURN_CODE", 77))
    argv = ["/rt/bin/" + os.path.basename(cmd[0])] + cmd[1:]
    env += ["SVM_BACKEND=kshim", "SVMT_SCALE_PERCENT=" + scale]
    runs.append((vram_mb(env), "rt_run %s %d %d %s" % (shlex.quote(name), tmo, skiprc,
        " ".join(shlex.quote(a) for a in env + argv))))
# the user pass: the user and retry tests on SVM_BACKEND=user. 6.1 has no
# UFFDIO_MOVE, so a test's .move and .copy runs are the same run there.
user_lines, user_seen = [], {}
for t in tests if user_pass == "1" else []:
    name, cmd = t["name"], t.get("command") or []
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    labels = props.get("LABELS", [])
    if not ({"user", "retry"} & set(labels)) or (only and not re.search(only, name)):
        continue
    if name in not_here or not cmd or not cmd[0].startswith(build + "/"):
        continue
    env = [e for e in props.get("ENVIRONMENT", []) if not e.startswith("SVM_BACKEND=")]
    if any(os.path.isabs(e.partition("=")[2]) for e in env):
        continue # a file from the build tree (topo); the kshim pass covers it
    # before 6.4 SVM_USER_PIN_PROBE=auto is long-term: the same run too
    same = re.compile(r"^SVM_USER_(UFFD_MOVE=|PIN_PROBE=(auto|long-term)$)")
    key = (os.path.basename(cmd[0]), tuple(cmd[1:]), tuple(sorted(
        e for e in env if ver != "6.1" or not same.match(e))))
    if key in user_seen:
        user_lines.append("rt_skip %s %s" % (shlex.quote(name), shlex.quote(
            "the same run as %s on a kernel without UFFDIO_MOVE" % user_seen[key])))
        continue
    user_seen[key] = name
    bins.add(cmd[0])
    env += ["SVM_BACKEND=user", "SVMT_SCALE_PERCENT=" + scale]
    user_lines.append("rt_run %s %d %d %s" % (shlex.quote(name),
        int(float(props.get("TIMEOUT", 60))), int(props.get("SKIP_RETURN_CODE", 77)),
        " ".join(shlex.quote(a) for a in env + ["/rt/bin/" + os.path.basename(cmd[0])] + cmd[1:])))
if user_lines:
    with open(os.path.join(root, "rt/list-user.sh"), "w") as f:
        f.write("# generated by tests/vm/run.sh: the user pass\n" + "\n".join(user_lines) + "\n")
    print("vm-run: user pass: %d test runs" % sum(l.startswith("rt_run") for l in user_lines))
svm_info = os.path.join(build, "svm-info")
bins.add(svm_info)
runs.append((64, "rt_info"))
# one module load per device size, the default first
for mb in sorted({r[0] for r in runs}, key=lambda m: (m != 64, m)):
    lines.append("rt_module %d" % mb)
    lines += [r[1] for r in runs if r[0] == mb]
libs = set()
for b in sorted(bins):
    dst = os.path.join(root, "rt/bin", os.path.basename(b))
    shutil.copy2(b, dst)
    os.system("strip --strip-debug " + shlex.quote(dst) + " 2>/dev/null")
    out = os.popen("ldd " + shlex.quote(b)).read()
    for m in re.finditer(r"(?:=>\s*)?(/\S+)\s+\(0x", out):
        libs.add(m.group(1))
interp = None
for l in sorted(libs):
    if "/ld-linux" in os.path.basename(l) or os.path.basename(l).startswith("ld-"):
        interp = l
        dst = os.path.join(root, l.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.realpath(l), dst)
    else:
        shutil.copy(os.path.realpath(l), os.path.join(root, "rt/lib", os.path.basename(l)))
if not interp:
    sys.exit("no dynamic loader in the ldd output")
with open(os.path.join(root, "rt/list.sh"), "w") as f:
    f.write("# generated by tests/vm/run.sh from CTest's list\n")
    f.write("\n".join(lines) + "\n")
print("vm-run: runtime stage: %d test runs, %d binaries, %d libraries" %
      (sum(l.startswith("rt_run") for l in lines), len(bins), len(libs)))
EOF
		die "could not prepare the runtime tests"
	echo "vm-run: runtime built and packed in $(($(date +%s) - t4)) s"
fi

# ---- initramfs ----------------------------------------------------------
tests=${SVMRT_VM_TESTS:-$(grep -v '^#' "$here/kshim-tests.list" | xargs)}
root=$work/root
mkdir -p "$root/bin" "$root/lib" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$bb" "$root/bin/busybox"
mv "$root/kshim-tests" "$root/hmm-tests" "$root/svmshim-fuzz" "$root/bin/"
[ -f "$root/kshim-bench" ] && mv "$root/kshim-bench" "$root/bin/"
cp "$work/shim/kernel-shim/svmshim.ko" "$kdir/lib/test_hmm.ko" "$root/lib/"
sed -e "s|@TESTS@|$tests|" -e "s|@HMM@|${SVMRT_VM_HMM:-1}|" \
	-e "s|@BENCH@|${SVMRT_VM_BENCH:-1}|" \
	-e "s|@BENCH_ARGS@|${SVMRT_VM_BENCH_ARGS:-}|" \
	-e "s|@SHELL@|${SVMRT_VM_SHELL:-0}|" \
	-e "s|@RUNTIME@|$rt_stage|" \
	-e "s|@FUZZ@|${SVMRT_VM_FUZZ:-50}|" \
	-e "s|@FUZZ_SEED@|${SVMRT_VM_FUZZ_SEED:-}|" \
	-e "s|@FUZZ_ARGS@|${SVMRT_VM_FUZZ_ARGS:-}|" \
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
linebuf=
command -v stdbuf >/dev/null && linebuf="stdbuf -oL" # console.log as it happens
set +e
timeout --signal=KILL "$timeout_s" "$qemu" "${qemu_args[@]}" \
	-serial stdio </dev/null 2>"$work/qemu.err" | $linebuf tr -d '\r' | tee "$work/console.log"
qrc=${PIPESTATUS[0]}
set -e
t3=$(date +%s)
echo "vm-run: qemu exited ($qrc) after $((t3 - t2)) s; console log: $work/console.log"

# ---- verdict ------------------------------------------------------------
"$here/check-log.sh" "$work/console.log" "$ver" "$qrc" "$rt_stage"
