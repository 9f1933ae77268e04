#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-fleet.sh STEP [KREL]: host-side checks of what a fleet installs.
#   promtool    `tcpclose metrics` on this host (sock_diag, no module),
#               to stdout and as a textfile, passes `promtool check metrics`
#   units       the systemd units pass `systemd-analyze verify`, and
#               `systemd-analyze security` rates the service 2.5 or better
#   lintian     `make deb` builds both packages at VERSION; lintian finds
#               no warning or error
#   deb-cycle KREL
#               install both packages, DKMS builds the module for KREL
#               against the lab's headers, remove, purge: in a throwaway
#               copy-on-write root (an overlay over / in a private mount
#               namespace), so that the host keeps nothing; checked after
# Needs root for deb-cycle (mounts) and the packages install-deps.sh lists.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

need() { command -v "$1" >/dev/null || die "$1 is not installed (lab/install-deps.sh)"; }

check_promtool() {
	local dir out
	need promtool
	make -s build/tcpclose
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' RETURN
	out=$dir/stdout.prom
	build/tcpclose metrics >"$out"
	grep -qx 'tcpclose_module_loaded [01]' "$out" || die "no tcpclose_module_loaded"
	promtool check metrics <"$out" || die "promtool rejects 'tcpclose metrics'"
	build/tcpclose metrics --labels pid,port | promtool check metrics ||
		die "promtool rejects 'tcpclose metrics --labels pid,port'"
	build/tcpclose metrics --textfile "$dir"
	[ "$(stat -c %a "$dir/tcpclose.prom")" = 644 ] || die "textfile not mode 0644"
	promtool check metrics <"$dir/tcpclose.prom" || die "promtool rejects the textfile"
	[ "$(find "$dir" -name '.tcpclose.prom.*' | wc -l)" = 0 ] ||
		die "a temporary textfile was left behind"
	if build/tcpclose metrics --labels cookie >/dev/null 2>&1; then
		die "metrics accepted an unknown label"
	fi
	echo "promtool: metrics, --labels and --textfile accepted"
}

# Units installed into a staging prefix whose ExecStart exists, since
# verify checks that the binary is there; man:tcpclose(8) is found there too.
check_units() {
	local stage log
	need systemd-analyze
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' RETURN
	make -s install-reader PREFIX="$stage" SBINDIR="$stage/sbin" \
		UNITDIR="$stage/units" >/dev/null
	log=$(MANPATH=$stage/share/man systemd-analyze verify \
		"$stage/units/tcpclose-metrics.service" \
		"$stage/units/tcpclose-metrics.timer" 2>&1) ||
		die "systemd-analyze verify failed: $log"
	# verify only warns about unknown keys and bad values: none allowed.
	[ -z "$log" ] || die "systemd-analyze verify: $log"
	log=$(MANPATH=$stage/share/man systemd-analyze security --offline=true \
		--threshold=25 "$stage/units/tcpclose-metrics.service" 2>&1) ||
		die "tcpclose-metrics.service is exposed above 2.5: $log"
	echo "$log" | tail -n 1
	grep -q "^ExecStart=$stage/sbin/tcpclose metrics --textfile " \
		"$stage/units/tcpclose-metrics.service" ||
		die "install-reader did not set ExecStart's path"
	echo "units: verify clean, hardening within bounds"
}

build_debs() {
	need dpkg-buildpackage
	make -s deb >"$CACHE/deb-build.log" 2>&1 ||
		{ tail -n 40 "$CACHE/deb-build.log"; die "make deb failed"; }
}

check_lintian() {
	local ver
	need lintian
	mkdir -p "$CACHE"
	build_debs
	ver=$(cat VERSION)
	for p in tcpclose-dkms_${ver}_all tcpclose_${ver}_amd64; do
		[ -f "build/deb/$p.deb" ] || die "make deb did not build $p.deb"
		[ "$(dpkg-deb -f "build/deb/$p.deb" Version)" = "$ver" ] ||
			die "$p.deb is not version $ver"
	done
	dpkg-deb -c "build/deb/tcpclose-dkms_${ver}_all.deb" |
		grep "usr/src/tcpclose-$ver/dkms.conf" >/dev/null || die "no dkms.conf in tcpclose-dkms"
	# Root gets a notice on stderr, nothing more.
	log=$(lintian --fail-on warning,error \
		"build/deb/tcpclose_${ver}_amd64.changes" 2>&1) ||
		die "lintian found problems: $log"
	echo "$log" | grep -v 'running with root privileges' || true
	echo "lintian: tcpclose and tcpclose-dkms $ver clean"
}

# Runs inside the throwaway root; $1 KREL, $2 headers, $3 version.
cycle_inside() {
	local krel=$1 kdir=$2 ver=$3 ko
	export DEBIAN_FRONTEND=noninteractive
	# The lab's headers, as linux-headers-KREL would install them.
	mkdir -p "/lib/modules/$krel"
	ln -s "$kdir" "/lib/modules/$krel/build"
	dpkg -i /debs/tcpclose-dkms_${ver}_all.deb /debs/tcpclose_${ver}_amd64.deb
	[[ $(dkms status -m tcpclose -v "$ver" -k "$krel") == *": installed"* ]] ||
		die "DKMS did not build and install tcpclose for $krel on install"
	ko=$(find "/lib/modules/$krel/updates/dkms" -name 'tcpclose.ko*' | head -n1)
	[ -n "$ko" ] || die "no tcpclose.ko under /lib/modules/$krel/updates/dkms"
	[ "$(modinfo -F version "$ko")" = "$ver" ] || die "$ko is not version $ver"
	[[ $(tcpclose --version) == "tcpclose $ver "* ]] || die "tcpclose --version"
	[ -L /etc/systemd/system/timers.target.wants/tcpclose-metrics.timer ] ||
		die "tcpclose-metrics.timer was not enabled"
	[ -f /usr/lib/modules-load.d/tcpclose.conf ] || die "no modules-load.d snippet"
	dpkg -r tcpclose tcpclose-dkms
	[ -z "$(dkms status -m tcpclose)" ] || die "dkms still knows tcpclose after remove"
	[ ! -e "$ko" ] || die "remove left $ko"
	dpkg -P tcpclose tcpclose-dkms
	if dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'tcpclose*' 2>/dev/null |
	   grep -v '^un'; then
		die "dpkg still lists the packages after purge"
	fi
	left=$(find /etc /usr /lib/systemd /var/lib/dkms /var/lib/systemd \
		-name '*tcpclose*' 2>/dev/null || true)
	[ -z "$left" ] || die "purge left: $left"
	echo "deb-cycle: install, DKMS build for $krel, remove and purge clean"
}

check_deb_cycle() {
	local krel=${1:?usage: check-fleet.sh deb-cycle KREL} kdir ver w rc=0
	[ "$(id -u)" = 0 ] || die "deb-cycle needs root (mount namespace)"
	need dkms
	kdir=$(kdir_of "$krel")
	[ -f "$kdir/Makefile" ] || die "no headers for $krel (lab/fetch-kernel.sh)"
	ver=$(cat VERSION)
	mkdir -p "$CACHE"
	[ -f "build/deb/tcpclose_${ver}_amd64.deb" ] || build_debs
	w=$(mktemp -d)
	unshare --mount --propagation private bash -c '
		set -euo pipefail
		w=$1; shift
		mount -t tmpfs tmpfs "$w"
		mkdir "$w/upper" "$w/work" "$w/root"
		mount -t overlay overlay \
			-o "lowerdir=/,upperdir=$w/upper,workdir=$w/work" "$w/root"
		mount -t proc proc "$w/root/proc"
		mount --rbind /dev "$w/root/dev"
		mount -t tmpfs tmpfs "$w/root/run"
		mkdir -p "$w/root/debs"
		mount --bind "$TOP/build/deb" "$w/root/debs"
		chroot "$w/root" bash "$TOP/lab/check-fleet.sh" _inside "$@"
	' _ "$w" "$krel" "$kdir" "$ver" || rc=$?
	rmdir "$w"
	[ "$rc" = 0 ] || die "package cycle failed"
	# The namespace is gone with its mounts; the host must hold nothing.
	if dpkg-query -W 'tcpclose*' >/dev/null 2>&1; then
		die "the host's dpkg lists tcpclose packages"
	fi
	[ ! -e "/usr/src/tcpclose-$ver" ] && [ ! -e /var/lib/dkms/tcpclose ] ||
		die "the host has tcpclose files"
	echo "deb-cycle: host untouched"
}

export TOP
case ${1:-} in
promtool)	check_promtool ;;
units)		check_units ;;
lintian)	check_lintian ;;
deb-cycle)	check_deb_cycle "${2:-}" ;;
_inside)	shift; cycle_inside "$@" ;;
*)		die "usage: check-fleet.sh promtool|units|lintian|deb-cycle KREL" ;;
esac
