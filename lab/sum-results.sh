#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# sum-results.sh LOG...: one "N passed, N failed" line for several runs,
# each of which ended its LOG with such a line.  A LOG without one (a run
# that died early) counts as one failure.  Exits non-zero on any failure.
pass=0 fail=0
for log in "$@"; do
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" 2>/dev/null | tail -n1)
	if [ -z "$line" ]; then
		echo "no result line in $log: counted as a failure"
		fail=$((fail + 1))
		continue
	fi
	# shellcheck disable=SC2086
	set -- $line
	pass=$((pass + $1)) fail=$((fail + $3))
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
