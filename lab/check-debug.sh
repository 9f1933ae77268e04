#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-debug.sh: the debug lane (Documentation/selftests.rst).  Every VM
# selftest on the debug kernel (lab/debug-kernel.sh builds it on the first
# run), then lab/inject-check.sh: each deliberately injected bug must make
# the lane fail with its sanitizer's report.  Ends with one
# "N passed, N failed" line for both.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

logs=$CACHE/check-debug
mkdir -p "$logs"
# Failures are counted at the end: the injected bugs run either way.
"$LAB_DIR/check.sh" 6.12-debug 2>&1 | tee "$logs/suite.log" || :
"$LAB_DIR/inject-check.sh" 2>&1 | tee "$logs/inject.log" || :
echo
exec "$LAB_DIR/sum-results.sh" "$logs/suite.log" "$logs/inject.log"
