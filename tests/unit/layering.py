#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
unit.layering: the layers of runtime/ (docs/architecture.md) as a check.

Usage: layering.py <runtime dir>

Reads every .c and .h under runtime/ and fails when
  - a file includes a runtime header its layer may not see (the table
    ALLOWED below, the same as the picture in docs/architecture.md);
  - the includes among files form a circle, or those among layers do
    (not counting includes of leaf headers, those that include no runtime
    header: core's data headers use obs's leaf headers log.h and
    profile.h, and obs reads the data of core/rt.h);
  - the functions and variables that the .c files define and use form a
    circle between files (a call or a shared global going both ways);
  - a public svm_* function is defined outside the API layer (api/);
  - a header declares `extern struct svm__rt` (the runtime object is
    file-static in core/rt.c and passed down), or a file outside the API
    layer and core/rt.c asks for it with svm__rt_get().
Each finding is printed; the exit status is 1 if there is one.
"""
import os
import re
import sys

# layer -> what it may include: whole layers, or single files
ALLOWED = {
    "api": {"api", "core", "mem", "obs", "policy", "backends", "topo"},
    # policy reaches a backend only through the ops table, core/ops.h
    "policy": {"policy", "core", "mem", "obs", "topo"},
    # a backend: its own folder (added below), the registry that declares
    # its ops table, policy's fault entry, and the shared layers under
    # policy (core/ops.h, the interface, among them)
    "backends": {"core", "mem", "obs", "topo", "backends/backend.h", "policy/fault.h"},
    "mem": {"mem", "core", "obs"},
    "obs": {"obs", "core/rt.h", "core/config.h", "core/inject.h"},
    "core": {"core", "obs/log.h", "obs/profile.h"},  # obs's leaf headers
    "topo": {"topo", "obs"},
}
# who may ask for the runtime object instead of receiving it
RT_GET_OK = ("api/", "core/rt.c")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    return path.split("/")[0]


def unit_of(path):
    """A backend's own folder is its unit; otherwise the layer."""
    parts = path.split("/")
    if parts[0] == "backends" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "runtime")
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.relpath(os.path.join(d, n), root)
                with open(os.path.join(d, n), encoding="utf-8") as f:
                    files[p] = f.read()
    bad = []

    # ---- includes --------------------------------------------------------
    inc = {p: [] for p in files}
    for p, text in files.items():
        if layer_of(p) not in ALLOWED:
            bad.append(f"{p}: in no known layer (add it to tests/unit/layering.py "
                       "and docs/architecture.md)")
            continue
        for m in INCLUDE.finditer(text):
            t = os.path.normpath(os.path.join(os.path.dirname(p), m.group(1)))
            if t not in files:
                continue  # public, generated or uapi header
            inc[p].append(t)
            allowed = set(ALLOWED[layer_of(p)])
            if layer_of(p) == "backends":
                allowed.add(unit_of(p))
            if t not in allowed and layer_of(t) not in allowed and unit_of(t) not in allowed:
                bad.append(f"{p}: includes {t} ({layer_of(p)} may not see it)")

    def cycles(graph):
        found, state = [], {}

        def visit(n, stack):
            state[n] = 1
            stack.append(n)
            for m in sorted(graph.get(n, ())):
                if state.get(m) == 1:
                    found.append(stack[stack.index(m):] + [m])
                elif not state.get(m):
                    visit(m, stack)
            stack.pop()
            state[n] = 2

        for n in sorted(graph):
            if not state.get(n):
                visit(n, [])
        return found

    for c in cycles(inc):
        bad.append("include circle: " + " -> ".join(c))

    leaf = {p for p in files if p.endswith(".h") and not inc[p]}
    units = {}
    for p, ts in inc.items():
        for t in ts:
            if t not in leaf and unit_of(t) != unit_of(p):
                units.setdefault(unit_of(p), set()).add(unit_of(t))
    for c in cycles(units):
        bad.append("layer circle (includes): " + " -> ".join(c))

    # ---- definitions and uses among the .c files -------------------------
    code = {p: strip_comments(t) for p, t in files.items()}
    defined = {}
    fn_def = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(\w+)\s*\([^;{]*?\)\s*\{", re.M)
    var_def = re.compile(r"^(?!static\b|extern\b|typedef\b|struct \w+ \{|enum\b)"
                         r"[A-Za-z_][\w \t*]*?\b(\w+)\s*(\[[^\]]*\])*\s*(=|;)", re.M)
    for p, text in code.items():
        if not p.endswith(".c"):
            continue
        for rx in (fn_def, var_def):
            for m in rx.finditer(text):
                if m.group(1) not in ("if", "while", "for", "switch", "return"):
                    defined.setdefault(m.group(1), p)
    uses = {}
    for p, text in code.items():
        if not p.endswith(".c"):
            continue
        for tok in set(re.findall(r"\b\w+\b", text)):
            q = defined.get(tok)
            if q and q != p:
                uses.setdefault(p, set()).add(q)
    for c in cycles(uses):
        why = [f"{a} uses " + ", ".join(sorted(
            t for t in set(re.findall(r"\b\w+\b", code[a])) if defined.get(t) == b))
            for a, b in zip(c, c[1:])]
        bad.append("call circle: " + " -> ".join(c) + " (" + "; ".join(why) + ")")

    # ---- the public entry points live in api/ ---------------------------
    for name, p in sorted(defined.items()):
        if re.match(r"svm_[a-z]", name) and not p.startswith("api/"):
            bad.append(f"{p}: defines the entry point {name} (api/ implements the public API)")

    # ---- the runtime object ---------------------------------------------
    for p, text in code.items():
        if p.endswith(".h") and re.search(r"\bextern\s+struct\s+svm__rt\b", text):
            bad.append(f"{p}: declares extern struct svm__rt (pass rt down instead)")
        if re.search(r"\bsvm__rt_get\s*\(", text) and not p.endswith(".h") and \
                not p.startswith(RT_GET_OK):
            bad.append(f"{p}: calls svm__rt_get() (only the API layer may; receive rt)")

    for b in bad:
        print("layering: " + b)
    print(f"layering: {len(files)} files, {sum(map(len, inc.values()))} includes, "
          f"{len(bad)} finding(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
