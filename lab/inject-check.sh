#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# inject-check.sh [PATCH...]: the debug lane must catch a deliberate bug.
# Each patch of lab/inject/ (or those given) is applied to a copy of the
# module, and a few selftests run on the debug kernel (6.12-debug): the run
# must fail, and its VM log must hold the report the patch's "# expect:"
# line names.  Ends with "N passed, N failed", like check.sh.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

patches=${*:-$LAB_DIR/inject/*.patch}
tests=${TCPCLOSE_TESTS:-"active_close passive_close_stuck"}
pass=0 fail=0
for p in $patches; do
	name=$(basename "$p" .patch)
	expect=$(sed -n 's/^# expect: //p' "$p")
	[ -n "$expect" ] || die "$p has no '# expect:' line"
	log=$CACHE/inject-$name.log
	echo "=== injected bug: $name (expecting: $expect)"
	rc=0
	TCPCLOSE_INJECT=$p TCPCLOSE_TESTS=$tests \
		TCPCLOSE_VM_TIMEOUT=${DEBUG_VM_TIMEOUT:-5400} \
		VM_MEM=${DEBUG_VM_MEM:-2048} \
		"$LAB_DIR/check.sh" 6.12-debug >"$log" 2>&1 || rc=$?
	vmlog=$CACHE/results/6.12-debug-vm.tap
	if [ "$rc" != 0 ] && grep -qF "$expect" "$vmlog"; then
		echo "ok: the run failed, and the kernel said:"
		grep -F -A12 "$expect" "$vmlog" | head -n 14 | sed 's/^/  /'
		pass=$((pass + 1))
	else
		echo "not ok: exit $rc; '$expect' not in $vmlog (log: $log)"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
