#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check.sh [KERNEL...]: the whole test run behind `make check`.
#   host: ring stress under TSan, decoder and reader tests, docs, style
#   each kernel: W=1 build, sparse, then every selftest in qemu VMs (one
#   boot; in the normal lane two: see boot_tests)
# KERNEL is a name of lib.sh's KERNEL_NAMES: 6.1, 6.12, their -rt and -cloud
# flavours, or 6.12-debug, the debug lane (lab/debug-kernel.sh builds it
# once; no packaging steps there; VM timeout and memory raised, see below).
# Ends with "N passed, N failed"; exits non-zero on any failure.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

kernels=${*:-6.1 6.12}
results=$CACHE/results
rm -rf "$results"
mkdir -p "$results"
pass=0 fail=0 failed_names=

record() { # record NAME ok|fail
	if [ "$2" = ok ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed_names="$failed_names $1"
	fi
}

# Counts the top-level TAP results of one stream (indented lines and
# comments are a test's own detail).
tally_tap() { # tally_tap PREFIX FILE
	local prefix=$1 file=$2 status name
	while read -r status name; do
		record "$prefix/$name" "$status"
	done < <(sed -n -E 's/^ok [0-9]+ ([^#]*[^# ])( # SKIP.*)?$/ok \1/p;
			    s/^not ok [0-9]+ ([^#]*[^# ]).*$/fail \1/p' "$file")
}

run_step() { # run_step NAME LOG COMMAND...: one pass/fail step
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		record "$name" ok
	else
		record "$name" fail
		echo "--- $name failed; its output:"
		tail -n 60 "$log"
	fi
}

# kbuild_step NAME LOG KDIR OBJ FLAG: a module build that must be clean:
# any warning or error fails the step.
kbuild_step() {
	local name=$1 log=$2 kdir=$3 obj=$4 flag=$5
	if make -C "$kdir" M="$obj" "$flag" modules >"$log" 2>&1 &&
	   ! grep -E 'warning:|error:' "$log"; then
		record "$name" ok
	else
		record "$name" fail
		tail -n 40 "$log"
		return 1
	fi
}

# boot_tests K PART THREAD PREFIX: the selftests of PART (select_tests())
# in one VM under TCG with THREAD (multi, single), tallied under PREFIX.
# Uses the loop's krel, lane, obj, fiobj, tmo and mem.
boot_tests() {
	local k=$1 part=$2 thread=$3 prefix=$4 log attempt vm_ok
	[ -n "$(select_tests "$part")" ] || return 0
	log=$results/$k-vm.log
	[ "$part" != single ] || log=$results/$k-vm-single.log
	TCPCLOSE_LANE=$lane TCPCLOSE_FI_KO=$fiobj/tcpclose.ko \
		TCPCLOSE_TCG_PART=$part \
		"$LAB_DIR/mkinitramfs.sh" "$krel" "$obj/tcpclose.ko" \
		build/static "$obj/initrd.gz" check
	# A kernel that reported a bug while booting, before the module was
	# loaded, is booted again (selftests/vm-run.sh says so), twice at most.
	for attempt in 1 2 3; do
		echo "--- booting $krel ($lane lane, $part tests, ${thread}-threaded TCG, ${mem} MB, timeout ${tmo}s)"
		set +e	# a failed VM is counted below, not fatal
		VM_TCG_THREAD=$thread VM_MEM=$mem \
			"$LAB_DIR/run-vm.sh" "$krel" "$obj/initrd.gz" "$log" \
			"$tmo" | sed 's/^/  /'
		vm_ok=${PIPESTATUS[0]}
		set -e
		grep -q TCPCLOSE-BOOT-TAINTED "$log" || break
		mv "$log" "${log%.log}-boot$attempt.log"
		echo "--- $krel reported a bug while booting, before tcpclose was loaded (kept: ${log%.log}-boot$attempt.log)"
		if [ $attempt = 3 ]; then
			cp "${log%.log}-boot$attempt.log" "$log"
			record "$prefix/boot_clean" fail
		fi
	done
	tr -d '\r' <"$log" >"${log%.log}.tap"
	tally_tap "$prefix" "${log%.log}.tap"
	[ "$vm_ok" = 0 ] || record "$prefix/vm_finished" fail
}

"$LAB_DIR/install-deps.sh"

echo "=== host tests"
run_step host/build "$results/host-build.log" make -s host-tests
if [ -x build/host/ring_stress ]; then
	for t in build/host/*; do
		name=$(basename "$t")
		out=$results/host-$name.tap
		rc=0
		"$t" >"$out" 2>&1 || rc=$?
		sed 's/^/  /' "$out"
		# A crash, a sanitizer report (exit 66) or silence must not pass.
		if [ "$rc" != 0 ] || ! grep -q '^# Totals: .*fail:0 ' "$out"; then
			echo "not ok 0 exit_status_$rc" >>"$out"
		fi
		tally_tap "host/$name" "$out"
	done
fi
run_step host/docs "$results/docs.log" "$LAB_DIR/check-docs.sh"
run_step host/promtool "$results/fleet-promtool.log" "$LAB_DIR/check-fleet.sh" promtool
run_step host/systemd_units "$results/fleet-units.log" "$LAB_DIR/check-fleet.sh" units
run_step host/lintian "$results/fleet-lintian.log" "$LAB_DIR/check-fleet.sh" lintian

for k in $kernels; do
	echo "=== kernel $k"
	lane=$(lane_of "$k")
	krel=$("$LAB_DIR/fetch-kernel.sh" "$k") || { record "$k/fetch" fail; continue; }
	kdir=$(kdir_of "$krel")
	obj=$CACHE/build/$krel
	rm -rf "$obj" && mkdir -p "$obj"
	# Build a private copy so that kernels do not share objects.
	cp -r Kbuild VERSION module include "$obj/"
	# lab/inject-check.sh: a deliberate bug, to show the debug lane fails.
	if [ -n "${TCPCLOSE_INJECT:-}" ]; then
		patch -s -d "$obj" -p1 <"$TCPCLOSE_INJECT" ||
			die "cannot apply $TCPCLOSE_INJECT"
	fi
	kbuild_step "$k/build_W=1" "$results/$k-build.log" "$kdir" "$obj" W=1 ||
		continue
	make -C "$kdir" M="$obj" clean >/dev/null 2>&1
	kbuild_step "$k/sparse" "$results/$k-sparse.log" "$kdir" "$obj" C=1 || :
	# The packaging does not depend on the kernel's debug options.
	if [ "$lane" != debug ]; then
		run_step "$k/dkms_build" "$results/$k-dkms.log" "$LAB_DIR/dkms-check.sh" "$krel"
		run_step "$k/deb_cycle" "$results/$k-deb-cycle.log" \
			"$LAB_DIR/check-fleet.sh" deb-cycle "$krel"
		run_step "$k/install_modinfo" "$results/$k-install.log" \
			"$LAB_DIR/install-check.sh" "$krel"
	fi
	# The selftest variant with fault injection (module/hooks.c), for
	# the tests that must show what happens when a probe hit is missed.
	fiobj=$obj-fault-inject
	rm -rf "$fiobj" && mkdir -p "$fiobj"
	cp -r Kbuild VERSION module include "$fiobj/"
	kbuild_step "$k/build_fault_inject" "$results/$k-build-fi.log" "$kdir" \
		"$fiobj" TCPCLOSE_FAULT_INJECT=1 || continue
	make -s selftests-static >"$results/static.log" 2>&1 || {
		record "$k/selftests_build" fail
		tail -n 40 "$results/static.log"
		continue
	}
	# KASAN's shadow takes an eighth of memory, and everything runs
	# several times slower: the debug lane's own defaults.
	# Both vCPUs on one host thread there: multi-threaded TCG executes
	# stale int3s after cross-CPU code patching (Documentation/selftests.rst).
	# The normal lane keeps multi-threaded TCG (real parallelism for the
	# race tests, and speed) and boots the tests that unload under churn
	# (tcg=single in tests.list) apart, single-threaded.
	# A TCPCLOSE_TESTS that names no test must not pass by running none.
	if [ -z "$(select_tests all)" ]; then
		record "$k/selftests_selected" fail
		echo "--- TCPCLOSE_TESTS=\"${TCPCLOSE_TESTS:-}\" names no test of selftests/tests.list"
		continue
	fi
	if [ "$lane" = debug ]; then
		tmo=${TCPCLOSE_VM_TIMEOUT:-5400} mem=${VM_MEM:-2048}
		boot_tests "$k" all "${VM_TCG_THREAD:-single}" "$k"
	else
		tmo=${TCPCLOSE_VM_TIMEOUT:-900} mem=${VM_MEM:-1024}
		boot_tests "$k" multi "${VM_TCG_THREAD:-multi}" "$k"
		boot_tests "$k" single single "$k/single-threaded-tcg"
	fi
done

run_step style/checkpatch "$results/checkpatch.log" "$LAB_DIR/style.sh"

echo
if [ "$fail" -gt 0 ]; then
	echo "failed:"
	for f in $failed_names; do echo "  $f"; done
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
