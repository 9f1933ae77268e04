#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh KREL KO BINDIR OUT [MODE]
# A busybox initramfs for one kernel: our module, the static selftests and
# reader from BINDIR, the kernel modules the tests need (decompressed), and
# iproute2's ip/tc (busybox's have no netns or netem).  MODE is "check"
# (run selftests/vm-run.sh), "demo" (lab/demo.sh) or "bench" (lab/bench.sh).
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
for tool in /usr/bin/ip /usr/sbin/tc /bin/ip /sbin/tc; do
	[ -x "$tool" ] || continue
	cp -L "$tool" "$stage/iproute2/$(basename "$tool")"
	for lib in $(ldd "$tool" | grep -o '/[^ ]*'); do
		mkdir -p "$stage$(dirname "$lib")"
		cp -Ln "$lib" "$stage$lib"
	done
done
[ -x "$stage/iproute2/ip" ] && [ -x "$stage/iproute2/tc" ] ||
	die "iproute2's ip and tc are needed (apt-get install iproute2)"
mkdir -p "$stage/usr/lib/tc" && cp -r /usr/lib/tc/. "$stage/usr/lib/tc/" 2>/dev/null || true

# Kernel modules in load order, each after its dependencies.
n=0
for want in veth sch_netem tcp_diag; do
	line=$(grep -E "/$want\.ko(\.xz|\.zst)?:" "$moddir/modules.dep") ||
		die "kernel $krel has no module $want"
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
cp "$bindir"/* "$stage/tests/"
cp "$TOP/selftests/vm-run.sh" "$stage/tests/"
# TCPCLOSE_TESTS="a b" runs a subset (for debugging).
if [ -n "${TCPCLOSE_TESTS:-}" ]; then
	grep -E "^($(echo $TCPCLOSE_TESTS | tr ' ' '|'))([[:space:]]|$)" \
		"$TOP/selftests/tests.list" >"$stage/tests/tests.list"
else
	cp "$TOP/selftests/tests.list" "$stage/tests/tests.list"
fi
cp "$LAB_DIR/demo.sh" "$LAB_DIR/bench.sh" "$stage/tests/"
echo "$krel" >"$stage/etc/kernel-release"

cat >"$stage/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
export PATH=/tests:/iproute2:/bin:/sbin
ip link set lo up
for m in /lib/modules/deps/*.ko; do insmod \$m || echo "lab: insmod \$m failed"; done
sh /tests/$(case $mode in demo) echo demo.sh ;; bench) echo bench.sh ;; *) echo vm-run.sh ;; esac)
echo "TCPCLOSE-VM-DONE"
poweroff -f
INIT
chmod +x "$stage/init"
( cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1 ) >"$out"
