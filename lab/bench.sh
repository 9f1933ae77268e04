#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the bench VM: connection open/close rate without the module,
# with it (nobody reading: the rings fill and drop), and with it while
# `tcpclose watch` reads everything.  Rounds alternate so that drift in the
# emulated machine hits every configuration alike; the ratios are what
# counts, the absolute rates are those of an emulated CPU.
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-3}
run() { bench_close "$SECS" | cut -d" " -f1; }
base=0 mod=0 rd=0
for r in $(seq "$ROUNDS"); do
	b=$(run)
	insmod /lib/modules/tcpclose.ko
	m=$(run)
	tcpclose watch >/dev/null 2>&1 &
	w=$!
	sleep 0.5
	x=$(run)
	kill $w
	wait $w 2>/dev/null
	rmmod tcpclose
	echo "round $r: without $b/s, loaded $m/s, loaded+reader $x/s"
	base=$((base + b)) mod=$((mod + m)) rd=$((rd + x))
done
awk -v b=$base -v m=$mod -v r=$rd 'BEGIN {
	printf "connections/s, sum of %d rounds: without %d, loaded %d, loaded+reader %d\n", '"$ROUNDS"', b, m, r
	printf "ratio loaded/without:        %.3f\n", m / b
	printf "ratio loaded+reader/without: %.3f\n", r / b
}'
