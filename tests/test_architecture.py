"""The package's architecture, checked from its source (``ast``; nothing is imported).

Stages, in order: intake -> features -> models -> registry -> scoring -> spark -> monitoring -> cli. A stage
imports only earlier stages, and only their public names; no two modules import each
other, directly or round about. ``screening/_io.py`` (safe file writing, Ctrl-C around forks) and
``screening/_lazy.py`` (names imported on first use), which import no stage, and
``screening/synthetic.py`` (the simulator, after intake) are not stages;
``screening/__init__.py`` and ``__main__.py`` sit on top and may import anything public.

Every import counts: at module level, inside functions (lazy), relative ones, and the
lazy imports by name: ``importlib.import_module("screening.x")``, ``__import__(...)``,
and the ``_LAZY`` maps of the package ``__init__`` files (a dict literal of a name to a
string naming a submodule of the package, ``{"load_model": "screening.scoring._model"}``).
"""

from __future__ import annotations

import ast
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "screening"

#: Place of each part of the package in the import order: a module may import only
#: parts with a level not above its own. Top-level helpers are not stages but have a
#: place: ``_io`` at the bottom, ``synthetic`` just after intake, the package's own
#: ``__init__``/``__main__`` on top.
LEVELS: dict[str, float] = {
    "_io": 0,
    "_lazy": 0,
    "intake": 1,
    "synthetic": 1.5,
    "features": 2,
    "models": 3,
    "registry": 4,
    "scoring": 5,
    "spark": 5.5,
    "monitoring": 5.6,
    "cli": 6,
    "__init__": 7,
    "__main__": 7,
}
STAGES = ("intake", "features", "models", "registry", "scoring", "spark", "monitoring", "cli")
#: Shared by every part of the package although its name starts with ``_``.
SHARED_MODULES = frozenset({"_io", "_lazy"})


@dataclass(frozen=True)
class Import:
    """One import site: ``importer`` imports ``target`` (a module of the package), maybe some names of it."""

    importer: str
    target: str
    names: tuple[str, ...]
    path: str
    line: int
    how: str  # "import", "lazy import" (inside a function) or "by name" (a module named in a string)

    @property
    def site(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.path}:{self.line}: {self.importer} -> {self.target}{names} [{self.how}]"


# --------------------------------------------------------------------------- collecting


def module_files(package_dir: Path) -> dict[str, Path]:
    """Every module of the package under ``package_dir``, by dotted name (packages by their own name)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


IMPORT_CALLS = frozenset({"import_module", "__import__"})


def _import_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
    return name in IMPORT_CALLS


def _in_function(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def collect_imports(package_dir: Path) -> list[Import]:
    """Every import of a module of the package by a module of the package.

    ``from P import n`` is an import of the submodule ``P.n`` when there is one, else
    of ``P`` (a package's ``__init__``) with the name ``n``; ``import a.b.c`` is an
    import of ``a.b.c``. Imports of other distributions are left out.
    """
    root = package_dir.name
    modules = module_files(package_dir)
    found: list[Import] = []
    for importer, path in modules.items():
        shown = path.relative_to(package_dir.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        lazy = _in_function(tree)

        def add(target: str, names: tuple[str, ...], node: ast.AST, how: str | None = None) -> None:
            if target != root and not target.startswith(root + "."):
                return
            kind = how or ("lazy import" if id(node) in lazy else "import")
            found.append(Import(importer, target, names, shown, node.lineno, kind))

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, (), node)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = importer.split(".") if _is_package(importer, modules) else importer.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                plain = []
                for alias in node.names:
                    if alias.name != "*" and f"{source}.{alias.name}" in modules:
                        add(f"{source}.{alias.name}", (), node)
                    else:
                        plain.append(alias.name)
                if plain:
                    add(source, tuple(plain), node)
            elif isinstance(node, ast.Dict):  # a lazy map {name: "screening.x._y"}
                for key, value in zip(node.keys, node.values):
                    if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                            and isinstance(value, ast.Constant) and value.value in modules
                            and value.value.startswith(root + ".")):
                        add(value.value, (key.value,), value, "by name")
            elif _import_call(node) and node.args and isinstance(node.args[0], ast.Constant):
                if node.args[0].value in modules:
                    add(node.args[0].value, (), node, "by name")
    return sorted(found, key=lambda imp: (imp.path, imp.line, imp.target))


# --------------------------------------------------------------------------- the rules


def part_of(module: str) -> str:
    """The stage of a module (``scoring`` for ``screening.scoring._model``), or the top-level module it is."""
    parts = module.split(".")[1:]
    return parts[0] if parts else "__init__"


def _private(component: str) -> bool:
    return component.startswith("_") and not (component.startswith("__") and component.endswith("__"))


def private_imports(imports: list[Import]) -> list[Import]:
    """Imports of another part's private module (``screening.T._x``) or private name (``_x``)."""
    bad = []
    for imp in imports:
        if part_of(imp.importer) == part_of(imp.target):
            continue
        components = imp.target.split(".")[1:]
        if components[:1] and components[0] in SHARED_MODULES:
            # screening._io and screening._lazy are the package's shared helpers, not stages:
            # any part may import them (their private names stay private).
            components = components[1:]
        if any(_private(c) for c in components) or any(_private(n) for n in imp.names):
            bad.append(imp)
    return bad


def backward_imports(imports: list[Import]) -> list[str]:
    """Imports of a later part of the package (by :data:`LEVELS`), and parts with no place in the order."""
    bad = []
    for imp in imports:
        source, target = part_of(imp.importer), part_of(imp.target)
        unknown = [p for p in (source, target) if p not in LEVELS]
        if unknown:
            bad.append(f"{imp.site}  (no place in the stage order: {', '.join(unknown)})")
        elif LEVELS[target] > LEVELS[source]:
            bad.append(f"{imp.site}  ({source} may not import the later {target})")
    return bad


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _shortest_cycle(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return [start]


def import_cycles(imports: list[Import], modules: set[str]) -> list[str]:
    """One report per set of two or more modules that import each other (round about or not)."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    sites: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        if imp.target in modules and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
            sites[imp.importer, imp.target].append(imp)
    reports = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        cycle = _shortest_cycle(component[0], graph, members)
        lines = [f"cycle of {len(component)} modules: {', '.join(component)}",
                 f"  for example {' -> '.join(cycle)}:"]
        shown = set(zip(cycle, cycle[1:]))
        for edge in zip(cycle, cycle[1:]):
            lines += [f"    {imp.site}" for imp in sites[edge]]
        others = [(a, b) for a in component for b in sorted(graph[a] & members) if (a, b) not in shown]
        if others:
            lines.append("  the other imports inside it:")
            for edge in others:
                lines += [f"    {imp.site}" for imp in sites[edge]]
        reports.append("\n".join(lines))
    return reports


def _message(title: str, found: list[str]) -> str:
    return f"{title} ({len(found)}):\n" + "\n".join(found)


# --------------------------------------------------------------------------- the package


def test_no_stage_imports_a_private_module_or_name_of_another_stage():
    bad = [imp.site for imp in private_imports(collect_imports(PACKAGE_DIR))]
    assert not bad, _message("private modules or names imported from another stage", bad)


def test_stages_import_only_earlier_stages():
    bad = backward_imports(collect_imports(PACKAGE_DIR))
    assert not bad, _message("imports of a later stage", bad)


def test_no_import_cycle_between_modules():
    cycles = import_cycles(collect_imports(PACKAGE_DIR), set(module_files(PACKAGE_DIR)))
    assert not cycles, _message("import cycles", cycles)


# --------------------------------------------------------------------------- the checker itself


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root / "screening"


def test_the_checker_finds_what_it_looks_for(tmp_path):
    package = _write_tree(tmp_path, {
        "screening/__init__.py": '"""Top."""\n_LAZY = {"load": "screening.scoring._model"}\n',
        "screening/_io.py": "def write(): ...\n",
        "screening/synthetic.py": "from screening.intake import read\n",
        "screening/intake/__init__.py": "from screening.intake._read import _helper as read\n",
        "screening/intake/_read.py": "def _helper(): ...\nTEXT = 1\n",
        "screening/features/__init__.py": "from screening.features._enc import encode\n",
        "screening/features/_enc.py": """\
            from screening._io import write
            from screening.intake import read
            from screening.intake._read import TEXT

            def encode():
                from screening.intake import _helper
            """,
        "screening/models/__init__.py": "",
        "screening/models/_fit.py": """\
            def fit():
                from ..scoring import score
            """,
        "screening/scoring/__init__.py": '_LAZY = {"score": "screening.scoring._model"}\n',
        "screening/scoring/_model.py": """\
            from screening.features import encode
            from screening.scoring import _batch

            def score(): ...
            """,
        "screening/scoring/_batch.py": "from . import _engine\n",
        "screening/scoring/_engine.py": """\
            import importlib

            EXPERIMENT = {"name": "screening"}  # a string, not an import

            def run():
                from screening.scoring._batch import batch

            def later():
                return importlib.import_module("screening.cli")
            """,
        "screening/cli.py": "",
    })
    imports = collect_imports(package)
    sites = {(imp.path, imp.line, imp.target, imp.names, imp.how) for imp in imports}
    assert ("screening/models/_fit.py", 2, "screening.scoring", ("score",), "lazy import") in sites
    assert ("screening/scoring/_batch.py", 1, "screening.scoring._engine", (), "import") in sites
    assert ("screening/__init__.py", 2, "screening.scoring._model", ("load",), "by name") in sites
    assert ("screening/scoring/_engine.py", 9, "screening.cli", (), "by name") in sites
    assert not any(imp.target == "screening" for imp in imports)

    private = {(imp.path, imp.line) for imp in private_imports(imports)}
    assert private == {
        ("screening/features/_enc.py", 3),  # a private module of another stage
        ("screening/features/_enc.py", 6),  # a private name of another stage, in a function
        ("screening/__init__.py", 2),       # a private module, named in a lazy map
    }  # not: _io from anywhere, _batch or _helper within their own stage

    backward = backward_imports(imports)
    assert [line.split(" ")[0] for line in backward] == [
        "screening/models/_fit.py:2:", "screening/scoring/_engine.py:9:"], backward

    cycles = import_cycles(imports, set(module_files(package)))
    assert len(cycles) == 1, cycles  # _model -> _batch is not _model -> the scoring package
    assert cycles[0].startswith("cycle of 2 modules: screening.scoring._batch, screening.scoring._engine")
    assert "screening/scoring/_engine.py:6" in cycles[0] and "screening/scoring/_batch.py:1" in cycles[0]

    (package / "extra.py").write_text("import screening.cli\n")
    assert any("no place in the stage order: extra" in line
               for line in backward_imports(collect_imports(package)))
