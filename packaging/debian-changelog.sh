#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# debian-changelog.sh VERSION: the debian/changelog entry `make deb` builds
# with, so that the packages' version is VERSION and nothing else.  The date
# is the last commit's, for reproducible packages.
set -eu
version=${1:?usage: debian-changelog.sh VERSION}
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
cat <<END
tcpclose ($version) unstable; urgency=medium

  * Release $version; the git history has the changes.

 -- tcpclose maintainers <maintainers@users.noreply.r-seed-878890c5.example>  $date
END
