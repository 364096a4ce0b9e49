#!/usr/bin/env python3
"""include_graph.py — the include graph of sensor/, dissectors/ and include/, folded to modules,
and a check that it has no cycle.

  tests/include_graph.py [--root DIR] [--quiet]

A module is a file name without its ending: include/eve.h and sensor/output/eve.c are module
`eve`; a .c without a header of its name (main.c, pipeline.c) is a module alone. Every
`#include "x.h"` of a header (header -> header) or a source file (.c -> header) is an edge from
the including file's module to the included header's module, when that header is one of ours
(found beside the including file or under include/); system headers (<...>) and the module's own
header are not edges.

Prints each module with the modules it includes, then every cycle found (each strongly connected
group of more than one module, with one cycle through it spelled out). A module that includes
itself through its own files (a.c -> b.h -> a.h) is the same kind of loop.

Why: a cycle means no module of it can be understood, tested or replaced without the others
(sensor.c -> applayer -> eve -> sensor ...). Layers must point one way.

ALLOWED names the cycles that are by design; none today. (The decoders' recursion through
tunnels is no cycle here: decode_tunnel.c calls back into decode_ip.c through decode.h, and
decode.h includes none of them.) KNOWN names the cycles found when this check was written and
not yet undone, each with why; they are printed but do not fail the check unless --strict.
Remove an entry once its cycle is gone (the check then says so); a cycle not listed, a new
one, fails.

Exit 0: no cycle beyond ALLOWED and KNOWN; 1: a cycle; 2: usage.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ("sensor", "dissectors", "include")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Cycles allowed by name: sets of module names whose mutual inclusion is by design.
ALLOWED = []

# Cycles left to undo, each the set of its modules and why it is there (none: keep it so).
KNOWN = []


def module_of(path):
    return os.path.splitext(os.path.basename(path))[0]


def scan(root):
    """Returns {module: set(module)} and {module: [files]} for the tree under root."""
    files = []
    for d in DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, d)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    files.append(os.path.join(dirpath, n))
    headers = {}
    for f in files:
        if f.endswith(".h"):
            headers.setdefault(os.path.basename(f), []).append(f)
    graph, members = {}, {}
    inc_dir = os.path.join(root, "include")
    for f in sorted(files):
        m = module_of(f)
        members.setdefault(m, []).append(os.path.relpath(f, root))
        graph.setdefault(m, set())
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for name in INCLUDE_RE.findall(text):
            # As the compiler looks: beside the including file first, then include/.
            beside = os.path.normpath(os.path.join(os.path.dirname(f), name))
            target = None
            if os.path.isfile(beside):
                target = beside
            elif os.path.isfile(os.path.join(inc_dir, name)):
                target = os.path.join(inc_dir, name)
            if target is None:
                continue  # not ours (or generated): not an edge
            t = module_of(target)
            if t != m:
                graph[m].add(t)
    return graph, members


def sccs(graph):
    """Tarjan's strongly connected components, iterative; each as a sorted list."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def one_cycle(graph, comp):
    """A shortest cycle through the first module of comp, within comp (breadth first)."""
    inside = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w not in inside:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=ROOT, help="project root (default: this checkout)")
    ap.add_argument("--quiet", action="store_true", help="print only the cycles")
    ap.add_argument("--strict", action="store_true", help="fail on the KNOWN cycles too")
    a = ap.parse_args()
    graph, _ = scan(a.root)
    if not a.quiet:
        for m in sorted(graph):
            print("%s -> %s" % (m, " ".join(sorted(graph[m])) or "-"))
    allowed = [set(c) for c in ALLOWED]
    known = {frozenset(c): why for c, why in KNOWN}
    bad, seen = 0, set()
    for comp in sccs(graph):
        if len(comp) < 2:
            continue
        path = " -> ".join(one_cycle(graph, comp))
        key = frozenset(comp)
        seen.add(key)
        if set(comp) in allowed:
            print("allowed cycle: %s (%s)" % (" ".join(comp), path))
        elif key in known and not a.strict:
            print("known cycle, left to undo: %s (%s): %s" % (" ".join(comp), path, known[key]))
        else:
            print("CYCLE: %s (%s)" % (" ".join(comp), path))
            bad += 1
    for key in known:
        if key not in seen:
            print("note: KNOWN entry with no such cycle now (remove it): %s"
                  % " ".join(sorted(key)))
    print("%d module%s, %d cycle%s failing" % (len(graph), "" if len(graph) == 1 else "s", bad,
                                               "" if bad == 1 else "s"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
