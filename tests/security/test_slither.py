"""Static analysis gate: Slither on contracts/, every high or medium finding explained.

Slither analyses the very standard-JSON input that ``tools/build.py`` compiles (same sources,
optimizer, runs, EVM version and remappings; only the requested outputs differ: Slither needs the
AST). Its high- and medium-impact findings are matched against ``security/slither-triage.toml``
by detector, contract, function and, where one function has several, a part of the flagged
expression. The test fails on a finding no entry explains, on an entry no finding matches any more
(stale), and when Slither is missing or cannot analyse the contracts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools import build

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "security" / "slither-triage.toml"
# Dependency code (OpenZeppelin) is left out; see the header of the triage file.
FILTER_PATHS = "node_modules/"
GATED_IMPACTS = ("High", "Medium")
TIME_BUDGET_S = 120.0


@dataclass(frozen=True)
class Finding:
    """One Slither result, located without line numbers."""

    detector: str
    impact: str
    contract: str
    function: str
    expressions: tuple[str, ...]  # source expressions and variables Slither flagged
    description: str

    @property
    def where(self) -> str:
        return f"{self.contract}.{self.function}" if self.function else self.contract

    def render(self) -> str:
        lines = self.description.strip().splitlines()
        body = "\n".join("      " + line.strip() for line in lines)
        return f"  - {self.detector} [{self.impact}] in {self.where}\n{body}"

    def skeleton(self) -> str:
        """A triage entry to start from (the reason is the reviewer's to write)."""
        expression = f'expression = "{self.expressions[0]}"\n' if self.expressions else ""
        return (
            f'[[finding]]\ndetector = "{self.detector}"\ncontract = "{self.contract}"\n'
            f'function = "{self.function}"\n{expression}reason = """\n(why this is not a defect)\n"""'
        )


@dataclass(frozen=True)
class Entry:
    """One explained finding of the triage file."""

    detector: str
    contract: str
    function: str
    expression: str | None
    reason: str

    def matches(self, finding: Finding) -> bool:
        if (self.detector, self.contract, self.function) != (finding.detector, finding.contract, finding.function):
            return False
        return self.expression is None or any(self.expression in e for e in finding.expressions)

    def render(self) -> str:
        expression = f" ({self.expression})" if self.expression else ""
        return f"  - {self.detector} in {self.contract}.{self.function}{expression}"


def _parent(element: dict[str, Any]) -> dict[str, Any]:
    parent: dict[str, Any] = element.get("type_specific_fields", {}).get("parent", {})
    return parent


def locate(element: dict[str, Any]) -> tuple[str, str] | None:
    """(contract, function) of a result element, or None when it names neither."""
    kind = element.get("type")
    if kind == "function":
        return _parent(element).get("name", ""), element["name"]
    if kind in ("node", "variable"):
        function = _parent(element)
        if function.get("type") == "function":
            return _parent(function).get("name", ""), function["name"]
    if kind == "contract":
        return element["name"], ""
    return None


def to_finding(result: dict[str, Any]) -> Finding:
    elements: list[dict[str, Any]] = result.get("elements", [])
    places = [p for p in (locate(e) for e in elements) if p is not None]
    # A function-level place is more precise than a contract-level one (locked-ether names both).
    place = next((p for p in places if p[1]), places[0] if places else ("?", ""))
    expressions = tuple(e["name"] for e in elements if e.get("type") in ("node", "variable"))
    return Finding(result["check"], result["impact"], place[0], place[1], expressions, result["description"])


def load_triage(path: Path = TRIAGE) -> list[Entry]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    entries = []
    for i, raw in enumerate(data.get("finding", [])):
        missing = {"detector", "contract", "function", "reason"} - set(raw)
        assert not missing, f"{path.name}: entry {i + 1} lacks {sorted(missing)}"
        unknown = set(raw) - {"detector", "contract", "function", "expression", "reason"}
        assert not unknown, f"{path.name}: entry {i + 1} has unknown keys {sorted(unknown)}"
        reason = str(raw["reason"]).strip()
        assert len(reason) >= 40, f"{path.name}: entry {i + 1} ({raw['detector']} in {raw['function']}) needs a real reason"
        expression = raw.get("expression")
        entries.append(Entry(raw["detector"], raw["contract"], raw["function"], None if expression is None else str(expression), reason))
    return entries


def slither_executable() -> str:
    """The slither of this interpreter's environment (the venv), else the one on PATH."""
    local = Path(sys.executable).parent / "slither"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("slither")
    if found is None:
        pytest.fail("slither is not installed: `pip install slither-analyzer==0.11.6` (requirements/dev.lock has it)")
    return found


def solc_executable() -> str:
    """The solc that tools/build.py uses (py-solc-x's, native or the wasm-backed one)."""
    import solcx
    from solcx.install import get_executable

    try:
        solcx.set_solc_version(build.SOLC_VERSION, silent=True)
    except solcx.exceptions.SolcNotInstalled:
        pytest.fail(f"solc {build.SOLC_VERSION} is not installed for py-solc-x: run ./run setup")
    return str(get_executable(build.SOLC_VERSION))


def slither_input() -> dict[str, Any]:
    """tools/build.py's standard-JSON input, asking for what Slither reads (AST) instead."""
    solc_input = build.standard_input()
    solc_input["settings"]["outputSelection"] = {
        "*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode"], "": ["ast"]}
    }
    return solc_input


def run_slither(tmp: Path) -> tuple[list[Finding], float]:
    """Gated findings of a Slither run on contracts/, and the run's duration in seconds."""
    solc_input = tmp / "solc-input.json"
    solc_input.write_text(json.dumps(slither_input()))
    report = tmp / "slither.json"
    command = [
        slither_executable(),
        str(solc_input),
        "--compile-force-framework",
        "solc-json",
        "--solc",
        solc_executable(),
        "--filter-paths",
        FILTER_PATHS,
        "--exclude-informational",
        "--exclude-low",
        "--exclude-optimization",
        "--json",
        str(report),
    ]
    started = time.monotonic()
    # Slither exits nonzero whenever it finds something; its JSON report says whether it ran.
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIME_BUDGET_S * 2, check=False)
    elapsed = time.monotonic() - started
    if not report.is_file():
        pytest.fail(f"slither wrote no report (exit {done.returncode}):\n{done.stderr[-4000:]}")
    data = json.loads(report.read_text())
    if not data.get("success"):
        pytest.fail(f"slither failed: {data.get('error')}\n{done.stderr[-4000:]}")
    results = data.get("results", {}).get("detectors", [])
    findings = [to_finding(r) for r in results]
    assert all(f.impact in GATED_IMPACTS for f in findings), "slither reported a finding below medium despite the filters"
    assert not [r for r in results if FILTER_PATHS in json.dumps(r.get("first_markdown_element", ""))], "dependency findings leaked"
    return findings, elapsed


def test_slither_findings_are_all_triaged(tmp_path: Path) -> None:
    entries = load_triage()
    findings, elapsed = run_slither(tmp_path)
    print(f"slither: {len(findings)} high/medium findings in {elapsed:.1f} s, {len(entries)} triage entries")

    unexplained = [f for f in findings if not any(e.matches(f) for e in entries)]
    stale = [e for e in entries if not any(e.matches(f) for f in findings)]
    problems = []
    if unexplained:
        problems.append(
            f"{len(unexplained)} Slither finding(s) not explained in {TRIAGE.relative_to(ROOT)}; fix the contract, "
            "or add an entry saying why it is not a defect:\n"
            + "\n".join(f.render() for f in unexplained)
            + "\n\nEntries to start from:\n\n"
            + "\n\n".join(f.skeleton() for f in unexplained)
        )
    if stale:
        problems.append(
            f"{len(stale)} triage {'entry matches' if len(stale) == 1 else 'entries match'} no finding any more "
            "(stale: remove or update):\n"
            + "\n".join(e.render() for e in stale)
        )
    assert not problems, "\n\n".join(problems)
    assert elapsed < TIME_BUDGET_S, f"slither took {elapsed:.0f} s, over the {TIME_BUDGET_S:.0f} s budget"


def test_triage_matching_rules() -> None:
    """The matcher: detector, contract and function must agree; an expression narrows it down."""
    finding = Finding("unused-return", "Medium", "CouponBook", "redeem", ("(signer,None,None) = ECDSA.tryRecoverCalldata(x)",), "d")
    assert Entry("unused-return", "CouponBook", "redeem", None, "r").matches(finding)
    assert Entry("unused-return", "CouponBook", "redeem", "ECDSA.tryRecoverCalldata", "r").matches(finding)
    assert not Entry("unused-return", "CouponBook", "redeem", "liveKey", "r").matches(finding)
    assert not Entry("unused-return", "CouponBook", "createCampaign", None, "r").matches(finding)
    assert not Entry("incorrect-equality", "CouponBook", "redeem", None, "r").matches(finding)
    result = {
        "check": "uninitialized-local",
        "impact": "Medium",
        "description": "x",
        "elements": [
            {
                "type": "variable",
                "name": "computed",
                "type_specific_fields": {
                    "parent": {"type": "function", "name": "_bind", "type_specific_fields": {"parent": {"type": "contract", "name": "TraceLedger"}}}
                },
            }
        ],
    }
    located = to_finding(result)
    assert (located.contract, located.function, located.expressions) == ("TraceLedger", "_bind", ("computed",))
