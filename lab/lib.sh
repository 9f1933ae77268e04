# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the VM lab scripts.  Sourced, not run.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$LAB_DIR/.." && pwd)
CACHE=${TCPCLOSE_CACHE:-$TOP/.cache}
DEBS=$CACHE/debs

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

# Kernel release of a short name ("6.1", "6.12"), resolved from the package
# lists so that a Debian point release does not break the lab.
resolve_krel() {
	local name=$1 pkg
	case $name in
	6.1)
		pkg=$(apt-cache depends linux-headers-amd64 2>/dev/null |
		      sed -n 's/.*Depends: linux-headers-\(6\.1\.[0-9-]*-amd64\)$/\1/p' |
		      head -n1)
		;;
	6.12)
		pkg=$(apt-cache pkgnames linux-headers-6.12. 2>/dev/null |
		      sed -n 's/^linux-headers-\(6\.12\.[0-9]*+deb12-amd64\)$/\1/p' |
		      sort -V | tail -n1)
		;;
	*)
		die "unknown kernel '$name' (supported: 6.1 6.12)"
		;;
	esac
	[ -n "$pkg" ] || die "no Debian headers package found for kernel $name; run 'apt-get update'"
	echo "$pkg"
}

kdir_of() { echo "$CACHE/kernels/$1/root/usr/src/linux-headers-$1"; }
