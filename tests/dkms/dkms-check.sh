#!/bin/bash
# kshim.dkms.<ver>: svmshim through Debian's DKMS against the cached VM
# kernel tree, compared with the module the VM harness builds.
#
#   tests/dkms/dkms-check.sh <6.12|6.1>
#
# 1. The DKMS source tree exactly as kernel-shim/dkms-install.sh lays it
#    out, then `dkms add`, `dkms build -k <release> --kernelsourcedir
#    <cached tree>` and (as root) `dkms install`, all in private trees
#    under a temporary directory (--sourcetree/--dkmstree/--installtree):
#    /usr/src, /var/lib/dkms and /lib/modules are never touched. depmod on
#    the private tree must find the installed module.
# 2. svmshim.ko built the way tests/vm/run.sh builds the module it loads
#    (a copy of kernel-shim/ and include/uapi, make KDIR=<tree> W=1).
# 3. The two are the same module: same vermagic (and it names the cached
#    kernel's release), same srcversion (the hash of the sources), same
#    modinfo fields, same defined and undefined symbols, same sections
#    with the same contents (code and data byte for byte; the strings but
#    for the build directory in __FILE__; the build id aside).
# Uses the kernel the VM suite built (SVMRT_VM_NO_BUILD=1: never builds
# one); exit 77 (SKIP) with the reason when it or a tool is missing.
set -euo pipefail

ver=${1:-}
case $ver in
6.12|6.1) ;;
*) echo "usage: $0 <6.12|6.1>" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v dkms >/dev/null || skip "dkms not installed (scripts/install-deps.sh installs it)"
for t in make gcc modinfo nm readelf objcopy depmod; do
	command -v $t >/dev/null || skip "$t not installed"
done

set +e
kdir=$(SVMRT_VM_NO_BUILD=1 "$top/tests/vm/build-kernel.sh" "$ver" 2>/dev/null | tail -1)
rc=$?
set -e
[ "$rc" = 77 ] && skip "${kdir#SKIP: }"
[ "$rc" = 0 ] && [ -f "$kdir/include/config/kernel.release" ] ||
	skip "no usable cached kernel tree for $ver ($kdir)"
krel=$(cat "$kdir/include/config/kernel.release")
echo "dkms-check: kernel $krel in $kdir"

work=$(mktemp -d "${TMPDIR:-/tmp}/svmrt-dkms-$ver.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkgver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/kernel-shim/dkms.conf")
[ -n "$pkgver" ] || fail "no PACKAGE_VERSION in kernel-shim/dkms.conf"

# ---- 1. DKMS -------------------------------------------------------------
t0=$(date +%s)
DESTDIR=$work/root sh "$top/kernel-shim/dkms-install.sh" >/dev/null
trees=(--sourcetree "$work/root/usr/src" --dkmstree "$work/dkms"
       --installtree "$work/lib/modules")
mkdir -p "$work/dkms" "$work/lib/modules/$krel"
dkms add -m svmshim -v "$pkgver" "${trees[@]}" >"$work/dkms-add.log" 2>&1 ||
	{ cat "$work/dkms-add.log"; fail "dkms add"; }
if ! dkms build -m svmshim -v "$pkgver" -k "$krel" --kernelsourcedir "$kdir" \
	"${trees[@]}" >"$work/dkms-build.log" 2>&1; then
	cat "$work/dkms-build.log"
	cat "$work/dkms/svmshim/$pkgver/build/make.log" 2>/dev/null || true
	fail "dkms build against $kdir"
fi
dko=$(find "$work/dkms/svmshim/$pkgver/$krel" -name svmshim.ko | head -1)
[ -n "$dko" ] || { cat "$work/dkms-build.log"; fail "dkms build left no svmshim.ko"; }
echo "dkms-check: dkms built $dko"
if [ "$(id -u)" = 0 ]; then
	# dkms runs a plain `depmod -a <release>` (on /lib/modules): off here,
	# then depmod on the private tree
	dkms install --no-depmod -m svmshim -v "$pkgver" -k "$krel" \
		--kernelsourcedir "$kdir" "${trees[@]}" >"$work/dkms-install.log" 2>&1 ||
		{ cat "$work/dkms-install.log"; fail "dkms install"; }
	# (it warns that the private tree has no modules.order/builtin: true)
	depmod -b "$work" "$krel" 2>"$work/depmod.err" ||
		{ cat "$work/depmod.err"; fail "depmod on the private tree"; }
	grep -q '^updates/dkms/svmshim\.ko' "$work/lib/modules/$krel/modules.dep" ||
		fail "modules.dep of the private tree lacks updates/dkms/svmshim.ko"
	inst=$(modinfo -b "$work" -k "$krel" -F filename svmshim) ||
		fail "modinfo -b finds no installed svmshim"
	cmp -s "$inst" "$dko" || fail "the installed $inst is not the module dkms built"
	echo "dkms-check: dkms installed $inst; depmod lists it"
else
	echo "dkms-check: NOTE: not root: dkms $(dkms --version | sed 's/dkms-//') refuses" \
	     "'dkms install' to non-root users even with private trees; add and build checked"
fi
st=$(dkms status -m svmshim -v "$pkgver" -k "$krel" "${trees[@]}" 2>/dev/null)
echo "dkms-check: dkms status: $st"
want=built
[ "$(id -u)" = 0 ] && want=installed
case $st in
*"$krel"*"$want"*) ;;
*) fail "dkms status does not say $want for $krel" ;;
esac
t1=$(date +%s)

# ---- 2. the harness's build ------------------------------------------------
mkdir -p "$work/shim/include"
cp -r "$top/kernel-shim" "$work/shim/"
cp -r "$top/include/uapi" "$work/shim/include/"
make -C "$work/shim/kernel-shim" KDIR="$kdir" W=1 >"$work/harness-build.log" 2>&1 ||
	{ cat "$work/harness-build.log"; fail "make -C kernel-shim KDIR=$kdir W=1"; }
hko=$work/shim/kernel-shim/svmshim.ko
t2=$(date +%s)

# ---- 3. the same module? ---------------------------------------------------------
same() { # what, value from dkms's module, value from the harness's
	if [ "$2" != "$3" ]; then
		echo "  dkms:    $2"
		echo "  harness: $3"
		fail "$1 differs between the DKMS and the harness build"
	fi
	echo "dkms-check: same $1${4:+: $4}"
}
vm_d=$(modinfo -F vermagic "$dko")
same vermagic "$vm_d" "$(modinfo -F vermagic "$hko")" "$vm_d"
[ "${vm_d%% *}" = "$krel" ] || fail "vermagic '$vm_d' does not name the kernel release $krel"
sv=$(modinfo -F srcversion "$dko")
[ -n "$sv" ] || fail "no srcversion in $dko"
same srcversion "$sv" "$(modinfo -F srcversion "$hko")" "$sv"
[ "$(modinfo -F version "$dko")" = "$pkgver" ] ||
	fail "modinfo version '$(modinfo -F version "$dko")' is not dkms.conf's $pkgver"
for f in version name license depends author description parm; do
	same "modinfo $f" "$(modinfo -F $f "$dko")" "$(modinfo -F $f "$hko")"
done
syms() { nm "$2" | awk -v u="$1" '(u && $1 == "U") || (!u && NF == 3) { print $NF }' | sort; }
same "undefined symbols (what it takes from the kernel)" "$(syms 1 "$dko")" "$(syms 1 "$hko")" \
	"$(syms 1 "$dko" | wc -l)"
same "defined symbols" "$(syms 0 "$dko")" "$(syms 0 "$hko")" "$(syms 0 "$dko" | wc -l)"
secs() { readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p' | sort; }
same "section names" "$(secs "$dko")" "$(secs "$hko")" "$(secs "$dko" | wc -l)"
# The contents of every loaded section (code, data, modinfo...) are
# byte for byte the same, but for the build id and the strings, where
# the build directory shows in __FILE__: those compared with the
# directories taken out.
dump() { objcopy -O binary --only-section="$1" "$2" "$3" 2>/dev/null || : >"$3"; }
nsec=0
for sec in $(secs "$dko"); do
	dump "$sec" "$dko" "$work/d.sec"
	dump "$sec" "$hko" "$work/h.sec"
	case $sec in
	.note.gnu.build-id) continue ;;
	.rodata.str*)
		for f in d h; do
			tr '\0' '\n' <"$work/$f.sec" | sed 's|^/.*/\([^/]*\.[ch]\)$|<dir>/\1|' >"$work/$f.str"
		done
		cmp -s "$work/d.str" "$work/h.str" || {
			diff "$work/d.str" "$work/h.str" | head -20
			fail "the strings of $sec differ beyond the build directory"; } ;;
	*)
		cmp -s "$work/d.sec" "$work/h.sec" || fail "the contents of section $sec differ" ;;
	esac
	[ -s "$work/d.sec" ] && nsec=$((nsec + 1))
done
echo "dkms-check: same contents of the $nsec loaded sections (strings without the build directory; build id aside)"
steps=add/build
[ "$(id -u)" = 0 ] && steps=add/build/install
echo "dkms-check: PASS ($ver: dkms $steps $((t1 - t0)) s, harness build $((t2 - t1)) s)"
