"""The samplers' imports go one way, between role folders and within them.

``adaptation`` ← ``core`` ← ``metric`` ← ``transitions`` ← {``reference``, ``compiled``} ←
``drivers``: a module imports only from its own folder or a folder to its left, the two kernels
never import each other, and no module imports itself back through others (no circle). Read from
the sources (every ``import``, at module level or inside a function), so an import that only
works because it is deferred still counts.
"""

import ast
import importlib
from pathlib import Path

import pytest

from pymc_fisher.samplers.compiled.cache import KERNEL_MODULES

PACKAGE = Path(__file__).resolve().parents[2] / "pymc_fisher"
SAMPLERS = PACKAGE / "samplers"
PREFIX = "pymc_fisher.samplers."
RANK = {
    "adaptation": 0,
    "core": 1,
    "metric": 2,
    "transitions": 3,
    "reference": 4,
    "compiled": 4,
    "drivers": 5,
}
NUMERIC_CORE = ("adaptation", "core", "metric", "transitions", "reference", "compiled")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:
                if (SAMPLERS.parent / (node.module + "." + alias.name).replace(".", "/")).exists():
                    names.add(f"{node.module}.{alias.name}")
    return names


GRAPH = {
    _module_name(path): {n for n in _imports(path) if n.startswith(PREFIX)}
    for path in sorted(SAMPLERS.rglob("*.py"))
}
ROLE_MODULES = [name for name in GRAPH if name != "pymc_fisher.samplers"]


def _role(module: str) -> str:
    return module.split(".")[2]


def test_every_module_sits_in_a_role_folder():
    loose = [path.name for path in SAMPLERS.glob("*.py") if path.name != "__init__.py"]
    assert loose == [], f"modules outside the role folders: {loose}"
    assert {_role(name) for name in ROLE_MODULES} == set(RANK)


@pytest.mark.parametrize("module", ROLE_MODULES)
def test_imports_go_one_way(module):
    role = _role(module)
    for target in GRAPH[module]:
        if target == "pymc_fisher.samplers":
            continue
        other = _role(target)
        assert RANK[other] < RANK[role] or other == role, f"{module} imports {target}"


def test_no_circle():
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            pytest.fail("import circle: " + " -> ".join((*path[path.index(node) :], node)))
        if node in done:
            return
        for nxt in GRAPH.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for node in GRAPH:
        visit(node, ())


@pytest.mark.parametrize("module", [m for m in ROLE_MODULES if _role(m) in NUMERIC_CORE])
def test_the_numeric_core_imports_neither_pymc_nor_arviz(module):
    path = SAMPLERS.joinpath(*module.split(".")[2:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    heavy = {n for n in _imports(path) if n.split(".")[0] in {"pymc", "pytensor", "arviz"}}
    assert heavy == set(), f"{module} imports {heavy}"


def test_the_kernel_cache_digest_covers_what_the_kernel_is_built_from_and_no_more():
    # the digest holds the Numba modules and the named tuples and register_jitable functions
    # they use: neither the NumPy reference nor a driver (an edit there must not recompile)
    for name in KERNEL_MODULES:
        importlib.import_module(name)
        if name.startswith(PREFIX):
            assert _role(name) in {"adaptation", "core", "metric", "compiled"}, name
    compiled = {m for m in ROLE_MODULES if _role(m) == "compiled"} - {
        PREFIX + "compiled",
        PREFIX + "compiled.kernel",  # Python: binds the entry points, compiles nothing
        PREFIX + "compiled.cache",
    }
    assert compiled <= set(KERNEL_MODULES)
    # and whatever those modules import from the samplers is in the digest too
    for name in compiled:
        for target in GRAPH[name]:
            if target != PREFIX + "compiled.cache":
                assert target in KERNEL_MODULES, f"{name} imports {target}, not in the digest"
