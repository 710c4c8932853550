"""Every third-party module the project imports comes from a distribution pyproject.toml declares,
and every declared distribution is pinned in requirements/dev.lock: nothing works only because
another package happened to bring it along."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The project's own top-level names (``tests`` is also the name of a folder a dependency ships).
FIRST_PARTY = {"o2ochain", "tests", "bench", "tools", "scripts"}
OPTIONAL_GUARDS = {"ImportError", "ModuleNotFoundError"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_normal(re.split(r"[\s\[<>=!~;]", r.strip(), maxsplit=1)[0]) for r in requirements}


def _optional_lines(tree: ast.AST) -> set[int]:
    """Lines inside a ``try`` that falls back when an import fails (an optional speed-up)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {getattr(h.type, "id", None) for h in node.handlers} | {
                getattr(e, "id", None) for h in node.handlers if isinstance(h.type, ast.Tuple) for e in h.type.elts
            }
            if caught & OPTIONAL_GUARDS:
                for statement in node.body:
                    lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def _imports(path: Path) -> set[str]:
    """The top-level modules ``path`` needs: import statements and ``importlib.import_module("…")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    optional = _optional_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name.split(".")[0] for name in found}


def _sources() -> list[Path]:
    return [p for folder in ("src", "tests", "bench", "scripts", "tools") for p in sorted((ROOT / folder).rglob("*.py"))]


def test_every_third_party_import_comes_from_a_declared_distribution() -> None:
    declared = _declared()
    providers = packages_distributions()
    needed: dict[str, set[str]] = {}
    for path in _sources():
        for module in _imports(path) - FIRST_PARTY - set(sys.stdlib_module_names):
            needed.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert {"web3", "yaml", "click", "ape"} <= set(needed)  # the walk found the imports
    undeclared = {
        module: (providers.get(module), sorted(paths)[:3])
        for module, paths in needed.items()
        if not {_normal(d) for d in providers.get(module, [])} & declared
    }
    assert undeclared == {}, "declare these in pyproject.toml (module: (installed from, imported by))"


def test_every_declared_distribution_is_pinned_in_the_lock() -> None:
    lock = (ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8")
    pinned = {_normal(line.split("==")[0]) for line in lock.splitlines() if "==" in line and not line.startswith("#")}
    assert _declared() - pinned == set()
