#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo-vm.sh [KERNEL] [demo|bench|path]: boot one kernel in qemu with
# tcpclose and either a small workload (lab/demo.sh), so a newcomer sees the
# product working, or the overhead benchmark (lab/bench.sh), or the record
# path's steps timed one by one (lab/bench-path.sh, a bench-only build).  In bench mode the
# guest gets VM_MEM MB (default 3072: bpftrace and its libraries live in the
# initramfs), ROUNDS/SECS/WORKLOADS/CONFIGS are passed on to it, and its
# "raw: " lines are kept in .cache/bench/<krel>-<date>.txt.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

"$LAB_DIR/install-deps.sh"
krel=$("$LAB_DIR/fetch-kernel.sh" "${1:-6.1}")
mode=${2:-demo}
obj=$CACHE/build/$krel

# build_ko DIR REV [VAR=VAL...]: the module built in a fresh DIR from the
# working tree (REV empty) or from that git revision's sources.
build_ko() {
	local dir=$1 rev=$2
	shift 2
	rm -rf "$dir" && mkdir -p "$dir"
	if [ -n "$rev" ]; then
		git archive "$rev" Kbuild VERSION module include | tar -x -C "$dir" ||
			die "BASE=$rev: no such revision"
	else
		cp -r Kbuild VERSION module include "$dir/"
	fi
	make -s -C "$(kdir_of "$krel")" M="$dir" "$@" modules >/dev/null ||
		die "module build failed for $krel${rev:+ at $rev}${*:+ ($*)}"
}

build_ko "$obj" ""
ko=$obj/tcpclose.ko
if [ "$mode" = path ]; then
	build_ko "$obj-path" "" TCPCLOSE_PATH_BENCH=1
	ko=$obj-path/tcpclose.ko
fi
if [ "$mode" = bench ]; then
	# The floor: every hook attached and doing nothing (tc-empty).
	build_ko "$obj-empty" "" TCPCLOSE_EMPTY_PROBES=1
	export TCPCLOSE_EMPTY_KO=$obj-empty/tcpclose.ko
	# BASE=REV: the module as it was at REV beside today's, for a
	# before/after in one run (configurations tc-base-*).
	if [ -n "${BASE:-}" ]; then
		build_ko "$obj-base" "$BASE"
		export TCPCLOSE_BASE_KO=$obj-base/tcpclose.ko
	fi
fi
bins="build/static/tcpclose build/static/demo_workload build/static/bench_close"
make -s $bins
rm -rf "${obj:?}/bin" && mkdir -p "$obj/bin"
cp $bins "$obj/bin/"
# BASE=REV: the reader as it was at REV too (tc-base-watch runs it).
if [ "$mode" = bench ] && [ -n "${BASE:-}" ]; then
	rm -rf "$obj-base-src" && mkdir -p "$obj-base-src"
	git archive "$BASE" | tar -x -C "$obj-base-src"
	make -s -C "$obj-base-src" build/static/tcpclose >/dev/null ||
		die "reader build failed at $BASE"
	cp "$obj-base-src/build/static/tcpclose" "$obj/bin/tcpclose-base"
fi
"$LAB_DIR/mkinitramfs.sh" "$krel" "$ko" "$obj/bin" \
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
if [ "$mode" = bench ] || [ "$mode" = path ]; then
	mkdir -p "$CACHE/bench"
	raw=$CACHE/bench/$krel-$([ "$mode" = path ] && echo path-)$(date +%Y%m%d-%H%M%S).txt
	tr -d '\r' <"$obj/$mode.log" | grep '^raw: ' >"$raw" || true
	if [ -s "$raw" ]; then
		say "raw numbers: $raw (tables again: awk -f lab/bench_report.awk $raw)"
	else
		rm -f "$raw"
		say "no raw numbers in $obj/$mode.log"
	fi
fi
exit "$rc"
