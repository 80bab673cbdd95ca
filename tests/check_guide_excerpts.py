#!/usr/bin/env python3
"""Checks that docs/guide.md quotes examples/guide/ faithfully: every line of
every ```c block (other than "...") must appear, trimmed, in one of the
programs. Fails naming the first line that drifted.

    check_guide_excerpts.py GUIDE.md EXAMPLES_DIR
"""
import glob
import os
import re
import sys

guide, examples = sys.argv[1], sys.argv[2]
source = set()
for path in glob.glob(os.path.join(examples, "*.c")):
    with open(path) as f:
        source.update(line.strip() for line in f)
with open(guide) as f:
    blocks = re.findall(r"```c\n(.*?)```", f.read(), re.S)
bad = [line.strip() for b in blocks for line in b.splitlines()
       if line.strip() not in ("", "...") and line.strip() not in source]
if not blocks or bad:
    print(f"FAIL: {len(blocks)} excerpts; not in {examples}: {bad[:5]}")
    sys.exit(1)
print(f"PASS: {len(blocks)} excerpts match the programs")
