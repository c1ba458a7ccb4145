#!/usr/bin/python3
"""The layering check: reads the #include "..." lines and the function declarations and
definitions of detour's C sources and fails, naming the files, when the layers of
docs/internals/README.md are broken:

  - an include cycle between modules. A module is a .c file with its header and its private
    _int.h: lib/table.c, include/detour/table.h and lib/table_int.h are one module, "lib/table";
    lib/table_match.c, with include/detour/table_match.h, is a module of its own that includes
    table_int.h.
  - a file under lib/ or include/ that includes a header from src/;
  - a file under lib/base/ that includes anything of lib/ outside lib/base/ (base is the bottom);
  - a file under src/cli/ that includes a header from src/server/;
  - a header that declares a function defined in another module's .c file (a header declares
    only its own file's functions), but for src/cli/cli.h, which declares every subcommand's
    cmd_* for main.c's dispatch table.

Like curl's checksrc, it is a habit run by `make test`, not a design tool: it sees only
includes and declarations, not calls. Usage: scripts/layers.py [ROOT]  (exit 0 clean, 1 with findings).
"""
import os
import re
import sys

SOURCE_DIRS = ["include/detour", "lib", "lib/base", "src/server", "src/cli"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# A function defined at file scope: a non-static signature ending a line, "{" on the next.
DEF_RE = re.compile(r'^(?!static)[A-Za-z_][\w \*]*?\b(\w+)\([^;{]*\)\s*\n\{', re.M)
# A function declared at file scope in a header (comments removed first).
DECL_RE = re.compile(r'^(?!static|typedef|extern\b|#|\s)[A-Za-z_][\w \*]*?\b(\w+)\(([^;{]*)\)\s*'
                     r'(?:__attribute__\(\(.*?\)\))?\s*;', re.M | re.S)
COMMENT_RE = re.compile(r'/\*.*?\*/', re.S)
DECLARES_OTHERS = {"src/cli/cli.h"}  # the dispatch table's cmd_* (see docs/internals/cli.md)


def module_of(path):
    """include/detour/x.h -> lib/x; lib/x_int.h, lib/x.h, lib/x.c -> lib/x."""
    d, f = os.path.split(path)
    stem = os.path.splitext(f)[0]
    if stem.endswith("_int"):
        stem = stem[: -len("_int")]
    if d == "include/detour":
        d = "lib"
    return d + "/" + stem


def resolve(root, src, name):
    """Where the compiler finds `#include "name"` from src (-Iinclude -Ilib)."""
    for base in (os.path.dirname(src), "include", "lib"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


def tarjan(nodes, edges):
    index, low, stack, on, sccs = {}, {}, [], set(), []
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
            sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sccs


def cycle_in(comp, edges):
    """One shortest cycle through the first module of comp, as a list of modules."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w not in members:
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
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    files = []
    for d in SOURCE_DIRS:
        full = os.path.join(root, d)
        if not os.path.isdir(full):
            continue
        for f in sorted(os.listdir(full)):
            if f.endswith((".c", ".h")):
                files.append(d + "/" + f)

    problems = []
    edges = {}  # module -> set of modules
    why = {}  # (module, module) -> "file:line includes header"
    nodes = set()
    for src in files:
        m = module_of(src)
        nodes.add(m)
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                mo = INCLUDE_RE.match(line)
                if not mo:
                    continue
                hdr = resolve(root, src, mo.group(1))
                if hdr is None:
                    continue  # a system or generated header
                where = "%s:%d includes %s" % (src, lineno, hdr)
                if src.startswith(("lib/", "include/")) and hdr.startswith("src/"):
                    problems.append("library includes the server or the CLI: " + where)
                if src.startswith("lib/base/") and not hdr.startswith("lib/base/"):
                    problems.append("lib/base includes a layer above it: " + where)
                if src.startswith("src/cli/") and hdr.startswith("src/server/"):
                    problems.append("the CLI includes a server header: " + where)
                n = module_of(hdr)
                if n != m:
                    edges.setdefault(m, set()).add(n)
                    why.setdefault((m, n), where)

    defined = {}  # function -> modules whose .c files define it
    for src in files:
        if src.endswith(".c"):
            with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
                for mo in DEF_RE.finditer(fh.read()):
                    defined.setdefault(mo.group(1), set()).add(module_of(src))
    for hdr in files:
        if not hdr.endswith(".h") or hdr in DECLARES_OTHERS:
            continue
        with open(os.path.join(root, hdr), encoding="utf-8", errors="replace") as fh:
            text = COMMENT_RE.sub("", fh.read())
        for mo in DECL_RE.finditer(text):
            mods = defined.get(mo.group(1))
            if mods and module_of(hdr) not in mods:
                problems.append("%s declares %s(), defined in %s" %
                                (hdr, mo.group(1), " ".join(sorted(m + ".c" for m in mods))))

    for comp in tarjan(nodes, edges):
        if len(comp) < 2:
            continue
        cyc = cycle_in(comp, edges)
        lines = ["include cycle between %d modules: %s" % (len(comp), " ".join(comp))]
        for a, b in zip(cyc, cyc[1:]):
            lines.append("    " + why[(a, b)])
        problems.append("\n".join(lines))

    for p in problems:
        print("layers: " + p, file=sys.stderr)
    nedges = sum(len(v) for v in edges.values())
    if problems:
        print("layers: %d problem(s) in %d modules, %d include edges" % (len(problems), len(nodes), nedges),
              file=sys.stderr)
        return 1
    print("layers: ok, %d modules, %d include edges, no cycle, each header declares its own"
          % (len(nodes), nedges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
