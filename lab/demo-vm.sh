#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo-vm.sh [KERNEL] [demo|bench]: boot one kernel in qemu with tcpclose
# and either a small workload (lab/demo.sh), so a newcomer sees the product
# working, or the overhead benchmark (lab/bench.sh).
. "$(dirname "$0")/lib.sh"
cd "$TOP"

"$LAB_DIR/install-deps.sh"
krel=$("$LAB_DIR/fetch-kernel.sh" "${1:-6.1}")
mode=${2:-demo}
obj=$CACHE/build/$krel
rm -rf "$obj" && mkdir -p "$obj"
cp -r Kbuild VERSION module include "$obj/"
make -s -C "$(kdir_of "$krel")" M="$obj" modules >/dev/null ||
	die "module build failed for $krel"
bins="build/static/tcpclose build/static/demo_workload build/static/bench_close"
make -s $bins
mkdir -p "$obj/bin"
cp $bins "$obj/bin/"
"$LAB_DIR/mkinitramfs.sh" "$krel" "$obj/tcpclose.ko" "$obj/bin" \
	"$obj/$mode.gz" "$mode"
say "booting $krel ($mode)"
"$LAB_DIR/run-vm.sh" "$krel" "$obj/$mode.gz" "$obj/$mode.log" 600 |
	grep -v -e '^\[ *[0-9.]*\]' -e SeaBIOS -e 'Booting from' -e 'TCPCLOSE-VM-DONE'
