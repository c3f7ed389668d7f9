#!/bin/bash
# Build (or reuse from the cache) the svmrt test kernel for one version.
#   tests/vm/build-kernel.sh <6.12|6.1>
# Prints the kernel tree (KDIR) on the last line of stdout.
# The tree lives outside the clone:
#   ${SVMRT_VM_CACHE:-/var/cache/svmrt-vm}/<version>-<hash>/linux
# keyed by the source package version, gcc, the config fragments and the
# recipe number below (bump it when the build steps change).
# Exit 77 when the source tarball or the toolchain is missing, and (with
# SVMRT_VM_NO_BUILD=1, for checks that only use a built tree) when the
# kernel is not in the cache: then nothing is built.
set -euo pipefail

ver=${1:?usage: build-kernel.sh <6.12|6.1>}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache-dir.sh"
jobs=${SVMRT_VM_JOBS:-$(nproc)}
tarball=/usr/src/linux-source-$ver.tar.xz

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "build-kernel: ERROR: $*" >&2; exit 1; }

[ -f "$here/config/$ver.fragment" ] || die "no fragment for kernel $ver"
[ -r "$tarball" ] || skip "$tarball missing (apt-get install linux-source-$ver)"
for t in gcc make flex bison bc tar xz perl; do
	command -v $t >/dev/null || skip "$t not installed (scripts/install-deps.sh)"
done
[ -e /usr/include/libelf.h ] || skip "libelf-dev not installed"
[ -e /usr/include/openssl/ssl.h ] || skip "libssl-dev not installed"

pkgver=$(dpkg-query -W -f='${Version}' "linux-source-$ver" 2>/dev/null ||
	 stat -c '%s-%Y' "$tarball")
# Bump when the build steps below change in a way that changes the result.
recipe=2
key=$( { echo "$pkgver recipe $recipe"; gcc --version | head -1;
	 cat "$here/config/base.fragment" "$here/config/$ver.fragment"; } |
	 sha256sum | cut -c1-12)
dir=$cache/$ver-$key
kdir=$dir/linux

# Look only: no lock (a reader needs no write access to the cache)
if [ "${SVMRT_VM_NO_BUILD:-0}" = 1 ]; then
	[ -f "$dir/.done" ] ||
		skip "kernel $ver is not built in $cache (tests/vm/build-kernel.sh $ver builds it; the kshim-vm-$ver test does too)"
	echo "$kdir"
	exit 0
fi

mkdir -p "$cache" || die "cannot create $cache (set SVMRT_VM_CACHE)"
exec 9>"$cache/.lock-$ver"
flock 9

if [ -f "$dir/.done" ]; then
	echo "build-kernel: cached $kdir" >&2
	echo "$kdir"
	exit 0
fi

start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir"
echo "build-kernel: extracting $tarball into $dir" >&2
tar -xJf "$tarball" -C "$dir"
src=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -1)
[ -n "$src" ] || die "unexpected tarball layout"
mv "$src" "$kdir"

cd "$kdir"
frag=$(mktemp)
cat "$here/config/base.fragment" "$here/config/$ver.fragment" |
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' >"$frag"

make -s tinyconfig >&2
# Options with dependencies only stick once their parents are set: apply the
# fragment and olddefconfig until nothing changes (bounded), then verify.
for round in 1 2 3 4 5; do
	while IFS='=' read -r opt val; do
		name=${opt#CONFIG_}
		case $val in
		y) scripts/config --enable "$name" ;;
		m) scripts/config --module "$name" ;;
		n) scripts/config --disable "$name" ;;
		\"*) scripts/config --set-str "$name" "$(eval echo "$val")" ;;
		*) scripts/config --set-val "$name" "$val" ;;
		esac
	done <"$frag"
	make -s olddefconfig >&2
	bad=0
	while IFS='=' read -r opt val; do
		grep -qx "$opt=$val" .config || bad=1
	done <"$frag"
	[ $bad = 0 ] && break
done
missing=""
while IFS='=' read -r opt val; do
	if [ "$val" = n ]; then
		grep -q "^$opt=" .config && missing="$missing $opt=$val"
	else
		grep -qx "$opt=$val" .config || missing="$missing $opt=$val(got:$(grep "^$opt=" .config || echo unset))"
	fi
done <"$frag"
rm -f "$frag"
[ -z "$missing" ] || die "options did not stick in .config:$missing"

echo "build-kernel: building $ver with -j$jobs (this takes several minutes)" >&2
make -j"$jobs" bzImage modules >"$dir/build.log" 2>&1 ||
	{ tail -50 "$dir/build.log" >&2; die "kernel build failed (log: $dir/build.log)"; }
make -s headers >>"$dir/build.log" 2>&1 || true
end=$(date +%s)
echo "$((end - start))" >"$dir/build-seconds"
touch "$dir/.done"
# Older builds of this version (other fragments) are dead weight.
for old in "$cache/$ver"-*; do
	[ "$old" = "$dir" ] || [ ! -d "$old" ] || rm -rf "$old"
done
echo "build-kernel: built $ver in $((end - start)) s" >&2
echo "$kdir"
