#!/usr/bin/env python3
"""The house rules of the source tree, checked from the code itself.

Rooms, bottom to top (ROOMS): a file may include headers of its own room and of rooms
below it, never above. A module is x.c with x.h (x_private.h belongs to x too); the
module-level include graph has no cycle. No source file outside tests/ is longer than
MAX_LINES. Prints every breach with the file and line, and exits 1 if there is one.

Usage: check_layers.py [SOURCE_DIR]   (default: the directory above this script)
"""
import os
import re
import sys

ROOMS = ["util", "vfio", "encoder", "config", "input", "server", "capture", "control",
         "app"]
# Outside the rooms: they may use any room (they are not included by one).
OTHER_SOURCES = ["bench", "tools"]
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    base = path.rsplit(".", 1)[0]
    return base[: -len("_private")] if base.endswith("_private") else base


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    os.chdir(root)
    breaches = []
    by_name = {}
    for room in ROOMS:
        if not os.path.isdir(room):
            continue
        for name in sorted(os.listdir(room)):
            if name.endswith((".c", ".h")):
                if name in by_name:
                    breaches.append(f"{room}/{name}: the name is taken by {by_name[name]} "
                                    "(includes are by basename)")
                by_name[name] = f"{room}/{name}"

    graph = {}
    for name, path in sorted(by_name.items()):
        room = path.split("/")[0]
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = by_name.get(os.path.basename(m.group(1)))
                if not target:
                    continue
                to_room = target.split("/")[0]
                if ROOMS.index(to_room) > ROOMS.index(room):
                    breaches.append(f"{path}:{lineno}: includes {target}, a room above "
                                    f"{room}/ (order: {' < '.join(ROOMS)})")
                a, b = module_of(path), module_of(target)
                if a != b:
                    graph.setdefault(a, set()).add(b)

    for cycle in cycles(graph):
        breaches.append("modules that include each other in a circle: " + ", ".join(cycle))

    for top in ROOMS + OTHER_SOURCES:
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8") as f:
                        n = sum(1 for _ in f)
                    if n > MAX_LINES:
                        breaches.append(f"{path}: {n} lines (at most {MAX_LINES}: split it "
                                        "by concern)")

    for b in breaches:
        print(b)
    print(f"{len(by_name)} files in {len(ROOMS)} rooms, {len(breaches)} breaches")
    return 1 if breaches else 0


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
