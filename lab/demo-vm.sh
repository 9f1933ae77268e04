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

# build_ko DIR SRC [VAR=VAL...]: the module built in a fresh DIR from the
# sources in SRC (the working tree, or a revision's: BASE below).
build_ko() {
	local dir=$1 src=$2
	shift 2
	rm -rf "$dir" && mkdir -p "$dir"
	cp -r "$src/Kbuild" "$src/VERSION" "$src/module" "$src/include" "$dir/"
	make -s -C "$(kdir_of "$krel")" M="$dir" "$@" modules >/dev/null ||
		die "module build failed for $krel from $src${*:+ ($*)}"
}

# BASE=REV (bench and path modes): REV's tree, for a before/after.
base=
if [ -n "${BASE:-}" ] && [ "$mode" != demo ]; then
	base=$obj-base-src
	rm -rf "$base" && mkdir -p "$base"
	git archive "$BASE" | tar -x -C "$base" ||
		die "BASE=$BASE: no such revision"
fi

build_ko "$obj" "$TOP"
ko=$obj/tcpclose.ko
if [ "$mode" = path ]; then
	build_ko "$obj-path" "$TOP" TCPCLOSE_PATH_BENCH=1
	ko=$obj-path/tcpclose.ko
	# BASE=REV: REV's bench build beside today's, under the same churn.
	if [ -n "$base" ]; then
		build_ko "$obj-path-base" "$base" TCPCLOSE_PATH_BENCH=1
		export TCPCLOSE_BASE_KO=$obj-path-base/tcpclose.ko
	fi
fi
bins="build/static/tcpclose build/static/demo_workload build/static/bench_close"
make -s $bins
mkdir -p "$obj/bin"
cp $bins "$obj/bin/"
if [ "$mode" = bench ]; then
	# The floor: every hook attached and doing nothing (tc-empty).
	build_ko "$obj-empty" "$TOP" TCPCLOSE_EMPTY_PROBES=1
	export TCPCLOSE_EMPTY_KO=$obj-empty/tcpclose.ko
	# BASE=REV: the module and the reader as they were at REV beside
	# today's, for a before/after in one run (configurations tc-base-*;
	# tc-base-watch runs the reader, tcpclose-base).
	if [ -n "$base" ]; then
		build_ko "$obj-base" "$base"
		export TCPCLOSE_BASE_KO=$obj-base/tcpclose.ko
		make -s -C "$base" build/static/tcpclose >/dev/null ||
			die "reader build failed at $BASE"
		cp "$base/build/static/tcpclose" "$obj/bin/tcpclose-base"
	fi
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
elif [ "$mode" = path ]; then
	# The steps (about 10 s a round), then the churn: 3 workloads a
	# round, each configuration CHURN_SECS plus about 8 s of setup.
	set -- ${CHURN_CONFIGS:-none tc watch} ${BASE:+base}
	secs=${CHURN_SECS:-3}
	tmo=${VM_TIMEOUT:-$((600 + ${ROUNDS:-9} * 10 + ${CHURN_ROUNDS:-3} * 3 * $# * (${secs%%.*} + 8)))}
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
		report=bench_report.awk
		[ "$mode" = path ] && report=bench_hooks.awk
		say "raw numbers: $raw (tables again: awk -f lab/$report $raw)"
	else
		rm -f "$raw"
		say "no raw numbers in $obj/$mode.log"
	fi
fi
exit "$rc"
