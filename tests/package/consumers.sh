#!/bin/sh
# Applications of the installed svmrt (issue 17): installs the build tree
# into a fresh prefix (cmake --install), then builds and runs
#   c:        a C program (tests/package/consumer) through find_package(svmrt)
#             and through pkg-config;
#   fortran:  samples/fortran through find_package(svmrt COMPONENTS Fortran)
#             and through pkg-config's fmoddir (SKIP when the build has no
#             Fortran compiler).
# Each checks that the library it loads has the version its package said.
# Usage: consumers.sh c|fortran SOURCE_DIR BUILD_DIR WORK_DIR CC FC|- [FLAGS]
#   FC: the Fortran compiler, or - when the build has none; FLAGS: extra
#   compile and link flags (the sanitizer's).
set -eu
mode=$1 src=$2 build=$3 work=$4 cc=$5 fc=$6 flags=${7:-}
prefix=$work/prefix
export SVM_BACKEND=user
step() { echo "== $*"; }

if [ "$mode" = fortran ] && [ "$fc" = - ]; then
	echo "SKIP: the Fortran consumers: the build has no Fortran module (no Fortran compiler, or -DSVMRT_FORTRAN=OFF)"
	exit 77
fi
rm -rf "$work"
mkdir -p "$work"
step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pcver=$(pkg-config --modversion svmrt)

# consumer_cmake ON|OFF: tests/package/consumer with or without Fortran
consumer_cmake() {
	fopt=""
	[ "$1" = ON ] && fopt="-DCMAKE_Fortran_COMPILER=$fc"
	# shellcheck disable=SC2086
	cmake -S "$src/tests/package/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_COMPILER="$cc" $fopt -DCMAKE_C_FLAGS="$flags" \
		-DCMAKE_Fortran_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
		-DWITH_FORTRAN="$1" -DSAMPLES="$src/samples" >"$work/cmake.log" 2>&1 ||
		{ cat "$work/cmake.log"; exit 1; }
	grep "svmrt_VERSION" "$work/cmake.log"
	cmake --build "$work/cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
}

if [ "$mode" = c ]; then
	step "find_package(svmrt): C"
	consumer_cmake OFF
	"$work/cmake/consumer-c"
	step "pkg-config svmrt $pcver: C"
	# shellcheck disable=SC2046,SC2086
	"$cc" -std=c11 -Wall -Wextra -Werror $flags -DEXPECT_VERSION="\"$pcver\"" \
		"$src/tests/package/consumer/consumer.c" $(pkg-config --cflags --libs svmrt) \
		-o "$work/consumer-pc"
	"$work/consumer-pc"
	echo "PASS: C consumers of the installed svmrt $pcver"
	exit 0
fi

step "find_package(svmrt COMPONENTS Fortran): samples/fortran"
consumer_cmake ON
"$work/cmake/consumer-fortran" >"$work/out" || { cat "$work/out"; exit 1; }
out=$(cat "$work/out")
echo "$out"
echo "$out" | grep -qx "svmrt $pcver" || { echo "FAIL: not version $pcver"; exit 1; }

step "pkg-config: samples/fortran with -I\$(pkg-config --variable=fmoddir svmrt)"
fmoddir=$(pkg-config --variable=fmoddir svmrt)
[ -f "$fmoddir/svmrt.mod" ] || { echo "FAIL: no svmrt.mod in fmoddir '$fmoddir'"; exit 1; }
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $flags -I"$prefix/include" -c \
	"$src/samples/fortran/scale_kernel.c" -o "$work/scale_kernel.o"
# shellcheck disable=SC2046,SC2086
"$fc" -std=f2008 -Wall -Wextra -Werror $flags -I"$fmoddir" -J "$work" \
	"$src/samples/fortran/fortran.f90" "$work/scale_kernel.o" \
	$(pkg-config --libs svmrt) -o "$work/fortran-pc"
"$work/fortran-pc" >"$work/out" || { cat "$work/out"; exit 1; }
out=$(cat "$work/out")
echo "$out"
echo "$out" | grep -qx "svmrt $pcver" || { echo "FAIL: not version $pcver"; exit 1; }
echo "PASS: Fortran consumers of the installed svmrt $pcver"
