"""The import graph: packages in layers, no cycles between modules.

Layers, lowest first: ``core`` (tables, config, reason codes, enumerations) and ``demo`` (the demo
world's generator, which imports nothing of the detector) → ``features`` and ``models`` (builders
and scorers) → ``pipeline`` (orchestration, the command line) → ``review``, ``evaluation`` and
``bench`` (applications on top). A module imports its own package or lower layers only; every import counts,
also one inside a function (a lazy import is still a dependency). Read from the source with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = {"core": 0, "demo": 0, "features": 1, "models": 1, "pipeline": 2, "review": 3, "evaluation": 3, "bench": 3}


def _modules() -> dict[str, Path]:
    out = {}
    for package in LAYER:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules (or packages) it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
        graph[name] = {t for t in targets if t.split(".")[0] in LAYER and t != name}
    return graph


def _package(module: str) -> str:
    return module.split(".")[0]


def test_imports_go_down_the_layers_only():
    """Never up, and never sideways into another package of the same layer (features and models
    stay independent; review and evaluation too)."""
    wrong = sorted((a, b) for a, targets in import_graph().items() for b in targets
                   if _package(b) != _package(a) and LAYER[_package(b)] >= LAYER[_package(a)])
    assert not wrong, f"imports against the layers (importer, imported): {wrong}"


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    assert "features.infringement" in graph["pipeline.score"] or any(
        _package(b) == "features" for b in graph["pipeline.score"])
    # features.infringement imports the similarity lexicon inside a function (lexicons.similar_groups_of)
    assert "features.lexicons" in graph["features.infringement"]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module (cycles), iteratively."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif w not in graph:
                continue
            elif w not in index:
                index[w] = low[w] = counter[0]
                counter[0] += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(graph.get(w, ())))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def test_strongly_connected_finds_a_cycle_by_hand():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_cycles_between_modules():
    graph = import_graph()
    # a package's __init__ is imported by its modules' import paths; only module-to-module edges count
    cycles = strongly_connected({a: {b for b in bs if b in graph} for a, bs in graph.items()})
    assert not cycles, f"import cycles: {cycles}"
