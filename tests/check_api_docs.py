#!/usr/bin/env python3
"""Checks that the public API is documented everywhere it is declared.

The exported functions are the names in cmake/abi-symbols.txt; the function
declarations of include/reactor.h must be the same set. Each of them needs
  - a man page: an `.Nm` line in the NAME section of a page in man/, and
  - a docs/api.md entry: its declaration at the start of a line in a ```c
    block (the signature the entry opens with).
And the other way round: every reactor_* name in docs/api.md or in a man
page's NAME section is an exported function or a name reactor.h defines (a
type, a callback typedef), so the docs name nothing that does not exist.
Fails listing every gap.

    check_api_docs.py SOURCE_DIR
"""
import glob
import os
import re
import sys

root = sys.argv[1]


def read(*parts):
    with open(os.path.join(root, *parts)) as f:
        return f.read()


symbols = set()
for line in read("cmake", "abi-symbols.txt").splitlines():
    if line.strip() and not line.startswith("#"):
        symbols.add(line.split()[0])

header = re.sub(r"/\*.*?\*/", "", read("include", "reactor.h"), flags=re.S)
header_funcs = set(re.findall(r"\b(reactor_\w+)\s*\(", header))
header_names = set(re.findall(r"\b(reactor_\w+)\b", header))

man = {}  # name -> page
for path in sorted(glob.glob(os.path.join(root, "man", "*.3"))):
    in_name = False
    with open(path) as f:
        for line in f:
            if line.startswith(".Sh "):
                in_name = line.split()[1:] == ["NAME"]
            elif in_name and line.startswith(".Nd"):
                in_name = False
            elif in_name and line.startswith(".Nm "):
                man[line.split()[1]] = os.path.basename(path)

api = read("docs", "api.md")
decl = re.compile(r"^[A-Za-z_][A-Za-z0-9_ *]*[ *](reactor_\w+)\s*\(", re.M)
api_entries = set()
for block in re.findall(r"```c\n(.*?)```", api, re.S):
    api_entries.update(decl.findall(block))
api_names = set(re.findall(r"\b(reactor_\w+)\b", api))

problems = []
for name in sorted(header_funcs - symbols):
    problems.append(f"{name}: declared in include/reactor.h, not in cmake/abi-symbols.txt")
for name in sorted(symbols - header_funcs):
    problems.append(f"{name}: in cmake/abi-symbols.txt, not declared in include/reactor.h")
for name in sorted(symbols):
    if name not in man:
        problems.append(f"{name}: no man page (no .Nm {name} in the NAME section of man/*.3)")
    if name not in api_entries:
        problems.append(f"{name}: no docs/api.md entry (no declaration in a ```c block)")
for name in sorted(api_entries - symbols):
    problems.append(f"{name}: docs/api.md declares a function that is not exported")
for name in sorted(api_names - symbols - header_names):
    problems.append(f"{name}: named in docs/api.md, defined nowhere in include/reactor.h")
for name in sorted(set(man) - symbols):
    problems.append(f"{name}: man/{man[name]} names a function that is not exported")

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"{len(symbols)} exported functions: each has a man page and a docs/api.md entry")
