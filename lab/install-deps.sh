#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install, from Debian's packages, what the build and the VM lab need.
# Idempotent: does nothing when everything is there.
. "$(dirname "$0")/lib.sh"

PKGS="build-essential gcc-12 make bc flex bison libelf-dev kmod cpio xz-utils
zstd dwarves dkms busybox-static qemu-system-x86 iproute2 sparse python3 python3-docutils
perl prometheus debhelper dh-dkms lintian dpkg-dev systemd groff"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "need root to install:$missing"
	say "installing:$missing"
	if [ ! -e "$CACHE/.apt-updated" ]; then
		apt-get update -qq || die "apt-get update failed"
		mkdir -p "$CACHE" && touch "$CACHE/.apt-updated"
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		die "apt-get install failed for:$missing"
fi
