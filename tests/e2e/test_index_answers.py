"""The library gives the same answers through the index as from the node alone, on the demo's data:
every item's trace history, reviews, merchants, prices, purchases and payouts, consents, coupons and
the keeper's candidates; a lagging index too (the blocks it has not indexed come from the node);
and ``o2ochain trace show --index`` prints what it prints without."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from web3.types import LogReceipt

import o2ochain
from o2ochain._chain.connection import dev_accounts
from o2ochain._chain.index import IndexClient
from o2ochain.demo._indexer import Indexer
from o2ochain.demo._run import ACCOUNTS
from o2ochain.errors import InputError
from tests.e2e.indexed_demo import DemoChain, DemoIndexes

pytestmark = pytest.mark.e2e


@dataclasses.dataclass
class Indexed:
    demo: DemoChain
    indexer: Indexer

    def chain(self, index: Any) -> o2ochain.O2OChain:
        chain = o2ochain.connect(self.demo.url, deployment=self.demo.deployments, index=index)
        chain.use_store(self.demo.out / "events")
        chain.use_content(self.demo.out / "content")
        return chain


@pytest.fixture(scope="module")
def indexed(shared_indexes: DemoIndexes) -> Indexed:
    """The demo's chain and the index (PGlite) caught up with it (shared with the other modules
    that only read them: tests/e2e/conftest.py)."""
    shared_indexes.caught_up()
    return Indexed(shared_indexes.demo, shared_indexes.pglite)


@pytest.fixture(scope="module")
def node_only(indexed: Indexed) -> Iterator[o2ochain.O2OChain]:
    chain = indexed.chain(None)
    yield chain
    chain.close()


@pytest.fixture(scope="module")
def through_index(indexed: Indexed) -> Iterator[o2ochain.O2OChain]:
    chain = indexed.chain(indexed.indexer.url)
    yield chain
    chain.close()


class Lagging:
    """An index that has indexed only up to ``behind`` blocks before what it says: the rest of
    every answer must come from the node."""

    def __init__(self, index: IndexClient, behind: int) -> None:
        self.index, self.behind = index, behind
        self.covered: list[int] = []

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        cut = self.index.head(chain_id) - self.behind
        logs, covered = self.index.get_logs(
            chain_id=chain_id,
            address=address,
            topics=topics,
            from_block=from_block,
            to_block=cut if to_block is None else min(to_block, cut),
        )
        self.covered.append(covered)
        return logs, covered


def plain(value: Any) -> Any:
    """``value`` as comparable data: ``to_json()`` where there is one, dataclasses field by field."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def campaigns(chain: o2ochain.O2OChain) -> list[Any]:
    found = []
    for campaign in range(1, 20):
        try:
            found.append(chain.coupons.figures(campaign))
        except InputError:
            break
    return found


def answers(chain: o2ochain.O2OChain, demo: DemoChain) -> dict[str, Any]:
    """Everything the library lists, read through ``chain``."""
    g = chain.guarantee
    channels = g.channels()
    keeper = chain.keeper(dev_accounts(ACCOUNTS)[15], lodge=False, release=False)
    due = keeper.due()
    purchases = g.purchases()
    products = sorted({p.gtin for p in purchases} | {int(demo.gift_bag)})
    return {
        "history": {uri: plain(chain.trace.history(uri)) for uri in demo.pages.values() if "/01/" in uri},
        "reviews": {gtin: plain(chain.reviews.reviews(gtin=gtin)) for gtin in products},
        "merchants": {
            c.id: (
                plain(chain.reviews.merchant_profile(c.id)),
                plain(chain.reviews.merchant_rating(c.id)),
                plain(chain.reviews.reviews(merchant=c.id)),
            )
            for c in channels
        },
        "channels": plain(channels),
        "prices": plain(g.published_prices()),
        "gift bag prices": plain(g.published_prices(gtin=demo.gift_bag)),
        "purchases": plain(purchases),
        "payouts": plain(g.payouts()),
        "releases": plain(g.releases()),
        "consents": plain(chain.consent.grants()),
        "data uses": plain(chain.consent.uses()),
        "coupons": plain(campaigns(chain)),
        "keeper due": plain(due),
        "keeper upcoming": plain(keeper.upcoming),
    }


def test_every_reader_answers_the_same_through_the_index(
    indexed: Indexed, node_only: o2ochain.O2OChain, through_index: o2ochain.O2OChain
) -> None:
    expected = answers(node_only, indexed.demo)
    got = answers(through_index, indexed.demo)
    for key, value in expected.items():
        assert got[key] == value, key
    assert expected["history"][indexed.demo.jam], "the jar of jam has a supply-chain history"
    for key in ("prices", "purchases", "payouts", "consents", "coupons"):
        assert expected[key], f"the demo has {key}"
    assert any(expected["reviews"].values()), "the demo has product reviews"
    assert isinstance(through_index.index, IndexClient) and through_index.index.requests > 0, "the index was not asked"


def test_a_lagging_index_still_gives_the_whole_answer(indexed: Indexed, node_only: o2ochain.O2OChain) -> None:
    """The last 60 blocks (the end of the demo: sales, payouts, reviews, coupons) are not indexed:
    the node gives them, and nothing is missing or twice."""
    lagging = Lagging(IndexClient(indexed.indexer.url), behind=60)
    chain = indexed.chain(lagging)
    head = chain.w3.eth.block_number
    assert answers(chain, indexed.demo) == answers(node_only, indexed.demo)
    assert lagging.covered and max(lagging.covered) < head


def test_trace_show_prints_the_same_with_index(indexed: Indexed, tmp_path: Path) -> None:
    jam = indexed.demo.jam
    base = [sys.executable, "-m", "o2ochain.cli", "trace", "show", jam, "--rpc", indexed.demo.url, "--json"]
    base += ["--deployment", str(indexed.demo.deployments), "--store", str(indexed.demo.out)]
    plain_run = subprocess.run(base, capture_output=True, text=True, timeout=120, check=False)
    with_index = subprocess.run([*base, "--index", indexed.indexer.url], capture_output=True, text=True, timeout=120, check=False)
    assert plain_run.returncode == 0, plain_run.stderr
    assert with_index.returncode == 0, with_index.stderr
    assert json.loads(with_index.stdout) == json.loads(plain_run.stdout)
    assert json.loads(plain_run.stdout), "the jam has a history"


def test_trace_show_names_an_index_that_does_not_answer(indexed: Indexed) -> None:
    command = [sys.executable, "-m", "o2ochain.cli", "trace", "show", indexed.demo.jam, "--rpc", indexed.demo.url]
    command += ["--deployment", str(indexed.demo.deployments)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env={**_env(), "O2O_INDEX": "http://127.0.0.1:9"}
    )
    assert done.returncode == 1
    assert "the index at http://127.0.0.1:9 failed GET /o2o/head" in done.stderr and "connection refused" in done.stderr
    assert "Traceback" not in done.stderr


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "O2O_RPC_ATTEMPTS": "1"}
