"""o2ochain next to what a brand would pick instead, measured in one run on one Anvil.

The alternatives are built from their npm packages (devDependencies in package.json), through
small wrappers in bench/alternatives/ that only add a mint entry point:

- OpenZeppelin ERC721 (``@openzeppelin/contracts``): one token per item (``ItemNFT``);
- ERC721A (``erc721a``): a batch of consecutive tokens per call (``ItemBatchNFT``);
- the Ethereum Attestation Service (``@ethereum-attestation-service/eas-contracts``): SchemaRegistry
  and EAS deployed as published, ``attest`` and ``multiAttest`` as trace records.

Everything is compiled with tools/build.py's settings (optimizer, runs, EVM version); a package
that pins another compiler version is compiled with that exact version, from the npm ``solc``
package installed under the alias ``solc-<version>``, and the table says so. o2ochain's figures
come from the same operations bench/gas.py measures, and are checked against its snapshot.

In the same run: client throughput (a naive web3.py loop, one transaction at a time, against the
library's pipelined batches) and the latency of an item's history with 100,000 events on chain.
Prints the tables, writes bench/out/comparison.json, comparison.md (the tables in Markdown) and
comparison.png (gas per operation).

    .venv/bin/python bench/compare.py [--gas-price-gwei 1] [--eth-usd 3000] [--throughput 2000]
                                      [--naive 500] [--history-events 100000] [--reads 200]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tools/ is importable from the checkout's root
    sys.path.insert(0, str(ROOT))

from eth_account.signers.local import LocalAccount  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402
from web3.middleware import SignAndSendRawMiddlewareBuilder  # noqa: E402

from bench.trace_throughput import event as epcis_event  # noqa: E402
from bench.trace_throughput import parse  # noqa: E402
from o2ochain import epcis, gs1  # noqa: E402
from o2ochain._chain.connection import Anvil, dev_accounts, http_web3  # noqa: E402
from o2ochain._chain.tx import TX_GAS_CAP, Sender  # noqa: E402
from o2ochain.client import O2OChain  # noqa: E402
from o2ochain.identity import MAX_LEAVES, CatalogueItem  # noqa: E402
from tools import build  # noqa: E402

OUT = ROOT / "bench" / "out"
SNAPSHOT = ROOT / "bench" / "gas-snapshot.json"
ALTERNATIVES = ROOT / "bench" / "alternatives"
NODE_MODULES = ROOT / "node_modules"
EAS_PACKAGE = "@ethereum-attestation-service/eas-contracts"
REMAPPINGS = [
    *build.REMAPPINGS,
    "erc721a/=node_modules/erc721a/",
    f"{EAS_PACKAGE}/=node_modules/{EAS_PACKAGE}/",
]

#: Assumptions of the USD figures: stated in the table and the JSON, overridable on the command line.
GAS_PRICE_GWEI = 1.0
ETH_USD = 3_000.0
#: The brand of the cost question: this many items, this many trace events each.
BRAND_ITEMS = 1_000_000
EVENTS_PER_ITEM = 5
#: Items whose events go to Actor.record_events in one call while the history set-up runs.
HISTORY_CHUNK_ITEMS = 2_000

# The same product, lots, serials and URI as bench/gas.py, so the figures are the same.
PREFIX = "9506000"
GTIN = "09506000134352"
EXPIRY = date(2027, 5, 31)
URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
#: A line's manifests base URI, given to every openLine (bench/gas.py's MANIFESTS).
MANIFESTS = URI + "/lines/9506000"
#: EAS schema of a trace record: the fields of a TraceLedger entry (subject, content hash, packed
#: what/when/why, read point, business location, event id); the previous attestation of the same
#: subject goes in ``refUID``, as a ledger entry extends its subject's hash chain.
EAS_SCHEMA = "bytes32 subject,bytes32 contentHash,bytes32 meta,bytes32 readPoint,bytes32 bizLocation,bytes32 eventId"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
ZERO32 = b"\x00" * 32

OURS = "o2ochain"


# -- compiling the alternatives ----------------------------------------------------------------
@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what deploying it needs, and which compiler made it."""

    name: str
    source: str
    compiler: str
    abi: list[dict[str, Any]]
    bytecode: str


def package_version(package: str) -> str:
    """The installed version of an npm package (node_modules/<package>/package.json)."""
    return str(json.loads((NODE_MODULES / package / "package.json").read_text())["version"])


def pinned_compiler(source: str) -> str:
    """The compiler a source needs: its exact ``pragma solidity X.Y.Z;``, else ours."""
    match = re.search(r"pragma solidity (\d+\.\d+\.\d+)\s*;", source)
    return match.group(1) if match else build.SOLC_VERSION


def settings() -> dict[str, Any]:
    """tools/build.py's compiler settings (optimizer, runs, EVM version), our remappings and outputs."""
    ours = build.standard_input()["settings"]
    return {**ours, "remappings": REMAPPINGS, "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}


def compile_sources(units: dict[str, Path], version: str) -> dict[str, Any]:
    """Compile ``units`` (source unit name -> file) with solc ``version`` and our settings.

    Our version goes through py-solc-x as tools/build.py does (a native solc when there is one);
    another one through tools/solc/solc.js backed by the npm package ``solc-<version>``.
    """
    standard = {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text(encoding="utf-8")} for name, path in units.items()},
        "settings": settings(),
    }
    if version == build.SOLC_VERSION:
        import solcx

        solcx.set_solc_version(version, silent=True)
        compiled: dict[str, Any] = solcx.compile_standard(standard, base_path=str(ROOT), allow_paths=[str(ROOT)])
        return compiled
    module = NODE_MODULES / f"solc-{version}"
    if not module.is_dir():
        sys.exit(
            f"solc {version} is needed (pinned by a dependency) but node_modules/solc-{version} is missing: "
            f"npm install --save-dev --save-exact solc-{version}@npm:solc@{version}"
        )
    node = shutil.which("node")
    if node is None:
        sys.exit("Node.js is needed to run the wasm compiler")
    env = {**os.environ, "O2O_SOLC_JS": str(module)}
    shim = str(ROOT / "tools" / "solc" / "solc.js")
    answer = subprocess.run([node, shim, "--version"], env=env, capture_output=True, text=True, check=True).stdout
    if f"Version: {version}+" not in answer:
        sys.exit(f"node_modules/solc-{version} answers {answer.strip()!r}, not solc {version}")
    done = subprocess.run(
        [node, shim, "--standard-json", "--base-path", str(ROOT)],
        check=False,
        env=env,
        input=json.dumps(standard),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"solc {version} failed: {done.stderr[-2000:]}")
    output: dict[str, Any] = json.loads(done.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        sys.exit(f"solc {version}: " + "\n".join(errors))
    return output


def _pick(output: dict[str, Any], wanted: dict[str, str], version: str) -> dict[str, Artifact]:
    found: dict[str, Artifact] = {}
    for source, contracts in output["contracts"].items():
        for name, data in contracts.items():
            if wanted.get(name) == source:
                found[name] = Artifact(name, source, version, data["abi"], "0x" + data["evm"]["bytecode"]["object"])
    missing = set(wanted) - set(found)
    if missing:
        raise RuntimeError(f"not in the compiler's output: {sorted(missing)}")
    return found


def compile_wrappers() -> dict[str, Artifact]:
    """bench/alternatives/*.sol (ItemNFT on OpenZeppelin ERC721, ItemBatchNFT on ERC721A), solc 0.8.30."""
    units = {f"bench/alternatives/{p.name}": p for p in sorted(ALTERNATIVES.glob("*.sol"))}
    output = compile_sources(units, build.SOLC_VERSION)
    return _pick(
        output, {"ItemNFT": "bench/alternatives/ItemNFT.sol", "ItemBatchNFT": "bench/alternatives/ItemBatchNFT.sol"}, build.SOLC_VERSION
    )


def compile_eas() -> dict[str, Artifact]:
    """SchemaRegistry and EAS as published in the npm package, with the compiler its pragma pins."""
    folder = NODE_MODULES / EAS_PACKAGE / "contracts"
    units = {f"{EAS_PACKAGE}/contracts/{name}.sol": folder / f"{name}.sol" for name in ("SchemaRegistry", "EAS")}
    version = pinned_compiler((folder / "EAS.sol").read_text())
    output = compile_sources(units, version)
    return _pick(output, {Path(unit).stem: unit for unit in units}, version)


# -- pure parts: costs, capacity, percentiles ----------------------------------------------------
@dataclass
class Operation:
    """One measured transaction: ``ops`` items or events for ``gas`` (its total gasUsed)."""

    key: str
    system: str
    kind: str  # "item" or "event"
    label: str
    gas: int
    ops: int
    versus: str | None = None  # the key of o2ochain's operation it is compared with
    max_per_tx: int | None = None
    max_note: str = ""

    @property
    def per_op(self) -> float:
        return self.gas / self.ops


def usd(gas: float, gas_price_gwei: float, eth_usd: float) -> float:
    """What ``gas`` costs in USD at ``gas_price_gwei`` and ``eth_usd`` per ETH."""
    return gas * gas_price_gwei * 1e-9 * eth_usd


def fit_line(a: tuple[int, int], b: tuple[int, int]) -> tuple[float, float]:
    """(fixed gas, gas per op) of a batch call from two measurements ``(ops, gas)`` of it."""
    (n1, g1), (n2, g2) = sorted((a, b))
    if n1 == n2:
        raise ValueError("two different batch sizes are needed")
    marginal = (g2 - g1) / (n2 - n1)
    return g1 - marginal * n1, marginal


def max_per_tx(fixed: float, marginal: float, cap: int = TX_GAS_CAP) -> int:
    """How many ops one transaction holds under the per-transaction gas cap."""
    if marginal <= 0:
        raise ValueError("the gas per op must be positive")
    return max(0, math.floor((cap - fixed) / marginal))


def margin(predicted: int) -> int:
    """How many subjects to prepare for a capacity check predicted at ``predicted`` ops."""
    return math.ceil(predicted * 1.02) + 5


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values``."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Scenario:
    """A way to register ``BRAND_ITEMS`` items and record ``EVENTS_PER_ITEM`` events on each."""

    name: str
    items_op: str
    events_op: str
    versus: str | None = None  # the o2ochain scenario of the same shape


SCENARIOS = (
    Scenario("o2ochain: Merkle lots of 10,000 + events in batches of 50", "ours.register_items_merkle_10000", "ours.trace_events_batch_50"),
    Scenario("o2ochain: batches of 100 + events in batches of 50", "ours.register_items_batch_100", "ours.trace_events_batch_50"),
    Scenario("o2ochain: one item, one event per transaction", "ours.register_item_single", "ours.trace_event_single"),
    Scenario(
        "ERC721A batches of 100 + EAS multiAttest of 50",
        "erc721a.mint_batch_100",
        "eas.multi_attest_50",
        "o2ochain: batches of 100 + events in batches of 50",
    ),
    Scenario(
        "OpenZeppelin ERC721 batches of 100 + EAS multiAttest of 50",
        "erc721.mint_batch_100",
        "eas.multi_attest_50",
        "o2ochain: batches of 100 + events in batches of 50",
    ),
    Scenario(
        "OpenZeppelin ERC721 mint + EAS attest, one per transaction",
        "erc721.mint",
        "eas.attest",
        "o2ochain: one item, one event per transaction",
    ),
)


def brand_costs(
    operations: dict[str, Operation],
    *,
    gas_price_gwei: float,
    eth_usd: float,
    items: int = BRAND_ITEMS,
    events_per_item: int = EVENTS_PER_ITEM,
    scenarios: Sequence[Scenario] = SCENARIOS,
) -> list[dict[str, Any]]:
    """Gas, ETH and USD of each scenario for ``items`` items with ``events_per_item`` events each."""
    rows: list[dict[str, Any]] = []
    by_name: dict[str, float] = {}
    for s in scenarios:
        item_op, event_op = operations[s.items_op], operations[s.events_op]
        item_gas = items * item_op.per_op
        event_gas = items * events_per_item * event_op.per_op
        gas = item_gas + event_gas
        by_name[s.name] = gas
        rows.append(
            {
                "scenario": s.name,
                "items_operation": s.items_op,
                "events_operation": s.events_op,
                "items_gas": round(item_gas),
                "events_gas": round(event_gas),
                "gas": round(gas),
                "eth": gas * gas_price_gwei * 1e-9,
                "usd": usd(gas, gas_price_gwei, eth_usd),
                "versus": s.versus,
                "ratio_to_ours": round(gas / by_name[s.versus], 2) if s.versus else None,
            }
        )
    return rows


def operation_rows(operations: dict[str, Operation]) -> list[dict[str, Any]]:
    """The operations as JSON rows, each with its gas per op and its ratio to o2ochain's."""
    rows = []
    for op in operations.values():
        ratio = op.per_op / operations[op.versus].per_op if op.versus else None
        rows.append(
            {
                **{k: v for k, v in asdict(op).items() if k != "max_note"},
                "gas_per_op": round(op.per_op, 1),
                "ratio_to_ours": None if ratio is None else round(ratio, 2),
                "max_per_tx_note": op.max_note,
            }
        )
    return rows


# -- tables and the chart ----------------------------------------------------------------------
def _n(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def gas_table(result: dict[str, Any]) -> Table:
    env = result["environment"]
    t = Table(
        title=(
            f"Gas per item / per event, one Anvil ({env['anvil']}), total gasUsed per transaction; "
            f"optimizer {env['optimizer_runs']:,} runs, EVM {env['evm_version']}"
        )
    )
    for col in ("kind", "system", "operation", "ops / tx", "gas (tx)", "gas / op", "x o2ochain", "max ops / tx"):
        t.add_column(col, justify="right" if col in {"ops / tx", "gas (tx)", "gas / op", "x o2ochain", "max ops / tx"} else "left")
    for row in result["operations"]:
        ratio = "" if row["ratio_to_ours"] is None else f"{row['ratio_to_ours']:.2f}x"
        cap = _n(row["max_per_tx"]) + (f" {row['max_per_tx_note']}" if row["max_per_tx_note"] else "")
        t.add_row(row["kind"], row["system"], row["label"], f"{row['ops']:,}", f"{row['gas']:,}", _n(row["gas_per_op"], 1), ratio, cap)
    return t


def cost_table(result: dict[str, Any]) -> Table:
    a = result["assumptions"]
    t = Table(
        title=(
            f"A brand registering {a['items']:,} items with {a['events_per_item']} events each, "
            f"at {a['gas_price_gwei']:g} gwei and {a['eth_usd']:,.0f} USD/ETH (assumptions)"
        )
    )
    for col in ("scenario", "gas", "ETH", "USD", "x o2ochain"):
        t.add_column(col, justify="left" if col == "scenario" else "right")
    for row in result["brand_cost"]:
        ratio = "" if row["ratio_to_ours"] is None else f"{row['ratio_to_ours']:.2f}x"
        t.add_row(row["scenario"], f"{row['gas']:,}", f"{row['eth']:,.2f}", f"{row['usd']:,.0f}", ratio)
    return t


def client_table(result: dict[str, Any]) -> Table:
    t = Table(title="Client throughput and history latency (same Anvil)")
    t.add_column("measure")
    t.add_column("naive web3.py loop", justify="right")
    t.add_column("o2ochain library", justify="right")
    t.add_column("speed-up", justify="right")
    for key, what in (("registration", "items registered"), ("trace", "trace events recorded")):
        r = result["throughput"][key]
        t.add_row(
            f"{what}: library {r['count']:,} in {r['library_transactions']} transactions; naive {r['naive_count']:,}",
            f"{r['naive_seconds']:.1f} s, {r['naive_per_second']:,.1f}/s",
            f"{r['library_seconds']:.1f} s, {r['library_per_second']:,.0f}/s",
            f"{r['speedup']:.1f}x",
        )
    h = result["history"]
    t.add_row(
        f"history of an item ({h['item_events']} events) among {h['events_on_chain']:,} on chain, {h['reads']} random items",
        "",
        f"p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms",
        "",
    )
    t.add_row(
        f"putting {h['history_events']:,} events on chain ({h['history_items']:,} items x {h['events_per_item']})",
        "",
        f"{h['setup_seconds']:.0f} s ({h['setup_per_second']:,.0f} events/s)",
        "",
    )
    return t


def markdown(result: dict[str, Any]) -> str:
    """The three tables in Markdown, for the README's Performance section."""
    a, env = result["assumptions"], result["environment"]
    lines = [
        "| | operation | ops / tx | gas / op | × o2ochain | max ops / tx |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result["operations"]:
        ratio = "" if row["ratio_to_ours"] is None else f"{row['ratio_to_ours']:.2f}×"
        per = f"{row['gas_per_op']:,.1f}" if row["gas_per_op"] < 100 else f"{row['gas_per_op']:,.0f}"
        cap = _n(row["max_per_tx"]) + (f" {row['max_per_tx_note']}" if row["max_per_tx_note"] else "")
        lines.append(f"| {row['system']} | {row['label']} | {row['ops']:,} | {per} | {ratio} | {cap} |")
    lines += [
        "",
        f"A brand registering {a['items']:,} items with {a['events_per_item']} events each, at {a['gas_price_gwei']:g} gwei "
        f"and {a['eth_usd']:,.0f} USD/ETH (assumptions):",
        "",
        "| scenario | gas | ETH | USD | × o2ochain |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["brand_cost"]:
        ratio = "" if row["ratio_to_ours"] is None else f"{row['ratio_to_ours']:.2f}×"
        lines.append(f"| {row['scenario']} | {row['gas']:,} | {row['eth']:,.2f} | {row['usd']:,.0f} | {ratio} |")
    h = result["history"]
    lines += ["", "| client, same Anvil | naive web3.py loop | o2ochain library | speed-up |", "|---|---:|---:|---:|"]
    for key, what in (("registration", "items registered"), ("trace", "trace events recorded")):
        r = result["throughput"][key]
        lines.append(
            f"| {what} (library {r['count']:,} in {r['library_transactions']} transactions, naive {r['naive_count']:,}) "
            f"| {r['naive_per_second']:,.1f}/s | {r['library_per_second']:,.0f}/s | {r['speedup']:.1f}× |"
        )
    lines.append(
        f"| history of an item ({h['item_events']} events) among {h['events_on_chain']:,} on chain, {h['reads']} random items "
        f"| | p50 {h['p50_ms']:.0f} ms, p95 {h['p95_ms']:.0f} ms | |"
    )
    lines.append(
        f"| putting {h['history_events']:,} events on chain | | {h['setup_seconds']:.0f} s ({h['setup_per_second']:,.0f} events/s) | |"
    )
    solc = ", ".join(f"{k} {v}" for k, v in env["solc"].items())
    lines += ["", f"Anvil {env['anvil']}; solc: {solc}; optimizer {env['optimizer_runs']:,} runs, EVM {env['evm_version']}."]
    return "\n".join(lines) + "\n"


def chart(result: dict[str, Any], path: Path) -> None:
    """Gas per operation, o2ochain against the alternatives (log scale), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(reversed(result["operations"]))
    labels = [f"{r['system']}: {r['label']}" for r in rows]
    values = [r["gas_per_op"] for r in rows]
    solc = result["environment"]["solc"]
    colours = ["#1b7f5f" if r["system"] == OURS else "#9a9a9a" for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(rows) + 1.6))
    bars = ax.barh(labels, values, color=colours)
    ax.set_xscale("log")
    ax.set_xlabel(
        "gas per item or event: total gasUsed / ops in the transaction (log scale)\n"
        f"one Anvil, solc {', '.join(sorted(set(solc.values())))}, optimizer {result['environment']['optimizer_runs']:,} runs"
    )
    fig.suptitle("Gas per operation: o2ochain (green) and what a brand would pick instead (grey)")
    for bar, row in zip(bars, rows, strict=True):
        value = f"{row['gas_per_op']:,.1f}" if row["gas_per_op"] < 100 else f"{row['gas_per_op']:,.0f}"
        note = value + (f"  ({row['ratio_to_ours']:.2f}x o2ochain)" if row["ratio_to_ours"] is not None else "")
        ax.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=8)
    ax.set_xlim(1, max(values) * 200)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- measuring ---------------------------------------------------------------------------------
@dataclass
class Bench:
    """One Anvil, o2ochain deployed, and a way to send and record transactions."""

    node: Anvil
    chain: O2OChain
    accounts: list[LocalAccount]
    operations: dict[str, Operation] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    def sender(self, account: LocalAccount) -> Sender:
        return Sender(self.w3, account)

    def record(self, key: str, system: str, kind: str, label: str, sender: Sender, fn: Any, ops: int, versus: str | None = None) -> Any:
        receipt = sender.transact(fn, label=key)
        self.operations[key] = Operation(key, system, kind, label, int(receipt["gasUsed"]), ops, versus)
        return receipt

    def deploy(self, sender: Sender, art: Artifact, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = sender.transact(factory.constructor(*args), label=f"deploying {art.name}")
        return cast(Contract, self.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi))

    def check_capacity(
        self, key: str, sender: Sender, make: Callable[[int], Any], fixed: float, marginal: float, available: int | None = None
    ) -> int:
        """The largest batch of ``key`` under the per-transaction cap: predicted from two batch
        sizes, settled by estimating around the prediction, then sent with the cap as its gas limit."""
        predicted = max_per_tx(fixed, marginal)

        def needs(k: int) -> int:
            if available is not None and k > available:
                raise AssertionError(f"{key}: {k:,} ops asked, {available:,} prepared; prepare more")
            return int(make(k).estimate_gas({"from": sender.address}))

        n = predicted
        while needs(n) > TX_GAS_CAP:
            n -= 1
        while (one_more := needs(n + 1)) <= TX_GAS_CAP:
            n += 1
        receipt = sender.wait([sender.send(make(n), gas=TX_GAS_CAP, label=f"{key} x {n}")])[0]
        ok = int(receipt["status"]) == 1 and int(receipt["gasUsed"]) <= TX_GAS_CAP < one_more
        self.checks.append(
            {
                "operation": key,
                "predicted_max": predicted,
                "max": n,
                "gas_used": int(receipt["gasUsed"]),
                "gas_limit": TX_GAS_CAP,
                "status": int(receipt["status"]),
                "one_more_needs": one_more,
                "ok": ok,
            }
        )
        print(
            f"  {key}: predicted {predicted:,}; {n:,} sent with a {TX_GAS_CAP:,} gas limit used {int(receipt['gasUsed']):,}; {n + 1:,} would need {one_more:,}"
        )
        if not ok:
            raise AssertionError(f"capacity check of {key} failed: {self.checks[-1]}")
        self.operations[key].max_per_tx = n
        return n


def one_per_call(single: Operation, batch: Operation) -> None:
    """A call that takes one op: one per transaction, and how many its batch form takes."""
    single.max_per_tx = 1
    single.max_note = f"(batched: {batch.max_per_tx:,})"


def item_id_int(serial: str) -> int:
    return int.from_bytes(gs1.item_id(GTIN, serial), "big")


def measure_ours(b: Bench) -> None:
    """bench/gas.py's operations, in its order and with its inputs."""
    chain = b.chain
    operator, brand_admin, registrant, actor = b.accounts[0], b.accounts[1], b.accounts[2], b.accounts[5]
    brand = chain.admin(operator).register_brand(brand_admin.address, "Bench Brand", [PREFIX])
    admin = chain.brand(brand_admin, brand)
    admin.grant_registrant(registrant.address)
    admin.add_product(GTIN, "o2ochain://product/" + GTIN)
    reg = chain.registrant(registrant)
    contract = chain.identity.contract
    g = gs1.gtin_to_int(GTIN)

    def batch(lot: str, serials: list[str]) -> Any:
        return contract.functions.registerItems([(g, gs1.to_bytes32(lot), 270531, [gs1.to_bytes32(s) for s in serials])])

    reg.sender.transact(batch("L0001", ["SN0000000001"]))
    reg.sender.transact(batch("L0001", ["SN0000000002"]))
    b.record(
        "ours.register_items_batch_100",
        OURS,
        "item",
        "registerItems, batch of 100 (new lot)",
        reg.sender,
        batch("L0002", [f"SB{n:010d}" for n in range(1, 101)]),
        100,
    )
    reg.sender.transact(batch("L0002", [f"SB{n:010d}" for n in range(101, 201)]))
    b.record(
        "ours.register_items_batch_500",
        OURS,
        "item",
        "registerItems, batch of 500 (new lot)",
        reg.sender,
        batch("L0003", [f"SC{n:010d}" for n in range(1, 501)]),
        500,
    )
    reg.open_line(GTIN, "L0001", EXPIRY, manifests=MANIFESTS)
    reg.sender.transact(contract.functions.openLine(g, gs1.to_bytes32("L0004"), 270531, MANIFESTS))
    single = reg.register_one("SN0000000003")
    b.operations["ours.register_item_single"] = Operation(
        "ours.register_item_single",
        OURS,
        "item",
        "registerItem, one item from a production line",
        single.gas_used,
        1,
    )
    reg.sender.transact(contract.functions.openLine(g, gs1.to_bytes32("L0001"), 270531, MANIFESTS))

    def commit(lot: str, prefix: str) -> Any:
        items = [CatalogueItem(GTIN, f"{prefix}{n:010d}", lot, EXPIRY, n + 2) for n in range(10_000)]
        (done,) = reg.commit_lots(items, proofs_dir=Path(tempfile.mkdtemp(prefix="o2o-compare-proofs-")), uri_template=URI)
        return done

    commit("M0001", "MS")
    reg.open_line(GTIN, "M0002", EXPIRY, manifests=MANIFESTS)  # commit_lots commits from a line with manifests
    done = commit("M0002", "MT")
    assert done.via_line
    receipt = b.w3.eth.get_transaction_receipt(done.tx_hash)
    b.operations["ours.register_items_merkle_10000"] = Operation(
        "ours.register_items_merkle_10000",
        OURS,
        "item",
        "commitLineRoot, Merkle lot of 10,000",
        int(receipt["gasUsed"]),
        10_000,
        max_per_tx=MAX_LEAVES,
        max_note="(tree limit; gas does not grow)",
    )

    # Traceability, as bench/gas.py's measure_trace.
    ledger = chain.trace.contract
    Sender(b.w3, brand_admin).transact(ledger.functions.grantActor(brand, actor.address, 3, os.urandom(32)))
    actor_sender = Sender(b.w3, actor)

    def subject(n: int) -> tuple[bytes, tuple[int, int, bytes]]:
        serial = f"TR{n:08d}"
        return gs1.item_id(GTIN, serial), (1, g, gs1.to_bytes32(serial))

    def entry(s: bytes, binding: tuple[int, int, bytes] = (0, 0, ZERO32)) -> tuple[Any, ...]:
        return (s, os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(32), binding, [])

    for n in (0, 1):
        actor_sender.transact(ledger.functions.record(brand, [entry(*subject(n))]))
    b.record(
        "ours.trace_event_single",
        OURS,
        "event",
        "record, one event (subject with history)",
        actor_sender,
        ledger.functions.record(brand, [entry(subject(1)[0])]),
        1,
    )
    subjects = [subject(n) for n in range(100, 150)]
    actor_sender.transact(ledger.functions.record(brand, [entry(s, bd) for s, bd in subjects]))
    b.record(
        "ours.trace_events_batch_50",
        OURS,
        "event",
        "record, batch of 50 events",
        actor_sender,
        ledger.functions.record(brand, [entry(s) for s, _ in subjects]),
        50,
    )

    # How many fit in one transaction: a line through two batch sizes of each, then the largest
    # batch sent with the cap as its gas limit.
    print("capacity under the per-transaction cap:")
    ops = b.operations
    fixed, marginal = fit_line((100, ops["ours.register_items_batch_100"].gas), (500, ops["ours.register_items_batch_500"].gas))
    runs = iter(range(100))  # each call a new lot of new serials, as the batch of 100 and of 500

    def fresh_batch(k: int) -> Any:
        run = next(runs)
        return batch(f"X{run:04d}", [f"X{run:02d}{i:08d}" for i in range(k)])

    n = b.check_capacity("ours.register_items_batch_100", reg.sender, fresh_batch, fixed, marginal)
    ops["ours.register_items_batch_500"].max_per_tx = n
    fixed, marginal = fit_line((1, ops["ours.trace_event_single"].gas), (50, ops["ours.trace_events_batch_50"].gas))
    need = margin(max_per_tx(fixed, marginal))
    started = [subject(n) for n in range(10_000, 10_000 + need)]
    pending = [
        actor_sender.send(ledger.functions.record(brand, [entry(s, bd) for s, bd in started[i : i + 200]])) for i in range(0, need, 200)
    ]
    actor_sender.wait(pending)
    n = b.check_capacity(
        "ours.trace_events_batch_50",
        actor_sender,
        lambda k: ledger.functions.record(brand, [entry(s) for s, _ in started[:k]]),
        fixed,
        marginal,
        available=need,
    )
    one_per_call(ops["ours.register_item_single"], ops["ours.register_items_batch_100"])
    one_per_call(ops["ours.trace_event_single"], ops["ours.trace_events_batch_50"])


def measure_alternatives(b: Bench, wrappers: dict[str, Artifact], eas: dict[str, Artifact]) -> None:
    """The same work with OpenZeppelin ERC721, ERC721A and EAS, from a brand key of their own."""
    brand = b.accounts[6]
    s = b.sender(brand)
    oz = f"OpenZeppelin ERC721 {package_version('@openzeppelin/contracts')}"
    azuki = f"ERC721A {package_version('erc721a')}"
    eas_name = f"EAS {package_version(EAS_PACKAGE)}" + (
        f" (solc {eas['EAS'].compiler})" if eas["EAS"].compiler != build.SOLC_VERSION else ""
    )

    nft = b.deploy(s, wrappers["ItemNFT"], brand.address)
    serials = iter(f"NF{n:010d}" for n in range(1_000_000))
    s.transact(nft.functions.mint(brand.address, item_id_int(next(serials))))  # the brand's first token: its balance slot
    b.record(
        "erc721.mint",
        oz,
        "item",
        "mint, one token per item",
        s,
        nft.functions.mint(brand.address, item_id_int(next(serials))),
        1,
        "ours.register_item_single",
    )

    def oz_batch(k: int) -> Any:
        return nft.functions.mintBatch(brand.address, [item_id_int(next(serials)) for _ in range(k)])

    b.record("erc721.mint_batch_10", oz, "item", "mintBatch of 10 (a _mint loop)", s, oz_batch(10), 10)
    b.record("erc721.mint_batch_100", oz, "item", "mintBatch of 100 (a _mint loop)", s, oz_batch(100), 100, "ours.register_items_batch_100")

    a = b.deploy(s, wrappers["ItemBatchNFT"], brand.address)
    s.transact(a.functions.mintBatch(brand.address, 1))  # the first mint: the brand's balance, the counter

    def azuki_batch(k: int) -> Any:
        return a.functions.mintBatch(brand.address, k)

    b.record(
        "erc721a.mint_batch_100",
        azuki,
        "item",
        "mintBatch of 100 (sequential ids)",
        s,
        azuki_batch(100),
        100,
        "ours.register_items_batch_100",
    )
    b.record(
        "erc721a.mint_batch_500",
        azuki,
        "item",
        "mintBatch of 500 (sequential ids)",
        s,
        azuki_batch(500),
        500,
        "ours.register_items_batch_500",
    )

    registry = b.deploy(s, eas["SchemaRegistry"])
    service = b.deploy(s, eas["EAS"], registry.address)
    receipt = s.transact(registry.functions.register(EAS_SCHEMA, "0x" + "00" * 20, False))
    schema = bytes(registry.events.Registered().process_receipt(receipt)[0]["args"]["uid"])
    ledger_like = iter(range(1_000_000))

    def data(subject: bytes, ref: bytes) -> tuple[Any, ...]:
        payload = Web3().codec.encode(["bytes32"] * 6, [subject, *(os.urandom(32) for _ in range(5))])
        return ("0x" + "00" * 20, 0, False, ref, payload, 0)

    def uids(receipt: Any) -> list[bytes]:
        return [bytes(log["args"]["uid"]) for log in service.events.Attested().process_receipt(receipt)]

    def first_attestations(k: int) -> list[tuple[bytes, bytes]]:
        """(subject, uid) of ``k`` new subjects' first attestations (refUID empty)."""
        subjects = [gs1.item_id(GTIN, f"EA{next(ledger_like):08d}") for _ in range(k)]
        chunks = [subjects[i : i + 40] for i in range(0, k, 40)]
        pending = [s.send(service.functions.multiAttest([(schema, [data(x, ZERO32) for x in chunk])])) for chunk in chunks]
        made = [uid for receipt in s.wait(pending) for uid in uids(receipt)]
        return list(zip(subjects, made, strict=True))

    ((subject, uid),) = first_attestations(1)
    b.record(
        "eas.attest",
        eas_name,
        "event",
        "attest, one record (refUID = subject's last)",
        s,
        service.functions.attest((schema, data(subject, uid))),
        1,
        "ours.trace_event_single",
    )

    def multi(chained: list[tuple[bytes, bytes]]) -> Any:
        return service.functions.multiAttest([(schema, [data(x, u) for x, u in chained])])

    b.record(
        "eas.multi_attest_10",
        eas_name,
        "event",
        "multiAttest of 10 (refUIDs)",
        s,
        multi(first_attestations(10)),
        10,
    )
    b.record(
        "eas.multi_attest_50",
        eas_name,
        "event",
        "multiAttest of 50 (refUIDs)",
        s,
        multi(first_attestations(50)),
        50,
        "ours.trace_events_batch_50",
    )

    ops = b.operations
    fixed, marginal = fit_line((10, ops["erc721.mint_batch_10"].gas), (100, ops["erc721.mint_batch_100"].gas))
    n = b.check_capacity("erc721.mint_batch_100", s, oz_batch, fixed, marginal)
    ops["erc721.mint_batch_10"].max_per_tx = n
    fixed, marginal = fit_line((100, ops["erc721a.mint_batch_100"].gas), (500, ops["erc721a.mint_batch_500"].gas))
    n = b.check_capacity("erc721a.mint_batch_100", s, azuki_batch, fixed, marginal)
    ops["erc721a.mint_batch_500"].max_per_tx = n
    fixed, marginal = fit_line((10, ops["eas.multi_attest_10"].gas), (50, ops["eas.multi_attest_50"].gas))
    chained = first_attestations(margin(max_per_tx(fixed, marginal)))
    n = b.check_capacity("eas.multi_attest_50", s, lambda k: multi(chained[:k]), fixed, marginal, available=len(chained))
    ops["eas.multi_attest_10"].max_per_tx = n
    one_per_call(ops["erc721.mint"], ops["erc721.mint_batch_100"])
    one_per_call(ops["eas.attest"], ops["eas.multi_attest_50"])


def agreement_with_snapshot(operations: dict[str, Operation], snapshot: Path = SNAPSHOT) -> dict[str, dict[str, Any]]:
    """o2ochain's figures of this run against bench/gas.py's committed snapshot."""
    committed = {k: int(v) for k, v in json.loads(snapshot.read_text()).items()} if snapshot.is_file() else {}
    out: dict[str, dict[str, Any]] = {}
    for key, op in operations.items():
        name = key.removeprefix("ours.")
        if op.system == OURS and name in committed:
            out[name] = {"measured": op.gas, "snapshot": committed[name], "change": round(op.gas / committed[name] - 1, 4)}
    return out


def naive_web3(url: str, account: LocalAccount) -> Web3:
    """A plain web3.py client that signs ``send_transaction`` with a local key, as its docs show."""
    w3 = Web3(Web3.HTTPProvider(url))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    return w3


def measure_throughput(b: Bench, count: int, naive_count: int) -> dict[str, Any]:
    """Registration and trace events: one transaction at a time and waiting, against the library."""
    chain = b.chain
    brand = chain.identity.brand_of_gtin(GTIN)
    brand_admin = b.accounts[1]
    lib_key, naive_key, lib_actor, naive_actor = b.accounts[7], b.accounts[8], b.accounts[9], b.accounts[10]
    admin = chain.brand(brand_admin, brand)
    for key in (lib_key, naive_key):
        admin.grant_registrant(key.address)
    trace_admin = chain.trace_admin(brand_admin, brand)
    for key in (lib_actor, naive_actor):
        trace_admin.grant(key.address, "logistics")
    result: dict[str, Any] = {}

    # Registration.
    items = [CatalogueItem(GTIN, f"TL{n:010d}", "TPUT-LIB", EXPIRY, n + 2) for n in range(count)]
    started = time.perf_counter()
    report = chain.registrant(lib_key).register_items(items)
    library_s = time.perf_counter() - started
    assert report.registered == count, report
    chain.registrant(naive_key).open_line(GTIN, "TPUT-NAIVE", EXPIRY)
    w3 = naive_web3(b.node.url, naive_key)
    registry = w3.eth.contract(address=chain.identity.contract.address, abi=chain.identity.contract.abi)
    print(f"  naive loop: registering {naive_count:,} items one transaction at a time")
    started = time.perf_counter()
    for n in range(naive_count):
        tx = registry.functions.registerItem(gs1.to_bytes32(f"TN{n:010d}")).transact({"from": naive_key.address})
        w3.eth.wait_for_transaction_receipt(tx)
    naive_s = time.perf_counter() - started
    assert all(chain.identity.registered([gs1.item_id(GTIN, f"TN{n:010d}") for n in (0, naive_count - 1)]))
    result["registration"] = _speed(count, library_s, report.transactions, naive_count, naive_s)

    # Trace events: each the first on its item (the binding checked on chain), on both sides.
    lib_events = parse([epcis_event(f"TL{n:010d}", n, "shipping") for n in range(count)])
    started = time.perf_counter()
    recorded = chain.actor(lib_actor).record_events(lib_events)
    library_s = time.perf_counter() - started
    assert recorded.recorded == count, recorded
    naive_events = parse([epcis_event(f"TN{n:010d}", n, "shipping") for n in range(naive_count)])
    w3 = naive_web3(b.node.url, naive_actor)
    ledger = w3.eth.contract(address=chain.trace.contract.address, abi=chain.trace.contract.abi)
    g = gs1.gtin_to_int(GTIN)
    print(f"  naive loop: recording {naive_count:,} events one transaction at a time")
    started = time.perf_counter()
    for e in naive_events:
        s = e.primary_subjects()[0]
        entry: tuple[Any, ...] = (
            s.id,
            e.content_hash,
            epcis.pack_meta(e),
            ZERO32,
            ZERO32,
            ZERO32,
            (1, g, gs1.to_bytes32(s.code or "")),
            [],
        )
        w3.eth.wait_for_transaction_receipt(ledger.functions.record(brand, [entry]).transact({"from": naive_actor.address}))
    naive_s = time.perf_counter() - started
    result["trace"] = _speed(count, library_s, recorded.transactions, naive_count, naive_s)
    return result


def _speed(count: int, library_s: float, transactions: int, naive_count: int, naive_s: float) -> dict[str, Any]:
    library_rate, naive_rate = count / library_s, naive_count / naive_s
    return {
        "count": count,
        "library_seconds": round(library_s, 2),
        "library_per_second": round(library_rate, 1),
        "library_transactions": transactions,
        "naive_count": naive_count,
        "naive_seconds": round(naive_s, 2),
        "naive_per_second": round(naive_rate, 1),
        "speedup": round(library_rate / naive_rate, 1),
    }


def measure_history(b: Bench, events: int, reads: int) -> dict[str, Any]:
    """Put ``events`` events on chain (items of ``EVENTS_PER_ITEM`` each, registered), then read
    random items' histories as a consumer does."""
    chain = b.chain
    brand = chain.identity.brand_of_gtin(GTIN)
    registrant, actor = b.accounts[11], b.accounts[12]
    chain.brand(b.accounts[1], brand).grant_registrant(registrant.address)
    chain.trace_admin(b.accounts[1], brand).grant(actor.address, "logistics")
    count = events // EVENTS_PER_ITEM
    serials = [f"H{n:09d}" for n in range(count)]
    started = time.perf_counter()
    items = [CatalogueItem(GTIN, s, f"H{n // 1000:04d}", EXPIRY, n + 2) for n, s in enumerate(serials)]
    registered = chain.registrant(registrant).register_items(items)
    print(f"  registered {registered.registered:,} items in {time.perf_counter() - started:.1f} s")
    steps = ("commissioning", "packing", "shipping", "receiving", "retail_selling")
    recorder = chain.actor(actor)
    transactions = 0
    started = time.perf_counter()
    # In chunks of items, each item's events in order: every call starts new chains only, so the
    # library's check of what is already on chain stays one read of heads.
    for first in range(0, count, HISTORY_CHUNK_ITEMS):
        chunk = list(enumerate(serials))[first : first + HISTORY_CHUNK_ITEMS]
        events_of_chunk = parse([epcis_event(s, r * count + n, steps[r % len(steps)]) for r in range(EVENTS_PER_ITEM) for n, s in chunk])
        recorded = recorder.record_events(events_of_chunk)
        assert recorded.recorded == len(events_of_chunk), recorded
        transactions += recorded.transactions
        done = (first + len(chunk)) * EVENTS_PER_ITEM
        elapsed = time.perf_counter() - started
        print(f"  {done:,} / {count * EVENTS_PER_ITEM:,} events on chain ({elapsed:.0f} s, {done / elapsed:,.0f} events/s)", flush=True)
    setup_s = time.perf_counter() - started
    on_chain = _events_on_chain(b)
    rng = random.Random(8)
    latencies = []
    lengths = set()
    for serial in rng.sample(serials, min(reads, len(serials))):
        t = time.perf_counter()
        history = chain.trace.history(f"{gs1.DEFAULT_RESOLVER}/01/{GTIN}/21/{serial}")
        latencies.append((time.perf_counter() - t) * 1000)
        assert all(h.verified for h in history), serial
        lengths.add(len(history))
    assert lengths == {EVENTS_PER_ITEM}, lengths
    return {
        "history_events": count * EVENTS_PER_ITEM,
        "history_items": count,
        "events_per_item": EVENTS_PER_ITEM,
        "events_on_chain": on_chain,
        "setup_seconds": round(setup_s, 1),
        "setup_per_second": round(count * EVENTS_PER_ITEM / setup_s, 1),
        "setup_transactions": transactions,
        "reads": len(latencies),
        "item_events": EVENTS_PER_ITEM,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


def _events_on_chain(b: Bench) -> int:
    """Every entry the ledger holds: its Recorded logs, counted in chunks of blocks."""
    ledger = b.chain.trace.contract
    topic = ledger.events.Recorded().topic
    head = b.w3.eth.block_number
    total = 0
    for start in range(0, head + 1, 5_000):
        logs = b.w3.eth.get_logs({"address": ledger.address, "topics": [topic], "fromBlock": start, "toBlock": min(head, start + 4_999)})
        total += len(logs)
    return total


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    print("compiling the alternatives (bench/alternatives/, EAS from node_modules) ...", flush=True)
    wrappers = compile_wrappers()
    eas = compile_eas()
    timings["compile"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="o2o-compare-") as tmp, Anvil(accounts=13) as node:
        accounts = dev_accounts(13)
        chain = O2OChain(http_web3(node.url), accounts=accounts)
        chain.use_store(Path(tmp) / "events")
        chain.deploy(accounts[0])
        b = Bench(node, chain, accounts)
        t = time.perf_counter()
        print("gas: o2ochain (bench/gas.py's operations) ...", flush=True)
        measure_ours(b)
        print("gas: OpenZeppelin ERC721, ERC721A, EAS ...", flush=True)
        measure_alternatives(b, wrappers, eas)
        timings["gas"] = time.perf_counter() - t
        t = time.perf_counter()
        print("client throughput ...", flush=True)
        throughput = measure_throughput(b, args.throughput, args.naive)
        timings["throughput"] = time.perf_counter() - t
        t = time.perf_counter()
        print(f"history latency: putting {args.history_events:,} events on chain ...", flush=True)
        history = measure_history(b, args.history_events, args.reads)
        timings["history"] = time.perf_counter() - t
        anvil = str(b.w3.client_version)
    ordered = dict(sorted(b.operations.items(), key=lambda kv: (kv[1].kind != "item", kv[1].system != OURS, kv[0])))
    return {
        "assumptions": {
            "gas_price_gwei": args.gas_price_gwei,
            "eth_usd": args.eth_usd,
            "items": BRAND_ITEMS,
            "events_per_item": EVENTS_PER_ITEM,
            "tx_gas_cap": TX_GAS_CAP,
        },
        "environment": {
            "anvil": anvil,
            "solc": {"o2ochain": build.SOLC_VERSION, **{a.name: a.compiler for a in (*wrappers.values(), *eas.values())}},
            "optimizer_runs": build.OPTIMIZER_RUNS,
            "evm_version": build.EVM_VERSION,
            "packages": {p: package_version(p) for p in ("@openzeppelin/contracts", "erc721a", EAS_PACKAGE)},
            "cpus": os.cpu_count(),
        },
        "operations": operation_rows(ordered),
        "capacity_checks": b.checks,
        "agreement_with_gas_snapshot": agreement_with_snapshot(ordered),
        "brand_cost": brand_costs(ordered, gas_price_gwei=args.gas_price_gwei, eth_usd=args.eth_usd),
        "throughput": throughput,
        "history": history,
        "seconds": {**{k: round(v, 1) for k, v in timings.items()}, "total": round(time.perf_counter() - started, 1)},
    }


def report(result: dict[str, Any], console: Console) -> None:
    console.print(gas_table(result))
    checks = result["capacity_checks"]
    console.print(
        "max ops / tx: from two batch sizes of each operation, then checked by sending that batch with "
        f"{TX_GAS_CAP:,} gas as its limit ({sum(c['ok'] for c in checks)} of {len(checks)} fit, one more does not)"
    )
    agreement = result["agreement_with_gas_snapshot"]
    off = {k: v for k, v in agreement.items() if abs(v["change"]) > 0.001}
    console.print(
        f"o2ochain's figures against bench/gas-snapshot.json: {len(agreement) - len(off)} of {len(agreement)} within 0.1%"
        + "".join(f"; {k} {v['measured']:,} vs {v['snapshot']:,}" for k, v in off.items())
    )
    solc = result["environment"]["solc"]
    console.print("compilers: " + ", ".join(f"{k} solc {v}" for k, v in solc.items()))
    console.print(cost_table(result))
    console.print(client_table(result))
    s = result["seconds"]
    console.print("run time: " + ", ".join(f"{k} {v:.0f} s" for k, v in s.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gas-price-gwei", type=float, default=GAS_PRICE_GWEI, help="assumed gas price (default %(default)s)")
    parser.add_argument("--eth-usd", type=float, default=ETH_USD, help="assumed ETH price in USD (default %(default)s)")
    parser.add_argument("--throughput", type=int, default=2_000, help="items and events sent by the library")
    parser.add_argument(
        "--naive", type=int, default=500, help="items and events sent by the naive loop, whose rate does not depend on the count"
    )
    parser.add_argument("--history-events", type=int, default=100_000, help="events on chain for the history latency")
    parser.add_argument("--reads", type=int, default=200, help="random items whose history is read")
    parser.add_argument("--out", type=Path, default=OUT / "comparison.json")
    parser.add_argument("--chart", type=Path, default=OUT / "comparison.png")
    parser.add_argument("--markdown", type=Path, default=OUT / "comparison.md", help="the tables in Markdown, for the README")
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.markdown.write_text(markdown(result))
    chart(result, args.chart)
    report(result, Console(width=160))
    print(f"wrote {args.out}, {args.markdown} and {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
