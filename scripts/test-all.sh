#!/bin/sh
# Every test of svmrt, as CI runs it:
#  1. the plain build: unit, user backend, samples, perf smoke and the
#     kernel shim's VM suite (label kshim; it builds the VM kernels once
#     and caches them outside the tree),
#  2. the same tests but the VM suite, perf and the soak under ASan (with leak
#     checks) and UBSan,
#  3. the concurrency tests (label tsan) under TSan,
#  4. a Release (-O3) build of everything, its unit tests,
#  5. the installed package: samples built against it with CMake's
#     find_package and with pkg-config.
# Environment: BUILD (default build), JOBS (default 2), SVMRT_SKIP_VM=1
# leaves the VM suite out.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}

if [ "${SVMRT_SKIP_VM:-0}" = 1 ]; then
	scripts/install-deps.sh --no-vm
else
	scripts/install-deps.sh
fi

step() { printf '\n==== %s\n' "$*"; }

configure_build() { # dir, extra cmake args...
	dir=$1; shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS"
}

vm=ON
[ "${SVMRT_SKIP_VM:-0}" = 1 ] && vm=OFF

step "plain build: every test"
configure_build "$BUILD" -DSVMRT_VM_TESTS=$vm
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS"

# LeakSanitizer: leaks of the libraries we call are not ours (tests/lsan.supp)
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
for san in address undefined; do
	# not mpi: Open MPI's own allocations would drown LeakSanitizer; the
	# runtime paths it drives are those of the user tests run here
	step "$san sanitizer: unit, user and sample tests"
	configure_build "$BUILD-$san" -DSVMRT_SANITIZE=$san -DSVMRT_VM_TESTS=OFF
	ctest --test-dir "$BUILD-$san" --output-on-failure -j"$JOBS" -LE 'perf|kshim|soak|mpi'
done

# Device faults are served in the faulting worker's SIGBUS handler
# (SVM_USER_DEVICE_FAULTS=self), and the fault path allocates there. The
# signal is a synchronous fault at a load or store of device code, which
# is never inside the allocator (docs/architecture.md, "Device faults are
# served by the worker that makes them"), so the check meant for
# asynchronous handlers is off.
export TSAN_OPTIONS="report_signal_unsafe=0"
step "thread sanitizer: concurrency tests"
configure_build "$BUILD-thread" -DSVMRT_SANITIZE=thread -DSVMRT_VM_TESTS=OFF
ctest --test-dir "$BUILD-thread" --output-on-failure -j"$JOBS" -L tsan

# -O3 sees through more calls than -O2 and warns where -O2 does not (an
# array bound, a maybe-uninitialised value): what a Release build of
# ours or of a packager meets must build with -Werror too
step "release build (-O3): everything compiles, unit tests"
configure_build "$BUILD-release" -DCMAKE_BUILD_TYPE=Release -DSVMRT_VM_TESTS=OFF
ctest --test-dir "$BUILD-release" --output-on-failure -j"$JOBS" -L unit

step "installed package: samples against find_package(svmrt) and pkg-config"
case $BUILD in
/*) prefix=$BUILD-install ;;
*) prefix=$(pwd)/$BUILD-install ;;
esac
rm -rf "$prefix"
cmake --install "$BUILD" --prefix "$prefix" >/dev/null
cmake -S samples -B "$BUILD-install/samples" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$BUILD-install/samples" -j"$JOBS"
LD_LIBRARY_PATH="$prefix/lib" "$BUILD-install/samples/hello" >/dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
	cc -std=c11 -Wall -Wextra -Werror samples/hello/hello.c \
	$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs svmrt) \
	-o "$BUILD-install/hello-pc"
LD_LIBRARY_PATH="$prefix/lib" "$BUILD-install/hello-pc" >/dev/null
echo "installed package: both builds of samples/hello ran"
