"""The package's layout keeps its promises: one subpackage per concern, public names re-exported,
the CLI and the demo out of the library, one exception tree drawn complete, a README tree that
matches the files."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import o2ochain
from o2ochain import errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "o2ochain"

#: The layers of the package, in import order: a module may import its own subpackage and the
#: layers before its own, never one after it (README, "For contributors").
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "_chain", "inputs"}),
    frozenset({"deployments"}),
    frozenset({"gs1"}),
    frozenset({"epcis"}),
    frozenset({"identity", "guarantee", "consent", "shopper"}),
    frozenset({"trace", "loop"}),
    frozenset({"client"}),
    frozenset({"serve"}),
    frozenset({"__init__"}),
    frozenset({"cli", "demo"}),
)
LAYER_OF = {name: n for n, layer in enumerate(LAYERS) for name in layer}
#: The one import allowed inside a layer across concerns: the command line runs the demo.
SIDEWAYS = {("cli", "demo")}
PUBLIC_SUBPACKAGES = ("inputs", "gs1", "epcis", "identity", "trace", "consent", "guarantee", "loop", "shopper", "serve", "cli", "demo")


def _unit(path: Path) -> str:
    """The concern a source file belongs to: its subpackage, or its top-level module's name."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_units(path: Path) -> set[str]:
    """Every concern ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "o2ochain":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names if alias.name != "__version__")
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("o2ochain."))
    return found


def _all_modules() -> list[str]:
    names = ["o2ochain"]
    for info in pkgutil.walk_packages(o2ochain.__path__, "o2ochain."):
        if not info.name.endswith(".__main__"):  # running it would start the command line
            names.append(info.name)
    return names


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _every_error_class() -> set[type]:
    for name in _all_modules():
        importlib.import_module(name)
    errors.by_name("Panic")  # generates the class of every custom error of the shipped ABIs
    return _subclasses(errors.O2OError)


# --------------------------------------------------------------------------------------------
# The library, the command line and the demo


def test_import_o2ochain_loads_no_cli_or_demo_module() -> None:
    # Every public name loaded, as a script using the whole API would.
    code = (
        "import json, sys, o2ochain; [getattr(o2ochain, name) for name in o2ochain.__all__]; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('o2ochain'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(result.stdout)
    assert "o2ochain.client" in loaded  # the check below would pass vacuously otherwise
    offending = [m for m in loaded if m.split(".")[1:2] in (["cli"], ["demo"])]
    assert offending == []


def test_every_module_imports_only_its_own_concern_and_the_layers_before_it() -> None:
    units = {_unit(p) for p in PACKAGE.rglob("*.py")}
    assert units <= set(LAYER_OF), f"give {sorted(units - set(LAYER_OF))} a layer in LAYERS and in the README"
    wrong: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        for other in sorted(_imported_units(path) - {unit}):
            if other not in LAYER_OF:
                wrong.append(f"{path.relative_to(ROOT)} imports o2ochain.{other}, which is not a concern of the package")
            elif LAYER_OF[other] > LAYER_OF[unit] or (
                LAYER_OF[other] == LAYER_OF[unit] and LAYER_OF[unit] > 0 and (unit, other) not in SIDEWAYS
            ):
                wrong.append(f"{path.relative_to(ROOT)} ({unit}) imports {other}, which is not in a layer before it")
    assert wrong == []


def test_command_modules_import_common_never_the_cli_package() -> None:
    for path in sorted((PACKAGE / "cli").glob("_[!_]*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "o2ochain.cli" not in modules, f"{path.name} imports o2ochain.cli: import o2ochain.cli._common instead"


def test_python_m_o2ochain_cli_is_the_o2ochain_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "o2ochain.cli", "--help"], cwd="/", capture_output=True, text=True, timeout=120, check=True
    )
    assert "Usage: python -m o2ochain.cli" in result.stdout
    for group in ("brand", "trace", "consent", "guarantee", "keeper", "review", "coupon", "shopper", "demo", "deploy"):
        assert re.search(rf"^  {group}\s", result.stdout, re.MULTILINE), group


# --------------------------------------------------------------------------------------------
# Public names


@pytest.mark.parametrize("name", PUBLIC_SUBPACKAGES)
def test_each_subpackage_lists_its_public_names_in_its_init(name: str) -> None:
    package = importlib.import_module(f"o2ochain.{name}")
    public = list(package.__all__)
    assert len(public) == len(set(public)), "a name is listed twice"
    missing = [n for n in public if not hasattr(package, n)]
    assert missing == []
    for path in sorted((PACKAGE / name).glob("_[!_]*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
        assert "__all__" not in assigned, f"{name}/{path.name}: the public names are listed in {name}/__init__.py only"


def test_the_top_level_api_is_what_it_was() -> None:
    assert set(o2ochain.__all__) == {
        "ApeSigner",
        "BrandAdmin",
        "Buyer",
        "ChainError",
        "ChannelKey",
        "ConfigError",
        "Consumer",
        "ContractRevert",
        "Deployment",
        "Entitlement",
        "GuaranteeReader",
        "Identity",
        "InputError",
        "InputErrors",
        "ItemStatus",
        "Keeper",
        "KeeperAction",
        "KeyInfo",
        "MerkleItem",
        "O2OChain",
        "O2OError",
        "Offer",
        "Policy",
        "PolicyRecord",
        "Purchase",
        "Registrant",
        "RegistrationReport",
        "RegistryAdmin",
        "Release",
        "RetailerAdmin",
        "RetailerInfo",
        "Seller",
        "Signer",
        "TransactionFailed",
        "Verification",
        "__version__",
        "connect",
        "load_deployment",
    }
    assert all(hasattr(o2ochain, name) for name in o2ochain.__all__)


# --------------------------------------------------------------------------------------------
# The exception tree


def test_every_exception_of_the_package_is_defined_in_errors_and_drawn_in_its_docstring() -> None:
    doc = errors.__doc__ or ""
    found = _every_error_class()
    assert len(found) > 150  # the hand-written classes and one per custom error of the ABIs
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in found if c.__module__ != "o2ochain.errors")
    assert elsewhere == [], "define every exception in o2ochain/errors.py"
    undrawn = sorted(c.__name__ for c in found if not re.search(rf"(?<![\w.]){re.escape(c.__name__)}\b", doc))
    assert undrawn == [], "add them to the tree in the docstring of o2ochain/errors.py"


def test_the_custom_errors_in_the_docstring_are_exactly_those_of_the_abis() -> None:
    doc = errors.__doc__ or ""
    listed_block = doc.split("that declares them::", 1)[1]
    contracts = {"ProductRegistry", "TraceLedger", "ConsentRegistry", "PriceGuarantee", "ReviewBoard", "CouponBook", "OpenZeppelin"}
    listed = set(re.findall(r"\b[A-Z][A-Za-z0-9]+\b", listed_block)) - contracts
    generated = {cls.error_name for cls in errors._contract_errors()}
    assert listed == generated


def test_a_custom_error_is_reachable_by_name_and_as_an_attribute_of_errors() -> None:
    cls = errors.by_name("IdentityItemAlreadyRegistered")
    assert errors.IdentityItemAlreadyRegistered is cls
    assert issubclass(cls, errors.ContractRevert) and cls.__module__ == "o2ochain.errors"
    with pytest.raises(AttributeError):
        _ = errors.NoSuchContractError


# --------------------------------------------------------------------------------------------
# The README's tree


def _readme_tree() -> list[tuple[str, str]]:
    """(path, description) of every entry of the tree in the README's "For contributors"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## For contributors\n", 1)[1]
    block = section.split("```", 2)[1]
    entries: list[tuple[str, str]] = []
    stack: list[str] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"README tree: odd indentation in {line!r}"
        depth = indent // 2
        name, _, description = line.strip().partition(" ")
        del stack[depth:]
        assert len(stack) == depth, f"README tree: {line!r} is indented deeper than its folder"
        path = "/".join([*stack, name.rstrip("/")])
        entries.append((path, description.strip()))
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
    return entries


def test_the_readme_tree_lists_exactly_the_python_files_of_the_package() -> None:
    entries = _readme_tree()
    listed = sorted(path for path, _ in entries if path.endswith(".py"))
    on_disk = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "src").rglob("*.py"))
    assert listed == on_disk
    assert [path for path, description in entries if not description] == [], "say in a few words what each entry is for"
    assert [path for path, _ in entries if not (ROOT / path).exists()] == []


def test_the_top_level_names_load_on_first_use_and_type_checkers_see_them() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    for_checkers = {alias.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert for_checkers == o2ochain._LAZY
    probe = "import sys, o2ochain\nprint('web3' in sys.modules, o2ochain.connect.__module__, 'web3' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "o2ochain.client", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        o2ochain.nothing  # noqa: B018
