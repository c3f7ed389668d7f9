#!/bin/bash
# kshim.devprivate-off: a kernel built without CONFIG_DEVICE_PRIVATE is
# refused with a message, by `make -C kernel-shim` and by DKMS.
#
#   tests/dkms/devprivate-off.sh [6.12|6.1]   (default 6.12)
#
# No kernel is built: the check reads the kernel's configuration only, so a
# temporary KDIR holds a copy of the cached VM kernel's .config and
# include/generated/autoconf.h with DEVICE_PRIVATE switched off (and, as the
# control, an unchanged copy, which make's check must accept). DKMS
# (BUILD_EXCLUSIVE_CONFIG in kernel-shim/dkms.conf) must refuse the build
# too. Exit 77 (SKIP) with the reason when the cached kernel or dkms is
# missing.
set -euo pipefail

ver=${1:-6.12}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v make >/dev/null || skip "make not installed"
set +e
kdir=$(SVMRT_VM_NO_BUILD=1 "$top/tests/vm/build-kernel.sh" "$ver" 2>/dev/null | tail -1)
rc=$?
set -e
[ "$rc" = 77 ] && skip "${kdir#SKIP: }"
[ "$rc" = 0 ] && [ -f "$kdir/.config" ] && [ -f "$kdir/include/generated/autoconf.h" ] ||
	skip "no usable cached kernel tree for $ver ($kdir)"
grep -qx 'CONFIG_DEVICE_PRIVATE=y' "$kdir/.config" ||
	fail "the cached $ver kernel itself lacks CONFIG_DEVICE_PRIVATE=y"

work=$(mktemp -d "${TMPDIR:-/tmp}/svmrt-devpriv.XXXXXX")
trap 'rm -rf "$work"' EXIT
mk_kdir() { # dir, on|off
	mkdir -p "$1/include/generated" "$1/include/config"
	cp "$kdir/include/config/kernel.release" "$1/include/config/"
	if [ "$2" = on ]; then
		cp "$kdir/.config" "$1/.config"
		cp "$kdir/include/generated/autoconf.h" "$1/include/generated/"
	else
		sed 's/^CONFIG_DEVICE_PRIVATE=y$/# CONFIG_DEVICE_PRIVATE is not set/' \
			"$kdir/.config" >"$1/.config"
		grep -v '^#define CONFIG_DEVICE_PRIVATE 1$' \
			"$kdir/include/generated/autoconf.h" >"$1/include/generated/autoconf.h"
		! grep -q 'CONFIG_DEVICE_PRIVATE=y\|define CONFIG_DEVICE_PRIVATE ' \
			"$1/.config" "$1/include/generated/autoconf.h" ||
			fail "could not switch DEVICE_PRIVATE off in the copy"
	fi
}
mk_kdir "$work/on" on
mk_kdir "$work/off" off

# ---- make -C kernel-shim ---------------------------------------------------
# A copy of the sources, so nothing is written into the tree.
cp -r "$top/kernel-shim" "$work/src"
set +e
out=$(make -C "$work/src" KDIR="$work/off" 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  | /'
[ "$rc" != 0 ] || fail "make -C kernel-shim succeeded against a kernel without CONFIG_DEVICE_PRIVATE"
echo "$out" | grep -q 'built without CONFIG_DEVICE_PRIVATE=y' ||
	fail "make stopped (exit $rc) but without its CONFIG_DEVICE_PRIVATE message"
echo "devprivate-off: make -C kernel-shim stops (exit $rc) with its message"
make -s -C "$work/src" KDIR="$work/on" check-kernel >"$work/on.log" 2>&1 ||
	{ cat "$work/on.log"; fail "control: check-kernel refused the unchanged configuration"; }
echo "devprivate-off: control: the unchanged configuration passes the check"

# ---- DKMS ---------------------------------------------------------------------
if ! command -v dkms >/dev/null; then
	echo "devprivate-off: PASS (make); the DKMS half SKIPPED: dkms not installed"
	exit 0
fi
pkgver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/kernel-shim/dkms.conf")
krel=$(cat "$kdir/include/config/kernel.release")
DESTDIR=$work/root sh "$top/kernel-shim/dkms-install.sh" >/dev/null
trees=(--sourcetree "$work/root/usr/src" --dkmstree "$work/dkms" --installtree "$work/lib/modules")
mkdir -p "$work/dkms"
dkms add -m svmshim -v "$pkgver" "${trees[@]}" >/dev/null 2>&1 || fail "dkms add"
set +e
out=$(dkms build -m svmshim -v "$pkgver" -k "$krel" --kernelsourcedir "$work/off" \
	"${trees[@]}" 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  | /'
[ "$rc" != 0 ] || fail "dkms build accepted a kernel without CONFIG_DEVICE_PRIVATE"
echo "$out" | grep -q 'BUILD_EXCLUSIVE' ||
	fail "dkms build failed (exit $rc) but not through BUILD_EXCLUSIVE_CONFIG"
find "$work/dkms" -name '*.ko' | grep -q . && fail "dkms left a module behind"
echo "devprivate-off: PASS: make and dkms (exit $rc, BUILD_EXCLUSIVE_CONFIG) both refuse"
