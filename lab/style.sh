#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl over the module and the uapi header.  checkpatch comes from
# Debian's linux-source package (a build input, extracted into .cache).
. "$(dirname "$0")/lib.sh"

cp_dir=$CACHE/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$DEBS" "$cp_dir"
	pkg=$(apt-cache pkgnames linux-source-6.12 | sort -V | tail -n1)
	[ -n "$pkg" ] || die "no linux-source-6.12 package"
	( cd "$DEBS" && apt-get download "$pkg" >/dev/null 2>&1 ) ||
		die "apt-get download $pkg failed"
	deb=$(ls "$DEBS/${pkg}_"*.deb | tail -n1)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards '*/linux-source-*.tar.xz' |
		tar -xJ -C "$cp_dir" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch' ||
		die "cannot extract checkpatch.pl from $pkg"
fi
cd "$TOP"
"$cp_dir/scripts/checkpatch.pl" --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES -f \
	module/*.c module/*.h include/uapi/linux/tcpclose.h
