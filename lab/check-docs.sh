#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Documentation checks: every .rst parses (docutils, warnings are errors),
# the ABI document agrees with the uapi header, the man page renders and
# documents every option of the reader's --help, golden JSON is UTF-8 JSON.
. "$(dirname "$0")/lib.sh"
cd "$TOP"
fail=0

for f in Documentation/*.rst; do
	python3 - "$f" <<'PY' || fail=1
import sys, docutils.core, docutils.utils
from docutils.parsers.rst import Directive, directives

class Toctree(Directive):
    """Sphinx's toctree, which plain docutils lacks: accept, render nothing."""
    has_content = True
    option_spec = {"maxdepth": directives.unchanged}

    def run(self):
        return []

directives.register_directive("toctree", Toctree)
try:
    docutils.core.publish_doctree(open(sys.argv[1]).read(),
        source_path=sys.argv[1],
        settings_overrides={"halt_level": 2, "report_level": 2})
except docutils.utils.SystemMessage as e:
    print(f"{sys.argv[1]}: {e}")
    sys.exit(1)
PY
done

python3 lab/abi_check.py || fail=1

if command -v groff >/dev/null; then
	warn=$(groff -man -ww -z Documentation/tcpclose.8 2>&1)
	[ -z "$warn" ] || { echo "tcpclose.8: $warn"; fail=1; }
fi
make -s build/tcpclose
for cmd in watch stuck stats metrics; do
	for opt in $(build/tcpclose $cmd --help | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" Documentation/tcpclose.8 ||
			{ echo "tcpclose.8 does not document $cmd $opt"; fail=1; }
	done
done

python3 -c '
import glob, json
for path in glob.glob("selftests/host/golden/*.json*"):
    for l in open(path, encoding="utf-8"):
        json.loads(l)
' || fail=1

[ "$fail" = 0 ] && echo "docs: all checks passed"
exit "$fail"
