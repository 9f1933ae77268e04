#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# fetch-tools.sh [PACKAGE...]: download Debian packages for the VM and the
# libraries they need that this host lacks, and unpack them under
# .cache/tools/root/ (nothing is installed on the host).  Prints that root.
# Default: the tracers `make bench` compares tcpclose with (libbpf-tools'
# tcpstates and bpftrace); the selftests ask for prometheus-node-exporter,
# unpacked under .cache/tools-PACKAGES/root/.
. "$(dirname "$0")/lib.sh"

TOOLS=${*:-libbpf-tools bpftrace}
if [ $# = 0 ]; then
	dest=$CACHE/tools
else
	dest=$CACHE/tools-$(echo "$TOOLS" | tr ' ' '+')
fi
if [ -e "$dest/.done" ]; then
	echo "$dest/root"
	exit 0
fi
# shellcheck disable=SC2086
if ! apt-cache show $TOOLS >/dev/null 2>&1; then
	apt-get update -qq || die "apt-get update failed"
fi

# The tools, and every library they pull in that is not installed here
# (the initramfs takes the rest from the host, as it does for iproute2).
# shellcheck disable=SC2086
deps=$(apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances $TOOLS |
	grep -v -e '^[ <]' -e ':' | sort -u)
pkgs=
for p in $deps; do
	case " $TOOLS " in *" $p "*) pkgs="$pkgs $p"; continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		pkgs="$pkgs $p"
done

mkdir -p "$DEBS"
rm -rf "$dest/root" && mkdir -p "$dest/root"
say "fetching for the VM:$pkgs"
# shellcheck disable=SC2086
( cd "$DEBS" && apt-get download $pkgs >/dev/null 2>&1 ) ||
	die "apt-get download failed for:$pkgs"
for p in $pkgs; do
	deb=$(ls "$DEBS/${p}_"*.deb 2>/dev/null | sort -V | tail -n1)
	[ -n "$deb" ] || die "package $p was not downloaded"
	dpkg-deb -x "$deb" "$dest/root"
done
touch "$dest/.done"
echo "$dest/root"
