#!/bin/sh
# Installs the Debian packages svmrt needs to build, test and run its VM
# suite. Safe to run again: apt-get skips what is already there.
#   scripts/install-deps.sh          everything
#   scripts/install-deps.sh --no-vm  skip the kernel sources and qemu
set -eu

# libze1/libze-dev: the Level Zero loader and headers, for the ze backend's
# tests (tests/ze); libsvmrt itself runs without them.
# openmpi-bin/libopenmpi-dev: Open MPI, for samples/mpi (tests mpi.*).
# g++, gfortran: svmrt.h as C++ (tests/cxx) and the Fortran module
# (bindings/fortran, tests/fortran, samples/fortran); without them those
# tests SKIP.
# chromium, npm: tests/report renders the visual report in headless
# Chromium and loads the trace in speedscope (npm, fetched at test time).
BASE="build-essential cmake pkg-config git python3 \
      libdrm-dev libhwloc-dev libnuma-dev liburing-dev valgrind \
      libze1 libze-dev openmpi-bin libopenmpi-dev g++ gfortran chromium npm"
# dkms: the shim built by Debian's DKMS against the VM kernels (kshim.dkms.*)
VM="linux-source-6.12 linux-source-6.1 qemu-system-x86 busybox-static \
    bc flex bison libelf-dev libssl-dev cpio xz-utils kmod dkms"

pkgs="$BASE"
[ "${1:-}" = "--no-vm" ] || pkgs="$pkgs $VM"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && continue
	# npm ships inside other Node.js packages (NodeSource's nodejs, which
	# conflicts with Debian's npm): an npm that runs is enough
	[ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
	missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
