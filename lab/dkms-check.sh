#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms-check.sh KREL: add this tree to DKMS under a private dkms tree,
# build it against KREL's headers from the cache, and clean up.  Proves
# that dkms.conf rebuilds the module on a kernel upgrade.
. "$(dirname "$0")/lib.sh"

krel=${1:?usage: dkms-check.sh KREL}
kdir=$(kdir_of "$krel")
ver=$(cat "$TOP/VERSION")
grep -q "^PACKAGE_VERSION=\"$ver\"$" "$TOP/dkms.conf" ||
	die "dkms.conf PACKAGE_VERSION differs from VERSION ($ver)"
command -v dkms >/dev/null || die "dkms is not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/src/tcpclose-$ver"
# Only what the module build needs, as a release tarball would carry.
cp -r "$TOP"/{Kbuild,VERSION,dkms.conf,module,include} "$work/src/tcpclose-$ver/"
dk="dkms --dkmstree $work/tree --sourcetree $work/src"
$dk add -m tcpclose -v "$ver"
$dk build -m tcpclose -v "$ver" -k "$krel" --kernelsourcedir "$kdir"
ko=$(find "$work/tree/tcpclose/$ver/$krel" -name 'tcpclose.ko*' | head -n1)
[ -n "$ko" ] || die "dkms built no tcpclose.ko for $krel"
echo "dkms built $ko"
