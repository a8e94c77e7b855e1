"""The shape of the code: imports run one way, files stay readable.

The imports of every module of imgkit (``imgkit/`` and ``kernels/``, installed as
``imgkit.kernels``) are read from the source (an AST walk: module-level imports and imports
inside functions alike, ``import imgkit.x`` and relative ``from . import``), without importing
anything, and the tests below check the graph.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600

#: Import cycles known today. None is left: nothing may be added here.
KNOWN_CYCLES: list[set[str]] = []

#: Files over MAX_LINES today. None is left (issue 22 split the PatchMatch kernels into the
#: ``kernels/patchmatch/`` package): nothing may be added here.
OVERSIZE: set[str] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "kernels":
        parts = ["imgkit", *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = sorted((ROOT / "imgkit").rglob("*.py")) + sorted((ROOT / "kernels").rglob("*.py"))
    return {_module_name(p): p for p in files}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The imgkit modules ``name`` imports anywhere in its source (nearest existing module)."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports the submodule sub; ``from mod import f`` the module
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("imgkit"):
                found.add(t)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = _sources()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def test_the_walk_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "imgkit.kernels.criminisi" in graph["imgkit.inpainting.criminisi"]  # inside a function
    assert "imgkit.registry" in graph["imgkit.inpainting.criminisi"]  # at module level
    assert "imgkit.nets.vgg" in graph["imgkit.nets.encoder"]  # inside a function
    assert "imgkit.kernels.config" in graph["imgkit.kernels._criminisi_cuda"]  # ``from . import config``
    # a planted cycle through a function-level import is found
    planted = {k: set(v) for k, v in graph.items()}
    planted["imgkit.errors"].add("imgkit.api")
    assert any({"imgkit.errors", "imgkit.api"} <= c for c in cycles(planted))


def test_no_import_cycle():
    found = cycles(import_graph())
    new = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not new, f"import cycles: {new}"
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_kernels_import_nothing_of_imgkit():
    graph = import_graph()
    for name, deps in graph.items():
        if name.startswith("imgkit.kernels"):
            outside = sorted(d for d in deps if not d.startswith("imgkit.kernels"))
            assert not outside, f"{name} imports {outside}: kernels may not import imgkit"


def test_no_method_module_imports_another():
    graph = import_graph()
    methods = {n for n in graph if n.startswith(("imgkit.inpainting.", "imgkit.style."))
               and not n.rpartition(".")[2].startswith("_")}
    for name in sorted(methods):
        assert not graph[name] & methods, f"{name} imports method modules {sorted(graph[name] & methods)}"


def test_no_file_over_600_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in _sources().values()}
    over = sorted(f"{f} ({n} lines)" for f, n in sizes.items() if n > MAX_LINES and f not in OVERSIZE)
    assert not over, f"files over {MAX_LINES} lines (split them): {over}"
    fixed = sorted(f for f in OVERSIZE if sizes.get(f, 0) <= MAX_LINES)
    assert not fixed, f"under {MAX_LINES} lines now: remove them from OVERSIZE: {fixed}"
