#!/bin/sh
# Copy the svmshim sources (and the uAPI header) to /usr/src/svmshim-<ver>
# for DKMS, then: dkms install svmshim/<ver>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$here/dkms.conf")
dst=${DESTDIR:-}/usr/src/svmshim-$ver
mkdir -p "$dst/uapi"
cp "$here"/Kbuild "$here"/Makefile "$here"/dkms.conf "$here"/*.c "$here"/*.h "$dst/"
cp "$here/../include/uapi/svmshim.h" "$dst/uapi/"
echo "installed $dst; now: dkms install svmshim/$ver"
