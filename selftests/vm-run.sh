#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM: every selftest of tests.list against a freshly loaded
# module, as one TAP stream (sub-test output is indented as comments).
# A test also fails when the kernel logged a warning or bug while it ran.
# On a kernel with kmemleak (the debug lane), a last check unloads the
# module, scans twice and fails on any leak that is tcpclose's.
KO=/lib/modules/tcpclose.ko
LANE=normal
[ -f /etc/lane.env ] && . /etc/lane.env
if [ "$LANE" = debug ]; then
	# KASAN, lockdep and kmemleak under TCG: everything is slower.
	TEST_TIMEOUT=900
	: "${TCPCLOSE_SOAK_CYCLES:=50}" "${TCPCLOSE_SOAK_MS:=1000}"
	# Single-threaded TCG there (lab/check.sh): loads under churn too.
	: "${TCPCLOSE_SOAK_PAUSE:=0}"
else
	TEST_TIMEOUT=240	# the longest test waits out 60 s of TIME_WAIT
	: "${TCPCLOSE_SOAK_CYCLES:=8}" "${TCPCLOSE_SOAK_MS:=3000}"
fi
# Tests that must know (handoff_race) read the lane.
export TCPCLOSE_SOAK_CYCLES TCPCLOSE_SOAK_MS
export TCPCLOSE_LANE=$LANE
[ -n "${TCPCLOSE_SOAK_PAUSE:-}" ] && export TCPCLOSE_SOAK_PAUSE
list=/tests/tests.list
total=$(grep -cv '^[[:space:]]*\(#\|$\)' $list)
KMEMLEAK=/sys/kernel/debug/kmemleak
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
leakcheck=0
# Forget what boot left: only leaks from here on count.
[ -w $KMEMLEAK ] && echo clear >$KMEMLEAK 2>/dev/null && leakcheck=1
n=0
echo "TAP version 13"
echo "1..$((total + 1 + leakcheck))"
echo "# lane $LANE, kernel $(uname -r)"
kernel_trouble() {
	dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|UBSAN|KASAN|KFENCE|ODEBUG|refcount_t:|list_(add|del) corruption|INFO: task .*blocked for more than|detected stalls? on|tcpclose.*(leak|busy)'
}
# A kernel that reported a bug while booting, before tcpclose was loaded,
# has turned lock debugging off: nothing run on it would mean what it says
# (seen once in the debug lane: a KASAN report in an interrupt during
# identify_cpu(), under TCG).  Say so, and lab/check.sh boots again.
boot_taint=$(cat /proc/sys/kernel/tainted)
if [ $((boot_taint & ~12288)) -ne 0 ]; then
	echo "TCPCLOSE-BOOT-TAINTED $boot_taint"
	kernel_trouble | head -n 3
	exit 0
fi
grep -v '^[[:space:]]*\(#\|$\)' $list | while read -r name params; do
	n=$((n + 1))
	dmesg -c >/dev/null
	verdict=ok
	# "ko=FILE" first: another build of the module (fault injection).
	ko=$KO
	case $params in
	ko=*) ko=${params%% *} ko=/lib/modules/${ko#ko=}
	      params=$(echo "$params" | cut -s -d' ' -f2-) ;;
	esac
	if ! insmod $ko $params 2>/tmp/insmod.err; then
		echo "# insmod $params: $(cat /tmp/insmod.err)"
		verdict=fail
	else
		start=$(cut -d. -f1 /proc/uptime)
		# A hung test is killed, so that the others still run.
		timeout -s KILL "$TEST_TIMEOUT" /tests/$name >/tmp/out 2>&1
		rc=$?
		sed 's/^/# /' /tmp/out
		echo "# $name: exit $rc after $(( $(cut -d. -f1 /proc/uptime) - start ))s"
		case $rc in
		0) ;;
		4) verdict=skip ;;
		137) echo "# $name: killed after ${TEST_TIMEOUT}s"; verdict=fail ;;
		*) verdict=fail ;;
		esac
		if grep -q '^tcpclose ' /proc/modules && ! rmmod tcpclose; then
			echo "# rmmod tcpclose failed"
			verdict=fail
		fi
	fi
	if kernel_trouble >/tmp/trouble; then
		echo "# kernel log during $name:"
		dmesg | sed 's/^/#   /'
		verdict=fail
	fi
	case $verdict in
	ok) echo "ok $n $name" ;;
	skip) echo "ok $n $name # SKIP" ;;
	*) echo "not ok $n $name" ;;
	esac
done
# Out-of-tree (O, 4096) and unsigned (E, 8192) are expected; nothing else.
tainted=$(cat /proc/sys/kernel/tainted)
if [ $((tainted & ~12288)) -eq 0 ]; then
	echo "ok $((total + 1)) kernel_not_tainted"
else
	echo "# /proc/sys/kernel/tainted = $tainted"
	echo "not ok $((total + 1)) kernel_not_tainted"
fi
# kmemleak: with the module gone, what it allocated and did not free is
# unreferenced.  Two scans (an object that changed since the last scan is
# not reported yet), past kmemleak's 5 s minimum age.  A report is ours when
# it names tcpclose, or when a frame no longer resolves to a symbol (%pS
# prints a bare 0xffffffffc...): in the
# debug lane everything else is built in, so that can only be the unloaded
# module.
if [ $leakcheck = 1 ]; then
	grep -q '^tcpclose ' /proc/modules && rmmod tcpclose
	sleep 6
	echo scan >$KMEMLEAK
	sleep 2
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >/tmp/leaks
	awk '/^unreferenced object/ { if (hit) printf "%s", blk; blk = ""; hit = 0 }
	     { blk = blk $0 "\n" }
	     /tcpclose|(^ +|\] )0x[0-9a-f]+$/ { hit = 1 }
	     END { if (hit) printf "%s", blk }' /tmp/leaks >/tmp/ours
	all=$(grep -c '^unreferenced object' /tmp/leaks)
	ours=$(grep -c '^unreferenced object' /tmp/ours)
	echo "# kmemleak: $all unreferenced objects, $ours of them tcpclose's"
	if [ "$ours" = 0 ]; then
		echo "ok $((total + 2)) kmemleak_tcpclose"
	else
		sed 's/^/#   /' /tmp/ours
		echo "not ok $((total + 2)) kmemleak_tcpclose"
	fi
fi
