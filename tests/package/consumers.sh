#!/bin/sh
# Applications of the installed svmrt (issue 17): installs the build tree
# into a fresh prefix (cmake --install), then builds and runs
#   - a C program through find_package(svmrt) (tests/package/consumer),
#   - the same C program through pkg-config,
#   - samples/fortran through find_package(svmrt COMPONENTS Fortran) and
#     through pkg-config's fmoddir, when the build has a Fortran compiler.
# Each checks that the library it loads has the version its package said.
# Usage: consumers.sh SOURCE_DIR BUILD_DIR WORK_DIR CC FC|- [FLAGS]
#   FC: the Fortran compiler, or - when the build has none (that part then
#   says SKIP); FLAGS: extra compile and link flags (the sanitizer's).
set -eu
src=$1 build=$2 work=$3 cc=$4 fc=$5 flags=${6:-}
prefix=$work/prefix
export SVM_BACKEND=user

rm -rf "$work"
mkdir -p "$work"
step() { echo "== $*"; }

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pcver=$(pkg-config --modversion svmrt)

fortran=ON
[ "$fc" = - ] && fortran=OFF
step "find_package(svmrt): C$([ $fortran = ON ] && echo ' and Fortran')"
cmake -S "$src/tests/package/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" $([ $fortran = ON ] && echo "-DCMAKE_Fortran_COMPILER=$fc") \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_Fortran_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" \
	-DWITH_FORTRAN=$fortran -DSAMPLES="$src/samples" >"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log"; exit 1; }
grep "svmrt_VERSION" "$work/cmake.log"
cmake --build "$work/cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/cmake/consumer-c"

step "pkg-config svmrt $pcver: C"
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $flags -DEXPECT_VERSION="\"$pcver\"" \
	"$src/tests/package/consumer/consumer.c" $(pkg-config --cflags --libs svmrt) \
	-o "$work/consumer-pc"
"$work/consumer-pc"

if [ $fortran = OFF ]; then
	echo "SKIP: the Fortran consumers: the build has no Fortran compiler"
	exit 77
fi
step "find_package(svmrt COMPONENTS Fortran): samples/fortran"
out=$("$work/cmake/consumer-fortran")
echo "$out"
echo "$out" | grep -qx "svmrt $pcver" || { echo "FAIL: not version $pcver"; exit 1; }

step "pkg-config: samples/fortran with -I\$(pkg-config --variable=fmoddir svmrt)"
fmoddir=$(pkg-config --variable=fmoddir svmrt)
[ -f "$fmoddir/svmrt.mod" ] || { echo "FAIL: no svmrt.mod in fmoddir $fmoddir"; exit 1; }
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $flags -I"$prefix/include" -c \
	"$src/samples/fortran/scale_kernel.c" -o "$work/scale_kernel.o"
# shellcheck disable=SC2046,SC2086
"$fc" -std=f2008 -Wall -Wextra -Werror $flags -I"$fmoddir" -J "$work" \
	"$src/samples/fortran/fortran.f90" "$work/scale_kernel.o" \
	$(pkg-config --libs svmrt) -o "$work/fortran-pc"
"$work/fortran-pc"
echo "PASS: C and Fortran consumers of the installed svmrt $pcver"
