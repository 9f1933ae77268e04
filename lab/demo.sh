#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the demo VM: load tcpclose, start a leaking server and some
# well-behaved connections, watch them close, then ask who is stuck.
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
IP=/iproute2/ip TC=/iproute2/tc

say "insmod tcpclose.ko"
insmod /lib/modules/tcpclose.ko || exit 1
dmesg | grep tcpclose | tail -1

say "tcpclose watch (10 s) while the workload runs"
tcpclose watch -d 10 &
watch=$!
sleep 1
demo_workload leaky 7000 &
sleep 0.5
echo "# 4 clients of a server that never closes: CLOSE_WAIT forever"
demo_workload clients 7000 4
echo "# 2 connections closed properly: the four-way close, TIME_WAIT"
demo_workload pairs 2
echo "# a simultaneous close, with 50 ms of netem delay on lo: CLOSING"
$IP netns add demo && $IP -n demo link set lo up &&
	$TC -n demo qdisc add dev lo root netem delay 50ms &&
	$IP netns exec demo demo_workload simul
wait $watch

say "tcpclose stuck --min-age 2s"
sleep 1
tcpclose stuck --min-age 2s

say "tcpclose stats"
tcpclose stats
