#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# install-check.sh KREL: `make install` and `make uninstall` into a scratch
# DESTDIR against KREL's headers, and modinfo of the installed module:
# version, license, and a description for every parameter.
. "$(dirname "$0")/lib.sh"

krel=${1:?usage: install-check.sh KREL}
kdir=$(kdir_of "$krel")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$TOP"/{Makefile,Kbuild,VERSION,module,include,userspace,Documentation,selftests,packaging} "$work/"
dest=$work/root
make -s -C "$work" KDIR="$kdir" DESTDIR="$dest" install 2>&1 |
	grep -v -e 'depmod: WARNING' -e 'Skipping BTF' || true

ko=$dest/lib/modules/$krel/updates/tcpclose.ko
for f in "$ko" "$dest/usr/local/sbin/tcpclose" \
	 "$dest/usr/local/share/man/man8/tcpclose.8" \
	 "$dest/usr/local/lib/systemd/system/tcpclose-metrics.service" \
	 "$dest/usr/local/lib/systemd/system/tcpclose-metrics.timer" \
	 "$dest/usr/local/lib/modules-load.d/tcpclose.conf"; do
	[ -f "$f" ] || die "make install did not install $f"
done
grep -qx 'ExecStart=/usr/local/sbin/tcpclose metrics --textfile /var/lib/prometheus/node-exporter' \
	"$dest/usr/local/lib/systemd/system/tcpclose-metrics.service" ||
	die "the unit does not run the installed tcpclose"
grep -q 'updates/tcpclose.ko' "$dest/lib/modules/$krel/modules.dep" ||
	die "depmod did not register the module"

info=$(modinfo "$ko")
echo "$info" | grep -qx "version: *$(cat "$TOP/VERSION")" || die "modinfo: wrong or no version"
echo "$info" | grep -qx "license: *GPL" || die "modinfo: license is not GPL"
for p in ring_size table_size states hook timewait; do
	echo "$info" | grep -Eq "^parm: +$p:[A-Z].{20,}" ||
		die "modinfo: parameter $p has no description"
done

make -s -C "$work" KDIR="$kdir" DESTDIR="$dest" uninstall 2>&1 |
	grep -v 'depmod: WARNING' || true
left=$(find "$dest" -name 'tcpclose*' -type f)
[ -z "$left" ] || die "make uninstall left: $left"
echo "install, modinfo and uninstall fine for $krel"
