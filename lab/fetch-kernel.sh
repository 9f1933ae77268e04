#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh NAME: download one supported kernel's headers and image
# debs and unpack them under .cache/kernels/<release>/ (nothing is installed
# on the host).  Prints the kernel release.
. "$(dirname "$0")/lib.sh"

name=${1:?usage: fetch-kernel.sh NAME (6.1, 6.12, 6.1-rt, 6.12-cloud, 6.12-debug ...)}
# The debug kernel is built from source, once (cached by its config).
case $name in
*-debug) exec "$LAB_DIR/debug-kernel.sh" ;;
esac
if ! apt-cache show linux-headers-amd64 >/dev/null 2>&1; then
	apt-get update -qq || die "apt-get update failed"
fi
krel=$(resolve_krel "$name")
dest=$CACHE/kernels/$krel
if [ -e "$dest/.done" ]; then
	echo "$krel"
	exit 0
fi

mkdir -p "$DEBS" "$dest/root"
# The headers need their -common half and the kbuild tools.
deps=$(apt-cache depends "linux-headers-$krel" |
       sed -n 's/.*Depends: \(linux-\(kbuild\|headers\)-[^ ]*\)$/\1/p')
pkgs="linux-headers-$krel $deps linux-image-$krel-unsigned"
say "fetching $name ($krel): $(echo $pkgs)"
( cd "$DEBS" && apt-get download $pkgs >/dev/null 2>&1 ) ||
	die "apt-get download failed for: $pkgs"
for p in $pkgs; do
	deb=$(ls "$DEBS/${p}_"*.deb 2>/dev/null | sort -V | tail -n1)
	[ -n "$deb" ] || die "package $p was not downloaded"
	dpkg-deb -x "$deb" "$dest/root"
done

# The headers' Makefile includes its -common half by absolute path.
kdir=$(kdir_of "$krel")
sed -i "s|include /usr/src/|include $dest/root/usr/src/|" "$kdir/Makefile"
vmlinuz=$(ls "$dest"/root/boot/vmlinuz-* | head -n1)
[ -f "$vmlinuz" ] || die "no kernel image in linux-image-$krel-unsigned"
ln -sf "$vmlinuz" "$dest/vmlinuz"
# modules.dep is made at install time, which we skip.
depmod -b "$dest/root" "$krel" || die "depmod failed for $krel"
touch "$dest/.done"
echo "$krel"
