#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo-vm.sh [KERNEL] [demo|bench]: boot one kernel in qemu with tcpclose
# and either a small workload (lab/demo.sh), so a newcomer sees the product
# working, or the overhead benchmark (lab/bench.sh).  In bench mode the
# guest gets VM_MEM MB (default 3072: bpftrace and its libraries live in the
# initramfs), ROUNDS/SECS/WORKLOADS/CONFIGS are passed on to it, and its
# "raw: " lines are kept in .cache/bench/<krel>-<date>.txt.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

"$LAB_DIR/install-deps.sh"
krel=$("$LAB_DIR/fetch-kernel.sh" "${1:-6.1}")
mode=${2:-demo}
obj=$CACHE/build/$krel
rm -rf "$obj" && mkdir -p "$obj"
cp -r Kbuild VERSION module include "$obj/"
make -s -C "$(kdir_of "$krel")" M="$obj" modules >/dev/null ||
	die "module build failed for $krel"
# The floor: every hook attached and doing nothing (configuration tc-empty).
if [ "$mode" = bench ]; then
	rm -rf "$obj-empty" && mkdir -p "$obj-empty"
	cp -r Kbuild VERSION module include "$obj-empty/"
	make -s -C "$(kdir_of "$krel")" M="$obj-empty" TCPCLOSE_EMPTY_PROBES=1 \
		modules >/dev/null || die "module build (empty probes) failed for $krel"
	export TCPCLOSE_EMPTY_KO=$obj-empty/tcpclose.ko
fi
# make bench BASE=REV: the module as it was at REV beside today's, for a
# before/after in one run (configurations tc-base-*).
if [ "$mode" = bench ] && [ -n "${BASE:-}" ]; then
	rm -rf "$obj-base" && mkdir -p "$obj-base"
	git archive "$BASE" Kbuild VERSION module include | tar -x -C "$obj-base" ||
		die "BASE=$BASE: no such revision"
	make -s -C "$(kdir_of "$krel")" M="$obj-base" modules >/dev/null ||
		die "module build failed for $krel at $BASE"
	export TCPCLOSE_BASE_KO=$obj-base/tcpclose.ko
fi
bins="build/static/tcpclose build/static/demo_workload build/static/bench_close"
make -s $bins
mkdir -p "$obj/bin"
cp $bins "$obj/bin/"
"$LAB_DIR/mkinitramfs.sh" "$krel" "$obj/tcpclose.ko" "$obj/bin" \
	"$obj/$mode.gz" "$mode"
tmo=600
if [ "$mode" = bench ]; then
	export VM_MEM=${VM_MEM:-3072}
	# About twice the bench's own estimate (35 windows a round at the
	# defaults, 5 s each with setup, plus bpftrace's starts), and boot.
	secs=${SECS:-3}
	tmo=${VM_TIMEOUT:-$((600 + ${ROUNDS:-7} * 36 * (${secs%%.*} + 10)))}
fi
say "booting $krel ($mode)"
rc=0
"$LAB_DIR/run-vm.sh" "$krel" "$obj/$mode.gz" "$obj/$mode.log" "$tmo" |
	grep -v -e '^\[ *[0-9.]*\]' -e SeaBIOS -e 'Booting from' -e 'TCPCLOSE-VM-DONE' ||
	rc=$?
if [ "$mode" = bench ]; then
	mkdir -p "$CACHE/bench"
	raw=$CACHE/bench/$krel-$(date +%Y%m%d-%H%M%S).txt
	tr -d '\r' <"$obj/$mode.log" | grep '^raw: ' >"$raw" || true
	if [ -s "$raw" ]; then
		say "raw numbers: $raw (tables again: awk -f lab/bench_report.awk $raw)"
	else
		rm -f "$raw"
		say "no raw numbers in $obj/$mode.log"
	fi
fi
exit "$rc"
