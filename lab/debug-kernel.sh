#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debug-kernel.sh [--config-only|--krel]: the debug lane's kernel, built
# once from Debian's linux-source-6.12 with lab/debug.config merged onto
# x86_64 defconfig (KASAN, lockdep, PROVE_RCU, kmemleak, UBSAN, ...).
#
# The build lands in the lab's layout, like a fetched kernel:
#   .cache/kernels/KREL/vmlinuz                       bzImage
#   .cache/kernels/KREL/root/usr/src/linux-headers-KREL   the O= tree,
#        prepared for out-of-tree modules (make -C it M=...)
#   .cache/kernels/KREL/root/lib/modules/KREL/        modules.builtin, an
#        empty modules.dep: everything the lab needs is built in
# KREL is 6.12.N-tcpclose-debug-HASH, HASH over the fragment, the source
# package's version and RECIPE below: a changed fragment or a new Debian
# release builds a new kernel beside the old one; a second run with nothing
# changed does nothing.  Prints KREL on stdout.
#   --config-only   stop after olddefconfig and the check of the options
#   --krel          print KREL without unpacking or building anything
. "$(dirname "$0")/lib.sh"

mode=${1:-build}
case $mode in
build|--config-only|--krel) ;;
*) die "usage: debug-kernel.sh [--config-only|--krel]" ;;
esac

SRCPKG=linux-source-6.12
# Bump when the steps below change what is built from the same fragment.
RECIPE="x86_64 defconfig + debug.config, bzImage modules, r1"
frag=$LAB_DIR/debug.config

if ! apt-cache show "$SRCPKG" >/dev/null 2>&1; then
	apt-get update -qq || die "apt-get update failed"
fi
ver=$(apt-cache policy "$SRCPKG" | sed -n 's/^ *Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
	die "no $SRCPKG in the package lists; run 'apt-get update'"
key=$( { cat "$frag"; echo "$SRCPKG $ver"; echo "$RECIPE"; } |
       sha256sum | cut -c1-10)
# 6.12.117-1~deb12u1 -> 6.12.117; checked against the tree's Makefile below.
krel=${ver%%-*}-tcpclose-debug-$key
if [ "$mode" = --krel ]; then
	echo "$krel"
	exit 0
fi

dest=$CACHE/kernels/$krel
kdir=$(kdir_of "$krel")
if [ -e "$dest/.done" ]; then
	say "debug kernel $krel is built; nothing to do"
	echo "$krel"
	exit 0
fi

# The tools a kernel build needs beyond what install-deps.sh brings.
missing=
for p in build-essential bc flex bison libelf-dev libssl-dev kmod cpio xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		die "apt-get install failed for:$missing"
fi

# The source, unpacked once per Debian version and shared by every HASH.
srcroot=$CACHE/src/$SRCPKG-$ver
src=$srcroot/$SRCPKG
if [ ! -e "$srcroot/.unpacked" ]; then
	mkdir -p "$DEBS"
	deb=$(ls "$DEBS/${SRCPKG}_${ver}_all.deb" 2>/dev/null || true)
	if [ -z "$deb" ]; then
		say "fetching $SRCPKG $ver"
		( cd "$DEBS" && apt-get download "$SRCPKG=$ver" >/dev/null 2>&1 ) ||
			die "apt-get download $SRCPKG=$ver failed"
		deb=$(ls "$DEBS/${SRCPKG}_${ver}_all.deb") ||
			die "$SRCPKG $ver was not downloaded"
	fi
	say "unpacking $SRCPKG $ver into $srcroot"
	rm -rf "$srcroot"
	mkdir -p "$srcroot"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$SRCPKG.tar.xz" | xz -dc | tar -x -C "$srcroot" ||
		die "unpacking $deb failed"
	[ -f "$src/Makefile" ] || die "no $src/Makefile in $deb"
	touch "$srcroot/.unpacked"
fi
tree_ver=$(make -s -C "$src" kernelversion)
[ "$tree_ver" = "${ver%%-*}" ] ||
	die "$SRCPKG $ver holds kernel $tree_ver, not ${ver%%-*}"

kmake() { make -C "$src" O="$kdir" ARCH=x86_64 "$@"; }

# check_config: every line of the fragment holds in .config.  Kconfig
# drops an option whose dependencies are not met without a word.
check_config() {
	local line opt want have n=0 bad=
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*} want=${line#*=}
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# } opt=${opt%% *} want=n
			;;
		*) continue ;;
		esac
		n=$((n + 1))
		have=$(sed -n "s/^$opt=//p" "$kdir/.config")
		[ -n "$have" ] || have=n
		if [ "$have" != "$want" ]; then
			bad="$bad$opt: want $want, have $have"$'\n'
		fi
	done <"$frag"
	if [ -n "$bad" ]; then
		echo "lab: debug.config: not in the kernel's .config after olddefconfig" \
		     "(a dependency is missing or a choice differs):" >&2
		printf '  %s' "$bad" | sed '/^  $/d' >&2
		return 1
	fi
	say "debug.config: all $n options hold in $kdir/.config"
}

if [ ! -e "$kdir/.config-checked" ]; then
	mkdir -p "$kdir"
	say "configuring $krel in $kdir"
	kmake -s defconfig
	( cd "$kdir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" \
		"$kdir/.config" "$frag" >"$kdir/merge_config.log" 2>&1 ) ||
		{ cat "$kdir/merge_config.log" >&2; die "merge_config.sh failed"; }
	"$src/scripts/config" --file "$kdir/.config" \
		--set-str LOCALVERSION "-tcpclose-debug-$key" \
		--disable LOCALVERSION_AUTO
	kmake -s olddefconfig
	check_config || die "fix lab/debug.config"
	# defconfig leaves a few drivers modular (thermal, efivarfs) that
	# the VM never loads: none, so that there is no module to install.
	if grep -q '=m$' "$kdir/.config"; then
		kmake -s mod2noconfig
		check_config || die "mod2noconfig changed lab/debug.config's options"
	fi
	touch "$kdir/.config-checked"
else
	check_config || die "$kdir/.config no longer matches lab/debug.config"
fi
# (kernelrelease reads auto.conf, which only the build writes.)
grep -qx "CONFIG_LOCALVERSION=\"-tcpclose-debug-$key\"" "$kdir/.config" ||
	die "$kdir/.config lost its LOCALVERSION"
if [ "$mode" = --config-only ]; then
	say "configured $krel (--config-only: not built)"
	echo "$krel"
	exit 0
fi

# bzImage, and `modules` for Module.symvers (there is no module to build):
# external modules then build against the tree without a warning.
say "building $krel with -j$(nproc) (log: $kdir/build.log)"
start=$(date +%s)
kmake -j"$(nproc)" bzImage modules >"$kdir/build.log" 2>&1 ||
	{ tail -n 40 "$kdir/build.log" >&2; die "the kernel build failed"; }
kmake -j"$(nproc)" modules_prepare >>"$kdir/build.log" 2>&1 ||
	{ tail -n 40 "$kdir/build.log" >&2; die "modules_prepare failed"; }
secs=$(( $(date +%s) - start ))
for f in arch/x86/boot/bzImage Module.symvers modules.builtin; do
	[ -f "$kdir/$f" ] || die "the build made no $f"
done

# The lab's layout: the image, and a module directory for mkinitramfs.sh.
moddir=$dest/root/lib/modules/$krel
mkdir -p "$moddir"
cp "$kdir/modules.builtin" "$moddir/"
[ -f "$kdir/modules.builtin.modinfo" ] && cp "$kdir/modules.builtin.modinfo" "$moddir/"
depmod -b "$dest/root" "$krel" 2>/dev/null || : >"$moddir/modules.dep"
[ -f "$moddir/modules.dep" ] || : >"$moddir/modules.dep"
ln -sf "$kdir/arch/x86/boot/bzImage" "$dest/vmlinuz"
echo "$secs" >"$dest/build-seconds"
touch "$dest/.done"
say "built $krel in ${secs}s on $(nproc) CPUs"
echo "$krel"
