#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM: every selftest of tests.list against a freshly loaded
# module, as one TAP stream (sub-test output is indented as comments).
# A test also fails when the kernel logged a warning or bug while it ran.
KO=/lib/modules/tcpclose.ko
TEST_TIMEOUT=240	# the longest test waits out 60 s of TIME_WAIT
list=/tests/tests.list
total=$(grep -cv '^[[:space:]]*\(#\|$\)' $list)
n=0
echo "TAP version 13"
echo "1..$((total + 1))"
kernel_trouble() {
	dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|UBSAN|KASAN|refcount_t:|list_(add|del) corruption|tcpclose.*(leak|busy)'
}
grep -v '^[[:space:]]*\(#\|$\)' $list | while read -r name params; do
	n=$((n + 1))
	dmesg -c >/dev/null
	verdict=ok
	if ! insmod $KO $params 2>/tmp/insmod.err; then
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
