#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bench-path.sh: the guest side of `make bench-path` (lab/demo-vm.sh KERNEL
# path).  Loads the bench build of the module (TCPCLOSE_PATH_BENCH=1, see
# module/pathbench.c), which times each step of the record path in a tight
# loop, ROUNDS rounds interleaved, and prints its lines as "raw: path ..."
# and as a table: median ns per iteration, min-max over the rounds.
[ -f /etc/bench.env ] && . /etc/bench.env
ROUNDS=${ROUNDS:-9}
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)
echo "bench-path: kernel $(uname -r), clocksource $cs, $(nproc) vCPUs, $ROUNDS rounds"
# Calls and returns cost what the mitigations make them cost.
for v in spectre_v2 retbleed spec_rstack_overflow; do
	f=/sys/devices/system/cpu/vulnerabilities/$v
	[ -r "$f" ] && echo "bench-path: $v: $(cat "$f")"
done
echo "raw: meta kernel=$(uname -r) clocksource=$cs vcpus=$(nproc) rounds=$ROUNDS"
insmod /lib/modules/tcpclose.ko || { echo "bench-path: insmod failed"; exit 1; }
if ! echo "$ROUNDS" >/sys/module/tcpclose/parameters/path_bench; then
	echo "bench-path: the path bench failed (ROUNDS 1..99; see dmesg)"
	dmesg | tail -5
	exit 1
fi
dmesg | sed -n 's/.*tcpclose: path: /raw: path /p' >/tmp/path.raw
cat /tmp/path.raw
awk '
/^raw: path step=/ {
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	what = $0; sub(/.*what="/, "", what); sub(/"$/, "", what)
	printf "%-11s %7d ns  (%d-%d)  %s\n", v["step"], v["ns"], v["min"], v["max"], what
	ns[v["step"]] = v["ns"]
}
END {
	if (ns["passive"]) {
		printf "\none close transition (passive / 3, less the loop): %d ns\n", (ns["passive"] - ns["loop"]) / 3
	}
	# What each part costs inside the whole (steps alone cost less: warm).
	if (ns["p-rebuilt"]) {
		printf "the 3 transitions rebuilt cost %d ns; left out in turn: record header %d, socket fields %d, table %d, durations + histograms %d, emit %d\n",
			ns["p-rebuilt"], ns["p-rebuilt"] - ns["p-noinit"], ns["p-rebuilt"] - ns["p-nofill"],
			ns["p-rebuilt"] - ns["p-notable"], ns["p-rebuilt"] - ns["p-nohist"], ns["p-rebuilt"] - ns["p-noemit"]
	}
}' /tmp/path.raw | sed '1i\
step        median ns  (min-max over rounds)  what'
rmmod tcpclose
