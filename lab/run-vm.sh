#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run-vm.sh KREL INITRD LOG [TIMEOUT]: boot one kernel under qemu (TCG) and
# stream its serial console to stdout and LOG (loglevel 5: warnings with
# their stack traces).  Exits non-zero when the
# guest did not finish (timeout, panic, oops: oops=panic makes an oops end
# the run at once).  VM_MEM sets the guest's memory in MB (default 1024;
# the bench raises it for bpftrace's libraries in the initramfs).
# VM_TCG_THREAD=single runs both vCPUs on one host thread (see
# Documentation/selftests.rst: the emulator's cross-vCPU code patching).
# One qemu line for every kernel the lab has: Debian's amd64, rt-amd64 and
# cloud-amd64 flavours and the debug kernel all have the 8250 serial
# console built in (ttyS0) and ACPI for poweroff on q35.
. "$(dirname "$0")/lib.sh"

krel=$1 initrd=$2 log=$3 tmo=${4:-900}
kernel=$CACHE/kernels/$krel/vmlinuz
[ -e "$kernel" ] || die "no kernel image for $krel"

set +e
timeout --foreground -k 10 "$tmo" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread="${VM_TCG_THREAD:-multi}" \
	-cpu max -smp 2 -m "${VM_MEM:-1024}" \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=5 panic=-1 oops=panic" \
	</dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ]; then
	echo "lab: $krel: VM timed out after ${tmo}s" | tee -a "$log"
	exit 1
fi
grep -q "TCPCLOSE-VM-DONE" "$log" || {
	echo "lab: $krel: VM did not finish (panic, oops or crash; log: $log)" | tee -a "$log"
	exit 1
}
