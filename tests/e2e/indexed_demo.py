"""The demo's sample world, small, on an Anvil of its own, for the tests of the index.

``o2ochain demo --exit`` (40 Merkle items, 20 registered ones: about 10 s, ~170 blocks, every
contract's events) runs once per session into a folder; a test module that writes to the chain
then starts an Anvil of its own that loads the saved chain (``--load-state``: the saved file is
never written back), so it cannot disturb another module.

The modules that only read the chain share one such Anvil indexed twice, on PGlite and on
PostgreSQL (:func:`demo_indexes`, the ``shared_indexes`` fixture of tests/e2e/conftest.py): a
Ponder start and catch-up costs 20-50 s, and each module used to pay for its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from o2ochain._chain.connection import Anvil, free_port, http_web3
from o2ochain.demo._indexer import Indexer
from o2ochain.demo._run import ACCOUNTS

#: The demo's sample counts here: small, every kind of event still there.
MERKLE_ITEMS, EXPLICIT_ITEMS = 40, 20
CHAIN_ID = 31337

_built: dict[str, Path] = {}


@dataclass(frozen=True)
class DemoChain:
    """An Anvil holding the demo's chain, with what the demo wrote beside it."""

    node: Anvil
    #: A folder of manifests (``31337.json``) for this Anvil (its genesis as it loaded).
    deployments: Path
    #: The demo's ``out`` folder: ``events/`` (EPCIS store), ``content/`` (review texts), ``demo.json``.
    out: Path
    summary: dict[str, Any]

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def jam(self) -> str:
        """The jar of jam with a supply-chain history (farm, plant, pallet, carrier, store)."""
        return self.pages["a jar of jam with its supply-chain history"]

    @property
    def gift_bag(self) -> str:
        """The GTIN of the price guarantee's gift bag (bought in the store, cheaper on the web)."""
        found = re.search(r"price list (\d{14})", self.summary["guarantees"][0][0])
        assert found, self.summary["guarantees"]
        return found.group(1)

    @property
    def pages(self) -> dict[str, str]:
        """The sample items the demo prints, by what they show."""
        return {words: uri for uri, words in self.summary["pages"]}

    @property
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.deployments / "31337.json").read_text())
        return data


def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``o2ochain demo --exit`` loaded once this session (``out/``, its manifest in ``out/deployments/``)."""
    if "work" not in _built:
        work = tmp_path_factory.mktemp("indexed-demo")
        command = [sys.executable, "-m", "o2ochain.cli", "demo", "--port", str(free_port()), "--out", str(work / "out")]
        command += ["--items", str(MERKLE_ITEMS), "--explicit", str(EXPLICIT_ITEMS), "--exit"]
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"the demo did not load:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        _built["work"] = work
    return _built["work"]


@contextmanager
def demo_chain(work: Path, into: Path) -> Iterator[DemoChain]:
    """An Anvil with the chain the demo saved in ``work``; its manifest written into ``into``."""
    state = work / "out" / "chain-state.json"
    with Anvil(accounts=ACCOUNTS, extra_args=("--load-state", str(state)), log_path=into / "anvil.log") as node:
        w3 = http_web3(node.url)
        manifest = json.loads((work / "out" / "deployments" / "31337.json").read_text())
        # Anvil rebuilds block 0 when it loads a state (see o2ochain.demo._run.run_demo).
        manifest["genesis"] = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
        # Nor the time offset the demo moved its clock by: carry the clock on from the last block.
        ahead = int(w3.eth.get_block("latest")["timestamp"]) - int(time.time())
        if ahead >= 0:
            w3.provider.make_request("evm_increaseTime", [ahead + 1])  # type: ignore[arg-type]
        deployments = into / "deployments"
        deployments.mkdir(parents=True, exist_ok=True)
        (deployments / "31337.json").write_text(json.dumps(manifest, indent=1))
        summary = json.loads((work / "out" / "demo.json").read_text())
        yield DemoChain(node, deployments, work / "out", summary)


@dataclass(frozen=True)
class DemoIndexes:
    """The demo's chain on one Anvil and the index following it on PGlite and on PostgreSQL.

    Shared by modules that only read the chain; one that edits the PostgreSQL index's rows puts
    them back after each test (tests/e2e/test_index_tamper.py)."""

    demo: DemoChain
    pglite: Indexer
    postgres: Indexer

    def caught_up(self) -> DemoIndexes:
        """Wait until both indexes hold the chain's head; returns self."""
        head = http_web3(self.demo.url).eth.block_number
        for indexer in (self.pglite, self.postgres):
            indexer.wait_for_block(CHAIN_ID, head, timeout=240)
        return self


@contextmanager
def demo_indexes(work: Path, into: Path, database_url: str) -> Iterator[DemoIndexes]:
    """An Anvil with the chain the demo saved in ``work`` (see :func:`demo_chain`) and two
    indexes of it, kept in ``into``: PGlite and the PostgreSQL database at ``database_url``."""
    with demo_chain(work, into) as demo:
        pglite = Indexer(deployments=demo.deployments, rpc=demo.url, state_dir=into / "pglite", log_path=into / "pglite.log")
        postgres = Indexer(
            deployments=demo.deployments,
            rpc=demo.url,
            state_dir=into / "postgres",
            database_url=database_url,
            log_path=into / "postgres.log",
        )
        try:
            started = time.perf_counter()
            for indexer in (pglite, postgres):
                indexer.launch()  # both at once: Ponder's start is most of the time
            for indexer in (pglite, postgres):
                indexer.wait_ready(timeout=240)
            indexes = DemoIndexes(demo, pglite, postgres).caught_up()
            print(f"the demo indexed on PGlite and on PostgreSQL in {time.perf_counter() - started:.1f} s")
            yield indexes
        finally:
            postgres.stop()
            pglite.stop()
