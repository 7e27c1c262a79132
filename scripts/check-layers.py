#!/usr/bin/env python3
"""Layering checks for `make check-deps` (issue 13).

check-layers.py cycles OBJDIR/api     -- fail on any call cycle among api/ files
check-layers.py length MAX FILE...    -- fail on any function longer than MAX lines
                                         (none is excepted: LONG_LEFT below is empty)

The call graph is file-level: file A calls file B when a symbol undefined in
A.o is defined in B.o (nm).  A cycle is a strongly connected component of
more than one file; each is printed with the calls that close it.
"""
import os
import re
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWG" and parts[1].isupper():
            defined.add(parts[2])
    return defined, undefined


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def cycles(objdir):
    objs = sorted(f for f in os.listdir(objdir) if f.endswith(".o"))
    if not objs:
        print(f"check-layers: no objects in {objdir} (build first)")
        return 2
    defs, undefs = {}, {}
    for o in objs:
        name = "api/" + o[:-2] + ".c"
        defs[name], undefs[name] = symbols(os.path.join(objdir, o))
    owner = {s: f for f, ds in defs.items() for s in ds}
    edges, why = {}, {}
    for f, us in undefs.items():
        for s in sorted(us):
            g = owner.get(s)
            if g and g != f:
                edges.setdefault(f, set()).add(g)
                why.setdefault((f, g), s)
    bad = [c for c in sccs(defs.keys(), edges) if len(c) > 1]
    for c in bad:
        print(f"api/ call cycle among {len(c)} files:")
        members = set(c)
        for f in c:
            for g in sorted(edges.get(f, ())):
                if g in members:
                    print(f"  {f} -> {g}  ({why[(f, g)]})")
    if bad:
        print("sizes of the cycles: " + ", ".join(str(len(c)) for c in bad))
        return 1
    return 0


# Functions still longer than the limit, to be split (issue 13): the list
# only shrinks (it is empty now: keep it so).  A function named here that has
# become short is reported too.
LONG_LEFT = set()


def function_name(lines, start):
    head = start - 1
    while head > 0 and "(" not in lines[head]:
        head -= 1
    m = re.search(r"(\w+)\s*\(", lines[head])
    return m.group(1) if m else "?"


def lengths(limit, files):
    bad, seen = 0, set()
    for path in files:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        start = None
        for i, line in enumerate(lines):
            if line.startswith("{"):
                start = i
            elif line.startswith("}") and start is not None:
                n = i - start + 1
                name = function_name(lines, start)
                if n > limit and name in LONG_LEFT:
                    seen.add(name)
                elif n > limit:
                    print(f"{path}:{start + 1}: {name} is {n} lines (at most {limit})")
                    bad += 1
                start = None
    for name in sorted(LONG_LEFT - seen):
        print(f"check-layers: {name} is no longer long: strike it from LONG_LEFT")
        bad += 1
    for name in sorted(seen):
        print(f"check-layers: {name} is still longer than {limit} lines (LONG_LEFT)")
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "cycles":
        return cycles(argv[2] if len(argv) > 2 else "build/obj/api")
    if len(argv) >= 3 and argv[1] == "length":
        return lengths(int(argv[2]), argv[3:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
