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

# Then the hooks under real connections: the bench's churn without the
# module and with it (no reader), CHURN_ROUNDS rounds of CHURN_SECS
# seconds per workload, each window in a fresh namespace with TIME_WAIT
# raised as in `make bench`.  With the module, each hook times itself
# (path_hooks): what a connection costs inside our code, cold memory and
# all, beside what it costs the churn's rate.  With `make bench-path
# BASE=REV` the bench build at REV runs too (config "base"), in the same
# rounds: a before/after that drift between boots cannot blur.
IP=/iproute2/ip
CHURN_ROUNDS=${CHURN_ROUNDS:-3}
CHURN_SECS=${CHURN_SECS:-3}
P=/sys/module/tcpclose/parameters/path_hooks
# "watch": the module with `tcpclose watch >/dev/null` reading, whose
# read path times itself too, and whose own CPU time is counted.
CONFIGS=${CHURN_CONFIGS:-none tc watch}
[ -f /lib/modules/tcpclose-base.ko ] && CONFIGS="$CONFIGS base"
win=0
cpu_ms() {	# a process's user and system time, ms
	awk '{ printf "%d %d\n", $14 * 10, $15 * 10 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}
churn() {	# churn WORKLOAD CONFIG ROUND
	local ns=pc$win args= res ko=/lib/modules/tcpclose.ko pid= c0= c1=
	win=$((win + 1))
	case $1 in 2threads) args="-t 2" ;; srvclose) args="-s" ;; esac
	[ "$2" = base ] && ko=/lib/modules/tcpclose-base.ko
	[ "$2" != none ] && { insmod "$ko" || return 1; }
	if ! "$IP" netns add "$ns"; then
		[ "$2" != none ] && rmmod tcpclose
		return 1
	fi
	"$IP" netns exec "$ns" sh -c 'ip link set lo up &&
		echo 1000000 >/proc/sys/net/ipv4/tcp_max_tw_buckets &&
		bench_close -n 50 5 >/dev/null'
	if [ "$2" = watch ] || [ "$2" = watch-noowner ]; then
		if [ "$2" = watch ]; then
			tcpclose watch >/dev/null 2>/tmp/watch.err &
		else
			tcpclose watch --no-owner >/dev/null 2>/tmp/watch.err &
		fi
		pid=$!
		sleep 1
	fi
	[ "$2" != none ] && echo 0 >$P
	[ -n "$pid" ] && c0=$(cpu_ms $pid)
	# shellcheck disable=SC2086 # the workload's options
	res=$("$IP" netns exec "$ns" bench_close $args "$CHURN_SECS")
	if [ -n "$pid" ]; then
		sleep 0.3	# the reader catches up
		c1=$(cpu_ms $pid)
		kill $pid
		wait $pid 2>/dev/null
	fi
	# The namespace's TIME_WAIT sockets are killed as it goes (its
	# purge runs in a workqueue): counted, so wait for it.
	"$IP" netns del "$ns"
	sleep 2
	echo "raw: churn round=$3 workload=$1 config=$2 rate=${res%% *} conns=$(echo "$res" | cut -d' ' -f2)"
	if [ "$2" != none ]; then
		{
			tr '\n' ' ' <$P
			[ -n "$pid" ] && echo $c0 $c1 | awk '{ printf "reader usr_ms=%d sys_ms=%d", $3 - $1, $4 - $2 }'
		} | sed "s/^/raw: hooks round=$3 workload=$1 config=$2 /; s/ \$//"
		echo
		rmmod tcpclose
	fi
}
echo "bench-path: the hooks under the churn ($CONFIGS), $CHURN_ROUNDS rounds of $CHURN_SECS s per workload"
for r in $(seq 1 "$CHURN_ROUNDS"); do
	for w in 1thread 2threads srvclose; do
		# Rotated: drift hits every configuration alike.
		set -- $CONFIGS
		k=$(( (r - 1) % $# ))
		while [ $k -gt 0 ]; do c=$1; shift; set -- "$@" "$c"; k=$((k - 1)); done
		for c in "$@"; do
			churn "$w" "$c" "$r" || echo "bench-path: churn $w $c failed"
		done
	done
done 2>&1 | tee /tmp/churn.raw | grep -e '^raw: ' -e '^bench-path: ' -e 'insmod\|rmmod'
awk -f /tests/bench_hooks.awk /tmp/churn.raw
