"""The house rules of the code base: one installed name, imports that only point down,
ruff and mypy clean.

The repository keeps `models/`, `matching/`, `scenarios/` and `api/` at the top (our
users' layout) and setup.py installs them as `volmatch.*`; these tests keep that true.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "matching", "scenarios", "api")
"""The installed packages, lowest layer first: each may import only those before it."""


def _modules() -> dict[str, Path]:
    """Every module of ours by its name without the `volmatch.` prefix."""
    found: dict[str, Path] = {}
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imported(path: Path, name: str) -> Iterator[str]:
    """The names a module imports anywhere in its body, absolute, without `volmatch.`."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
                yield "volmatch." + module
                if node.module is None:
                    yield from ("volmatch." + module + "." + a.name for a in node.names)
            elif node.module:
                yield node.module
                yield from (node.module + "." + a.name for a in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a package's `__init__` counts as the
    package; importing your own parent package does not count as an edge)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets: set[str] = set()
        for imported in _imported(path, name):
            if not imported.startswith("volmatch."):
                continue
            target = imported.removeprefix("volmatch.")
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_imports_point_down_the_layers() -> None:
    """models <- matching <- scenarios <- api: no package imports one above it."""
    rank = {top: k for k, top in enumerate(PACKAGES)}
    wrong = [
        f"{m} imports {t}"
        for m, targets in import_graph().items()
        for t in targets
        if rank[t.split(".")[0]] > rank[m.split(".")[0]]
    ]
    assert wrong == []


def test_routers_never_import_each_other() -> None:
    """What routers share lives in `api.service.queries` (or deps, schemas ...), which
    they import; a router importing another couples two resources' endpoints."""
    routers = "api.service.routers."
    wrong = [
        f"{m} imports {t}"
        for m, targets in import_graph().items()
        if m.startswith(routers)
        for t in targets
        if t.startswith(routers)
    ]
    assert wrong == []


def dynamic_imports(source: str) -> list[str]:
    """The `importlib.import_module(...)` and `__import__(...)` calls in `source` that may
    load a module of ours: any whose name is not a literal naming another package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in ("import_module", "__import__"):
            continue
        arg = node.args[0] if node.args else None
        if (
            isinstance(arg, ast.Constant)
            and isinstance(arg.value, str)
            and not arg.value.startswith(".")
            and arg.value.split(".")[0] not in ("volmatch", *PACKAGES)
        ):
            continue  # a third-party module by its literal name
        found.append(ast.unparse(node))
    return found


def test_the_dynamic_import_finder_finds_them() -> None:
    source = """
import importlib
from importlib import import_module
importlib.import_module("volmatch.api.cli.solve")
import_module(name)
__import__("api.cli")
importlib.import_module(".solve", "volmatch.api.cli")
importlib.import_module("uvicorn")
"""
    assert dynamic_imports(source) == [
        "importlib.import_module('volmatch.api.cli.solve')",
        "import_module(name)",
        "__import__('api.cli')",
        "importlib.import_module('.solve', 'volmatch.api.cli')",
    ]


def test_api_loads_none_of_our_modules_through_importlib() -> None:
    """Commands and routers are imported and registered explicitly, so that the import
    graph (and these tests) see every edge."""
    found = [
        f"{path.relative_to(ROOT)}: {call}"
        for name, path in _modules().items()
        if name.split(".")[0] == "api"
        for call in dynamic_imports(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_nothing_of_ours_is_imported_without_the_volmatch_prefix() -> None:
    bare = [
        f"{path.relative_to(ROOT)} imports {imported}"
        for name, path in _modules().items()
        for imported in _imported(path, name)
        if imported.split(".")[0] in PACKAGES
    ]
    assert bare == []


def test_ruff_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_on_models_and_matching() -> None:
    """mypy cannot follow setuptools' editable finder, so it reads the folders through a
    `volmatch/` folder of links (under build/, kept between runs for mypy's cache)."""
    tree = ROOT / "build" / "typecheck"
    (tree / "volmatch").mkdir(parents=True, exist_ok=True)
    for top in PACKAGES:
        link = tree / "volmatch" / top
        if not link.is_symlink():
            link.symlink_to(ROOT / top, target_is_directory=True)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "-p", "volmatch.models", "-p", "volmatch.matching"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPYPATH": str(tree)},
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_installs_beside_pypi_matching_in_one_fresh_venv(tmp_path: Path) -> None:
    """`pip install . matching` into one new environment: both packages are there and
    both run. The dependencies come from this test environment through a path file, so
    that the test needs no download beyond the build backend."""
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--ignore-installed",
            "--no-deps",
            str(ROOT),
            "matching",
        ],
        check=True,
        capture_output=True,
    )
    probe = """
import json, matching, volmatch.matching
from matching.games import StableMarriage
from volmatch.models import parse_round
game = StableMarriage.create_from_dictionaries({"a": ["x"]}, {"x": ["a"]})
ours = volmatch.matching.solve_round(parse_round({
    "volunteers": [{"id": "V1", "nationality": "CN", "training": ["pre-deployment"],
                    "available_from": "2027-01-01", "available_until": "2028-12-31"}],
    "placements": [{"id": "P1", "host": "H1", "country": "NP", "start": "2027-03-01"}],
}))
print(json.dumps({
    "pypi": matching.__file__, "ours": volmatch.matching.__file__,
    "pypi_solved": {str(k): str(v) for k, v in game.solve().items()},
    "ours_solved": [(a.volunteer, a.placement) for a in ours.assignments],
}))
"""
    out = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout)
    assert got["pypi"].startswith(site) and "volmatch" not in got["pypi"]
    assert got["ours"].startswith(os.path.join(site, "volmatch", "matching"))
    assert got["pypi_solved"] == {"a": "x"}
    assert got["ours_solved"] == [["V1", "P1"]]
    files = {p.name for p in Path(site).iterdir()}
    assert not files & {"models", "api", "scenarios", "benchmarks", "tests"}
