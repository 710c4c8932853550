"""Reading logs over a long chain behind a public RPC's limits: the same logs as a direct read, in few
requests (a provider's hint is followed, its cap remembered, a 429 waited out), and through an
attached index (its tail read from the node, its foreign logs dropped)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from web3 import Web3
from web3.types import LogReceipt

from o2ochain._chain.connection import Anvil, RetryPolicy, http_web3
from o2ochain._chain.index import attach_index
from o2ochain._chain.logs import get_logs, known_range_cap
from o2ochain.identity import catalogue_from_rows
from tests.conftest import anvil_brand, sample_rows
from tools.long_chain import long_chain_anvil, mine
from tools.public_rpc import FLAVOURS, Flavour, PublicRPC

pytestmark = pytest.mark.e2e

BLOCKS = 60_000  # 100,000 would take Anvil a minute to mine on a busy machine (cost grows with state)
ROUNDS = 8
#: Lower than a provider's 10,000 so that a dense stretch of this small chain is refused for its size.
MAX_RESULTS = 50
PER_ROUND = 20


@dataclass
class LongRegistry:
    node: Anvil
    w3: Web3
    address: str
    topic: str
    first: int
    head: int

    def read(self, w3: Web3, topics: Sequence[Any] | None = None) -> list[LogReceipt]:
        return get_logs(w3, address=self.address, topics=topics or [self.topic], from_block=self.first, to_block=self.head)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongRegistry]:
    """160 ItemRegistered logs over 60,000 blocks: 20 a block, sparse rounds and one dense stretch.

    Few items: each block Anvil mines costs time in proportion to the chain's state."""
    with long_chain_anvil() as node:
        chain, accounts, brand = anvil_brand(node, tmp_path_factory.mktemp("ranges") / "deployments", "Range Foods")
        chain.brand(accounts[1], brand).grant_registrant(accounts[2].address)
        first = chain.deployment.contracts["ProductRegistry"].block
        line = chain.registrant(accounts[2])
        for n in range(ROUNDS):
            line.register_items(catalogue_from_rows(sample_rows(PER_ROUND, prefix=f"R{n:02d}")), items_per_tx=PER_ROUND)
            if n not in (3, 4):  # rounds 3, 4 and 5 land within a few blocks: 60 logs > MAX_RESULTS
                mine(chain.w3, 7_000)
        mine(chain.w3, first + BLOCKS - int(chain.w3.eth.block_number))
        event = chain.identity.contract.events.ItemRegistered()
        yield LongRegistry(node, chain.w3, chain.identity.contract.address, str(event.topic), first, int(chain.w3.eth.block_number))


def ids(logs: Sequence[LogReceipt]) -> list[tuple[int, int, bytes]]:
    return [(int(log["blockNumber"]), int(log["logIndex"]), bytes(log["transactionHash"])) for log in logs]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_get_logs_behind_each_provider_reads_what_a_direct_read_does_in_few_requests(registry: LongRegistry, flavour: Flavour) -> None:
    direct = registry.read(registry.w3)
    assert len(direct) == ROUNDS * PER_ROUND and registry.head - registry.first >= BLOCKS

    with PublicRPC(registry.node.url, flavour=flavour, max_results=MAX_RESULTS) as rpc:
        w3 = http_web3(rpc.url)
        assert ids(registry.read(w3)) == ids(direct)
        first = rpc.stats()
        rpc.reset_stats()
        assert ids(registry.read(w3)) == ids(direct)
        again = rpc.stats()

    # One refusal teaches the cap (a stated number, or the halving of a provider that gives none);
    # chunks of 10,000 blocks cover the rest. A dense stretch costs one refusal where the node
    # names a range that fits (Alchemy, Infura), else halvings down to it and doublings back.
    assert first["refused_range"] == (3 if flavour == "ankr" else 1), first  # ankr: 60,000 → 30,000 → 15,000 → 7,500
    hints = flavour in ("alchemy", "infura")
    assert first["refused_results"] <= (2 if hints else 20), first
    assert first["calls:eth_getLogs"] <= (10 if hints else 60), first
    cap = known_range_cap(w3)
    assert cap is not None and (5_000 < cap <= 10_000 if flavour == "ankr" else cap == 10_000)
    # The next read on the connection starts at the cap: no range refused.
    assert again["refused_range"] == 0, again
    assert again["calls:eth_getLogs"] <= first["calls:eth_getLogs"] - first["refused_range"], again


def test_get_logs_never_asks_past_the_last_block_it_needs(registry: LongRegistry) -> None:
    with PublicRPC(registry.node.url) as rpc:
        w3 = http_web3(rpc.url)
        logs = get_logs(w3, address=registry.address, topics=[registry.topic], from_block=registry.head - 5, to_block=registry.head - 1)
        assert logs == [] and rpc.stats()["calls:eth_getLogs"] == 1
        assert get_logs(w3, address=registry.address, topics=[registry.topic], from_block=registry.head + 1, to_block=registry.head) == []
        assert rpc.stats()["calls:eth_getLogs"] == 1


def test_get_logs_waits_out_rate_limits_as_retry_after_says(registry: LongRegistry) -> None:
    direct = registry.read(registry.w3)
    with PublicRPC(registry.node.url, rate=8, burst=4) as rpc:
        # One attempt per call: every 429 reaches the reader, which waits as Retry-After says.
        w3 = http_web3(rpc.url, policy=RetryPolicy(timeout=10, attempts=1))
        assert ids(registry.read(w3)) == ids(direct)
        stats = rpc.stats()
    assert stats["rate_limited"] >= 1, stats


def test_get_logs_through_a_flaky_provider_reads_the_same_logs(registry: LongRegistry) -> None:
    direct = registry.read(registry.w3)
    with PublicRPC(registry.node.url, flavour="infura", error_rate=0.2, seed=3) as rpc:
        w3 = http_web3(rpc.url, policy=RetryPolicy(timeout=10, attempts=6, backoff=0.01))
        assert ids(registry.read(w3)) == ids(direct)
        assert rpc.stats()["server_errors"] >= 1


# -- the index hook -------------------------------------------------------------------------------


@dataclass
class FakeIndex:
    """A LogSource that has indexed up to ``covered`` and answers ``logs`` (raw JSON-RPC shape)."""

    logs: list[dict[str, Any]]
    covered: int
    asked: list[dict[str, Any]]
    fail: bool = False

    def get_logs(
        self, *, chain_id: int, address: str | Sequence[str], topics: Sequence[Any], from_block: int, to_block: int | None
    ) -> tuple[list[LogReceipt], int]:
        self.asked.append({"chain_id": chain_id, "address": address, "from_block": from_block, "to_block": to_block})
        if self.fail:
            raise ConnectionError("index down")
        return list(self.logs), self.covered  # type: ignore[arg-type]  # raw shape: get_logs formats it


def raw_logs(registry: LongRegistry, first: int, last: int) -> list[dict[str, Any]]:
    query = {"address": registry.address, "topics": [registry.topic], "fromBlock": hex(first), "toBlock": hex(last)}
    answer = requests.post(registry.node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [query]}, timeout=30)
    logs: list[dict[str, Any]] = answer.json()["result"]
    return logs


def test_an_index_behind_the_head_gives_its_part_and_the_node_the_tail(registry: LongRegistry) -> None:
    direct = registry.read(registry.w3)
    covered = int(direct[100]["blockNumber"])  # the index has the first 100 logs; the node the rest
    index = FakeIndex(raw_logs(registry, registry.first, covered), covered, [])
    with PublicRPC(registry.node.url) as rpc:
        w3 = http_web3(rpc.url)
        attach_index(w3, index)
        got = registry.read(w3)
        stats = rpc.stats()
    assert ids(got) == ids(direct)
    assert got == direct  # formatted as web3 formats a node's logs
    assert index.asked == [{"chain_id": 31337, "address": registry.address, "from_block": registry.first, "to_block": registry.head}]
    tail = registry.head - covered  # blocks covered+1 … head, in chunks of the provider's 10,000
    refused = 1 if tail > 10_000 else 0
    assert (stats["calls:eth_getLogs"], stats["refused_range"]) == (refused + -(-tail // 10_000), refused)


def test_a_tampered_index_cannot_slip_in_foreign_logs(registry: LongRegistry) -> None:
    direct = registry.read(registry.w3)
    honest = raw_logs(registry, registry.first, registry.head)
    other = dict(honest[0], address="0x" + "ee" * 20)  # another contract's log
    wrong_topic = dict(honest[1], topics=["0x" + "ab" * 32, *honest[1]["topics"][1:]])
    too_early = dict(honest[2], blockNumber=hex(registry.first - 1))
    beyond = dict(honest[3], blockNumber=hex(registry.head + 5))  # past what it claims to cover
    removed = dict(honest[4], removed=True)
    index = FakeIndex([other, wrong_topic, too_early, *honest, beyond, removed], registry.head, [])
    attach_index(registry.w3, index)
    try:
        assert ids(registry.read(registry.w3)) == ids(direct)
        # A filter on the item (topic 1) keeps only that item's log, whatever the index answers.
        item = honest[10]["topics"][1]
        only = get_logs(registry.w3, address=registry.address, topics=[registry.topic, item], from_block=registry.first, to_block=registry.head)
        assert ids(only) == ids([direct[10]])
    finally:
        attach_index(registry.w3, None)


def test_an_index_that_does_not_answer_is_an_error_not_a_silent_fall_back(registry: LongRegistry) -> None:
    index = FakeIndex([], 0, [], fail=True)
    attach_index(registry.w3, index)
    try:
        with pytest.raises(ConnectionError, match="index down"):
            registry.read(registry.w3)
        assert len(index.asked) == 1
    finally:
        attach_index(registry.w3, None)
