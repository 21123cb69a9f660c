"""The architecture, checked: no import cycles (imports inside functions included), small modules,
a light ``import tconv``, and nothing in the repository pointing outside it."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import tconv

SRC = pathlib.Path(tconv.__file__).parent
ROOT = SRC.parent.parent
MAX_LINES = 400


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Edges module → tconv module it imports, anywhere in the file (functions included).

    ``from tconv.methods import gemm_numpy`` is an edge to the submodule ``tconv.methods.gemm_numpy``,
    not to the package; a package's implicit import by its submodules is not an edge.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_anywhere():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_no_outer_room():
    """geometry, arguments, arrays, the methods and the plan never import the CLI, the explainer,
    the benchmark or the torch layer: the dependencies point inwards."""
    graph = import_graph()
    core = [m for m in graph if m.split(".")[1:2] in (["geometry"], ["arguments"], ["arrays"], ["methods"], ["plan"])]
    outer = ("tconv.cli", "tconv.explainer", "tconv.bench", "tconv.torch", "tconv.interop")
    for module in core:
        assert not [t for t in graph[module] if t.startswith(outer)], module


@pytest.mark.parametrize("name", sorted(_modules()))
def test_every_module_reads_in_one_sitting(name):
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_import_tconv_stays_light():
    code = "import sys, tconv; print(sorted(m for m in ('torch', 'matplotlib', 'PIL', 'dask', 'jax', 'onnx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_nothing_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    needle = "shared/" + "reference"  # split, so that this file does not match itself
    offenders = [
        f
        for f in tracked.stdout.split()
        if f.endswith((".py", ".md", ".toml", ".cfg", ".yaml")) and needle in (ROOT / f).read_text(encoding="utf-8")
    ]
    assert offenders == []
