# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the VM lab scripts.  Sourced, not run.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$LAB_DIR/.." && pwd)
CACHE=${TCPCLOSE_CACHE:-$TOP/.cache}
DEBS=$CACHE/debs

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

KERNEL_NAMES="6.1 6.12 6.1-rt 6.12-rt 6.1-cloud 6.12-cloud 6.12-debug"

# Kernel release of a short name, resolved from the package lists so that a
# Debian point release does not break the lab.  NAME is a series (6.1,
# 6.12), optionally with a Debian flavour: -rt (rt-amd64, PREEMPT_RT) or
# -cloud (cloud-amd64); each comes as linux-headers-KREL and
# linux-image-KREL-unsigned.  6.12-debug is built, not fetched
# (lab/debug-kernel.sh).
resolve_krel() {
	local name=$1 pkg flavour=amd64
	case $name in
	6.12-debug)
		"$LAB_DIR/debug-kernel.sh" --krel
		return
		;;
	6.1|6.12) ;;
	6.1-rt|6.12-rt) flavour=rt-amd64 ;;
	6.1-cloud|6.12-cloud) flavour=cloud-amd64 ;;
	*)
		die "unknown kernel '$name' (supported: $KERNEL_NAMES)"
		;;
	esac
	case $name in
	6.1|6.1-*)
		pkg=$(apt-cache depends "linux-headers-$flavour" 2>/dev/null |
		      sed -n "s/.*Depends: linux-headers-\(6\.1\.[0-9-]*-$flavour\)\$/\1/p" |
		      head -n1)
		;;
	6.12|6.12-*)
		pkg=$(apt-cache pkgnames linux-headers-6.12. 2>/dev/null |
		      sed -n "s/^linux-headers-\(6\.12\.[0-9]*+deb12-$flavour\)\$/\1/p" |
		      sort -V | tail -n1)
		;;
	esac
	[ -n "$pkg" ] || die "no Debian headers package found for kernel $name; run 'apt-get update'"
	echo "$pkg"
}

# The lane of a kernel name: "debug" for the debug kernel, else "normal".
lane_of() {
	case $1 in
	*-debug) echo debug ;;
	*) echo normal ;;
	esac
}

kdir_of() { echo "$CACHE/kernels/$1/root/usr/src/linux-headers-$1"; }

# select_tests PART: the lines of selftests/tests.list to run, without
# comments, as vm-run.sh reads them.  TCPCLOSE_TESTS="a b" keeps a subset.
# PART "single" keeps the tests marked tcg=single (they unload the module
# under churn, which patches code while the other vCPU runs it: see
# Documentation/selftests.rst, "Single-threaded TCG"), "multi" the others,
# "all" every test; the mark itself is dropped.
# grep, where no line matching is no error.
sel_grep() { grep "$@" || [ $? = 1 ]; }

# A selection may be empty (grep's status 1); a real error still fails.
select_tests() {
	local part=$1 names alt
	read -r -a names <<<"${TCPCLOSE_TESTS:-}"
	alt=$(IFS='|'; echo "${names[*]}")
	grep -v '^[[:space:]]*\(#\|$\)' "$TOP/selftests/tests.list" |
	if [ -n "$alt" ]; then
		sel_grep -E "^($alt)([[:space:]]|$)"
	else
		cat
	fi |
	case $part in
	single) sel_grep -E '[[:space:]]tcg=single([[:space:]]|$)' ;;
	multi) sel_grep -vE '[[:space:]]tcg=single([[:space:]]|$)' ;;
	*) cat ;;
	esac |
	sed -E 's/[[:space:]]+tcg=single([[:space:]]|$)/\1/; s/[[:space:]]+$//'
}
