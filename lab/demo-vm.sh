#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo-vm.sh [KERNEL]: boot one kernel in qemu with tcpclose loaded and a
# small workload (lab/demo.sh), so a newcomer sees the product working.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

"$LAB_DIR/install-deps.sh"
krel=$("$LAB_DIR/fetch-kernel.sh" "${1:-6.1}")
obj=$CACHE/build/$krel
rm -rf "$obj" && mkdir -p "$obj"
cp -r Kbuild VERSION module include "$obj/"
make -s -C "$(kdir_of "$krel")" M="$obj" modules >/dev/null ||
	die "module build failed for $krel"
make -s build/static/tcpclose build/static/demo_workload
mkdir -p "$obj/bin"
cp build/static/tcpclose build/static/demo_workload "$obj/bin/"
"$LAB_DIR/mkinitramfs.sh" "$krel" "$obj/tcpclose.ko" "$obj/bin" \
	"$obj/demo.gz" demo
say "booting $krel (about 10 s to boot under TCG, then 15 s of demo)"
"$LAB_DIR/run-vm.sh" "$krel" "$obj/demo.gz" "$obj/demo.log" 300 |
	grep -v -e '^\[ *[0-9.]*\]' -e SeaBIOS -e 'Booting from' -e 'TCPCLOSE-VM-DONE'
