#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Cross-check Documentation/ABI/testing/dev-tcpclose against the uapi
header: every structure's fields, order, offsets and sizes (measured by
compiling the header), the ioctl numbers and the ABI version.  The header
is the definition; the document must agree with it."""
import os
import re
import subprocess
import sys
import tempfile

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
hdr = open(os.path.join(top, "include/uapi/linux/tcpclose.h")).read()
doc = open(os.path.join(top, "Documentation/ABI/testing/dev-tcpclose")).read()
errors = []

# struct name -> [field names], from the header
structs = {}
for m in re.finditer(r"struct (tcpclose_\w+) \{(.*?)\n\};", hdr, re.S):
    fields = re.findall(r"^\s*(?:__u\d+|char)\s+(\w+)(?:\[\w+\])?;",
                        m.group(2), re.M)
    structs[m.group(1)] = fields

# struct name -> (documented size, [(offset, size, field)]), from the doc
tables = {}
cur = None
for line in doc.splitlines():
    h = re.search(r"struct (tcpclose_\w+) \((\d+) bytes\)", line)
    if h:
        cur = h.group(1)
        tables[cur] = (int(h.group(2)), [])
        continue
    row = re.match(r"\s+(\d+)\s+(\d+)\s+(\w+)\s", line)
    if row and cur:
        tables[cur][1].append((int(row.group(1)), int(row.group(2)),
                               row.group(3)))

for name in structs:
    if name not in doc:
        errors.append(f"{name} is not mentioned in the ABI document")

prog = ["#include <stdio.h>", "#include <stddef.h>",
        "#include <linux/tcpclose.h>", "int main(void) {"]
for name in tables:
    if name not in structs:
        errors.append(f"the document describes {name}, the header has none")
        continue
    prog.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
    for f in structs[name]:
        prog.append(f'printf("{name}.{f} %zu %zu\\n", '
                    f'offsetof(struct {name}, {f}), '
                    f'sizeof(((struct {name} *)0)->{f}));')
prog.append("return 0; }")

with tempfile.TemporaryDirectory() as tmp:
    src, exe = os.path.join(tmp, "abi.c"), os.path.join(tmp, "abi")
    open(src, "w").write("\n".join(prog))
    subprocess.run(["cc", "-I", os.path.join(top, "include/uapi"), "-o",
                    exe, src], check=True)
    out = subprocess.run([exe], capture_output=True, text=True,
                         check=True).stdout
measured = {}
for line in out.splitlines():
    parts = line.split()
    measured[parts[0]] = tuple(int(x) for x in parts[1:])

for name, (size, rows) in tables.items():
    if name not in structs:
        continue
    if measured[name][0] != size:
        errors.append(f"{name}: document says {size} bytes, "
                      f"header gives {measured[name][0]}")
    doc_fields = [r[2] for r in rows]
    if doc_fields != structs[name]:
        errors.append(f"{name}: fields differ\n  header:   "
                      f"{structs[name]}\n  document: {doc_fields}")
        continue
    for off, sz, f in rows:
        if measured[f"{name}.{f}"] != (off, sz):
            errors.append(f"{name}.{f}: document says offset {off} size "
                          f"{sz}, header gives {measured[name + '.' + f]}")

for req, nr in re.findall(r"#define (TCPCLOSE_IOC_\w+)\s+_IO\w*\("
                          r"TCPCLOSE_IOC_MAGIC, (\d+)", hdr):
    if not re.search(rf"{req}\s+{nr}\s", doc):
        errors.append(f"{req} ({nr}) is not documented with its number")
magic = re.search(r"#define TCPCLOSE_IOC_MAGIC\s+(\w+)", hdr).group(1)
if f"magic {magic}" not in doc:
    errors.append(f"ioctl magic {magic} not documented")
version = re.search(r"#define TCPCLOSE_ABI_VERSION\s+(\d+)", hdr).group(1)
if f"TCPCLOSE_ABI_VERSION ({version})" not in doc:
    errors.append(f"ABI version {version} not documented")

for e in errors:
    print("abi_check:", e)
print(f"abi_check: {len(tables)} structures checked, {len(errors)} problems")
sys.exit(1 if errors else 0)
