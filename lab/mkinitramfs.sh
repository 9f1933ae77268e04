#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh KREL KO BINDIR OUT [MODE]
# A busybox initramfs for one kernel: our module, the static selftests and
# reader from BINDIR, the kernel modules the tests need (decompressed), and
# iproute2's ip/tc (busybox's have no netns or netem).  MODE is "check"
# (run selftests/vm-run.sh), "demo" (lab/demo.sh), "bench" (lab/bench.sh) or
# "path" (lab/bench-path.sh).
# A module the kernel has built in (modules.builtin) is skipped.
# TCPCLOSE_FI_KO: the fault-injection build, as tcpclose-fault-inject.ko.
# TCPCLOSE_TESTS and TCPCLOSE_TCG_PART: which selftests (lib.sh's
# select_tests()).
# TCPCLOSE_LANE (normal, debug) and TCPCLOSE_SOAK_CYCLES, TCPCLOSE_SOAK_MS,
# TCPCLOSE_SOAK_PAUSE
# go to the guest's /etc/lane.env for vm-run.sh.
. "$(dirname "$0")/lib.sh"

krel=$1 ko=$2 bindir=$3 out=$4 mode=${5:-check}
kroot=$CACHE/kernels/$krel/root
moddir=$kroot/lib/modules/$krel
[ -f "$moddir/modules.dep" ] || die "kernel $krel is not fetched"
[ -f "$ko" ] || die "module $ko is missing"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,run,lib/modules/deps,tests,usr/bin,usr/sbin}
cp /bin/busybox "$stage/bin/busybox"
for app in $("$stage/bin/busybox" --list); do
	[ -e "$stage/bin/$app" ] || ln -s busybox "$stage/bin/$app"
done

# iproute2 with its shared libraries, called by full path.
mkdir -p "$stage/iproute2"
for tool in /usr/bin/ip /usr/sbin/tc /bin/ip /sbin/tc /usr/bin/ss /bin/ss; do
	[ -x "$tool" ] || continue
	cp -L "$tool" "$stage/iproute2/$(basename "$tool")"
	for lib in $(ldd "$tool" | grep -o '/[^ ]*'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -Ln "$lib" "$stage$lib"
	done
done
[ -x "$stage/iproute2/ip" ] && [ -x "$stage/iproute2/tc" ] &&
	[ -x "$stage/iproute2/ss" ] ||
	die "iproute2's ip, tc and ss are needed (apt-get install iproute2)"
mkdir -p "$stage/usr/lib/tc" && cp -r /usr/lib/tc/. "$stage/usr/lib/tc/" 2>/dev/null || true

# Kernel modules in load order, each after its dependencies.
n=0
for want in veth sch_netem tcp_diag; do
	if ! line=$(grep -E "/$want\.ko(\.xz|\.zst)?:" "$moddir/modules.dep"); then
		grep -qE "/$want\.ko$" "$moddir/modules.builtin" 2>/dev/null &&
			continue
		die "kernel $krel has no module $want, built in or not"
	fi
	for m in $(echo "${line#*:}" | tr ' ' '\n' | tac) "${line%%:*}"; do
		base=$(basename "$m")
		base=${base%.xz}
		base=${base%.zst}
		ls "$stage"/lib/modules/deps/*-"$base" >/dev/null 2>&1 && continue
		dst=$stage/lib/modules/deps/$(printf %02d $n)-$base
		n=$((n + 1))
		case $m in
		*.xz) xz -dc "$moddir/$m" >"$dst" ;;
		*.zst) zstd -qdc "$moddir/$m" >"$dst" ;;
		*) cp "$moddir/$m" "$dst" ;;
		esac
	done
done

cp "$ko" "$stage/lib/modules/tcpclose.ko"
# The bench's before/after: the module built at BASE, and the floor: a
# build whose hooks do nothing (lab/demo-vm.sh).
if [ -n "${TCPCLOSE_BASE_KO:-}" ]; then
	cp "$TCPCLOSE_BASE_KO" "$stage/lib/modules/tcpclose-base.ko"
fi
if [ -n "${TCPCLOSE_EMPTY_KO:-}" ]; then
	cp "$TCPCLOSE_EMPTY_KO" "$stage/lib/modules/tcpclose-empty.ko"
fi
# The selftest build with fault injection, loaded by tests that ask for it.
if [ -n "${TCPCLOSE_FI_KO:-}" ]; then
	cp "$TCPCLOSE_FI_KO" "$stage/lib/modules/tcpclose-fault-inject.ko"
fi
cp "$bindir"/* "$stage/tests/"
cp "$TOP/selftests/vm-run.sh" "$stage/tests/"
# TCPCLOSE_TESTS="a b" runs a subset (for debugging); TCPCLOSE_TCG_PART
# (multi, single; default all) the tests for one qemu mode (lab/check.sh).
select_tests "${TCPCLOSE_TCG_PART:-all}" >"$stage/tests/tests.list"
cp "$LAB_DIR/demo.sh" "$LAB_DIR/bench.sh" "$LAB_DIR/bench_report.awk" "$LAB_DIR/bench_hooks.awk" \
	"$LAB_DIR/bench-path.sh" "$stage/tests/"
echo "$krel" >"$stage/etc/kernel-release"
{
	echo "LANE=${TCPCLOSE_LANE:-normal}"
	for v in TCPCLOSE_SOAK_CYCLES TCPCLOSE_SOAK_MS TCPCLOSE_SOAK_PAUSE; do
		[ -n "${!v:-}" ] && echo "$v=${!v}"
	done
} >"$stage/etc/lane.env"

# add_tool NAME PATH: one of the bench's tracers from the unpacked packages
# in $troot, with its shared libraries (those of the packages first, then
# the host's).  Why a tool is left out goes to /etc/bench-missing, for the
# bench to report as n/a.
add_tool() {
	local name=$1 path=$2 bin=$troot$2 libs lib
	if [ ! -x "$bin" ]; then
		echo "$name: $path is not in its package" >>"$stage/etc/bench-missing"
		return
	fi
	libs=$(LD_LIBRARY_PATH=$troot/usr/lib/x86_64-linux-gnu:$troot/lib/x86_64-linux-gnu \
	       ldd "$bin" 2>&1) || true
	if grep -q 'not found' <<<"$libs"; then
		echo "$name: missing libraries: $(grep 'not found' <<<"$libs" | awk '{ print $1 }' | tr '\n' ' ')" \
			>>"$stage/etc/bench-missing"
		return
	fi
	mkdir -p "$stage$(dirname "$path")"
	cp -L "$bin" "$stage$path"
	for lib in $(grep -o '/[^ ]*' <<<"$libs"); do
		mkdir -p "$stage$(dirname "${lib#"$troot"}")"
		cp -Ln "$lib" "$stage${lib#"$troot"}"
	done
	# Prove it starts in the initramfs' own root (needs root for chroot).
	if [ "$(id -u)" = 0 ] && ! chroot "$stage" "$path" --version >/dev/null 2>&1; then
		echo "$name: $path --version fails in the initramfs" >>"$stage/etc/bench-missing"
		rm -f "$stage$path"
	fi
}

# The selftests' real node_exporter (stuck_fleet scrapes its textfile
# collector), with its libraries; a failure is the test's to report.
if [ "$mode" = check ]; then
	: >"$stage/etc/bench-missing"
	if troot=$("$LAB_DIR/fetch-tools.sh" prometheus-node-exporter); then
		add_tool node_exporter /usr/bin/prometheus-node-exporter
	fi
	sed 's/^/lab: selftests: left out: /' "$stage/etc/bench-missing" >&2
	rm -f "$stage/etc/bench-missing"
fi

if [ "$mode" = bench ] || [ "$mode" = path ]; then
	# The bench's knobs, passed on from `make bench ROUNDS=.. SECS=..`.
	for v in ROUNDS SECS WORKLOADS CONFIGS CHURN_ROUNDS CHURN_SECS CHURN_CONFIGS; do
		[ -n "${!v:-}" ] && printf "%s='%s'\n" "$v" "${!v}"
	done >"$stage/etc/bench.env"
fi
if [ "$mode" = bench ]; then
	: >"$stage/etc/bench-missing"
	before=$(du -sm "$stage" | cut -f1)
	if troot=$("$LAB_DIR/fetch-tools.sh"); then
		add_tool tcpstates /usr/sbin/tcpstates
		add_tool bpftrace /usr/bin/bpftrace
	else
		echo "tcpstates: libbpf-tools could not be fetched (lab/fetch-tools.sh)" >>"$stage/etc/bench-missing"
		echo "bpftrace: bpftrace could not be fetched (lab/fetch-tools.sh)" >>"$stage/etc/bench-missing"
	fi
	say "bench tracers add $(( $(du -sm "$stage" | cut -f1) - before )) MB to the initramfs (unpacked)"
	[ -s "$stage/etc/bench-missing" ] && sed 's/^/lab: bench: left out: /' "$stage/etc/bench-missing" >&2
fi

cat >"$stage/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
export PATH=/tests:/iproute2:/bin:/sbin
ip link set lo up
for m in /lib/modules/deps/*.ko; do
	[ -e "\$m" ] || continue	# all built in
	insmod \$m || echo "lab: insmod \$m failed"
done
sh /tests/$(case $mode in demo) echo demo.sh ;; bench) echo bench.sh ;; path) echo bench-path.sh ;; *) echo vm-run.sh ;; esac)
echo "TCPCLOSE-VM-DONE"
poweroff -f
INIT
chmod +x "$stage/init"
( cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1 ) >"$out"
[ "$mode" = bench ] &&
	say "initramfs $(basename "$out"): $(du -sm "$stage" | cut -f1) MB unpacked, $(du -m "$out" | cut -f1) MB compressed"
exit 0
