"""The index (Ponder, ``indexer/``) on an Anvil holding the demo's data: ``/o2o/logs`` answers
what ``eth_getLogs`` answers, follows the head, refuses bad questions in words, and forgets the
blocks of a reorg."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from o2ochain._chain.connection import Anvil, dev_accounts, http_web3
from o2ochain.client import O2OChain
from o2ochain.demo._indexer import Indexer
from o2ochain.demo._run import ACCOUNTS
from o2ochain.deployments import Deployment
from tests.e2e.indexed_demo import demo_chain, demo_folder
from tests.faults.conftest import reorg

pytestmark = pytest.mark.e2e

INDEXED = ("ProductRegistry", "TraceLedger", "ConsentRegistry", "PriceGuarantee", "ReviewBoard", "CouponBook")


@dataclass
class IndexedDemo:
    node: Anvil
    chain: O2OChain
    deployment: Deployment
    index: Indexer

    def rpc(self, method: str, *params: Any) -> Any:
        answer = requests.post(self.node.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30).json()
        assert "error" not in answer, answer
        return answer["result"]

    def latest(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def logs(self, **query: Any) -> dict[str, Any]:
        answer = requests.post(f"{self.index.url}/o2o/logs", json={"chainId": self.chain.chain_id, **query}, timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def all_logs(self, **query: Any) -> list[dict[str, Any]]:
        """Every page of a query, following ``next``."""
        logs: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.logs(**query, after=after)
            logs += page["logs"]
            after = page["next"]
            if after is None:
                return logs


@pytest.fixture(scope="module")
def indexed_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexedDemo]:
    """The demo's chain (small counts, tests/e2e/indexed_demo.py) on an Anvil of its own, and the index following it."""
    work = tmp_path_factory.mktemp("indexer")
    with demo_chain(demo_folder(tmp_path_factory), work) as demo:
        deployment = Deployment.from_json(demo.manifest)
        chain = O2OChain(http_web3(demo.url), deployment=deployment, accounts=dev_accounts(ACCOUNTS))
        started = time.monotonic()
        with Indexer(deployments=demo.deployments, rpc=demo.url, state_dir=work / "index", log_path=work / "index.log") as index:
            ready = time.monotonic() - started
            indexed = IndexedDemo(demo.node, chain, deployment, index)
            index.wait_for_block(chain.chain_id, indexed.latest(), timeout=120)
            print(f"index ready in {ready:.1f} s, caught up with {indexed.latest()} blocks in {time.monotonic() - started:.1f} s")
            yield indexed


#: The fields of an ``eth_getLogs`` result, with the ``blockTimestamp`` Anvil (and the index) add.
LOG_FIELDS = (
    "address",
    "topics",
    "data",
    "blockNumber",
    "blockHash",
    "blockTimestamp",
    "transactionHash",
    "transactionIndex",
    "logIndex",
    "removed",
)


def _shaped(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: log[key].lower() if key == "address" else log[key] for key in LOG_FIELDS} for log in logs]


def _node_logs(demo: IndexedDemo, address: str, to_block: int) -> list[dict[str, Any]]:
    return _shaped(demo.rpc("eth_getLogs", {"address": address, "fromBlock": "0x0", "toBlock": hex(to_block)}))


def test_logs_equal_eth_get_logs_for_every_contract(indexed_demo: IndexedDemo) -> None:
    head = indexed_demo.index.head(indexed_demo.chain.chain_id)
    for name in INDEXED:
        address = indexed_demo.deployment.address(name)
        expected = _node_logs(indexed_demo, address, head)
        answer = indexed_demo.logs(address=address)
        assert answer["head"] == head
        assert answer["next"] is None
        assert answer["logs"] == expected, name
        assert expected, f"the demo emits events of {name}"


def test_logs_filter_by_topics_like_eth_get_logs(indexed_demo: IndexedDemo) -> None:
    address = indexed_demo.deployment.address("ProductRegistry")
    head = indexed_demo.index.head(indexed_demo.chain.chain_id)
    every = _node_logs(indexed_demo, address, head)
    topic0 = every[-1]["topics"][0]
    topic1 = every[-1]["topics"][1] if len(every[-1]["topics"]) > 1 else None
    query: dict[str, Any] = {"address": [address], "topics": [[topic0], topic1], "fromBlock": "0x0", "toBlock": hex(head)}
    expected = _shaped(indexed_demo.rpc("eth_getLogs", query))
    assert indexed_demo.logs(address=[address], topics=[[topic0], topic1], fromBlock=0, toBlock=head)["logs"] == expected
    assert indexed_demo.logs(topics=[None, None, None, "0x" + "ab" * 32])["logs"] == []


def test_logs_pages_follow_next(indexed_demo: IndexedDemo) -> None:
    everything = indexed_demo.logs()["logs"]
    assert len(everything) > 7
    first = indexed_demo.logs(limit=3)
    assert first["logs"] == everything[:3] and first["next"]
    assert indexed_demo.all_logs(limit=3) == everything


def test_head_follows_the_chain(indexed_demo: IndexedDemo) -> None:
    demo = indexed_demo
    registry = demo.chain.identity.contract
    lags = []
    for _ in range(3):
        tx = registry.functions.grantRole(b"\x01" * 32, demo.chain.accounts[5].address).transact({"from": demo.chain.accounts[0].address})
        demo.chain.w3.eth.wait_for_transaction_receipt(tx)
        latest, mined = demo.latest(), time.monotonic()
        demo.index.wait_for_block(demo.chain.chain_id, latest - 2, timeout=5)
        demo.index.wait_for_block(demo.chain.chain_id, latest, timeout=10)
        lags.append(time.monotonic() - mined)
    print(f"the index holds a new block {max(lags) * 1000:.0f} ms after it is mined (worst of 3)")
    demo.index.wait_for_block(demo.chain.chain_id, demo.latest(), timeout=10)
    head = requests.get(f"{demo.index.url}/o2o/head", timeout=5).json()["chains"][str(demo.chain.chain_id)]
    assert head["block"] == demo.latest()
    assert head["hash"] in (None, demo.rpc("eth_getBlockByNumber", hex(head["block"]), False)["hash"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "JSON object"),
        ({}, "chainId"),
        ({"chainId": 31337, "address": "0x12"}, "address"),
        ({"chainId": 31337, "topics": ["0x12"]}, "topics[0]"),
        ({"chainId": 31337, "topics": [None, None, None, None, None]}, "topics"),
        ({"chainId": 31337, "fromBlock": -1}, "fromBlock"),
        ({"chainId": 31337, "fromBlock": 5, "toBlock": 4}, "toBlock"),
        ({"chainId": 31337, "after": "somewhere"}, "after"),
        ({"chainId": 31337, "limit": 10_001}, "limit"),
        ({"chainId": 31337, "colour": "red"}, "colour"),
        ({"chainId": 5}, "chainId 5"),
    ],
)
def test_bad_bodies_are_refused_in_words(indexed_demo: IndexedDemo, body: Any, words: str) -> None:
    answer = requests.post(f"{indexed_demo.index.url}/o2o/logs", json=body, timeout=10)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_reorg_of_three_blocks_is_reconciled(indexed_demo: IndexedDemo) -> None:
    demo = indexed_demo
    registry = demo.chain.identity.contract
    sender = demo.chain.accounts[0].address
    granted = [demo.chain.accounts[10 + i].address for i in range(3)]
    for account in granted:
        demo.chain.w3.eth.wait_for_transaction_receipt(registry.functions.grantRole(b"\x02" * 32, account).transact({"from": sender}))
    before = demo.latest()
    demo.index.wait_for_block(demo.chain.chain_id, before, timeout=10)
    address = demo.deployment.address("ProductRegistry")
    dropped = [log for log in demo.all_logs(address=address, fromBlock=before - 2) if log["blockHash"]]
    assert len(dropped) == 3

    reorg(demo.node, depth=3)
    # the new chain grows past the old head, with other logs in its new blocks
    for account in granted[:2]:
        demo.chain.w3.eth.wait_for_transaction_receipt(registry.functions.grantRole(b"\x03" * 32, account).transact({"from": sender}))
    latest = demo.latest()
    assert latest > before
    deadline = time.monotonic() + 20
    while True:
        head = demo.index.wait_for_block(demo.chain.chain_id, latest, timeout=20)
        answer = demo.all_logs(address=address, fromBlock=before - 2)
        if answer == _node_logs(demo, address, head)[-len(answer) :] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer == [log for log in _node_logs(demo, address, head) if int(log["blockNumber"], 16) >= before - 2]
    hashes = {log["transactionHash"] for log in answer}
    assert not hashes & {log["transactionHash"] for log in dropped}, "logs of the dropped blocks are gone"
    assert len(answer) == 2, "logs of the new blocks are there"


def test_graphql_serves_the_raw_log_and_a_typed_table_per_event(indexed_demo: IndexedDemo) -> None:
    query = "{ logs(limit: 1) { totalCount } productRegistry_BrandRegistereds { items { brand name admin blockNumber } } }"
    answer = requests.post(f"{indexed_demo.index.url}/graphql", json={"query": query}, timeout=30).json()
    assert "errors" not in answer, answer
    assert answer["data"]["logs"]["totalCount"] == len(indexed_demo.all_logs(toBlock=indexed_demo.index.head(indexed_demo.chain.chain_id)))
    brands = answer["data"]["productRegistry_BrandRegistereds"]["items"]
    assert sorted(b["name"] for b in brands) == ["Dalian Coast Seafood Snacks", "Jinzhou Orchard Co-op", "Liaoning Leaf Tea House"]
